"""Several app processes on one database (issue 15, item 6): the database is the only source of
truth, each process's cache of live states a pure cache.

Nothing is simulated: ``partnerhub serve --workers 4`` (four gunicorn processes, each with its
own cache of live states) and the Huey worker it starts (on Redis, applying the stored events:
``REFERRAL_APPLY_IN_WORKER``) run on the test database itself (``transaction=True``: what the
test writes is committed and the processes see it, and the reverse). Several client threads
post a generated history (``bench/_referral_events.py``) in parallel, each batch to whichever
process gunicorn hands the connection to, so that the batches of one partner are applied by
different processes in an order that is not time order. Then every partner's standing, asked
over HTTP (of any process), equals the replay of the history, and ``partnerhub referrals
verify`` (every partner's live state against the replay of the stored events) passes.

The history is sent as a product's retrying, parallel pipeline sends it: each event moved by up
to 500 positions from its place, so payments overtake the registrations of their clients and
refunds their payments (those wait for what they name, issue 15 item 2, in whichever process
the later event arrives).

PostgreSQL only (with Redis for the worker's queue): SQLite serves one host.
"""

from __future__ import annotations

import datetime as dt
import http.client
import importlib.util
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from partnerhub.accounts.services import api_token_create
from partnerhub.referrals.engine import run
from partnerhub.referrals.engine.replay import standing_entry
from partnerhub.referrals.models import StoredEvent
from tests.factories import ProgramFactory
from tests.waiting import WAIT_TIMEOUT, wait_until

ON_POSTGRES = connection.vendor == "postgresql"
REDIS_URL = settings.REDIS_URL

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not ON_POSTGRES or not REDIS_URL,
        reason="PostgreSQL with Redis only: several app processes share one database server",
    ),
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX processes"),
]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "_referral_events.py"
PARTNERHUB = Path(sys.executable).with_name("partnerhub")
WORKERS = 4
CLIENT_THREADS = 6
EVENTS = 4_000
BATCH = 50
START_TIMEOUT = 90.0
SHUFFLE = 500  # positions an event may move


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_referral_events", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_referral_events", module)
    spec.loader.exec_module(module)
    return module


def history() -> list[dict[str, Any]]:
    """EVENTS events over the last half year (all in the past), in time order."""
    generator = load_generator()
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=200)).astimezone(generator.MSK)
    events = generator.generate(
        partners=8,
        clients=400,
        events=EVENTS,
        start=start.replace(microsecond=0).isoformat(),
        days=180,
        seed=15,
    )
    return events


