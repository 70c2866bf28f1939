"""kill -9 of the worker in the middle of delivering (core issue: "after restart every outbox
event is delivered, none twice to the webhook receiver that deduplicates by event id").

Real processes, nothing simulated:

- the receiver is a threaded HTTP server in this test that checks each request's signature
  and deduplicates by ``X-Partnerhub-Event-Id``: the first request of an event is *processed*,
  a repeat is counted as a duplicate and only acknowledged. It answers the first four requests
  at once and holds the later ones until the worker has been killed;
- the worker is ``partnerhub run_huey`` in a subprocess, with its own queue (SqliteHuey in a
  temporary directory, or RedisHuey under a unique name when ``REDIS_URL`` is set) and a 2 s
  lease;
- the producer is another subprocess (``partnerhub shell``) that emits 20 events in their own
  transactions, so that the ``deliver_event`` tasks reach the worker's queue as in production.

Both subprocesses use the test database itself (SQLite file or PostgreSQL, whose schema
pytest-django has created, with or without migrations): the test runs with
``transaction=True``, so what it writes is committed and visible to them, and what they write
is visible to it. Their settings are a small module written to a temporary directory that
imports the project's settings and overrides the database, the queue, the lease and the webhook
address policy.

The worker is killed with SIGKILL as soon as the receiver has taken five requests: the fifth
is then in flight (held), its delivery ``running``. The test waits for the killed worker's
leases to expire and starts a new worker, whose scheduler runs the sweep at start (Huey enqueues
periodic tasks on its first tick); the sweep takes over the expired deliveries and the new
worker runs the tasks still queued. At least once shows as duplicate requests for the events
that were in flight at the kill; exactly-once processing is the receiver's deduplication.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from partnerhub.core.clock import now
from partnerhub.core.models.outbox import DeliveryState, OutboxDelivery, OutboxEvent
from partnerhub.webhooks.services import webhook_endpoint_create
from partnerhub.webhooks.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from tests.factories import OrganisationFactory
from tests.waiting import WAIT_TIMEOUT, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        sys.platform == "win32" or not hasattr(signal, "SIGKILL"),
        reason="needs POSIX processes and SIGKILL",
    ),
]

EVENTS = 20
KILL_AFTER_REQUESTS = 5
LEASE_SECONDS = 2
WORKER_THREADS = 4
EVENT_TYPE = "crashtest.order.placed"
PARTNERHUB = Path(sys.executable).with_name("partnerhub")


class DeduplicatingReceiver(ThreadingHTTPServer):
    """The partner's system: processes each event id once, acknowledges repeats."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.secret = ""
        self.lock = threading.Lock()
        self.received: list[str] = []  # every request, in arrival order
        self.processed: list[str] = []  # event ids handed to "business logic"
        self.duplicates: list[str] = []  # repeats the deduplication caught
        self.bad_signatures: list[str] = []
        self.released = threading.Event()  # set: every request is answered at once

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def take(self, event_id: str, signed: bool) -> bool:
        """Note a request; whether to hold its answer (a request after the first four, until
        the receiver is released)."""
        with self.lock:
            self.received.append(event_id)
            hold = len(self.received) >= KILL_AFTER_REQUESTS and not self.released.is_set()
            if not signed:
                self.bad_signatures.append(event_id)
            elif event_id in self.processed:
                self.duplicates.append(event_id)
            else:
                self.processed.append(event_id)
        return hold


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: DeduplicatingReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        signed = verify_signature(
            self.server.secret,
            self.headers[TIMESTAMP_HEADER],
            body,
            self.headers[SIGNATURE_HEADER],
        )
        if self.server.take(self.headers[EVENT_ID_HEADER], signed):
            self.server.released.wait(timeout=WAIT_TIMEOUT)
        try:
            self.send_response(200 if signed else 401)
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the worker that asked was killed

    def log_message(self, format: str, *args: object) -> None:
        return


