"""Idempotency keys after a crash, with real processes (issue 14, part 3: "test with kill -9 of
the server mid-request and with a killed database connection, on PostgreSQL: every retry with
the same key ends in exactly one write and the original response").

Nothing is simulated: the server is ``partnerhub serve`` (gunicorn) in its own process group on
a free port, on the test database itself (the test runs with ``transaction=True`` so that what
it writes is committed and the server sees it, and the reverse). The writes are real ones:

- a batch of 10 000 referral events (``POST /api/v1/referrals/events``), which takes seconds to
  store and apply: the server is killed with SIGKILL while it runs (SQLite and PostgreSQL);
- the take of a lead (``POST /api/v1/marketplace/leads/<id>/take``), made to stop half-way by
  the test holding the lead's row with ``SELECT ... FOR UPDATE`` in another connection: the
  request has claimed its key and counted the take on the partner's access row when it waits
  for that lock. Then either the whole server is killed with SIGKILL, or its database
  connection with ``pg_terminate_backend`` (PostgreSQL: SQLite ignores FOR UPDATE and has no
  backends to terminate).

The subprocesses' settings are a module written to a temporary directory: the project's
settings with the test database and a lease of a few seconds (``IDEMPOTENCY_LEASE_SECONDS``).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection, connections

from partnerhub.accounts.services import api_token_create
from partnerhub.core.models.idempotency import IdempotencyKey, IdempotencyState
from partnerhub.leads.models import ContactReveal, Deal, Lead, MarketplaceAccess
from partnerhub.referrals.models import StoredEvent
from tests.factories import ProgramFactory
from tests.leads.factories import lead_program, make_eligible, make_lead
from tests.waiting import WAIT_TIMEOUT, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX processes"),
]
ON_POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="PostgreSQL only: the request is stopped half-way on a row lock "
    "(SELECT ... FOR UPDATE, which SQLite ignores) and its connection is cut with "
    "pg_terminate_backend",
)

PARTNERHUB = Path(sys.executable).with_name("partnerhub")
REQUEST_TIMEOUT_SECONDS = 2
LEASE_SECONDS = 3
START_TIMEOUT = 90.0
KEY = "take-after-crash-1"
BATCH_CLIENTS = 9_999  # with the partner's registration: REFERRAL_EVENTS_MAX_BATCH events


def write_server_settings(directory: Path) -> None:
    db = connection.settings_dict
    database = {key: db[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")}
    database["OPTIONS"] = db.get("OPTIONS", {})
    (directory / "crashrecovery_settings.py").write_text(
        "import json\n"
        "from partnerhub.config.settings import *  # noqa: F403\n"
        f"DATABASES = {{'default': json.loads({json.dumps(json.dumps(database))})}}\n"
        f"REQUEST_TIMEOUT_SECONDS = {REQUEST_TIMEOUT_SECONDS}\n"
        f"IDEMPOTENCY_LEASE_SECONDS = {LEASE_SECONDS}\n"
        "REFERRAL_APPLY_IN_WORKER = False  # no worker runs: requests apply their events\n"
    )


@pytest.fixture
def server_env(tmp_path):
    write_server_settings(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="crashrecovery_settings",
        PYTHONPATH=os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        VAR_DIR=str(tmp_path / "var"),  # the Huey queue (SQLite) of the server, nobody serves it
        SECRET_KEY="crash-recovery-test-only",
    )
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Servers:
    """``partnerhub serve`` processes started by the test; every one is killed at the end."""

    env: dict[str, str]
    log_dir: Path
    token: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    port: int = 0

    def start(self) -> None:
        self.port = free_port()
        log = (self.log_dir / f"serve-{len(self.processes) + 1}.log").open("wb")
        process = subprocess.Popen(
            [str(PARTNERHUB), "serve", "--bind", f"127.0.0.1:{self.port}", "--no-worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: gunicorn's master and worker too
        )
        self.processes.append(process)

        def answers() -> bool:
            if process.poll() is not None:
                pytest.fail(f"partnerhub serve exited with {process.returncode}\n{self.logs()}")
            try:
                return self.request("GET", "/api/v1/deals").status < 500
            except OSError:
                return False

        wait_until(
            answers,
            timeout=START_TIMEOUT,
            interval=0.2,
            what="the server answers",
            details=self.logs,
        )

    def request(
        self, method: str, path: str, key: str | None = None, body: bytes | None = None
    ) -> Answer:
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        if body is None and method == "POST":
            body = b"{}"
        try:
            client.request(method, path, body=body, headers=headers)
            response = client.getresponse()
            return Answer(response.status, dict(response.getheaders()), response.read())
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL to the newest server's whole process group: no cleanup runs anywhere."""
        process = self.processes[-1]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                process.wait(timeout=10)

    def gunicorn_arguments(self) -> list[str]:
        """The command line of the newest server's gunicorn (its child process; Linux /proc)."""
        parent = str(self.processes[-1].pid)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if fields[1] == parent:
                    raw = (stat.parent / "cmdline").read_bytes()
                    arguments = raw.decode().split("\0")
                    if any("gunicorn" in a for a in arguments):
                        return arguments
            except OSError:
                continue  # a process that ended meanwhile
        return []

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.log_dir.glob("*.log"))


