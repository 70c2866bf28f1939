"""Benchmark: live referral event intake over HTTP, and how soon the standing reflects it.

Issue 5 "Benchmarks": post the events of the replay benchmark (``bench/_referral_events.py``:
300,000 events, 500 partners, 30,000 clients, two years, in the file's arrival order) in
batches of 1,000 to the running server, on SQLite and on PostgreSQL, and report events per
second and the delay until the standing reflects the last event. Targets: at least 5,000
events/s on PostgreSQL, standing fresh within 1 second.

For each database, in a temporary ``VAR_DIR``: ``partnerhub migrate``, ``partnerhub demo_load``
and ``partnerhub apitoken create`` for the demo vendor (administrator role), then ``partnerhub
serve`` (gunicorn and the Huey worker) on a free local port. SQLite uses a file under the
temporary directory and the SQLite Huey queue; PostgreSQL uses the database
``ph_bench_referrals`` (created and dropped here; skipped with a message when unreachable) and
the Redis queue ``--redis-url`` (database 14, emptied first).

One client posts the batches sequentially (``http.client``, keep-alive when the server keeps the
connection; ``--senders N``: N clients at once, each taking the next batch), each a JSON array with
``Authorization: Bearer <token>`` and its own ``Idempotency-Key``, and records each batch's latency.
Events per second = accepted events / total posting time. Freshness: the batches are posted in
``--fresh-points`` equal parts (3); after each part, the partner of the last payment event posted
so far: ``GET /api/v1/referrals/partners/<code>/standing`` every 5 ms until its
``points_total``, ``bonus_accrued`` and ``clients`` equal what the engine computes from the events
posted so far (``partnerhub.referrals.engine.run``, as of now, computed before posting); the
run's freshness is the median of the parts (one measurement of about 0.25 s varies by a tenth of
a second from run to run), and the posting time leaves the waits out. On
PostgreSQL the requests store the events and the worker applies them (``REFERRAL_APPLY_IN_WORKER``),
so freshness includes the worker's lag; the run counts the batches that found the backlog over its
limit for too long and applied it in the request. ``--verify`` then runs ``partnerhub referrals
verify`` (every partner's live standing against the replay of all stored events).

Issue 15: each database is measured in two arrival orders (``--orders``) and with one or more
numbers of server processes (``--workers 1,4``), each run on an empty database:

- ``in-order``: the file's arrival order above (time order, 2 % of the events late);
- ``shuffled``: the same events shuffled across batches as a product's retrying, parallel
  pipeline sends them: every event moves by a random distance of up to ``--shuffle-window``
  positions (5,000 by default: five batches), so a payment often overtakes the registration of
  its client, and a refund its payment.

At the end of each run every partner's standing (``GET .../standing?as_of=T``, T fixed before
posting) must equal the replay of all the events (the engine on the whole history): the run
FAILS otherwise (exit 1, whatever ``--check`` says), and prints how many partners differ.
Freshness compares the last payment's partner with the engine on what the intake kept (all the
events when it refused none). The summary compares each shuffled run with the in-order run of
the same processes (the target: events/s and freshness within 20 %).

The server is stopped with SIGINT to its process group, and the PostgreSQL database dropped, also
when something fails. Exit status: 0 when measured and every standing equals the replay
(``--check``: 1 also when a target is missed), 1 when a step fails or a standing differs.

    python bench/referrals_intake.py [--events 300000] [--batch 1000] [--only sqlite]
                                     [--workers 1,4] [--senders 1] [--orders in-order,shuffled]
                                     [--pg-url postgres://...] [--redis-url redis://...] [--verify]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Python puts this script's directory first on sys.path, where a sibling script named like a
# standard module (bench/calendar.py) would shadow it for everything imported below.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from decimal import Decimal  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

ROOT = HERE.parent
BENCH_DB = "ph_bench_referrals"
START = "2024-11-01T00:00:00+03:00"
VENDOR_INN = "7728123459"  # the demo vendor of ``partnerhub demo_load``
EVENTS_PATH = "/api/v1/referrals/events"
STANDING_PATH = "/api/v1/referrals/partners/{code}/standing"
READY_PATH = "/api/v1/organisation/"
TARGET_RATE = 5_000  # events/s, on PostgreSQL
TARGET_FRESHNESS = 1.0  # seconds
TARGET_SHUFFLED = 0.20  # shuffled within 20 % of in order (events/s and freshness)
SETTLE_SECONDS = 30.0  # after freshness, how long the other partners may take to equal
ORDERS = ("in-order", "shuffled")
POLL_SECONDS = 0.005
FRESHNESS_TIMEOUT = 120.0
COMPARED = ("points_total", "bonus_accrued", "clients")
#: What the server logs when a request applied the backlog itself (``live.pending_room``).
FALLBACK_LOG = "referral events waited too long for the worker"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument(
        "--partners", type=int, help="default: 500 for 300,000 events, in proportion otherwise"
    )
    parser.add_argument(
        "--clients", type=int, help="default: 30,000 for 300,000 events, in proportion otherwise"
    )
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1_000, help="events a request")
    parser.add_argument(
        "--senders",
        type=int,
        default=1,
        help="HTTP clients posting at once (each takes the next batch; default 1: in order)",
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="gunicorn workers: a number, or several separated by commas (one run each)",
    )
    parser.add_argument(
        "--orders",
        default=",".join(ORDERS),
        help="arrival orders to measure, separated by commas: in-order, shuffled",
    )
    parser.add_argument(
        "--shuffle-window",
        type=int,
        default=5_000,
        help="shuffled: how many positions an event may move (default: five batches)",
    )
    parser.add_argument(
        "--pg-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL database to connect to for creating and dropping the bench database",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/14",
        help="the Huey queue of the PostgreSQL run (emptied first)",
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--verify",
        action="store_true",
        help="then run `partnerhub referrals verify` (every partner: live equals replay)",
    )
    parser.add_argument(
        "--fresh-points",
        type=int,
        default=3,
        help="freshness measured after this many equal parts of the batches (the median counts)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    try:
        args.workers = [int(n) for n in str(args.workers).split(",") if n.strip()]
    except ValueError:
        parser.error("--workers: numbers separated by commas")
    args.orders = [name.strip() for name in args.orders.split(",") if name.strip()]
    if not args.workers or min(args.workers) < 1:
        parser.error("--workers: at least one process")
    if args.fresh_points < 1:
        parser.error("--fresh-points: at least one")
    if not args.orders or set(args.orders) - set(ORDERS):
        parser.error(f"--orders: some of {', '.join(ORDERS)}")
    return args


# --- the events and what the engine says about them -------------------------------------------


def load_sibling(name: str) -> ModuleType:
    """``bench/<name>.py`` by path (this directory is off ``sys.path``, see above)."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_serve = load_sibling("_serve")
