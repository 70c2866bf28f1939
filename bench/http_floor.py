"""Benchmark: the request floor of the running server, and how far each kind of request is above it.

Issue 17, part 5: in one run against ``partnerhub serve`` on PostgreSQL (``--workers`` gunicorn
processes, default 4, 8 threads each; the Huey worker beside them) with ``--threads`` client
threads (default 8), each with its own kept-alive connection, measure for ``--seconds`` seconds
each (after one second of warm-up that is not counted):

- ``GET /healthz``: no database, no session; the floor of the stack (gunicorn, WSGI, the
  middleware chain);
- ``GET /api/v1/organisation/``: an authenticated API read (token of the demo partner «Альфа»);
- ``GET /cabinet/``: a cabinet page with session authentication (its owner, ``owner@alfa.demo``);
- ``POST /api/v1/marketplace/leads/<id>/take``: lead takes with ``Idempotency-Key``s by
  ``--partners`` eligible partners (default 100) on ``--leads`` leads (default 1,500; a lead is
  taken by at most 3 partners, a partner holds at most ``--cap`` open deals, default 50);
- ``GET /cabinet/referrals/``: the referral standing of the demo partner «Альфа».

Prints each one's rate (requests/s; for takes, successful takes/s as well), p50 and p99 latency
and its rate as a share of ``/healthz``'s, then checks the caps held (0 violations).

Steps, in a temporary ``VAR_DIR``: create the database ``ph_bench_floor`` (dropped first and at
the end; skipped with a message when PostgreSQL is unreachable), ``partnerhub migrate``,
``partnerhub collectstatic``, ``partnerhub demo_load``, then in this process the marketplace of
``bench/leads_take.py`` (``prepare``), an API token and a session; then the server, and a wait
until its worker's queue is empty (the demo's events), so that it does not share the cores.

    python bench/http_floor.py [--seconds 10] [--threads 8] [--workers 4]
                               [--pg-url postgres://...] [--redis-url redis://...]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Python puts this script's directory first on sys.path, where a sibling script named like a
# standard module (bench/calendar.py) would shadow it for everything imported below.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import argparse  # noqa: E402
import http.client  # noqa: E402
import importlib.util  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from types import ModuleType  # noqa: E402

BENCH_DB = "ph_bench_floor"
DEMO_PARTNER_OWNER = "owner@alfa.demo"
WARM_UP_SECONDS = 1.0


def load_sibling(name: str) -> ModuleType:
    """``bench/<name>.py`` by path (this directory is off ``sys.path``, see above)."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_serve = load_sibling("_serve")
_leads = load_sibling("leads_take")
StepFailed = _serve.StepFailed
percentile = _serve.percentile


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per request")
    parser.add_argument("--partners", type=int, default=100, help="partners taking leads")
    parser.add_argument("--leads", type=int, default=1500, help="leads to take")
    parser.add_argument("--cap", type=int, default=50, help="open deals a partner may hold")
    _serve.add_server_arguments(parser)
    return parser.parse_args()


# --- what the clients send ------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request to send: method, path, headers, body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass
class Kind:
    """One kind of request: where the next request comes from and what counts as success."""

    name: str
    calls: Callable[[], Call | None]  # None: nothing left to send
    ok: tuple[int, ...] = (200,)


@dataclass
class Measured:
    name: str
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    failed: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def send(connection: http.client.HTTPConnection, call: Call) -> tuple[int, bytes]:
    try:
        connection.request(call.method, call.path, body=call.body, headers=call.headers)
        response = connection.getresponse()
    except (ConnectionError, http.client.HTTPException):
        connection.close()  # the server closed a kept-alive connection: once more
        connection.request(call.method, call.path, body=call.body, headers=call.headers)
        response = connection.getresponse()
    return response.status, response.read()


