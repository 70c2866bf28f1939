"""Benchmark: 200 partners take leads concurrently over the API of the running server.

Issue 7 "Benchmark": on PostgreSQL, 200 eligible partners with API tokens take leads with 8 client
threads against ``partnerhub serve`` (gunicorn + Huey); report takes per second, p50/p99
latency, refusals by code and the number of cap violations, which must be 0.

Steps, in a temporary ``VAR_DIR``:

1. Create the database ``ph_bench_leads`` (dropped first and at the end; skipped with a message
   when PostgreSQL is unreachable), ``partnerhub migrate``.
2. Prepare it in this process through the ORM and the services: a vendor, a program of kind
   "leads" (cap on open deals ``--cap``, default 3; cap on partners per lead ``--lead-cap``,
   default 3), ``--partners`` partners (default 200) each made eligible (active enrolment, signed
   contract, page accepted, tariff "Company", app installed with the current agreement) with an
   API token of its owner role, and ``--leads`` leads (default 250) through ``lead_create``.
3. Start ``partnerhub serve`` on a free port (``--workers`` gunicorn workers, default 4; the
   Huey queue on ``--redis-url``, emptied first).
4. Each partner tries ``--tries`` different leads (default 6, twice its cap), chosen at random;
   all the attempts are shuffled together and shared by ``--threads`` client threads (default
   8), each with its own keep-alive connection: ``POST /api/v1/marketplace/leads/<id>/take``
   with the partner's token and its own ``Idempotency-Key``.
5. Count, in the database: partners holding more open deals than the cap, leads with more deals
   than the per-lead cap, and partners whose ``open_deals`` counter differs from their open deals.

Prints the figures; exit status 0 when measured with no violation, 1 when a step fails or a cap
was broken.

    python bench/leads_take.py [--partners 200] [--leads 250] [--tries 6] [--threads 8]
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
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from types import ModuleType  # noqa: E402

ROOT = HERE.parent
BENCH_DB = "ph_bench_leads"
TAKE_PATH = "/api/v1/marketplace/leads/{id}/take"
READY_PATH = "/api/v1/organisation/"
TAKEN = (200, 201)


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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=200)
    parser.add_argument("--leads", type=int, default=250)
    parser.add_argument("--tries", type=int, default=6, help="leads each partner tries to take")
    parser.add_argument("--cap", type=int, default=3, help="open deals a partner may hold")
    parser.add_argument("--lead-cap", type=int, default=3, help="partners a lead may have")
    _serve.add_server_arguments(parser)
    return parser.parse_args()


# --- the database ---------------------------------------------------------------------------


def inn_of(number: int) -> str:
    """A valid 10-digit INN of a legal entity (checksum digit computed) for ``number``."""
    digits = [int(c) for c in f"77{number:07d}"]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


@dataclass
class Prepared:
    """What the clients need: one token per partner, the leads' ids."""

    tokens: list[str]
    lead_ids: list[int]
    program_id: int


