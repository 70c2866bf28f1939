"""Tests of the business-day calendar (``core.calendar``), issue "Business-day calendar".

Source of the official calendars: the Government decrees on transfers of days off — for 2025 the
decree of 4 October 2024 No. 1335, for 2026 the decree signed on 24 September 2025 (3 and 4 January
moved to 9 January and 31 December) — with the non-working holidays of article 112 of the Labour
Code. The expected dates below were checked against the ``holidays`` package 0.109 (country RU),
which the table is seeded from.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.migrations.state import ProjectState
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.core.calendar import (
    BusinessCalendar,
    add_business_days,
    business_days_between,
    calendar_day_set,
    current_calendar,
    is_business_day,
    next_business_day,
    seed_calendar,
    seed_for_migration,
    unseed_calendar,
    unseed_for_migration,
)
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.models.calendar import CalendarDay, DayKind, DaySource
from tests.waiting import WAIT_TIMEOUT, wait_until

D = dt.date

#: 2025: Jan 1-8 (Jan 4-5 are a weekend), May 1-2, May 8-9, Jun 12-13, Nov 3-4, Dec 31.
NON_WORKING_WEEKDAYS_2025 = {
    *(D(2025, 1, day) for day in (1, 2, 3, 6, 7, 8)),
    D(2025, 5, 1),
    D(2025, 5, 2),
    D(2025, 5, 8),
    D(2025, 5, 9),
    D(2025, 6, 12),
    D(2025, 6, 13),
    D(2025, 11, 3),
    D(2025, 11, 4),
    D(2025, 12, 31),
}
WORKING_WEEKENDS_2025 = {D(2025, 11, 1)}

#: 2026: Jan 1-9 (Jan 3-4 and 10-11 are weekends), Feb 23, Mar 9, May 1, May 11, Jun 12, Nov 4,
#: Dec 31; no working weekend day.
NON_WORKING_WEEKDAYS_2026 = {
    *(D(2026, 1, day) for day in (1, 2, 5, 6, 7, 8, 9)),
    D(2026, 2, 23),
    D(2026, 3, 9),
    D(2026, 5, 1),
    D(2026, 5, 11),
    D(2026, 6, 12),
    D(2026, 11, 4),
    D(2026, 12, 31),
}


def days_of(year: int) -> list[dt.date]:
    start = D(year, 1, 1)
    return [start + dt.timedelta(days=i) for i in range((D(year + 1, 1, 1) - start).days)]


@pytest.fixture(autouse=True)
def _start_from_an_empty_calendar(request):
    """The migrations seed 2020-2035; these tests are written from an empty table."""
    if {"db", "seeded", "reference"} & set(request.fixturenames):
        request.getfixturevalue("db")
        unseed_calendar(range(2020, 2036))


@pytest.fixture
def seeded(db):
    """The official calendar of 2024-2027 in the table."""
    seed_calendar(range(2024, 2028))


# --- the official 2025 and 2026 calendars ----------------------------------------------------


def test_2025_non_working_weekdays_are_exactly_those_of_the_decree(seeded):
    # when
    off = {day for day in days_of(2025) if day.weekday() < 5 and not is_business_day(day)}
    # then
    assert off == NON_WORKING_WEEKDAYS_2025


def test_2025_working_weekend_days_are_exactly_saturday_1_november(seeded):
    # when
    working = {day for day in days_of(2025) if day.weekday() >= 5 and is_business_day(day)}
    # then
    assert working == WORKING_WEEKENDS_2025


def test_2026_non_working_weekdays_are_exactly_those_of_the_decree(seeded):
    # when
    off = {day for day in days_of(2026) if day.weekday() < 5 and not is_business_day(day)}
    # then
    assert off == NON_WORKING_WEEKDAYS_2026


def test_2026_has_no_working_weekend_day(seeded):
    # when
    working = {day for day in days_of(2026) if day.weekday() >= 5 and is_business_day(day)}
    # then
    assert working == set()


def test_1_to_11_january_2026_are_days_off_and_12_january_is_the_first_working_day(seeded):
    # when
    holidays = [is_business_day(D(2026, 1, day)) for day in range(1, 12)]
    # then
    assert holidays == [False] * 11
    assert is_business_day(D(2026, 1, 12))


def test_3_and_4_november_2025_are_days_off_and_saturday_1_november_is_working(seeded):
    # when / then
    assert not is_business_day(D(2025, 11, 3))
    assert not is_business_day(D(2025, 11, 4))
    assert is_business_day(D(2025, 11, 1))


def test_official_years_have_247_working_days_each(seeded):
    # given the production calendars: 247 working days in 2025 and 247 in 2026
    # when
    count_2025 = business_days_between(D(2024, 12, 31), D(2025, 12, 31))
    count_2026 = business_days_between(D(2025, 12, 31), D(2026, 12, 31))
    # then
    assert (count_2025, count_2026) == (247, 247)


def test_january_2026_has_15_working_days(seeded):
    # when
    count = business_days_between(D(2025, 12, 31), D(2026, 1, 31))
    # then
    assert count == 15


def test_november_2025_has_19_working_days(seeded):
    # when (Saturday 1 November works, Monday 3 and Tuesday 4 do not)
    count = business_days_between(D(2025, 10, 31), D(2025, 11, 30))
    # then
    assert count == 19


def test_seeded_rows_carry_the_kind_and_the_official_name(seeded):
    # when
    rows = {row.date: row for row in CalendarDay.objects.filter(date__year=2025)}
    # then
    assert (rows[D(2025, 1, 4)].kind, rows[D(2025, 1, 4)].name) == (
        DayKind.HOLIDAY,
        "Новогодние каникулы",
    )
    assert rows[D(2025, 5, 2)].kind == DayKind.TRANSFER
    assert rows[D(2025, 11, 1)].kind == DayKind.WORKING_WEEKEND
    assert rows[D(2025, 11, 8)].kind == DayKind.WEEKEND
    assert rows[D(2025, 11, 5)].kind == DayKind.WORKING
    assert {row.source for row in rows.values()} == {DaySource.HOLIDAYS}


def test_a_holiday_moved_from_a_sunday_is_a_transfer(seeded):
    # given 8 March 2026 is a Sunday, so Monday 9 March is off instead
    # when
    row = CalendarDay.objects.get(date=D(2026, 3, 9))
    # then
    assert (row.is_working, row.kind) == (False, DayKind.TRANSFER)


# --- deadlines -------------------------------------------------------------------------------


def test_one_business_day_after_30_december_2025_is_12_january_2026(seeded):
    # given 31 December 2025 and 1-11 January 2026 are days off
    # when
    deadline = add_business_days(D(2025, 12, 30), 1)
    # then
    assert deadline == D(2026, 1, 12)


def test_one_business_day_after_friday_31_october_2025_is_the_working_saturday(seeded):
    # when
    deadline = add_business_days(D(2025, 10, 31), 1)
    # then
    assert deadline == D(2025, 11, 1)


def test_ten_business_days_from_29_april_2026_end_on_15_may(seeded):
    # given 1 May (Fri) and 11 May (Mon) are days off
    # when
    deadline = add_business_days(D(2026, 4, 29), 10)
    # then
    assert deadline == D(2026, 5, 15)


def test_zero_business_days_from_a_day_off_is_the_next_business_day(seeded):
    # when / then
    assert add_business_days(D(2026, 1, 3), 0) == D(2026, 1, 12)
    assert add_business_days(D(2026, 1, 12), 0) == D(2026, 1, 12)


def test_negative_n_counts_back(seeded):
    # when
    previous = add_business_days(D(2026, 1, 12), -1)
    # then
    assert previous == D(2025, 12, 30)


def test_next_business_day_skips_the_new_year_holidays(seeded):
    # when
    following = next_business_day(D(2025, 12, 30))
    # then
    assert following == D(2026, 1, 12)


def test_business_days_between_is_negative_when_b_is_before_a(seeded):
    # when
    count = business_days_between(D(2026, 1, 31), D(2025, 12, 31))
    # then
    assert count == -15


def test_business_days_between_counts_b_but_not_a(seeded):
    # given Monday 12 January 2026 and Tuesday 13 January are business days
    # when / then
    assert business_days_between(D(2026, 1, 12), D(2026, 1, 13)) == 1
    assert business_days_between(D(2026, 1, 12), D(2026, 1, 12)) == 0


# --- outside the seeded range ----------------------------------------------------------------


def test_an_empty_table_means_monday_to_friday(db):
    # given no row at all
    # when / then (1 January 2026 is a Thursday)
    assert is_business_day(D(2026, 1, 1))
    assert add_business_days(D(2026, 1, 2), 1) == D(2026, 1, 5)


def test_dates_after_the_seeded_range_follow_monday_to_friday_with_one_warning(db, caplog):
    # given only 2098 is seeded; 31 December 2098 is a Wednesday
    seed_calendar(range(2098, 2099))
    caplog.set_level(logging.WARNING, logger="partnerhub.core.calendar")
    # when
    first = add_business_days(D(2098, 12, 31), 1)
    second = is_business_day(D(2099, 1, 1))
    # then (1 January 2099, a holiday, is unknown to the table: a plain Thursday)
    assert (first, second) == (D(2099, 1, 1), True)
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1


# --- staff edits -----------------------------------------------------------------------------


def test_a_staff_day_off_changes_the_deadlines_at_once(seeded):
    # given one business day after 29 April 2026 is 30 April
    assert add_business_days(D(2026, 4, 29), 1) == D(2026, 4, 30)
    # when staff make 30 April a day off
    calendar_day_set(day=D(2026, 4, 30), is_working=False, by=None)
    # then
    assert add_business_days(D(2026, 4, 29), 1) == D(2026, 5, 4)
    row = CalendarDay.objects.get(date=D(2026, 4, 30))
    assert (row.kind, row.source) == (DayKind.HOLIDAY, DaySource.STAFF)


def test_reseeding_keeps_staff_edits(seeded):
    # given staff made the official day off 9 January 2026 a working day
    calendar_day_set(day=D(2026, 1, 9), is_working=True, by=None)
    # when the calendar is seeded again
    changed = seed_calendar(range(2024, 2028))
    # then
    assert changed == 0
    assert is_business_day(D(2026, 1, 9))
    assert CalendarDay.objects.get(date=D(2026, 1, 9)).source == DaySource.STAFF


def test_seeding_twice_changes_nothing_the_second_time(db):
    # given
    first = seed_calendar(range(2025, 2027))
    # when
    second = seed_calendar(range(2025, 2027))
    # then
    assert (first, second) == (730, 0)
    assert CalendarDay.objects.count() == 730


def test_seeding_the_default_range_writes_every_date_from_2020_to_2035(db):
    # when
    changed = seed_calendar()
    # then
    assert changed == 5844
    assert CalendarDay.objects.order_by("date").first().date == D(2020, 1, 1)
    assert CalendarDay.objects.order_by("date").last().date == D(2035, 12, 31)


def test_seeding_restores_a_seeded_day_that_differs_from_the_official_calendar(seeded):
    # given a seeded row that says 9 January 2026 works (as an outdated package would)
    CalendarDay.objects.filter(date=D(2026, 1, 9)).update(is_working=True, kind=DayKind.WORKING)
    # when
    changed = seed_calendar(range(2026, 2027))
    # then
    assert changed == 1
    assert not is_business_day(D(2026, 1, 9))


def test_seeding_works_with_the_registry_a_data_migration_gets(db):
    # given the historical models RunPython passes to a data migration
    state_apps = ProjectState.from_apps(apps).apps
    # when
    seed_for_migration(state_apps, None)
    # then
    assert CalendarDay.objects.count() == 5844
    assert add_business_days(D(2025, 12, 30), 1) == D(2026, 1, 12)


def test_the_reverse_migration_step_removes_the_seeded_days(db):
    # given
    state_apps = ProjectState.from_apps(apps).apps
    seed_for_migration(state_apps, None)
    # when
    unseed_for_migration(state_apps, None)
    # then
    assert not CalendarDay.objects.exists()
    assert add_business_days(D(2025, 12, 30), 1) == D(2025, 12, 31)


def test_unseeding_deletes_the_seeded_rows_and_keeps_staff_edits(seeded):
    # given
    calendar_day_set(day=D(2026, 1, 9), is_working=True, by=None)
    # when
    deleted = unseed_calendar(range(2026, 2027))
    # then
    assert deleted == 364
    assert list(CalendarDay.objects.filter(date__year=2026).values_list("date", flat=True)) == [
        D(2026, 1, 9)
    ]


def test_a_kind_that_does_not_fit_the_date_is_refused(seeded):
    # given Saturday 8 November 2025
    # when / then
    with pytest.raises(ValidationFailed):
        calendar_day_set(day=D(2025, 11, 8), is_working=True, kind=DayKind.WORKING, by=None)
    assert not is_business_day(D(2025, 11, 8))


def test_a_date_outside_the_seeded_years_cannot_be_edited(seeded):
    # given 2030 is not seeded
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        calendar_day_set(day=D(2030, 1, 9), is_working=False, by=None)
    assert refused.value.code == "calendar_day_unknown"
    assert not CalendarDay.objects.filter(date__year=2030).exists()


def test_a_rolled_back_edit_leaves_no_stale_calendar_behind(seeded):
    # given an edit seen inside its transaction, then rolled back
    with pytest.raises(RuntimeError), transaction.atomic():
        calendar_day_set(day=D(2026, 4, 30), is_working=False, by=None)
        assert not is_business_day(D(2026, 4, 30))
        raise RuntimeError("roll back")
    # when / then
    assert is_business_day(D(2026, 4, 30))


@pytest.mark.django_db(transaction=True)
def test_an_edit_committed_by_another_connection_is_seen_by_the_next_call():
    # given this process has the calendar loaded
    seed_calendar(range(2026, 2027))
    assert is_business_day(D(2026, 4, 30))
    errors: list[BaseException] = []

    def edit() -> None:
        try:
            calendar_day_set(day=D(2026, 4, 30), is_working=False, by=None)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    # when another connection (as another process would) commits a staff edit
    writer = threading.Thread(target=edit)
    writer.start()
    writer.join()
    # then
    assert errors == []
    assert not is_business_day(D(2026, 4, 30))


@pytest.mark.django_db(transaction=True)
def test_two_seedings_at_the_same_moment_write_every_date_once():
    # given two workers seeding an empty table at once
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def seed() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(seed_calendar(range(2025, 2027)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=seed) for _ in range(2)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    assert sorted(results) == [0, 730]
    assert CalendarDay.objects.count() == 730


def seeding_waits_for_a_lock(began: threading.Event) -> bool:
    """The seeding waits for the staff edit's lock: on PostgreSQL its backend waits for a row
    lock (the calendar's version row); on SQLite it has begun its IMMEDIATE transaction, which
    cannot start before the edit's transaction ends."""
    if connection.vendor != "postgresql":
        return began.is_set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_seeding_that_starts_during_a_staff_edit_keeps_the_edit():
    # given a seeded day that differs from the official calendar, so seeding wants to rewrite it
    seed_calendar(range(2026, 2027))
    CalendarDay.objects.filter(date=D(2026, 1, 9)).update(is_working=True, kind=DayKind.WORKING)
    edited, release, began = threading.Event(), threading.Event(), threading.Event()
    results: list[int] = []
    errors: list[BaseException] = []

    def staff_edit() -> None:
        try:
            with transaction.atomic():
                calendar_day_set(day=D(2026, 1, 9), is_working=True, by=None)
                edited.set()
                release.wait(timeout=WAIT_TIMEOUT)
        except BaseException as exc:
            errors.append(exc)
        finally:
            edited.set()
            connection.close()

    def note_begin(sql: str) -> None:
        if sql.startswith("BEGIN"):
            began.set()

    def seeding() -> None:
        try:
            edited.wait(timeout=WAIT_TIMEOUT)
            if connection.vendor == "sqlite":
                connection.ensure_connection()
                connection.connection.set_trace_callback(note_begin)
            results.append(seed_calendar(range(2026, 2027)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=staff_edit), threading.Thread(target=seeding)]
    # when the seeding starts while the staff edit is not yet committed
    for thread in threads:
        thread.start()
    edited.wait(timeout=WAIT_TIMEOUT)
    wait_until(
        lambda: seeding_waits_for_a_lock(began), what="the seeding waits for the edit's lock"
    )
    release.set()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    assert results == [0]
    row = CalendarDay.objects.get(date=D(2026, 1, 9))
    assert (row.is_working, row.source) == (True, DaySource.STAFF)
    assert is_business_day(D(2026, 1, 9))


# --- queries ---------------------------------------------------------------------------------


def test_a_call_costs_one_primary_key_query_once_the_calendar_is_loaded(
    seeded, django_assert_num_queries
):
    # given
    add_business_days(D(2026, 4, 29), 10)
    # when / then
    with django_assert_num_queries(1):
        add_business_days(D(2026, 4, 29), 10)


def test_a_snapshot_computes_many_deadlines_without_queries(seeded, django_assert_num_queries):
    # given
    calendar = current_calendar()
    start = D(2026, 1, 1)
    # when / then
    with django_assert_num_queries(0):
        deadlines = [
            add_business_days(start + dt.timedelta(days=i), 10, calendar=calendar)
            for i in range(100)
        ]
    assert deadlines[0] == D(2026, 1, 23)


# --- properties ------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: Dates around the seeded 2024-2027, so that the Monday-Friday fallback is crossed too.
dates = st.dates(min_value=D(2023, 7, 1), max_value=D(2028, 6, 30))


@pytest.fixture
def reference(seeded):
    """The reference: every date of 2023-2028 with its working flag straight from the table's
    rows, Monday-Friday where there is no row."""
    rows = dict(CalendarDay.objects.values_list("date", "is_working"))
    return {
        day: rows.get(day, day.weekday() < 5) for year in range(2023, 2029) for day in days_of(year)
    }


@PROPERTY_SETTINGS
@given(day=dates, n=st.integers(min_value=1, max_value=300))
def test_n_business_days_later_is_a_business_day(seeded, day, n):
    assert is_business_day(add_business_days(day, n))


@PROPERTY_SETTINGS
@given(day=dates, n=st.integers(min_value=-300, max_value=300))
def test_business_days_between_undoes_add_business_days_from_a_business_day(seeded, day, n):
    start = add_business_days(day, 0)
    assert business_days_between(start, add_business_days(start, n)) == n


@PROPERTY_SETTINGS
@given(day=dates, n=st.integers(min_value=1, max_value=300))
def test_business_days_between_undoes_add_business_days_from_any_day(seeded, day, n):
    assert business_days_between(day, add_business_days(day, n)) == n


@PROPERTY_SETTINGS
@given(day=dates, n=st.integers(min_value=-300, max_value=299))
def test_add_business_days_grows_with_n(seeded, day, n):
    # strictly, except that n = 0 and n = 1 both give the next business day from a day off
    if n == 0 and not is_business_day(day):
        assert add_business_days(day, 0) == add_business_days(day, 1)
    else:
        assert add_business_days(day, n) < add_business_days(day, n + 1)


@PROPERTY_SETTINGS
@given(day=dates, n=st.integers(min_value=-120, max_value=120))
def test_add_business_days_agrees_with_walking_the_table_day_by_day(reference, day, n):
    # the reference walk: n > 0 forward, n < 0 backward, n == 0 roll forward
    step = dt.timedelta(days=1 if n >= 0 else -1)
    expected, remaining = day, abs(n)
    if n == 0:
        while not reference[expected]:
            expected += step
    while remaining:
        expected += step
        remaining -= reference[expected]
    assert add_business_days(day, n) == expected


@PROPERTY_SETTINGS
@given(a=dates, b=dates)
def test_business_days_between_agrees_with_counting_the_table(reference, a, b):
    low, high = min(a, b), max(a, b)
    count = sum(reference[low + dt.timedelta(days=i)] for i in range(1, (high - low).days + 1))
    assert business_days_between(a, b) == (count if a <= b else -count)


def test_a_calendar_refuses_a_weekday_as_a_working_weekend_day():
    # when / then (5 January 2026 is a Monday)
    with pytest.raises(ValueError, match="working_weekends"):
        BusinessCalendar(working_weekends=frozenset({D(2026, 1, 5)}))


# --- admin -----------------------------------------------------------------------------------


def test_staff_mark_a_day_off_with_the_admin_action_and_the_deadlines_follow(
    seeded, world, login_as
):
    # given the vendor's administrator and Thursday 30 April 2026, a working day
    client = login_as("vendor:administrator")
    row = CalendarDay.objects.get(date=D(2026, 4, 30))
    # when
    response = client.post(
        reverse("admin:core_calendarday_changelist"),
        {"action": "mark_day_off", "_selected_action": [row.pk], "index": 0},
    )
    # then
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.is_working, row.kind, row.source) == (False, DayKind.HOLIDAY, DaySource.STAFF)
    assert row.updated_by == world.user("vendor:administrator")
    assert add_business_days(D(2026, 4, 29), 1) == D(2026, 5, 4)


