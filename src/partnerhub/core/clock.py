"""The one clock of the project (house rule 19).

Services take ``now`` from ``now()``; tests freeze it with time-machine. Datetimes are aware and
stored in UTC; calendar arithmetic uses the program's time zone, Europe/Moscow (``today()``).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

PROGRAM_TZ = ZoneInfo("Europe/Moscow")


def now() -> dt.datetime:
    """The current moment, aware, in UTC."""
    return timezone.now()


def today() -> dt.date:
    """Today's date in the program's time zone (Moscow)."""
    return now().astimezone(PROGRAM_TZ).date()


def local_date(moment: dt.datetime) -> dt.date:
    """The Moscow calendar date of an aware moment."""
    return moment.astimezone(PROGRAM_TZ).date()
