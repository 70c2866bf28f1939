"""Business days (рабочие дни) by the Russian production calendar, issue "Business-day calendar".

The calendar is a table (``core.models.calendar.CalendarDay``) that staff can edit in the admin,
seeded from the ``holidays`` package (country RU, 2020-2035) with the official transfers of days
off. Payout deadlines ("accept within 1 business day, pay within 10") are computed with it.

Design decisions:

* **Every date has a row** (2020-01-01..2035-12-31, 5,844 rows), not only the deviations from
  Mon-Fri. Staff find any date in the admin and flip it, without adding or deleting rows; the
  seeded range is explicit (min..max date); seeding is a plain compare-and-write per date. In
  memory only the deviations are kept: non-working weekdays and working weekend days.
* **Pure arithmetic** lives in ``BusinessCalendar`` (a frozen dataclass, no ORM): membership in two
  frozensets for ``is_business_day``, bisection over the sorted business days of the seeded range
  for ``add_business_days`` and a closed formula plus bisection for ``business_days_between``, so
  every call costs O(log n) whatever ``n`` is.
* **Cache, exact across processes**: each process keeps the loaded calendar with the version token
  it was loaded at (``CalendarVersion``, one row). Every write (seeding, ``calendar_day_set``,
  ``calendar_days_mark``) stores a new random token in the same transaction, and every call of the
  module-level functions compares tokens with one primary-key query, reloading the table only when
  it changed. A random token, not a counter or ``Max(updated_at)``, so that a rolled-back write or
  a frozen test clock cannot make a stale copy look current. Code that computes many dates at once
  takes ``current_calendar()`` once and passes it (``calendar=``) or calls its methods: no query
  per date.
* **Writers are serialised** on the version row (``select_for_update`` on PostgreSQL, the
  ``IMMEDIATE`` transaction on SQLite), so two seedings, or a seeding and a staff edit, never
  interleave and a staff edit is never overwritten.
* **Outside the seeded range** (or with an empty table) the Mon-Fri rule applies and a warning is
  logged once per year and process.
* **Seeding** goes through a registry (``apps``) so that the data migration can run it:
  ``RunPython(seed_for_migration, unseed_for_migration)``; ``partnerhub calendar seed`` reruns it.

Definitions (``d``, ``a``, ``b`` are dates, ``n`` an integer):

* ``is_business_day(d)``: ``d`` is a working day (a working Saturday counts, a transferred day off
  does not).
* ``add_business_days(d, n)``: for ``n > 0`` the ``n``-th business day strictly after ``d``; for
  ``n == 0`` ``d`` itself when it is a business day, otherwise the next business day; for
  ``n < 0`` the ``|n|``-th business day strictly before ``d``.
* ``business_days_between(a, b)``: the number of business days in the half-open interval
  ``(a, b]`` when ``a <= b``, and minus the number in ``(b, a]`` when ``b < a``. Hence
  ``business_days_between(d, add_business_days(d, n)) == n`` for every ``d`` and ``n >= 1``, and
  for every ``n`` when ``d`` is a business day.
* ``next_business_day(d)``: the first business day strictly after ``d``
  (``add_business_days(d, 1)``).

Stored day names are data (the ``holidays`` package's Russian names), not interface texts.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import holidays
from django.apps import apps as django_apps
from django.apps.registry import Apps
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.utils.translation import gettext

from partnerhub.core.clock import now
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.models.calendar import (
    WORKING_KINDS,
    CalendarDay,
    CalendarVersion,
    DayKind,
    DaySource,
)

logger = logging.getLogger(__name__)

#: The years seeded by default (and by the data migration).
SEEDED_YEARS = range(2020, 2036)

#: Non-working holidays of article 112 of the Labour Code (month, day); any other official day
#: off is a transfer (перенос), by decree or because a holiday fell on a weekend.
ARTICLE_112_HOLIDAYS = frozenset(
    {(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8)}
    | {(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)}
)

_ONE_DAY = dt.timedelta(days=1)
_VERSION_ID = 1
_warned_years: set[int] = set()


# --- pure arithmetic -------------------------------------------------------------------------


def _weekdays_up_to(ordinal: int) -> int:
    """How many Mon-Fri dates have an ordinal in [1, ordinal] (ordinal 1 is a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return 5 * weeks + min(rest, 5)


def _is_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


@dataclass(frozen=True)
class BusinessCalendar:
    """The production calendar as plain data: the Mon-Fri rule with two sets of exceptions.

    ``days_off``: non-working dates (weekend dates in it change nothing); ``working_weekends``:
    Saturdays and Sundays that are working days; ``first``..``last``: the range the exceptions are
    known for (None with an empty table). Outside it the Mon-Fri rule applies with a warning.
    """

    days_off: frozenset[dt.date] = frozenset()
    working_weekends: frozenset[dt.date] = frozenset()
    first: dt.date | None = None
    last: dt.date | None = None
    _business_days: tuple[dt.date, ...] = field(init=False, repr=False, compare=False)
    _off_weekdays: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _extra_days: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.first is None) != (self.last is None):
            raise ValueError("first and last are both given or both None")
        if self.first is not None and self.last is not None and self.first > self.last:
            raise ValueError("first is after last")
        if self.days_off & self.working_weekends:
            raise ValueError("a date is both a day off and a working weekend day")
        if not all(_is_weekend(day) for day in self.working_weekends):
            raise ValueError("working_weekends holds a Monday-Friday date")
        off = sorted(day.toordinal() for day in self.days_off if not _is_weekend(day))
        extra = sorted(day.toordinal() for day in self.working_weekends)
        object.__setattr__(self, "_off_weekdays", tuple(off))
        object.__setattr__(self, "_extra_days", tuple(extra))
        object.__setattr__(self, "_business_days", tuple(self._business_days_in_range()))

    def _business_days_in_range(self) -> Iterable[dt.date]:
        if self.first is None or self.last is None:
            return
        day = self.first
        while day <= self.last:
            if self._is_business(day):
                yield day
            day += _ONE_DAY

    def _is_business(self, day: dt.date) -> bool:
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def covers(self, day: dt.date) -> bool:
        """True when ``day`` lies in the range the table knows."""
        return self.first is not None and self.last is not None and self.first <= day <= self.last

    def _check_covered(self, *days: dt.date) -> None:
        for day in days:
            if not self.covers(day) and day.year not in _warned_years:
                _warned_years.add(day.year)
                logger.warning(
                    "Business-day calendar has no data for %s (table covers %s..%s); "
                    "using the Monday-Friday rule",
                    day.year,
                    self.first,
                    self.last,
                )

    def is_business_day(self, day: dt.date) -> bool:
        """True when ``day`` is a working day."""
        self._check_covered(day)
        return self._is_business(day)

    def add_business_days(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th business day after ``day`` (see the module docstring for n <= 0)."""
        if self.covers(day):
            days = self._business_days
            if n > 0:
                index = bisect_right(days, day) + n - 1
            elif n == 0:
                index = bisect_left(days, day)
            else:
                index = bisect_left(days, day) + n
            if 0 <= index < len(days):
                return days[index]
        result = self._walk(day, n)
        self._check_covered(day, result)
        return result

    def _walk(self, day: dt.date, n: int) -> dt.date:
        """Day by day, for results outside the seeded range."""
        if n == 0:
            while not self._is_business(day):
                day += _ONE_DAY
            return day
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        while remaining:
            day += step
            if self._is_business(day):
                remaining -= 1
        return day

    def business_days_between(self, a: dt.date, b: dt.date) -> int:
        """Business days in ``(a, b]``; negative (minus those in ``(b, a]``) when ``b < a``."""
        if b < a:
            return -self.business_days_between(b, a)
        self._check_covered(a + _ONE_DAY if a < b else a, b)
        low, high = a.toordinal(), b.toordinal()
        weekdays = _weekdays_up_to(high) - _weekdays_up_to(low)
        off = bisect_right(self._off_weekdays, high) - bisect_right(self._off_weekdays, low)
        extra = bisect_right(self._extra_days, high) - bisect_right(self._extra_days, low)
        return weekdays - off + extra

    def next_business_day(self, day: dt.date) -> dt.date:
        """The first business day strictly after ``day``."""
        return self.add_business_days(day, 1)


def calendar_from_days(days: Iterable[tuple[dt.date, bool]]) -> BusinessCalendar:
    """A ``BusinessCalendar`` from (date, is_working) pairs, e.g. the rows of the table."""
    days_off: set[dt.date] = set()
    working_weekends: set[dt.date] = set()
    first: dt.date | None = None
    last: dt.date | None = None
    for day, is_working in days:
        first = day if first is None or day < first else first
        last = day if last is None or day > last else last
        if is_working and _is_weekend(day):
            working_weekends.add(day)
        elif not is_working and not _is_weekend(day):
            days_off.add(day)
    return BusinessCalendar(frozenset(days_off), frozenset(working_weekends), first, last)


# --- kinds of days ---------------------------------------------------------------------------


def default_kind(*, day: dt.date, is_working: bool) -> DayKind:
    """The kind a day gets when only ``is_working`` is chosen."""
    if is_working:
        return DayKind.WORKING_WEEKEND if _is_weekend(day) else DayKind.WORKING
    return DayKind.WEEKEND if _is_weekend(day) else DayKind.HOLIDAY


def kind_problem(*, day: dt.date, is_working: bool, kind: str) -> str | None:
    """Why ``kind`` does not fit the date and ``is_working`` (a message for people), or None."""
    if kind not in DayKind.values:
        return gettext("Неизвестный вид дня.")
    if (kind in WORKING_KINDS) != is_working:
        if is_working:
            return gettext("Рабочий день должен быть видом «Рабочий день» или «Рабочая суббота».")
        return gettext("Нерабочий день не может быть видом «Рабочий день» или «Рабочая суббота».")
    weekend = _is_weekend(day)
    if kind == DayKind.WORKING and weekend:
        return gettext("Суббота или воскресенье, ставшие рабочими, — вид «Рабочая суббота».")
    if kind in (DayKind.WORKING_WEEKEND, DayKind.WEEKEND) and not weekend:
        return gettext("Этот вид дня бывает только в субботу или воскресенье.")
    if kind == DayKind.TRANSFER and weekend:
        return gettext("Перенесённый выходной приходится на будний день (понедельник—пятница).")
    return None


# --- the official calendar and seeding -------------------------------------------------------


@dataclass(frozen=True)
class OfficialDay:
    """One date as the official calendar (the ``holidays`` package) has it."""

    date: dt.date
    is_working: bool
    kind: DayKind
    name: str


def official_calendar(years: range) -> list[OfficialDay]:
    """Every date of ``years`` by the ``holidays`` package (RU), transfers included."""
    if not years:
        return []
    official = holidays.country_holidays("RU", years=list(years), language="ru")
    working_weekends = set(official.weekend_workdays)
    result = []
    day, end = dt.date(years[0], 1, 1), dt.date(years[-1], 12, 31)
    while day <= end:
        result.append(_official_day(day, official, working_weekends))
        day += _ONE_DAY
    return result


def _official_day(
    day: dt.date, official: holidays.HolidayBase, working_weekends: set[dt.date]
) -> OfficialDay:
    if day in working_weekends:
        return OfficialDay(day, True, DayKind.WORKING_WEEKEND, "Рабочий день (перенос выходного)")
    name = official.get(day)
    if name is not None:
        holiday = (day.month, day.day) in ARTICLE_112_HOLIDAYS
        return OfficialDay(day, False, DayKind.HOLIDAY if holiday else DayKind.TRANSFER, name)
    if _is_weekend(day):
        return OfficialDay(day, False, DayKind.WEEKEND, "")
    return OfficialDay(day, True, DayKind.WORKING, "")


def seed_calendar(years: range = SEEDED_YEARS, *, apps: Apps | None = None) -> int:
    """Write the official calendar of ``years`` into the table; returns the rows created or
    changed. Idempotent; a day staff have edited (``source == "staff"``) is never overwritten.

    ``apps`` is the registry a data migration passes to ``RunPython`` (default: the real one).
    """
    registry = apps or django_apps
    day_model = registry.get_model("core", "CalendarDay")
    planned = official_calendar(years)
    if not planned:
        return 0
    stamp = now()
    fields = ["is_working", "kind", "name", "updated_at"]
    with transaction.atomic():
        _lock_calendar(registry)
        existing = {
            row.date: row
            for row in day_model.objects.filter(
                date__range=(planned[0].date, planned[-1].date)
            ).only("id", "date", "source", *fields)
        }
        to_create, to_update = [], []
        for spec in planned:
            values = {"is_working": spec.is_working, "kind": spec.kind, "name": spec.name}
            row = existing.get(spec.date)
            if row is None:
                to_create.append(day_model(date=spec.date, updated_at=stamp, **values))
            elif row.source != DaySource.STAFF and _differs(row, values):
                for name, value in values.items():
                    setattr(row, name, value)
                row.updated_at = stamp
                to_update.append(row)
        day_model.objects.bulk_create(to_create, batch_size=500)
        day_model.objects.bulk_update(to_update, fields, batch_size=500)
        if to_create or to_update:
            _new_version(registry)
    return len(to_create) + len(to_update)


def unseed_calendar(years: range = SEEDED_YEARS, *, apps: Apps | None = None) -> int:
    """Reverse of ``seed_calendar`` (for the data migration): delete the seeded rows of ``years``,
    keeping staff edits. Returns the rows deleted."""
    if not years:
        return 0
    registry = apps or django_apps
    day_model = registry.get_model("core", "CalendarDay")
    with transaction.atomic():
        _lock_calendar(registry)
        deleted, _by_model = (
            day_model.objects.filter(date__year__gte=years[0], date__year__lte=years[-1])
            .exclude(source=DaySource.STAFF)
            .delete()
        )
        if deleted:
            _new_version(registry)
    return deleted


def seed_for_migration(apps: Apps, schema_editor: Any) -> None:
    """``RunPython`` forward step of the data migration: seed 2020-2035."""
    seed_calendar(apps=apps)


def unseed_for_migration(apps: Apps, schema_editor: Any) -> None:
    """``RunPython`` reverse step of the data migration."""
    unseed_calendar(apps=apps)


def _differs(row: Any, values: dict[str, object]) -> bool:
    return any(getattr(row, name) != value for name, value in values.items())


def _lock_calendar(registry: Apps) -> None:
    """Serialise the writers of the calendar on the version row (created on first use): a
    seeding and a staff edit, or two seedings, never interleave."""
    version_model = registry.get_model("core", "CalendarVersion")
    version_model.objects.select_for_update().get_or_create(pk=_VERSION_ID)


def _new_version(registry: Apps) -> None:
    """Store a new version token (after ``_lock_calendar``, in the same transaction)."""
    version_model = registry.get_model("core", "CalendarVersion")
    version_model.objects.filter(pk=_VERSION_ID).update(token=uuid.uuid4(), changed_at=now())


# --- staff edits -----------------------------------------------------------------------------


def calendar_day_set(
    *,
    day: dt.date,
    is_working: bool,
    by: AbstractBaseUser | None,
    kind: str | None = None,
    name: str | None = None,
) -> CalendarDay:
    """Staff set one date working or not (the admin's form and list call it).

    ``kind`` defaults by ``default_kind``; ``name`` defaults to the current name when the day
    stays as working as it was, and to empty when it flips. ``by`` is the user (or None). The day
    becomes ``source="staff"``, which seeding never overwrites. Raises ``ValidationFailed`` when
    the kind does not fit the date or the date has no row (its year is not seeded: the seeded
    range stays one unbroken span).
    """
    chosen = kind or default_kind(day=day, is_working=is_working)
    problem = kind_problem(day=day, is_working=is_working, kind=chosen)
    if problem is not None:
        raise ValidationFailed(problem, fields={"kind": [problem]})
    with transaction.atomic():
        _lock_calendar(django_apps)
        row = CalendarDay.objects.filter(date=day).first()
        if row is None:
            message = gettext("Этого дня нет в календаре: сначала заполните его год.")
            raise ValidationFailed(
                message, code=CoreErrorCode.CALENDAR_DAY_UNKNOWN, fields={"day": [message]}
            )
        if name is None:
            name = row.name if row.is_working == is_working else ""
        row.is_working, row.kind, row.name = is_working, chosen, name
        row.source, row.updated_at = DaySource.STAFF, now()
        row.updated_by_id = None if by is None else by.pk
        row.save()
        _new_version(django_apps)
    return row


def calendar_days_mark(
    *, days: Sequence[dt.date], is_working: bool, by: AbstractBaseUser | None
) -> int:
    """Staff mark several dates working or non-working at once (the admin's actions); one
    transaction. Returns the number of days that changed."""
    changed = 0
    with transaction.atomic():
        _lock_calendar(django_apps)
        current = dict(CalendarDay.objects.filter(date__in=days).values_list("date", "is_working"))
        for day in days:
            if current.get(day) != is_working:
                calendar_day_set(day=day, is_working=is_working, by=by)
                changed += 1
    return changed


# --- the cached calendar and the module-level functions --------------------------------------


@dataclass(frozen=True)
class _Loaded:
    token: str | None
    calendar: BusinessCalendar


_loaded: _Loaded | None = None


def _version_sql() -> str:
    table = connection.ops.quote_name(CalendarVersion._meta.db_table)
    return f"SELECT token FROM {table} WHERE id = {_VERSION_ID}"  # noqa: S608 - no input


def _current_token() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(_version_sql())
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def load_calendar() -> BusinessCalendar:
    """Read the table into a ``BusinessCalendar`` (one query, no cache)."""
    return calendar_from_days(CalendarDay.objects.values_list("date", "is_working"))


def current_calendar() -> BusinessCalendar:
    """The table's calendar, from this process's cache when the version token is unchanged
    (one primary-key query), otherwise reloaded. Take it once to compute many dates."""
    global _loaded
    token = _current_token()
    loaded = _loaded
    if loaded is not None and loaded.token == token:
        return loaded.calendar
    calendar = load_calendar()  # read after the token: a write in between only causes a reload
    _loaded = _Loaded(token, calendar)
    return calendar


def _or_current(calendar: BusinessCalendar | None) -> BusinessCalendar:
    return current_calendar() if calendar is None else calendar


def is_business_day(day: dt.date, *, calendar: BusinessCalendar | None = None) -> bool:
    """True when ``day`` is a working day by the production calendar."""
    return _or_current(calendar).is_business_day(day)


def add_business_days(day: dt.date, n: int, *, calendar: BusinessCalendar | None = None) -> dt.date:
    """The ``n``-th business day after ``day``; ``n == 0``: ``day`` or the next business day;
    ``n < 0``: the ``|n|``-th business day before ``day``."""
    return _or_current(calendar).add_business_days(day, n)


def business_days_between(
    a: dt.date, b: dt.date, *, calendar: BusinessCalendar | None = None
) -> int:
    """Business days in ``(a, b]``, or minus those in ``(b, a]`` when ``b < a``."""
    return _or_current(calendar).business_days_between(a, b)


def next_business_day(day: dt.date, *, calendar: BusinessCalendar | None = None) -> dt.date:
    """The first business day strictly after ``day``."""
    return _or_current(calendar).next_business_day(day)
