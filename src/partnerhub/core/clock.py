"""The one clock of the project (house rule 19).

Services take ``now`` from ``now()``; tests freeze it with time-machine. Datetimes are aware and
stored in UTC; calendar arithmetic uses the program's time zone, Europe/Moscow (``today()``).
Code that waits for a moment it computed from ``now()`` (a rate limit's slot) waits with
``sleep()``, which a test with a frozen clock turns into a step of that clock.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from django.utils import timezone

PROGRAM_TZ = ZoneInfo("Europe/Moscow")


def now() -> dt.datetime:
    """The current moment, aware, in UTC."""
    return timezone.now()


def sleep(seconds: float) -> None:
    """Wait ``seconds`` of real time (nothing for zero or less)."""
    if seconds > 0:
        time.sleep(seconds)


def today() -> dt.date:
    """Today's date in the program's time zone (Moscow)."""
    return now().astimezone(PROGRAM_TZ).date()


def local_date(moment: dt.datetime) -> dt.date:
    """The Moscow calendar date of an aware moment."""
    return moment.astimezone(PROGRAM_TZ).date()