def prepare(args: argparse.Namespace) -> Prepared:
    """Vendor, program, eligible partners with tokens and the leads, through the ORM and the
    services (this process has Django set up on the bench database)."""
    from partnerhub.accounts.services import api_token_create
    from partnerhub.contracts.models import Contract, ContractState
    from partnerhub.core import clock
    from partnerhub.leads import services
    from partnerhub.leads.models import (
        CrmTariff,
        LeadProgramSettings,
        LeadSource,
        MarketplaceAccess,
        PageState,
        Region,
    )
    from partnerhub.partners.models import (
        Enrolment,
        EnrolmentState,
        Organisation,
        OrgKind,
        Program,
        ProgramKind,
    )

    now = clock.now()
    vendor = Organisation.objects.create(
        kind=OrgKind.VENDOR, short_name="Вендор (бенчмарк)", inn="7700000001"
    )
    program = Program.objects.create(
        vendor=vendor,
        code="bench-leads",
        name="Заявки на внедрение (бенчмарк)",
        kind=ProgramKind.LEADS,
    )
    settings = LeadProgramSettings.objects.create(
        program=program, open_deal_cap=args.cap, partners_per_lead_cap=args.lead_cap or None
    )
    tokens: list[str] = []
    for number in range(1, args.partners + 1):
        partner = Organisation.objects.create(
            kind=OrgKind.PARTNER, short_name=f"ООО «Партнёр {number}»", inn=inn_of(number)
        )
        Enrolment.objects.create(organisation=partner, program=program, state=EnrolmentState.ACTIVE)
        Contract.objects.create(
            organisation=partner, program=program, state=ContractState.SIGNED, signed_on=now.date()
        )
        MarketplaceAccess.objects.create(
            organisation=partner,
            program=program,
            page_url=f"https://partner{number}.example/vnedrenie",
            page_state=PageState.ACCEPTED,
            page_checked_at=now,
            crm_tariff=CrmTariff.COMPANY,
            crm_portal=f"partner{number}.bitrix24.ru",
            app_installed_at=now,
            agreement_version=settings.agreement_version,
            agreement_accepted_at=now,
        )
        _token, raw = api_token_create(organisation=partner, name="bench")
        tokens.append(raw)
    regions = list(Region.objects.filter(is_active=True).order_by("code")[:10])
    lead_ids = []
    for number in range(1, args.leads + 1):
        lead = services.lead_create(
            program=program,
            company_name=f"ООО «Клиент {number}»",
            region=regions[number % len(regions)],
            company_size="small",
            need="crm",
            contact_name="Иван Петров",
            contact_phone=f"+7916{number:07d}",
            contact_email=f"client{number}@example.ru",
            source=LeadSource.STAFF,
        )
        lead_ids.append(lead.pk)
    return Prepared(tokens=tokens, lead_ids=lead_ids, program_id=program.pk)


@dataclass
class Violations:
    over_partner_cap: int
    over_lead_cap: int
    counter_mismatch: int
    deals: int
    open_deals: int


def violations(args: argparse.Namespace, program_id: int) -> Violations:
    """Cap violations as the database holds them after the run."""
    from django.db.models import Count, Q

    from partnerhub.leads.models import Deal, Lead, MarketplaceAccess

    open_by_partner = Counter(
        dict(
            Deal.objects.filter(program_id=program_id, is_open=True)
            .values_list("organisation_id")
            .annotate(n=Count("pk"))
            .values_list("organisation_id", "n")
            .order_by()
        )
    )
    over_partner = sum(1 for n in open_by_partner.values() if n > args.cap)
    over_lead = (
        Lead.objects.filter(program_id=program_id)
        .annotate(n=Count("deals"))
        .filter(n__gt=args.lead_cap)
        .count()
        if args.lead_cap
        else 0
    )
    mismatch = sum(
        1
        for org_id, counter in MarketplaceAccess.objects.filter(program_id=program_id).values_list(
            "organisation_id", "open_deals"
        )
        if counter != open_by_partner.get(org_id, 0)
    )
    totals = Deal.objects.filter(program_id=program_id).aggregate(
        deals=Count("pk"), open=Count("pk", filter=Q(is_open=True))
    )
    return Violations(over_partner, over_lead, mismatch, totals["deals"], totals["open"])


# --- the server -----------------------------------------------------------------------------