@pytest.fixture
def take(world):
    """A lead of the vendor's marketplace that partner A (eligible) may take, and A's token."""
    program = lead_program(world.vendor)
    make_eligible(world.partner_a, program)
    lead = make_lead(program)
    _token, raw = api_token_create(organisation=world.partner_a, name="crm", role="manager")
    return lead, raw


@pytest.fixture
def servers(server_env, tmp_path):
    pool = Servers(server_env, tmp_path)
    yield pool
    pool.stop_all()


class LeadRowLock:
    """The lead's row held with SELECT ... FOR UPDATE in a connection of its own, so that a
    take waits half-way (after claiming its key and counting on the access row)."""

    def __init__(self, lead: Lead) -> None:
        self.lead = lead
        self.connection = connections.create_connection("default")

    def __enter__(self) -> LeadRowLock:
        self.connection.set_autocommit(False)
        with self.connection.cursor() as cursor:
            table = Lead._meta.db_table
            cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [self.lead.pk])
        return self

    def release(self) -> None:
        if self.connection.connection is not None:
            self.connection.rollback()
            self.connection.close()

    def __exit__(self, *exc: object) -> None:
        self.release()


class InFlight(threading.Thread):
    """The client's first request, which waits on the lock; ``answer`` or ``error`` after."""

    def __init__(self, servers: Servers, path: str, body: bytes | None = None) -> None:
        super().__init__(daemon=True)
        self.servers, self.path, self.body = servers, path, body
        self.answer: Answer | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.answer = self.servers.request("POST", self.path, KEY, self.body)
        except BaseException as exc:  # the server was killed under it
            self.error = exc


def backend_waiting_on_a_lock() -> int | None:
    """The pid of the server's database backend waiting for the lead's row lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def backend_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] == 0


def other_backends() -> int:
    """Database sessions other than this test's own (PostgreSQL; none on SQLite)."""
    if not ON_POSTGRES:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def retry_until_answered(
    servers: Servers, path: str, *, timeout: float, body: bytes | None = None
) -> tuple[Answer, int]:
    """Retry with the same key as a client does while the answer is 409/503 (with
    Retry-After; the retries come every 0.2 s, sooner than it asks); the first other answer and
    how many 409/503 came before it."""
    refusals: list[Answer] = []

    def answered() -> Answer | None:
        answer = servers.request("POST", path, KEY, body)
        if answer.status not in (409, 503):
            return answer
        assert "Retry-After" in answer.headers, answer
        refusals.append(answer)
        return None

    answer = wait_until(
        answered,
        timeout=timeout,
        interval=0.2,
        what="a retry is answered with neither 409 nor 503",
        details=lambda: repr(refusals[-1:]),
    )
    return answer, len(refusals)


def assert_taken_exactly_once(lead: Lead, partner, answer: Answer) -> None:
    deals = list(Deal.objects.filter(lead=lead))
    assert [d.organisation_id for d in deals] == [partner.pk]
    assert answer.json()["id"] == deals[0].pk
    assert ContactReveal.objects.filter(lead=lead).count() == 1
    assert Lead.objects.get(pk=lead.pk).take_count == 1
    access = MarketplaceAccess.objects.get(organisation=partner, program=lead.program)
    assert access.open_deals == 1  # the killed run's count was rolled back with it
    key = IdempotencyKey.objects.get(key=KEY)
    assert (key.state, key.response_status) == (IdempotencyState.COMPLETED, 201)


def event_batch() -> bytes:
    events = [
        {
            "id": "p1",
            "type": "partner.registered",
            "at": "2026-01-10T09:00:00+03:00",
            "partner": "AB12CD",
        }
    ]
    events += [
        {
            "id": f"c{n}",
            "type": "client.registered",
            "at": "2026-01-11T10:00:00+03:00",
            "client": f"c{n}.bitrix24.ru",
            "referral_code": "AB12CD",
        }
        for n in range(BATCH_CLIENTS)
    ]
    return json.dumps(events).encode()


