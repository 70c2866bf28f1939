"""What ``partnerhub serve`` gives its two children about database connections (issue 17): a
pool per gunicorn process sized to its threads, persistent connections for the Huey worker, and
the operator's own values where the environment sets them (PgBouncer: ``DATABASE_POOL=0``)."""

from __future__ import annotations

import pytest

from partnerhub.core.management.commands.serve import web_environment, worker_environment

NAMES = ("DATABASE_POOL", "DATABASE_POOL_MAX_SIZE", "DATABASE_CONN_MAX_AGE")


@pytest.fixture(autouse=True)
def unset(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_gunicorn_pools_as_many_connections_as_it_has_threads():
    environment = web_environment(threads=6)

    assert (environment["DATABASE_POOL"], environment["DATABASE_POOL_MAX_SIZE"]) == ("1", "6")
    assert "DATABASE_CONN_MAX_AGE" not in environment


def test_the_worker_keeps_its_connections_for_a_minute():
    environment = worker_environment()

    assert environment["DATABASE_CONN_MAX_AGE"] == "60"
    assert "DATABASE_POOL" not in environment


def test_the_operators_values_win(monkeypatch):
    monkeypatch.setenv("DATABASE_POOL", "0")
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "0")

    assert web_environment(threads=6)["DATABASE_POOL"] == "0"
    assert worker_environment()["DATABASE_CONN_MAX_AGE"] == "0"


def test_the_rest_of_the_environment_is_passed_on(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db.example/partnerhub")

    assert web_environment(threads=2)["DATABASE_URL"] == "postgres://app@db.example/partnerhub"
    assert worker_environment()["DATABASE_URL"] == "postgres://app@db.example/partnerhub"