def shuffled(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event moved by a random distance of up to SHUFFLE positions."""
    rng = random.Random(15)
    keys = [position + rng.uniform(0, SHUFFLE) for position in range(len(events))]
    return [events[position] for position in sorted(range(len(events)), key=keys.__getitem__)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_server_settings(directory: Path, queue_name: str) -> None:
    """The project's settings with the test database and a Huey queue of the test's own (its
    Redis keys are named after it: parallel test runs share the Redis database)."""
    db = connection.settings_dict
    database = {key: db[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")}
    database["OPTIONS"] = db.get("OPTIONS", {})
    (directory / "severalprocesses_settings.py").write_text(
        "import json\n"
        "from partnerhub.config.settings import *  # noqa: F403\n"
        f"DATABASES = {{'default': json.loads({json.dumps(json.dumps(database))})}}\n"
        f"HUEY = {{**HUEY, 'name': {queue_name!r}}}  # noqa: F405\n"
        "REFERRAL_APPLY_IN_WORKER = True  # the requests store, the Huey worker applies\n"
    )


class Serve:
    """``partnerhub serve --workers 4`` (and its Huey worker) in its own process group."""

    def __init__(self, env: dict[str, str], directory: Path, token: str) -> None:
        self.env, self.token = env, token
        self.port = free_port()
        self.log = directory / "serve.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    str(PARTNERHUB),
                    "serve",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(WORKERS),
                ],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(
                    f"partnerhub serve exited with {self.process.returncode}\n{self.tail()}"
                )
            try:
                return self.request("GET", "/api/v1/organisation/")[0] == 200
            except OSError:
                return False

        wait_until(
            answers,
            timeout=START_TIMEOUT,
            interval=0.2,
            what="the server answers",
            details=self.tail,
        )

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        """One request on a new connection (gunicorn gives each to any of its workers)."""
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        try:
            client.request(method, path, body=body, headers=headers)
            response = client.getresponse()
            raw = response.read()
        finally:
            client.close()
        return response.status, json.loads(raw) if raw else None

    def worker_pids(self) -> set[int]:
        """The gunicorn worker processes booted (their pids, from gunicorn's log)."""
        marker = "Booting worker with pid: "
        return {
            int(line.split(marker, 1)[1].split()[0])
            for line in self.log.read_text(errors="replace").splitlines()
            if marker in line
        }

    def stop(self) -> None:
        for sig, wait in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
            if self.process.poll() is not None:
                return
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture
def serve(world, tmp_path):
    import redis

    queue_name = f"partnerhub-severalprocesses-{uuid.uuid4().hex[:12]}"
    ProgramFactory(vendor=world.vendor, code="referrals")
    _token, raw = api_token_create(organisation=world.vendor, name="product", role="administrator")
    write_server_settings(tmp_path, queue_name)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="severalprocesses_settings",
        PYTHONPATH=os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        VAR_DIR=str(tmp_path / "var"),
        REDIS_URL=REDIS_URL,
        SECRET_KEY="several-processes-test-only",
        EMAIL_URL="console://",
    )
    server = Serve(env, tmp_path, raw)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        keys = list(client.scan_iter(match=f"*{queue_name}*"))
        if keys:
            client.delete(*keys)


def post_in_parallel(server: Serve, events: list[dict[str, Any]], wave: str) -> dict[str, int]:
    """Post ``events`` in batches of BATCH from CLIENT_THREADS threads taking the next batch
    as they are free; the summed answers."""
    batches: queue.Queue[bytes] = queue.Queue()
    for first in range(0, len(events), BATCH):
        batches.put(json.dumps(events[first : first + BATCH]).encode())
    totals = {"accepted": 0, "duplicates": 0, "waiting": 0, "rejected": 0}
    failures: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        while True:
            try:
                body = batches.get_nowait()
            except queue.Empty:
                return
            try:
                status, answer = server.request("POST", "/api/v1/referrals/events", body)
            except OSError as exc:
                status, answer = 0, repr(exc)
            with lock:
                if status != 200:
                    failures.append(f"{wave}: {status} {str(answer)[:300]}")
                    return
                for key in ("accepted", "duplicates", "waiting"):
                    totals[key] += answer.get(key, 0)
                totals["rejected"] += len(answer["rejected"])
                if answer["rejected"]:
                    failures.append(f"{wave}: rejected {answer['rejected'][:3]}")

    threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, f"{failures[:5]}\n{server.tail()}"
    return totals


def standings(server: Serve, codes: list[str], as_of: str) -> dict[str, dict[str, Any]]:
    found = {}
    for code in codes:
        status, body = server.request(
            "GET", f"/api/v1/referrals/partners/{code}/standing?as_of={as_of.replace('+', '%2B')}"
        )
        assert status == 200, body
        found[code] = body
    return found


def test_four_processes_and_the_worker_under_parallel_intake_equal_the_replay(serve):
    # given a history of 4,000 events (8 partners, 400 clients, half a year), shuffled: many
    # activity and payments arrive before the registration of their client
    events = history()
    sent = shuffled(events)
    seen: set[str] = set()
    overtaking = 0
    for event in sent:
        if event["type"] == "client.registered":
            seen.add(event["client"])
        elif event["type"] in ("client.activity", "payment") and event["client"] not in seen:
            overtaking += 1
    assert overtaking > 50

    # when six clients post it in parallel in batches of 50 to the four processes
    answer = post_in_parallel(serve, sent, "shuffled history")

    # then every event is accepted once (some of them waiting for a while)
    assert answer["accepted"] == EVENTS
    assert answer["duplicates"] == 0
    assert answer["rejected"] == 0
    assert answer["waiting"] > 0
    assert StoredEvent.objects.count() == EVENTS

    # and, once the worker has applied them, every partner's standing (asked of any process)
    # equals the replay of the history, as of a fixed time
    as_of = dt.datetime.now(dt.UTC).replace(microsecond=0)
    replay = run(events, as_of=as_of, history=False)
    expected = {code: standing_entry(p.standing) for code, p in replay.partners.items()}
    assert not replay.rejected
    assert len(expected) == 8
    asked: list[dict[str, dict[str, Any]]] = []

    def applied() -> bool:
        asked.append(standings(serve, sorted(expected), as_of.isoformat()))
        return asked[-1] == expected

    wait_until(
        applied,
        timeout=WAIT_TIMEOUT,
        interval=0.5,
        what="the worker has applied every event",
        details=lambda: f"live {asked[-1]}\nreplay {expected}",
    )
    live = asked[-1]
    assert live == expected
    assert sum(p["clients"] for p in live.values()) > 300  # the history is not trivial
    assert sum(p["points_total"] for p in live.values()) > 0

    # and four gunicorn worker processes ran (each with its own cache of live states)
    assert len(serve.worker_pids()) >= WORKERS

    # and `partnerhub referrals verify` finds no difference
    done = subprocess.run(
        [str(PARTNERHUB), "referrals", "verify"],
        env=serve.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "live standing equals the replay" in done.stdout