# --- the clients ----------------------------------------------------------------------------


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    taken: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_thread(port: int, attempts: list[tuple[str, int]], outcome: Outcome) -> None:
    """Take the leads of ``attempts`` ((token, lead id)) one after the other."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    taken = 0
    refusals: Counter[str] = Counter()
    for token, lead_id in attempts:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        path = TAKE_PATH.format(id=lead_id)
        started = time.perf_counter()
        try:
            connection.request("POST", path, body=b"{}", headers=headers)
            response = connection.getresponse()
        except (ConnectionError, http.client.HTTPException):
            connection.close()  # the server closed a kept-alive connection: once more
            connection.request("POST", path, body=b"{}", headers=headers)
            response = connection.getresponse()
        body = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status in TAKEN:
            taken += 1
            continue
        try:
            code = json.loads(body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = f"http {response.status}"
        refusals[code] += 1
    connection.close()
    with outcome.lock:
        outcome.latencies.extend(latencies)
        outcome.taken += taken
        outcome.refusals.update(refusals)


def drive(args: argparse.Namespace, port: int, prepared: Prepared) -> tuple[Outcome, float]:
    """Every partner's attempts, shuffled together, spread over the client threads."""
    rng = random.Random(args.seed)
    attempts = [
        (token, lead_id)
        for token in prepared.tokens
        for lead_id in rng.sample(prepared.lead_ids, min(args.tries, len(prepared.lead_ids)))
    ]
    rng.shuffle(attempts)
    shares = [attempts[i :: args.threads] for i in range(args.threads)]
    outcome = Outcome()
    threads = [
        threading.Thread(target=client_thread, args=(port, share, outcome)) for share in shares
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome, time.perf_counter() - started


# --- the run --------------------------------------------------------------------------------


def setup_django(env: dict[str, str]) -> None:
    """Set Django up in this process on the bench database (settings read the environment)."""
    for key in ("DATABASE_URL", "REDIS_URL", "DEBUG"):
        os.environ.pop(key, None)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "partnerhub.config.settings"
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    import django

    django.setup()


def run(args: argparse.Namespace) -> int:
    queue = empty_redis(args.redis_url)
    with (
        _serve.bench_database(args.pg_url, BENCH_DB, "leads take") as ready,
        tempfile.TemporaryDirectory(prefix="ph-bench-leads-") as name,
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
                f"== leads take on postgresql ({'Redis' if queue else 'SQLite'} Huey): "
                f"{args.partners} partners x {args.tries} tries, {args.leads} leads, cap "
                f"{args.cap} open deals a partner, {args.lead_cap or 'no'} partners a lead, "
                f"{args.threads} client threads"
            )
            manage(env, "migrate", "--noinput")
            setup_django(env)
            started = time.perf_counter()
            prepared = prepare(args)
            from django.db import connections

            connections.close_all()
            print(f"prepared:   in {time.perf_counter() - started:.1f} s")
            server = start_server(
                env, directory, prepared.tokens[0], args.workers, ready_path=READY_PATH
            )
            print(
                f"server:     partnerhub serve on 127.0.0.1:{server.port} ({args.workers} workers)"
            )
            outcome, seconds = drive(args, server.port, prepared)
            found = violations(args, prepared.program_id)
            connections.close_all()
        except StepFailed as exc:
            if server is not None:
                raise StepFailed(f"{exc}\n  server log:\n{server.log_tail()}") from exc
            raise
        finally:
            stop_server(server)
    attempts = len(outcome.latencies)
    refused = "; ".join(f"{n:,} x {code}" for code, n in outcome.refusals.most_common())
    print(
        f"attempts:   {attempts:,} in {seconds:.1f} s: {outcome.taken:,} taken, "
        f"{sum(outcome.refusals.values()):,} refused{f' ({refused})' if refused else ''}"
    )
    print(
        f"rate:       {outcome.taken / seconds:,.0f} takes/s, {attempts / seconds:,.0f} requests/s"
    )
    print(
        f"latency:    p50 {1000 * percentile(outcome.latencies, 0.5):.0f} ms, "
        f"p99 {1000 * percentile(outcome.latencies, 0.99):.0f} ms, "
        f"max {1000 * max(outcome.latencies):.0f} ms a request"
    )
    print(f"deals:      {found.deals:,} in the database, {found.open_deals:,} open")
    broken = found.over_partner_cap + found.over_lead_cap + found.counter_mismatch
    print(
        f"violations: {found.over_partner_cap} partners over the cap of {args.cap}, "
        f"{found.over_lead_cap} leads over the cap of {args.lead_cap}, "
        f"{found.counter_mismatch} open-deal counters off: {'PASS' if broken == 0 else 'FAIL'}"
    )
    if outcome.taken == 0:
        print(f"note:       no take succeeded (is {TAKE_PATH} served?): FAIL")
        broken += 1
    if found.deals != outcome.taken:
        print(
            f"note:       {outcome.taken:,} takes answered but {found.deals:,} deals stored: FAIL"
        )
        broken += 1
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