def test_kill_9_of_the_server_mid_batch_then_the_same_key_stores_the_batch_once(world, servers):
    ProgramFactory(vendor=world.vendor, code="referrals")
    _token, servers.token = api_token_create(
        organisation=world.vendor, name="product", role="administrator"
    )
    path, body = "/api/v1/referrals/events", event_batch()
    servers.start()
    if Path("/proc/self/stat").exists():  # gunicorn's timeout is the request timeout
        arguments = servers.gunicorn_arguments()
        assert arguments[arguments.index("--timeout") + 1] == str(REQUEST_TIMEOUT_SECONDS)

    # Given a batch of 10 000 events being stored and applied under an Idempotency-Key,
    first = InFlight(servers, path, body)
    first.start()
    wait_until(
        lambda: IdempotencyKey.objects.filter(key=KEY).exists(),
        what="the batch claimed its key",
        details=servers.logs,
    )
    # when the server is killed with SIGKILL before it has answered,
    servers.kill()
    first.join(timeout=10)
    assert first.answer is None and first.error is not None  # the client got no answer
    assert IdempotencyKey.objects.get(key=KEY).state == IdempotencyState.IN_PROGRESS
    wait_until(lambda: other_backends() == 0, what="the killed request's session ended")
    assert not StoredEvent.objects.exists()  # nothing half-written

    # then, with the server started again, the retries with the same key store the batch once
    servers.start()
    answer, _waits = retry_until_answered(
        servers, path, timeout=LEASE_SECONDS + WAIT_TIMEOUT, body=body
    )
    assert answer.status == 200, answer.body
    assert answer.json() == {
        "accepted": BATCH_CLIENTS + 1,
        "waiting": 0,
        "duplicates": 0,
        "rejected": [],
    }
    assert StoredEvent.objects.count() == BATCH_CLIENTS + 1
    assert IdempotencyKey.objects.get(key=KEY).state == IdempotencyState.COMPLETED
    # and one more retry gets the original response again.
    again = servers.request("POST", path, KEY, body)
    assert (again.status, again.headers.get("Idempotency-Replayed")) == (200, "true")
    assert again.body == answer.body
    assert StoredEvent.objects.count() == BATCH_CLIENTS + 1


@postgres_only
def test_kill_9_of_the_server_mid_request_then_the_same_key_takes_the_lead_once(
    world, take, servers
):
    lead, servers.token = take
    path = f"/api/v1/marketplace/leads/{lead.pk}/take"
    servers.start()

    # Given a take that has claimed its key and waits half-way on the lead's row,
    with LeadRowLock(lead) as lock:
        first = InFlight(servers, path)
        first.start()
        wait_until(
            lambda: backend_waiting_on_a_lock() is not None,
            what="the take waits for the lead's row",
            details=servers.logs,
        )
        orphan = backend_waiting_on_a_lock()
        assert IdempotencyKey.objects.get(key=KEY).state == IdempotencyState.IN_PROGRESS
        # when the server is killed with SIGKILL,
        servers.kill()
        first.join(timeout=10)
        assert first.answer is None and first.error is not None  # the client got no answer
        lock.release()
    # its database backend notices the lost client and rolls its transaction back:
    wait_until(lambda: backend_gone(orphan), what="the killed request's backend ended")
    assert not Deal.objects.filter(lead=lead).exists()
    assert IdempotencyKey.objects.get(key=KEY).state == IdempotencyState.IN_PROGRESS

    # then, with the server started again, the client's retries with the same key end in one
    # take (the dead claim is taken over once its lease of 3 s has ended; 409 before that),
    servers.start()
    answer, _waits = retry_until_answered(servers, path, timeout=LEASE_SECONDS + WAIT_TIMEOUT)
    assert answer.status == 201, answer.body
    assert "Idempotency-Replayed" not in answer.headers
    assert_taken_exactly_once(lead, world.partner_a, answer)
    # and one more retry gets the original response again.
    again = servers.request("POST", path, KEY)
    assert (again.status, again.headers.get("Idempotency-Replayed")) == (201, "true")
    assert again.body == answer.body
    assert Deal.objects.filter(lead=lead).count() == 1


@postgres_only
def test_a_killed_database_connection_is_503_and_the_same_key_then_takes_the_lead_once(
    world, take, servers
):
    lead, servers.token = take
    path = f"/api/v1/marketplace/leads/{lead.pk}/take"
    servers.start()

    # Given a take that has claimed its key and waits half-way on the lead's row,
    with LeadRowLock(lead):
        first = InFlight(servers, path)
        first.start()
        wait_until(
            lambda: backend_waiting_on_a_lock() is not None,
            what="the take waits for the lead's row",
            details=servers.logs,
        )
        # when its database connection is cut,
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend_waiting_on_a_lock()])
        first.join(timeout=30)

    # then the client gets 503 with Retry-After in the API's error format,
    assert first.error is None, first.error
    assert first.answer is not None
    assert first.answer.status == 503, first.answer.body
    assert first.answer.headers["Retry-After"] == "5"
    assert first.answer.json()["error"]["code"] == "service_unavailable"
    assert not Deal.objects.filter(lead=lead).exists()
    # the retry with the same key takes the lead once (the claim was released: no wait),
    answer, waits = retry_until_answered(servers, path, timeout=LEASE_SECONDS + WAIT_TIMEOUT)
    assert answer.status == 201, answer.body
    assert waits == 0
    assert_taken_exactly_once(lead, world.partner_a, answer)
    # and one more retry gets the original response again.
    again = servers.request("POST", path, KEY)
    assert (again.status, again.headers.get("Idempotency-Replayed")) == (201, "true")
    assert again.body == answer.body
