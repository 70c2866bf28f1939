"""Calendar arithmetic in the program's time zone: one month after 31 March is 30 April.

``Zone`` converts between instants (microseconds since the epoch) and the zone's wall time with
a cache of UTC offsets by quarter hour (every real offset change happens on a quarter-hour
boundary), because the engine does this for nearly every event and ``astimezone`` with a
``ZoneInfo`` costs microseconds each time.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["Zone", "add_months", "add_months_to_date", "zone"]

_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_QUARTER_US = 900_000_000
_DAY_US = 86_400_000_000
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
_AWARE_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)


def add_months_to_date(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, the day clamped to the month's last day."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = _DAYS[month]
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        last = 29
    if day.day <= last:
        return day.replace(year=year, month=month)
    return day.replace(year=year, month=month, day=last)


def add_months(moment: dt.datetime, months: int, tz: ZoneInfo) -> dt.datetime:
    """``moment`` plus ``months`` calendar months of wall time in ``tz`` (an aware result)."""
    local = moment.astimezone(tz)
    day = add_months_to_date(local.date(), months)
    return local.replace(year=day.year, month=day.month, day=day.day)


class Zone:
    """A time zone with cached offsets, working on microseconds since the epoch."""

    __slots__ = ("_by_instant", "_by_wall", "name", "tz")

    def __init__(self, name: str) -> None:
        self.name = name
        self.tz = ZoneInfo(name)
        self._by_instant: dict[int, int] = {}
        self._by_wall: dict[int, int] = {}

    def __reduce__(self) -> tuple[type[Zone], tuple[str]]:
        return (Zone, (self.name,))

    def _offset_at(self, us: int) -> int:
        moment = _AWARE_EPOCH + dt.timedelta(microseconds=us)
        delta = moment.astimezone(self.tz).utcoffset() or dt.timedelta(0)
        return delta // _ONE_US

    def offset_us(self, us: int) -> int:
        """The zone's UTC offset at the instant ``us``, in microseconds.

        Cached by UTC day when the offset is the same at both ends of the day (no change
        inside it: offsets change at most a few times a year), else by quarter hour.
        """
        day = us // _DAY_US
        offset = self._by_instant.get(day)
        if offset is None:
            first = self._offset_at(day * _DAY_US)
            if first == self._offset_at(day * _DAY_US + _DAY_US - 1):
                offset = self._by_instant[day] = first
            else:
                offset = self._offset_at(us // _QUARTER_US * _QUARTER_US)
        return offset

    def wall(self, us: int) -> dt.datetime:
        """The naive wall time at the instant ``us``."""
        return _NAIVE_EPOCH + dt.timedelta(microseconds=us + self.offset_us(us))

    def instant(self, wall: dt.datetime) -> int:
        """The instant (µs) of a naive wall time (the earlier one when the wall time repeats)."""
        wall_us = (wall - _NAIVE_EPOCH) // _ONE_US
        day = wall_us // _DAY_US
        offset = self._by_wall.get(day)
        if offset is None:
            first = self._wall_offset(day * _DAY_US)
            if first == self._wall_offset(day * _DAY_US + _DAY_US - 1):
                offset = self._by_wall[day] = first
            else:
                offset = self._wall_offset(wall_us // _QUARTER_US * _QUARTER_US)
        return wall_us - offset

    def _wall_offset(self, wall_us: int) -> int:
        wall = _NAIVE_EPOCH + dt.timedelta(microseconds=wall_us)
        delta = wall.replace(tzinfo=self.tz).utcoffset() or dt.timedelta(0)
        return delta // _ONE_US

    def aware(self, wall: dt.datetime) -> dt.datetime:
        """The wall time as an aware datetime of the zone."""
        return wall.replace(tzinfo=self.tz)

    def add_months(self, us: int, months: int) -> tuple[int, dt.datetime]:
        """(instant, wall time) ``months`` calendar months after the instant ``us``."""
        wall = self.wall(us)
        day = add_months_to_date(wall.date(), months)
        shifted = dt.datetime.combine(day, wall.time())
        return self.instant(shifted), shifted


@lru_cache(maxsize=16)
def zone(name: str) -> Zone:
    """The zone called ``name`` (cached)."""
    return Zone(name)
