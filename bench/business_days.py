"""Benchmark: how fast the business-day calendar computes deadlines (issue "Business-day
calendar"; payouts ask for "10 business days after acceptance").

Times 100,000 ``add_business_days(d, 10)`` calls with the 2020-2035 table loaded: through the
module-level function (each call checks the version token: one primary-key query) and through a
snapshot from ``current_calendar()`` (pure arithmetic, what a list of many deadlines uses). Runs on
a throw-away SQLite database, or on ``DATABASE_URL`` when it is set (migrated and seeded first).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's ``calendar`` (which Django's imports need): take
# its folder off the path before anything imports it.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import datetime as dt  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.config.settings")
SCRATCH = tempfile.TemporaryDirectory(prefix="bench-calendar-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{SCRATCH.name}/bench.sqlite3")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from partnerhub.core.calendar import (  # noqa: E402
    add_business_days,
    current_calendar,
    load_calendar,
    seed_calendar,
)

CALLS = 100_000
START = dt.date(2026, 4, 29)


def calls_per_second(*, snapshot: bool) -> float:
    """Rate of ``add_business_days(d, 10)`` over a spread of start dates."""
    calendar = current_calendar() if snapshot else None
    days = [START + dt.timedelta(days=i % 700) for i in range(CALLS)]
    started = time.perf_counter()
    for day in days:
        add_business_days(day, 10, calendar=calendar)
    return CALLS / (time.perf_counter() - started)


def load_milliseconds() -> float:
    started = time.perf_counter()
    load_calendar()
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    call_command("migrate", verbosity=0)
    seed_calendar()
    assert add_business_days(START, 10) == dt.date(2026, 5, 15)
    vendor = connection.vendor
    print(f"calendar load (5,844 days, {vendor}): {load_milliseconds():.1f} ms")
    rate = calls_per_second(snapshot=False)
    print(f"add_business_days(d, 10), version check each call ({vendor}): {rate:,.0f} calls/s")
    rate = calls_per_second(snapshot=True)
    print(f"add_business_days(d, 10), snapshot from current_calendar(): {rate:,.0f} calls/s")
    SCRATCH.cleanup()
