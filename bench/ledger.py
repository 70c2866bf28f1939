"""Benchmark: ledger postings per second through ``core.ledger.post()`` beside plain INSERTs.

Issue "Ledger": post 100,000 two-entry transactions through the service (batches of 1,000, each
batch one ``transaction.atomic()``) and report transactions per second on SQLite and on
PostgreSQL beside the rate of plain INSERTs of the same rows (one transaction row and two entry
rows each, same columns) through the database driver's ``executemany`` in the same run; the
ratio is the figure. It also times ``check_invariants()`` (``partnerhub ledger check``) over
the posted rows.

Each database is fresh: a temporary SQLite file with the project's options (WAL, IMMEDIATE
transactions), and a PostgreSQL database ``ph_bench_ledger`` created and dropped here (skipped
with a message when PostgreSQL cannot be reached). Each runs in its own child process, which
sets ``DATABASE_URL`` before Django reads its settings; the ledger tables are created with the
schema editor (with the append-only triggers), independent of the migrations.

    python bench/ledger.py [--count 100000] [--batch 1000] [--pg-url postgres://...] [--only sqlite]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Python puts this script's directory first on sys.path, where a sibling script named like a
# standard module (bench/calendar.py) would shadow it for everything imported below.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from decimal import Decimal  # noqa: E402
from typing import Any  # noqa: E402

ROOT = HERE.parent
BENCH_DB = "ph_bench_ledger"
ORGANISATIONS = 100


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="transactions per database")
    parser.add_argument("--batch", type=int, default=1_000, help="transactions per commit")
    parser.add_argument(
        "--pg-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL database to connect to for creating and dropping the bench database",
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- parent: one child process per database -------------------------------------------------


def run_child(args: argparse.Namespace, database_url: str) -> int:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--count",
        str(args.count),
        "--batch",
        str(args.batch),
    ]
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(command, env=env, check=False).returncode


def bench_sqlite(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="ph-bench-ledger-") as directory:
        return run_child(args, f"sqlite:///{directory}/bench.sqlite3")


def bench_postgresql(args: argparse.Namespace) -> int:
    import psycopg

    try:
        admin = psycopg.connect(args.pg_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        print(f"== ledger on postgresql: skipped, PostgreSQL is unreachable ({reason})")
        return 0
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DB}")
        try:
            url = psycopg.conninfo.conninfo_to_dict(args.pg_url)
            user, host, port = url.get("user", ""), url.get("host", ""), url.get("port", 5432)
            password = f":{url['password']}" if url.get("password") else ""
            return run_child(args, f"postgres://{user}{password}@{host}:{port}/{BENCH_DB}")
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


# --- child: one database ----------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.config.settings")
    import django

    django.setup()
    from django.db import connection

    from partnerhub.core.ledger import check_invariants

    accounts = create_tables()
    amounts = [Decimal(f"{i % 9999 + 1}.{i % 100:02d}") for i in range(args.count)]
    vendor = connection.vendor
    label = "sqlite (WAL, IMMEDIATE)" if vendor == "sqlite" else "postgresql"
    print(f"== ledger on {label}: {args.count:,} two-entry transactions, batches of {args.batch:,}")

    queries = queries_per_post(accounts)
    service_seconds = post_through_service(accounts, amounts, args.batch)
    start = time.perf_counter()
    breaches = check_invariants()
    check_seconds = time.perf_counter() - start
    raw_seconds = insert_raw(accounts, amounts, args.batch)

    service_rate = args.count / service_seconds
    raw_rate = args.count / raw_seconds
    print(
        f"service post():  {args.count:,} tx in {service_seconds:.1f} s = "
        f"{service_rate:,.0f} tx/s ({queries} queries a posting inside a batch)"
    )
    print(
        f"plain INSERTs:   {args.count:,} tx in {raw_seconds:.1f} s = {raw_rate:,.0f} tx/s "
        f"(executemany through {type(connection.connection).__module__.split('.')[0]})"
    )
    print(
        f"ratio:           plain / service = {raw_rate / service_rate:.1f}x "
        f"(the service runs at {100 * service_rate / raw_rate:.1f} % of the plain rate)"
    )
    print(
        f"ledger check:    {args.count:,} tx / {2 * args.count:,} entries in "
        f"{check_seconds:.2f} s, {len(breaches)} breaches"
    )


def create_tables() -> list[Any]:
    """The three ledger tables and their triggers; the vendor's expense account first, then
    one bonus account for each of ``ORGANISATIONS`` partners."""
    from django.db import connection

    from partnerhub.core.ledger import account_get_or_create, install_immutability_triggers
    from partnerhub.core.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction

    with connection.schema_editor() as editor:
        for model in (LedgerAccount, LedgerTransaction, LedgerEntry):
            editor.create_model(model)
        install_immutability_triggers(editor)
    expense = account_get_or_create(
        organisation_id=None, purpose="vendor_expense", normal_side="debit"
    )
    bonuses = [
        account_get_or_create(organisation_id=org, purpose="bonus_rub", normal_side="credit")
        for org in range(1, ORGANISATIONS + 1)
    ]
    return [expense, *bonuses]


def accrual(accounts: list[Any], i: int, amount: Decimal, ref: str) -> Any:
    from partnerhub.core.ledger import Line, post

    return post(
        kind="bonus_accrual",
        lines=[
            Line(accounts[0], debit=amount),
            Line(accounts[1 + i % ORGANISATIONS], credit=amount),
        ],
        idempotency_ref=ref,
        cause=("bench.accrual", i),
        snapshot=SNAPSHOT,
    )


SNAPSHOT = {"rule": "bench", "rate": "0.10"}


def queries_per_post(accounts: list[Any]) -> int:
    """Queries of one posting inside an open batch transaction (rolled back)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            accrual(accounts, 0, Decimal("1.00"), "probe")
        transaction.set_rollback(True)
    return len(captured)