def client(port: int, kind: Kind, until: float, counted_from: float, result: Measured) -> None:
    """Send ``kind``'s requests one after the other until ``until``; count those that start
    after ``counted_from`` (the warm-up before is not counted)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    ok = 0
    failed: dict[int, int] = {}
    while True:
        started = time.perf_counter()
        if started >= until:
            break
        call = kind.calls()
        if call is None:
            break
        status, _body = send(connection, call)
        if started < counted_from:
            continue
        latencies.append(time.perf_counter() - started)
        if status in kind.ok:
            ok += 1
        else:
            failed[status] = failed.get(status, 0) + 1
    connection.close()
    with result.lock:
        result.latencies.extend(latencies)
        result.ok += ok
        for status, count in failed.items():
            result.failed[status] = result.failed.get(status, 0) + count


def measure(port: int, kind: Kind, threads: int, seconds: float) -> Measured:
    result = Measured(kind.name)
    counted_from = time.perf_counter() + WARM_UP_SECONDS
    until = counted_from + seconds
    workers = [
        threading.Thread(target=client, args=(port, kind, until, counted_from, result))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ended = min(time.perf_counter(), until)
    result.seconds = max(0.001, ended - counted_from)
    return result


def repeating(call: Call) -> Callable[[], Call]:
    return lambda: call


def takes(tokens: list[str], lead_ids: list[int], seed: int) -> Callable[[], Call | None]:
    """Every (partner, lead) pair once, shuffled; each with its own Idempotency-Key."""
    pairs = [(token, lead_id) for token in tokens for lead_id in lead_ids]
    random.Random(seed).shuffle(pairs)
    source: Iterator[tuple[str, int]] = iter(pairs)
    lock = threading.Lock()

    def next_call() -> Call | None:
        with lock:
            pair = next(source, None)
        if pair is None:
            return None
        token, lead_id = pair
        return Call(
            "POST",
            _leads.TAKE_PATH.format(id=lead_id),
            {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            },
            b"{}",
        )

    return next_call


# --- the database ---------------------------------------------------------------------------


@dataclass
class Prepared:
    token: str  # the demo partner's API token
    cookie: str  # a session of its owner
    marketplace: object  # leads_take.Prepared


def prepare(args: argparse.Namespace) -> Prepared:
    """The marketplace of ``bench/leads_take.py``, an API token of the demo partner «Альфа» and
    a session of its owner (this process has Django set up on the bench database)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from partnerhub.accounts.models import User
    from partnerhub.accounts.principal import organisation_of
    from partnerhub.accounts.services import api_token_create

    leads_args = argparse.Namespace(
        partners=args.partners, leads=args.leads, cap=args.cap, lead_cap=3
    )
    marketplace = _leads.prepare(leads_args)
    owner = User.objects.get(email=DEMO_PARTNER_OWNER)
    _token, raw = api_token_create(organisation=organisation_of(owner), name="bench-floor")
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(owner.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = owner.get_session_auth_hash()
    session.save()
    return Prepared(
        token=raw,
        cookie=f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
        marketplace=marketplace,
    )


# --- the run --------------------------------------------------------------------------------


SETTLE_TIMEOUT = 120.0


def settle() -> float:
    """Wait until the worker has emptied its queue for two seconds running (what the demo data
    and the start-up left it: referral events, outbox deliveries), so that it does not share the
    cores with the measured requests; the seconds waited."""
    from huey.contrib.djhuey import HUEY

    started = time.perf_counter()
    quiet_since: float | None = None
    while time.perf_counter() - started < SETTLE_TIMEOUT:
        if HUEY.pending_count() == 0:
            quiet_since = quiet_since or time.perf_counter()
            if time.perf_counter() - quiet_since >= 2.0:
                break
        else:
            quiet_since = None
        time.sleep(0.2)
    return time.perf_counter() - started


def report(results: list[Measured], take: Measured) -> None:
    floor = results[0].rate
    print(f"{'request':<42} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'x /healthz':>10}  failed")
    for result in results:
        failed = ", ".join(f"{n} x {status}" for status, n in sorted(result.failed.items()))
        print(
            f"{result.name:<42} {result.rate:>7,.0f} "
            f"{1000 * percentile(result.latencies, 0.5):>7.1f} "
            f"{1000 * percentile(result.latencies, 0.99):>7.1f} "
            f"{result.rate / floor:>10.2f}  {failed or '-'}"
        )
    print(
        f"lead takes: {take.ok:,} taken in {take.seconds:.1f} s: {take.ok / take.seconds:,.0f} "
        f"takes/s (the rest refused: the lead had its 3 partners, 409)"
    )


def run(args: argparse.Namespace) -> int:
    queue = _serve.empty_redis(args.redis_url)
    with (
        _serve.bench_database(args.pg_url, BENCH_DB, "http floor") as ready,
        tempfile.TemporaryDirectory(prefix="ph-bench-floor-") as name,
    ):
        if not ready:
            return 0
        directory = Path(name)
        server = None
        try:
            env = _serve.server_env(
                pg_url=args.pg_url,
                database=BENCH_DB,
                directory=directory,
                redis_url=args.redis_url if queue else "",
            )
            print(
                f"== http floor on postgresql ({'Redis' if queue else 'SQLite'} Huey): "
                f"partnerhub serve --workers {args.workers}, {args.threads} client threads, "
                f"{args.seconds:.0f} s a request kind"
            )
            started = time.perf_counter()
            _serve.manage(env, "migrate", "--noinput")
            _serve.manage(env, "collectstatic", "--noinput")
            _serve.manage(env, "demo_load")
            _leads.setup_django(env)
            prepared = prepare(args)
            from django.db import connections

            connections.close_all()
            print(
                f"prepared:   demo data and {args.partners} partners with {args.leads} leads "
                f"in {time.perf_counter() - started:.1f} s"
            )
            server = _serve.start_server(
                env, directory, prepared.token, args.workers, ready_path=_leads.READY_PATH
            )
            print(f"settled:    the worker's queue empty after {settle():.1f} s")
            token = {"Authorization": f"Bearer {prepared.token}"}
            session = {"Cookie": prepared.cookie}
            for path, headers in (("/cabinet/", session), ("/cabinet/referrals/", session)):
                status, _body, _ = server.request("GET", path, headers=headers)
                if status != 200:
                    raise StepFailed(f"GET {path} with the session answered {status}")
            market = prepared.marketplace
            kinds = [
                Kind("GET /healthz", repeating(Call("GET", "/healthz", {}))),
                Kind(
                    "GET /api/v1/organisation/ (token)",
                    repeating(Call("GET", "/api/v1/organisation/", token)),
                ),
                Kind("GET /cabinet/ (session)", repeating(Call("GET", "/cabinet/", session))),
                Kind(
                    "POST .../leads/<id>/take (token, key)",
                    takes(market.tokens, market.lead_ids, args.seed),
                    ok=(200, 201),
                ),
                Kind(
                    "GET /cabinet/referrals/ (session)",
                    repeating(Call("GET", "/cabinet/referrals/", session)),
                ),
            ]
            results = [measure(server.port, kind, args.threads, args.seconds) for kind in kinds]
            take_result = results[3]
            violations_args = argparse.Namespace(cap=args.cap, lead_cap=3)
            found = _leads.violations(violations_args, market.program_id)
            connections.close_all()
        except StepFailed as exc:
            if server is not None:
                raise StepFailed(f"{exc}\n  server log:\n{server.log_tail()}") from exc
            raise
        finally:
            _serve.stop_server(server)
    report(results, take_result)
    broken = found.over_partner_cap + found.over_lead_cap + found.counter_mismatch
    print(
        f"violations: {found.over_partner_cap} partners over the cap, {found.over_lead_cap} "
        f"leads over the cap of 3, {found.counter_mismatch} open-deal counters off: "
        f"{'PASS' if broken == 0 else 'FAIL'}"
    )
    return 0 if broken == 0 else 1


def main() -> int:
    args = parse_args()
    try:
        return run(args)
    except StepFailed as exc:
        print(f"FAILED: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