def test_staff_untick_a_working_saturday_in_the_admin_list(seeded, world, login_as):
    # given Saturday 1 November 2025, a working day, found by searching its date
    client = login_as("vendor:administrator")
    row = CalendarDay.objects.get(date=D(2025, 11, 1))
    url = reverse("admin:core_calendarday_changelist") + "?q=01.11.2025"
    # when the box is unticked and the list saved
    response = client.post(
        url,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(row.pk),
            "_save": "Сохранить",
        },
    )
    # then
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.is_working, row.kind, row.source) == (False, DayKind.WEEKEND, DaySource.STAFF)
    assert row.updated_by == world.user("vendor:administrator")
    assert row.name == ""
    assert add_business_days(D(2025, 10, 31), 1) == D(2025, 11, 5)


def test_the_admin_form_refuses_a_kind_that_does_not_fit_the_date(seeded, login_as):
    # given Saturday 8 November 2025, a weekend day
    client = login_as("vendor:administrator")
    row = CalendarDay.objects.get(date=D(2025, 11, 8))
    # when staff tick "working" but choose the weekday kind
    response = client.post(
        reverse("admin:core_calendarday_change", args=[row.pk]),
        {"is_working": "on", "kind": DayKind.WORKING, "name": ""},
    )
    # then
    assert response.status_code == 200
    assert "Рабочая суббота" in response.content.decode()
    row.refresh_from_db()
    assert (row.is_working, row.source) == (False, DaySource.HOLIDAYS)


def test_the_admin_list_finds_a_day_by_its_date(seeded, login_as):
    # given
    client = login_as("vendor:administrator")
    # when
    response = client.get(reverse("admin:core_calendarday_changelist"), {"q": "09.01.2026"})
    # then
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [CalendarDay.objects.get(date=D(2026, 1, 9))]


# --- command ---------------------------------------------------------------------------------


def test_the_seed_command_writes_the_years_asked(db, capsys):
    # when
    call_command("calendar", "seed", "--from", "2026", "--to", "2026")
    # then
    assert CalendarDay.objects.count() == 365
    assert "365" in capsys.readouterr().out


def test_the_show_command_prints_january_2026(seeded, capsys):
    # when
    call_command("calendar", "show", "2026-01")
    # then
    out = capsys.readouterr().out
    assert " 5*  6*  7*  8*  9* 10* 11*" in out
    assert "12  13  14  15  16  17* 18*" in out
    assert "Рабочих дней: 15, нерабочих: 16." in out


def test_the_show_command_refuses_a_malformed_month(db):
    # when / then
    with pytest.raises(CommandError):
        call_command("calendar", "show", "январь")