def write_worker_settings(directory: Path, queue_name: str) -> None:
    """A settings module for the subprocesses: the project's settings, with this test's
    database, its own queue, a short lease and local webhook receivers allowed."""
    db = connection.settings_dict
    database = {key: db[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")}
    database["OPTIONS"] = db.get("OPTIONS", {})
    consumer = {"workers": WORKER_THREADS, "worker_type": "thread", "periodic": True}
    if settings.REDIS_URL:
        huey = {
            "name": queue_name,
            "huey_class": "huey.RedisHuey",
            "immediate": False,
            "connection": {"url": settings.REDIS_URL},
            "consumer": consumer,
        }
    else:
        huey = {
            "name": queue_name,
            "huey_class": "huey.SqliteHuey",
            "immediate": False,
            "filename": str(directory / "huey.sqlite3"),
            "consumer": consumer,
        }
    (directory / "crashtest_settings.py").write_text(
        "import json\n"
        "from partnerhub.config.settings import *  # noqa: F403\n"
        f"DATABASES = {{'default': json.loads({json.dumps(json.dumps(database))})}}\n"
        f"HUEY = json.loads({json.dumps(json.dumps(huey))})\n"
        f"OUTBOX_LEASE_SECONDS = {LEASE_SECONDS}\n"
        "WEBHOOK_ALLOW_LOCAL = True\n"
        "WEBHOOK_TIMEOUT_SECONDS = 5.0\n"
    )


@pytest.fixture
def subprocess_env(tmp_path):
    queue_name = f"partnerhub-crashtest-{uuid.uuid4().hex[:12]}"
    write_worker_settings(tmp_path, queue_name)
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="crashtest_settings",
        PYTHONPATH=os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY="crash-test-only",
    )
    yield env
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match=f"*{queue_name}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def receiver():
    server = DeduplicatingReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.released.set()
    server.shutdown()
    server.server_close()


class Workers:
    """Worker subprocesses started by the test, each stopped at the end whatever happens."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"worker-{len(self.processes) + 1}.log").open("wb")
        process = subprocess.Popen(
            [str(PARTNERHUB), "run_huey"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.log_dir.glob("*.log"))

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(subprocess_env, tmp_path):
    pool = Workers(subprocess_env, tmp_path)
    yield pool
    pool.stop_all()


def emit_events_from_another_process(env: dict[str, str], organisation_id: int) -> None:
    """The producer: ``EVENTS`` events, each emitted in its own business transaction."""
    code = (
        "from django.db import transaction\n"
        "from partnerhub.core.outbox import emit\n"
        f"for n in range({EVENTS}):\n"
        "    with transaction.atomic():\n"
        f"        emit({EVENT_TYPE!r}, {{'n': n}}, organisation_id={organisation_id})\n"
    )
    subprocess.run(
        [str(PARTNERHUB), "shell", "-c", code],
        env=env,
        check=True,
        capture_output=True,
        timeout=2 * WAIT_TIMEOUT,
    )


def webhook_deliveries():
    return OutboxDelivery.objects.filter(handler="webhooks", event__event_type=EVENT_TYPE)


def test_killed_worker_leaves_no_event_undelivered_and_none_processed_twice(
    receiver, workers, subprocess_env, settings
):
    settings.WEBHOOK_ALLOW_LOCAL = True  # the receiver is http on 127.0.0.1
    org = OrganisationFactory()
    endpoint = webhook_endpoint_create(organisation=org, url=receiver.url)
    receiver.secret = endpoint.secret

    # Given a worker delivering 20 events to a receiver that holds its answers after the fourth,
    first = workers.start()
    emit_events_from_another_process(subprocess_env, org.pk)
    wait_until(
        lambda: len(receiver.received) >= KILL_AFTER_REQUESTS,
        timeout=2 * WAIT_TIMEOUT,  # the worker's start, then the producer's
        what=f"the receiver got {KILL_AFTER_REQUESTS} requests",
        details=workers.logs,
    )
    # when it is killed with requests in flight,
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    receiver.released.set()  # the held requests are answered (to nobody)
    in_flight = set(
        webhook_deliveries().filter(state=DeliveryState.RUNNING).values_list("event_id", flat=True)
    )
    assert in_flight, "the kill should have caught deliveries in flight"
    # (every event is stored; those the killed worker had not fanned out have no delivery yet)
    assert OutboxEvent.objects.filter(event_type=EVENT_TYPE).count() == EVENTS
    assert webhook_deliveries().count() <= EVENTS
    # and a new worker starts once the killed worker's leases have expired,
    leases = webhook_deliveries().filter(state=DeliveryState.RUNNING)
    wait_until(
        lambda: not leases.filter(locked_until__gte=now()).exists(),
        what="the killed worker's leases expired",
    )
    workers.start()
    wait_until(
        lambda: webhook_deliveries().filter(state=DeliveryState.DONE).count() == EVENTS,
        timeout=2 * WAIT_TIMEOUT,  # a new worker's start, then the deliveries
        what="every delivery is done",
        details=workers.logs,
    )

    # then every event reached the receiver and was processed exactly once;
    event_ids = {str(pk) for pk in webhook_deliveries().values_list("event_id", flat=True)}
    assert receiver.bad_signatures == []
    assert set(receiver.received) == event_ids
    assert sorted(receiver.processed) == sorted(event_ids)
    # repeats happened only for events in flight at the kill, and deduplication absorbed them.
    in_flight_ids = {str(pk) for pk in in_flight}
    assert receiver.duplicates, "requests in flight at the kill are sent again (at least once)"
    assert set(receiver.duplicates) <= in_flight_ids
    assert len(receiver.received) == EVENTS + len(receiver.duplicates)
    for delivery in webhook_deliveries().filter(event_id__in=in_flight):
        assert delivery.attempts == 2, "the killed attempt counts"
