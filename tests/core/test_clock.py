"""Tests of the one clock (``core.clock``): ``now()`` is an aware UTC moment, ``today()`` and
``local_date()`` are Moscow dates (UTC+3, no daylight saving), frozen with time-machine."""

from __future__ import annotations

import datetime as dt

import time_machine

from partnerhub.core import clock

UTC = dt.UTC


def test_now_is_the_frozen_moment_aware_in_utc():
    # given the clock frozen at 2026-01-01 22:30 UTC
    with time_machine.travel(dt.datetime(2026, 1, 1, 22, 30, tzinfo=UTC), tick=False):
        # when
        moment = clock.now()
    # then
    assert moment == dt.datetime(2026, 1, 1, 22, 30, tzinfo=UTC)
    assert moment.utcoffset() == dt.timedelta(0)


def test_today_is_already_the_next_day_in_moscow_at_22_30_utc():
    # given 22:30 UTC on 1 January 2026, which is 01:30 on 2 January in Moscow
    with time_machine.travel(dt.datetime(2026, 1, 1, 22, 30, tzinfo=UTC), tick=False):
        # when
        today = clock.today()
    # then
    assert today == dt.date(2026, 1, 2)


def test_today_is_still_the_same_day_in_moscow_at_20_59_utc():
    # given 20:59 UTC on 1 January 2026, which is 23:59 in Moscow
    with time_machine.travel(dt.datetime(2026, 1, 1, 20, 59, tzinfo=UTC), tick=False):
        # when
        today = clock.today()
    # then
    assert today == dt.date(2026, 1, 1)


def test_today_follows_the_clock_when_it_moves():
    # given the clock frozen at 20:59 UTC (still 1 January in Moscow)
    with time_machine.travel(dt.datetime(2026, 1, 1, 20, 59, tzinfo=UTC), tick=False) as t:
        before = clock.today()
        # when two minutes pass (21:01 UTC is 00:01 on 2 January in Moscow)
        t.shift(dt.timedelta(minutes=2))
        after = clock.today()
    # then
    assert (before, after) == (dt.date(2026, 1, 1), dt.date(2026, 1, 2))


def test_local_date_converts_an_aware_moment_of_any_zone_to_the_moscow_date():
    # given 23:30 on 31 December 2025 in New York (04:30 UTC, 07:30 Moscow on 1 January)
    moment = dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    # when
    local = clock.local_date(moment)
    # then
    assert local == dt.date(2026, 1, 1)