StepFailed = _serve.StepFailed
Server = _serve.Server
empty_redis = _serve.empty_redis
manage = _serve.manage
percentile = _serve.percentile
start_server = _serve.start_server
stop_server = _serve.stop_server


@dataclass
class Order:
    """The batches of one arrival order (already serialised) and what the engine says of the
    events an intake that refuses events naming what has not arrived yet would keep in that
    order (``kept``; the freshness target when the server refuses some)."""

    name: str
    bodies: list[bytes]
    partner: str
    kept: int
    expected_kept: dict[str, Any]
    #: freshness points before the last batch: (batches posted, partner of the last payment
    #: posted, the engine's standing of that partner on the events posted so far)
    probes: list[tuple[int, str, dict[str, Any]]]


@dataclass
class Workload:
    """The arrival orders to post and the replay of all the events as of ``as_of``."""

    events: int
    orders: dict[str, Order]
    as_of: dt.datetime
    replay: dict[str, dict[str, Any]]
    summary: str

    def expected_all(self, partner: str) -> dict[str, Any]:
        entry = self.replay[partner]
        return {name: entry[name] for name in COMPARED}


@dataclass
class Outcome:
    """What one run measured."""

    database: str
    workers: int
    order: str
    rate: float
    freshness: float | None
    differing: int
    met: bool


def accepted_by_intake(arriving: list[dict[str, Any]], batch: int) -> list[dict[str, Any]]:
    """The events the intake keeps when they arrive in this order and these batches: activity
    and payments of clients registered in an earlier batch or the same one, refunds of
    payments known so far (the rest is rejected as unknown, as the API answers)."""
    clients: set[str] = set()
    payments: set[str] = set()
    kept: list[dict[str, Any]] = []
    for first in range(0, len(arriving), batch):
        chunk = arriving[first : first + batch]
        clients.update(e["client"] for e in chunk if e["type"] == "client.registered")
        payments.update(e["id"] for e in chunk if e["type"] == "payment" and e["client"] in clients)
        for event in chunk:
            kind = event["type"]
            if kind in ("client.activity", "payment") and event["client"] not in clients:
                continue
            if kind == "payment.refunded" and event["payment"] not in payments:
                continue
            kept.append(event)
    return kept