def post_through_service(accounts: list[Any], amounts: list[Decimal], batch: int) -> float:
    from django.db import transaction

    start = time.perf_counter()
    for first in range(0, len(amounts), batch):
        with transaction.atomic():
            for i in range(first, min(first + batch, len(amounts))):
                accrual(accounts, i, amounts[i], f"svc:{i}")
    return time.perf_counter() - start


def insert_raw(accounts: list[Any], amounts: list[Decimal], batch: int) -> float:
    """The same rows through the driver: one transaction row and two entry rows each, with the
    ids given (so that the entries can name their transaction without a round trip)."""
    import datetime as dt

    from django.db import connection

    from partnerhub.core.models.ledger import LedgerEntry, LedgerTransaction

    connection.ensure_connection()
    raw = connection.connection
    sqlite = connection.vendor == "sqlite"
    mark = "?" if sqlite else "%s"
    tx_columns = (
        "id, idempotency_ref, kind, cause_type, cause_id, snapshot, occurred_at, posted_at, "
        "reverses_id, memo"
    )
    tx_sql = (
        f"INSERT INTO {LedgerTransaction._meta.db_table} ({tx_columns}) "
        f"VALUES ({', '.join([mark] * 10)})"
    )
    entry_sql = (
        f"INSERT INTO {LedgerEntry._meta.db_table} (transaction_id, account_id, amount, side) "
        f"VALUES ({mark}, {mark}, {mark}, {mark})"
    )
    if sqlite:
        snapshot: Any = json.dumps(SNAPSHOT)
    else:
        from psycopg.types.json import Jsonb

        snapshot = Jsonb(SNAPSHOT)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(id) FROM {LedgerTransaction._meta.db_table}")
        next_id = cursor.fetchone()[0] + 1
    start = time.perf_counter()
    cursor = raw.cursor()
    for first in range(0, len(amounts), batch):
        moment = dt.datetime.now(dt.UTC)
        stamp: Any = moment.replace(tzinfo=None).isoformat(" ") if sqlite else moment
        tx_rows, entry_rows = [], []
        for i in range(first, min(first + batch, len(amounts))):
            pk = next_id + i
            amount = str(amounts[i]) if sqlite else amounts[i]
            tx_rows.append(
                (
                    pk,
                    f"raw:{i}",
                    "bonus_accrual",
                    "bench.accrual",
                    str(i),
                    snapshot,
                    stamp,
                    stamp,
                    None,
                    "",
                )
            )
            entry_rows.append((pk, accounts[0].pk, amount, "debit"))
            entry_rows.append((pk, accounts[1 + i % ORGANISATIONS].pk, amount, "credit"))
        cursor.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
        cursor.executemany(tx_sql, tx_rows)
        cursor.executemany(entry_sql, entry_rows)
        cursor.execute("COMMIT")
    seconds = time.perf_counter() - start
    cursor.close()
    return seconds


def main() -> int:
    args = parse_args()
    if args.child:
        child(args)
        return 0
    status = 0
    if args.only in (None, "sqlite"):
        status |= bench_sqlite(args)
    if args.only in (None, "postgresql"):
        status |= bench_postgresql(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
