"""The PostgreSQL connection pool that ``partnerhub serve`` gives each gunicorn process (issue 17):
a connection is lent again after a request instead of a new server process per request, a
connection the server dropped is replaced before it is lent, and threads beyond the pool's size
wait for a connection instead of opening more. Run against the suite's PostgreSQL database with
Django's own pool (the ``pool`` option the settings build); skipped on SQLite, which has none."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db(transaction=True)

ALIAS = "pooled_test"


@pytest.fixture
def pooled() -> Iterator[type[DatabaseWrapper]]:
    """A factory of wrappers of the test database sharing one pool of at most two connections."""
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's")
    settings = copy.deepcopy(connection.settings_dict)
    settings["OPTIONS"] = {
        **settings["OPTIONS"],
        "pool": {"min_size": 0, "max_size": 2, "timeout": 5.0},
    }
    settings["CONN_MAX_AGE"] = 0
    settings["CONN_HEALTH_CHECKS"] = True
    wrappers: list[DatabaseWrapper] = []

    def make() -> DatabaseWrapper:
        wrapper = DatabaseWrapper(copy.deepcopy(settings), alias=ALIAS)
        wrappers.append(wrapper)
        return wrapper

    yield make  # type: ignore[misc]
    for wrapper in wrappers:
        if wrapper._thread_ident == threading.get_ident():  # the threads close their own
            wrapper.close()
    make().close_pool()


def backend_pid(wrapper: DatabaseWrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid: int = cursor.fetchone()[0]
    return pid


def test_a_closed_connection_goes_back_to_the_pool_and_is_lent_again(pooled):
    wrapper = pooled()
    first = backend_pid(wrapper)
    wrapper.close()  # what Django does at the end of every request

    assert backend_pid(wrapper) == first


def test_a_connection_the_server_dropped_is_replaced_before_it_is_lent(pooled):
    wrapper = pooled()
    dropped = backend_pid(wrapper)
    wrapper.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])

    replacement = backend_pid(wrapper)

    assert replacement != dropped


def test_more_threads_than_connections_wait_for_one_and_all_answer(pooled):
    pids: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def request() -> None:
        wrapper = pooled()
        try:
            for _ in range(5):
                pid = backend_pid(wrapper)
                wrapper.close()
                with lock:
                    pids.append(pid)
        except BaseException as failure:
            failures.append(failure)
        finally:
            wrapper.close()

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(pids) == 40
    assert len(set(pids)) <= 2