def shuffled(events: list[dict[str, Any]], window: int, seed: int) -> list[dict[str, Any]]:
    """The events, each moved by a random distance of up to ``window`` positions (the order of
    a retrying, parallel pipeline: payments overtake registrations, refunds payments)."""
    rng = random.Random(seed * 7_919 + window)
    keys = [position + rng.uniform(0, window) for position in range(len(events))]
    order = sorted(range(len(events)), key=keys.__getitem__)
    return [events[position] for position in order]


def prepare(args: argparse.Namespace) -> Workload:
    generator = load_generator()
    partners, clients = generator.sizes_for(args.events)
    partners, clients = args.partners or partners, args.clients or clients
    events = generator.generate(
        partners=partners,
        clients=clients,
        events=args.events,
        start=START,
        days=args.days,
        seed=args.seed,
    )
    arriving = generator.arrival_order(events, seed=args.seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    end = dt.datetime.fromisoformat(START) + dt.timedelta(days=args.days)
    if end > now:
        print(f"note: the events run until {end:%Y-%m-%d}, after now; freshness compares as of now")
    from partnerhub.referrals.engine import run
    from partnerhub.referrals.engine.replay import standing_entry

    replay = run(events, as_of=now, history=False)
    everyone = {code: standing_entry(p.standing) for code, p in replay.partners.items()}
    orders: dict[str, Order] = {}
    for name in args.orders:
        sent = (
            arriving if name == "in-order" else shuffled(arriving, args.shuffle_window, args.seed)
        )
        bodies = [
            json.dumps(sent[first : first + args.batch], ensure_ascii=False).encode()
            for first in range(0, len(sent), args.batch)
        ]
        partner = last_paid_partner(sent)
        kept = accepted_by_intake(sent, args.batch)
        standing = run(kept, as_of=now, history=False).partners[partner].standing
        expected = {field_: getattr(standing, field_) for field_ in COMPARED}
        probes = []
        for point in range(1, args.fresh_points):
            posted = len(bodies) * point // args.fresh_points
            prefix = sent[: posted * args.batch]
            probe = last_paid_partner(prefix)
            found = run(prefix, as_of=now, history=False).partners[probe].standing
            probes.append((posted, probe, {f: getattr(found, f) for f in COMPARED}))
        orders[name] = Order(name, bodies, partner, len(kept), expected, probes)
    batches = len(next(iter(orders.values())).bodies)
    summary = (
        f"{args.events:,} events ({partners:,} partners, {clients:,} clients, {args.days} days, "
        f"seed {args.seed}) in {batches:,} batches of {args.batch:,}"
    )
    return Workload(args.events, orders, now, everyone, summary)


def load_generator() -> ModuleType:
    return load_sibling("_referral_events")


def last_paid_partner(arriving: list[dict[str, Any]]) -> str:
    """The partner of the last payment posted (of an attributed client)."""
    codes = {e["partner"] for e in arriving if e["type"] == "partner.registered"}
    partner_of = {
        e["client"]: e["referral_code"]
        for e in arriving
        if e["type"] == "client.registered" and e.get("referral_code") in codes
    }
    for event in reversed(arriving):
        if event["type"] == "payment" and event["client"] in partner_of:
            return partner_of[event["client"]]
    raise StepFailed("no payment of an attributed client among the events")


# --- one database ---------------------------------------------------------------------------


def post_batches(
    server: Server, order: Order, run_id: str, senders: int = 1, first: int = 0, stop: int = 0
) -> dict[str, Any]:
    """Post the batches ``first`` to ``stop`` (default: to the end) in order from ``senders``
    threads (each with its own kept-alive connection, taking the next batch when it is free:
    with several, neighbouring batches overtake each other)."""
    latencies: list[float] = []
    totals = {"accepted": 0, "duplicates": 0, "waiting": 0}
    rejected: dict[str, int] = {}
    kept_alive = [True]
    failures: list[str] = []
    numbers = iter(range(first, stop or len(order.bodies)))
    lock = threading.Lock()

    def client(connection: Server) -> None:
        while not failures:
            with lock:
                number = next(numbers, None)
            if number is None:
                return
            headers = {
                "Content-Type": "application/json",
                "Idempotency-Key": f"bench-{run_id}-{number}",
            }
            sent = time.perf_counter()
            try:
                status, answer, response = connection.request(
                    "POST", EVENTS_PATH, order.bodies[number], headers
                )
            except OSError as exc:
                status, answer, response = 0, repr(exc).encode(), None
            took = time.perf_counter() - sent
            with lock:
                latencies.append(took)
                if status != 200 or response is None:
                    failures.append(
                        f"batch {number + 1} of {len(order.bodies)}: POST {EVENTS_PATH} "
                        f"answered {status}: {answer[:500]!r}"
                    )
                    return
                kept_alive[0] = kept_alive[0] and not response.will_close
                document = json.loads(answer)
                for key in totals:
                    totals[key] += document.get(key, 0)
                for item in document["rejected"]:
                    reason = item.get("reason", "?")
                    rejected[reason] = rejected.get(reason, 0) + 1

    connections = [server] + [
        Server(server.process, server.port, server.log, server.token) for _ in range(senders - 1)
    ]
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    for extra in connections[1:]:
        extra.connection.close()
    if failures:
        raise StepFailed(failures[0])
    return {
        "seconds": seconds,
        **totals,
        "rejected": rejected,
        "latencies": sorted(latencies),
        "kept_alive": kept_alive[0],
    }


def _add_up(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Two parts' ``post_batches`` answers as one."""
    if not total:
        return part
    rejected = dict(total["rejected"])
    for reason, n in part["rejected"].items():
        rejected[reason] = rejected.get(reason, 0) + n
    return {
        "seconds": total["seconds"] + part["seconds"],
        **{key: total[key] + part[key] for key in ("accepted", "duplicates", "waiting")},
        "rejected": rejected,
        "latencies": sorted(total["latencies"] + part["latencies"]),
        "kept_alive": total["kept_alive"] and part["kept_alive"],
    }


def same(live: dict[str, Any], expected: dict[str, Any]) -> bool:
    return all(Decimal(str(live.get(name))) == Decimal(str(expected[name])) for name in COMPARED)


def standing(server: Server, code: str, as_of: dt.datetime | None = None) -> dict[str, Any]:
    path = STANDING_PATH.format(code=code)
    if as_of is not None:
        path += "?as_of=" + as_of.isoformat().replace("+", "%2B")
    status, answer, _ = server.request("GET", path)
    if status == 404:  # the worker has not applied the partner's registration yet
        return {}
    if status != 200:
        raise StepFailed(f"GET {path} answered {status}: {answer[:300]!r}")
    return json.loads(answer)


def wait_fresh(
    server: Server, partner: str, expected: dict[str, Any]
) -> tuple[float | None, int, dict[str, Any]]:
    """Seconds until the live standing equals ``expected`` (None: not within the timeout)."""
    started = time.perf_counter()
    polls = 0
    live: dict[str, Any] = {}
    while time.perf_counter() - started < FRESHNESS_TIMEOUT:
        polls += 1
        live = standing(server, partner)
        if live and same(live, expected):
            return time.perf_counter() - started, polls, live
        time.sleep(POLL_SECONDS)
    return None, polls, live


def differing_partners(server: Server, work: Workload) -> list[tuple[str, dict[str, Any]]]:
    """The partners whose live standing as of ``work.as_of`` is not the replay's, after
    waiting up to SETTLE_SECONDS for the worker to reach them."""
    deadline = time.perf_counter() + SETTLE_SECONDS
    pending = sorted(work.replay)
    while True:
        differ = []
        for code in pending:
            live = standing(server, code, work.as_of)
            if live != work.replay[code]:
                differ.append((code, live))
        if not differ or time.perf_counter() > deadline:
            return differ
        pending = [code for code, _ in differ]
        time.sleep(1.0)


def bench_run(
    args: argparse.Namespace,
    work: Workload,
    order: Order,
    workers: int,
    label: str,
    env: dict[str, str],
    directory: Path,
) -> Outcome:
    """Measure one arrival order with ``workers`` processes on an empty database."""
    print(f"== referrals intake on {label}, server processes: {workers}, {order.name}")
    manage(env, "migrate", "--noinput")
    manage(env, "demo_load")
    token = (
        manage(
            env,
            "apitoken",
            "create",
            "--org",
            VENDOR_INN,
            "--name",
            "bench",
            "--role",
            "administrator",
        )
        .strip()
        .splitlines()[-1]
    )
    server = None
    try:
        server = start_server(env, directory, token, workers, ready_path=READY_PATH)
        print(
            f"server:     partnerhub serve on 127.0.0.1:{server.port} "
            f"({workers} gunicorn workers + Huey), {args.senders} sending HTTP clients"
        )
        run_id = secrets.token_hex(4)
        # the batches in parts: after each, the time until the standing of the last payment's
        # partner reflects it (the median of these is the run's freshness; the posting time
        # does not include the waits)
        parts = [*order.probes, (len(order.bodies), order.partner, {})]
        posted, first, freshness = {}, 0, []
        for stop, partner, target in parts:
            part = post_batches(server, order, run_id, args.senders, first, stop)
            posted = _add_up(posted, part)
            first = stop
            if stop == len(order.bodies):
                refused = sum(posted["rejected"].values())
                # an intake that refuses what it cannot place yet (before issue 15) keeps fewer
                target = work.expected_all(order.partner) if not refused else order.expected_kept
            fresh, polls, live = wait_fresh(server, partner, target)
            freshness.append(fresh)
            if fresh is None:
                break
        refused = sum(posted["rejected"].values())
        differ = differing_partners(server, work)
    except StepFailed as exc:
        if server is not None:
            raise StepFailed(f"{exc}\n  server log:\n{server.log_tail()}") from exc
        raise
    finally:
        stop_server(server)
    fallbacks = server.log.read_text(errors="replace").count(FALLBACK_LOG) if server else 0
    rate = posted["accepted"] / posted["seconds"]
    latencies = posted["latencies"]
    rejected = posted["rejected"]
    reasons = "; ".join(f"{n:,} x {reason}" for reason, n in rejected.items())
    print(
        f"posted:     {posted['accepted']:,} accepted ({posted['waiting']:,} waiting), "
        f"{posted['duplicates']:,} duplicates, "
        f"{refused:,} rejected{f' ({reasons})' if reasons else ''} "
        f"in {posted['seconds']:.1f} s"
    )
    print(
        f"latency:    p50 {1000 * percentile(latencies, 0.5):.0f} ms, "
        f"p95 {1000 * percentile(latencies, 0.95):.0f} ms, max {1000 * latencies[-1]:.0f} ms "
        f"a batch (connection {'kept alive' if posted['kept_alive'] else 'closed by the server'})"
    )
    met = True
    if label.startswith("postgresql"):
        verdict = "PASS" if rate >= TARGET_RATE else "FAIL"
        met = verdict == "PASS"
        goal = f"(target >= {TARGET_RATE:,}): {verdict}"
    else:
        goal = "(no target on SQLite)"
    print(f"rate:       {rate:,.0f} events/s {goal}")
    applied_by = env.get("REFERRAL_APPLY_IN_WORKER") or ("1" if "postgres" in label else "0")
    if applied_by == "1":
        print(
            f"applied:    by the worker; {fallbacks:,} batches applied in the request "
            "(backlog over the limit for too long)"
        )
    if fresh is not None:
        each = ", ".join(f"{value:.2f}" for value in freshness)
        fresh = sorted(freshness)[len(freshness) // 2]  # type: ignore[type-var]
    if fresh is None:
        met = False
        shown = {name: live.get(name) for name in COMPARED}
        print(
            f"freshness:  {partner} not equal to the engine's after "
            f"{FRESHNESS_TIMEOUT:.0f} s ({polls} polls): live {shown}, engine {target}: FAIL"
        )
    else:
        verdict = "PASS" if fresh <= TARGET_FRESHNESS else "FAIL"
        met = met and verdict == "PASS"
        print(
            f"freshness:  the last payment's partner equal to the engine's {fresh:.2f} s after "
            f"a part of the batches, the median of {len(freshness)} parts ({each} s; target <= "
            f"{TARGET_FRESHNESS:g} s): {verdict}"
        )
    if differ:
        code, live_entry = differ[0]
        changed = {
            name: (live_entry.get(name), value)
            for name, value in work.replay[code].items()
            if live_entry.get(name) != value
        }
        print(
            f"standings:  {len(differ):,} of {len(work.replay):,} partners differ from the replay "
            f"as of {work.as_of.isoformat()}: FAIL (first: {code} (live, replay) {changed})"
        )
    else:
        print(
            f"standings:  all {len(work.replay):,} partners equal the replay as of "
            f"{work.as_of.isoformat()}: PASS"
        )
    if args.verify:
        started = time.perf_counter()
        try:
            answer = manage(env, "referrals", "verify").strip().splitlines()[-1]
        except StepFailed as exc:
            met = False
            answer = f"FAIL: {exc}"
        print(f"verify:     {answer} ({time.perf_counter() - started:.0f} s)")
    return Outcome(label.split()[0], workers, order.name, rate, fresh, len(differ), met)


def base_env(directory: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    env["VAR_DIR"] = str(directory)
    env["EMAIL_URL"] = "console://"
    return env


def bench_sqlite(args: argparse.Namespace, work: Workload) -> list[Outcome]:
    outcomes = []
    for workers in args.workers:
        for order in work.orders.values():
            with tempfile.TemporaryDirectory(prefix="ph-bench-intake-") as name:
                directory = Path(name)
                env = {
                    **base_env(directory),
                    "DATABASE_URL": f"sqlite:///{directory}/bench.sqlite3",
                }
                label = "sqlite (WAL, SQLite Huey)"
                outcomes.append(bench_run(args, work, order, workers, label, env, directory))
    return outcomes


def bench_postgresql(args: argparse.Namespace, work: Workload) -> list[Outcome]:
    import psycopg

    try:
        admin = psycopg.connect(args.pg_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        print(f"== referrals intake on postgresql: skipped, PostgreSQL is unreachable ({reason})")
        return []
    outcomes = []
    with admin:
        for workers in args.workers:
            for order in work.orders.values():
                queue = empty_redis(args.redis_url)
                with tempfile.TemporaryDirectory(prefix="ph-bench-intake-") as name:
                    directory = Path(name)
                    admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
                    admin.execute(f"CREATE DATABASE {BENCH_DB}")
                    try:
                        url = psycopg.conninfo.conninfo_to_dict(args.pg_url)
                        user, host = url.get("user", ""), url.get("host", "")
                        port = url.get("port", 5432)
                        password = f":{url['password']}" if url.get("password") else ""
                        env = {
                            **base_env(directory),
                            "DATABASE_URL": f"postgres://{user}{password}@{host}:{port}/{BENCH_DB}",
                        }
                        if queue:
                            env["REDIS_URL"] = args.redis_url
                        label = f"postgresql ({'Redis' if queue else 'SQLite'} Huey)"
                        outcomes.append(
                            bench_run(args, work, order, workers, label, env, directory)
                        )
                    finally:
                        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    return outcomes


def summarise(outcomes: list[Outcome]) -> bool:
    """Print one line a run and each shuffled run against the in-order one of the same
    database and processes; True when every shuffled run is within TARGET_SHUFFLED."""
    if not outcomes:
        return True
    print("== summary (events/s, freshness of the last payment's partner, standings vs replay)")
    for o in outcomes:
        fresh = f"{o.freshness:.2f} s" if o.freshness is not None else "not reached"
        standings = "equal" if not o.differing else f"{o.differing:,} partners differ"
        print(
            f"{o.database:<11} {o.workers} proc. {o.order:<9} {o.rate:>8,.0f} events/s, "
            f"fresh {fresh:>11}, standings {standings}"
        )
    within = True
    base = {(o.database, o.workers): o for o in outcomes if o.order == "in-order"}
    for o in outcomes:
        ref = base.get((o.database, o.workers))
        if o.order != "shuffled" or ref is None:
            continue
        slower = 1 - o.rate / ref.rate
        if o.freshness is None or ref.freshness is None:
            staler = float("inf")
        else:
            staler = o.freshness / max(ref.freshness, POLL_SECONDS) - 1
        ok = slower <= TARGET_SHUFFLED and staler <= TARGET_SHUFFLED
        within = within and ok
        print(
            f"{o.database:<11} {o.workers} proc. shuffled vs in order: rate {-slower:+.0%}, "
            f"freshness {staler:+.0%} (target within {TARGET_SHUFFLED:.0%}): "
            f"{'PASS' if ok else 'FAIL'}"
        )
    return within


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    work = prepare(args)
    size = sum(len(body) for body in next(iter(work.orders.values())).bodies) / 1e6
    print(
        f"prepared:   {work.summary}, {size:.1f} MB of JSON; the replay of every partner as of "
        f"{work.as_of.isoformat()} and the engine on what the intake keeps in "
        f"{time.perf_counter() - started:.1f} s"
    )
    status = 0
    outcomes: list[Outcome] = []
    for name, bench in (("sqlite", bench_sqlite), ("postgresql", bench_postgresql)):
        if args.only not in (None, name):
            continue
        try:
            outcomes += bench(args, work)
        except StepFailed as exc:
            print(f"FAILED: {exc}")
            status = 1
    within = summarise(outcomes)
    if any(o.differing for o in outcomes):
        status = 1
    if args.check and (not within or not all(o.met for o in outcomes)):
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
