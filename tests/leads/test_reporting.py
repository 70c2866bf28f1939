"""The pure rules of the vendor's lead report (issue 7, item 7; spec leads.md "Vendor
reporting"): figures per partner and overall from plain facts, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from partnerhub.leads.reporting import (
    DealFacts,
    Period,
    RevealFacts,
    deal_is_stale,
    duration_stats,
    report_build,
    week_start,
    weeks_of,
    win_rate,
)

UTC = dt.UTC
START = dt.datetime(2026, 3, 1, tzinfo=UTC)
PERIOD = Period(start=START, end=START + dt.timedelta(days=30))
NOW = START + dt.timedelta(days=30)
A, B = 1, 2
NAMES = {A: "ООО «Альфа»", B: "ООО «Бета»"}


def deal(
    deal_id: int,
    *,
    org: int = A,
    lead: int | None = None,
    published: dt.datetime = START,
    first_taken: dt.datetime | None = None,
    taken_after: dt.timedelta = dt.timedelta(hours=2),
    first_event_after: dt.timedelta | None = None,
    last_event_at: dt.datetime | None = None,
    is_open: bool = True,
    won: bool = False,
    closed_at: dt.datetime | None = None,
    stale_days: int = 7,
) -> DealFacts:
    taken_at = published + taken_after
    return DealFacts(
        deal_id=deal_id,
        organisation_id=org,
        lead_id=lead if lead is not None else deal_id,
        published_at=published,
        lead_first_taken_at=first_taken or taken_at,
        taken_at=taken_at,
        first_event_at=taken_at + first_event_after if first_event_after is not None else None,
        last_event_at=last_event_at,
        is_open=is_open,
        won=won,
        closed_at=closed_at,
        stale_days=stale_days,
    )


def build(deals, reveals=(), **options):
    return report_build(
        deals=deals, reveals=reveals, names=NAMES, period=PERIOD, now=NOW, **options
    )


def test_median_and_average_of_durations():
    stats = duration_stats([dt.timedelta(hours=h) for h in (1, 2, 9)])

    assert (stats.count, stats.median, stats.average) == (
        3,
        dt.timedelta(hours=2),
        dt.timedelta(hours=4),
    )


def test_no_durations_give_no_median():
    assert duration_stats([]).median is None


def test_win_rate_is_won_over_closed_in_percent_rounded_half_up():
    assert win_rate(1, 3) == Decimal("33.3")
    assert win_rate(2, 3) == Decimal("66.7")
    assert win_rate(0, 0) is None


def test_time_to_take_is_per_deal_from_the_lead_publication():
    report = build(
        [deal(1, taken_after=dt.timedelta(hours=1)), deal(2, taken_after=dt.timedelta(hours=5))]
    )

    assert report.overall.taken == 2
    assert report.overall.to_take.median == dt.timedelta(hours=3)


def test_deals_taken_outside_the_period_are_not_counted_as_taken():
    before = deal(1, published=START - dt.timedelta(days=3), is_open=False, closed_at=START)

    report = build([before])

    assert report.overall.taken == 0


def test_time_to_first_take_counts_each_lead_once():
    published = START + dt.timedelta(days=1)
    first = published + dt.timedelta(hours=1)
    deals = [
        deal(1, lead=10, published=published, first_taken=first, taken_after=dt.timedelta(hours=1)),
        deal(
            2,
            org=B,
            lead=10,
            published=published,
            first_taken=first,
            taken_after=dt.timedelta(hours=8),
        ),
    ]

    report = build(deals)

    assert report.to_first_take.count == 1
    assert report.to_first_take.median == dt.timedelta(hours=1)
    assert report.overall.to_take.median == dt.timedelta(hours=4, minutes=30)


def test_time_to_first_event_leaves_out_deals_without_events():
    deals = [deal(1, first_event_after=dt.timedelta(minutes=30)), deal(2)]

    figures = build(deals).overall

    assert figures.to_first_event.count == 1
    assert figures.to_first_event.median == dt.timedelta(minutes=30)
    assert figures.without_event == 1


def test_win_rate_counts_deals_closed_in_the_period():
    closed = START + dt.timedelta(days=5)
    deals = [
        deal(1, is_open=False, won=True, closed_at=closed),
        deal(2, is_open=False, closed_at=closed),
        deal(3, is_open=False, closed_at=closed),
        deal(4, is_open=False, won=True, closed_at=START - dt.timedelta(days=1)),
    ]

    figures = build(deals).overall

    assert (figures.won, figures.lost, figures.win_rate) == (1, 2, Decimal("33.3"))


def test_a_deal_without_activity_for_seven_days_is_stale():
    taken = NOW - dt.timedelta(days=7)

    assert deal_is_stale(is_open=True, taken_at=taken, last_event_at=None, now=NOW, stale_days=7)
    assert not deal_is_stale(
        is_open=True,
        taken_at=taken,
        last_event_at=NOW - dt.timedelta(days=6),
        now=NOW,
        stale_days=7,
    )
    assert not deal_is_stale(
        is_open=False, taken_at=taken, last_event_at=None, now=NOW, stale_days=7
    )


def test_stale_now_uses_the_program_days_unless_overridden():
    idle_for_4_days = deal(1, published=NOW - dt.timedelta(days=4), taken_after=dt.timedelta(0))

    assert build([idle_for_4_days]).overall.stale_now == 0
    assert build([idle_for_4_days], stale_days_override=3).overall.stale_now == 1


def test_open_deals_count_whenever_they_were_taken():
    old_open = deal(1, published=START - dt.timedelta(days=60))

    figures = build([old_open]).overall

    assert (figures.taken, figures.open_now, figures.stale_now) == (0, 1, 1)


def test_reveals_are_summed_by_channel_and_leads():
    reveals = [
        RevealFacts(organisation_id=A, by_channel={"take": 2, "page": 3}, distinct_leads=2),
        RevealFacts(organisation_id=B, by_channel={"take": 1}, distinct_leads=1),
    ]

    report = build([], reveals)

    assert report.overall.reveals == 6
    assert report.overall.revealed_leads == 3
    assert report.overall.reveals_by_channel == {"page": 3, "take": 3}
    assert [row.name for row in report.rows] == ["ООО «Альфа»", "ООО «Бета»"]


def test_rows_are_ordered_by_deals_taken():
    report = build([deal(1), deal(2, org=B), deal(3, org=B)])

    assert [(row.organisation_id, row.figures.taken) for row in report.rows] == [(B, 2), (A, 1)]


def test_weeks_start_on_monday_in_moscow_and_empty_weeks_are_listed():
    # Sunday 2026-03-01 21:30 UTC is Monday 00:30 in Moscow.
    assert week_start(dt.datetime(2026, 3, 1, 21, 30, tzinfo=UTC)) == dt.date(2026, 3, 2)
    period = Period(start=START, end=START + dt.timedelta(days=15))

    weeks = report_build(deals=[deal(1)], reveals=[], names=NAMES, period=period, now=NOW).weeks

    # 1 March 03:00 Moscow is a Sunday; 16 March 03:00 a Monday: four weeks are touched.
    assert [w.week for w in weeks] == weeks_of(period)
    assert weeks[0].week == dt.date(2026, 2, 23)
    assert [w.taken for w in weeks] == [1, 0, 0, 0]


facts = st.builds(
    deal,
    st.integers(min_value=1, max_value=10_000),
    org=st.sampled_from([A, B, 3]),
    taken_after=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=40)),
    is_open=st.booleans(),
    won=st.booleans(),
    closed_at=st.one_of(st.none(), st.just(START + dt.timedelta(days=3))),
)


@given(st.lists(facts, max_size=30, unique_by=lambda d: d.deal_id))
def test_overall_counts_are_the_sum_of_the_partners(deals):
    report = build(deals)

    for name in ("taken", "won", "lost", "open_now", "stale_now", "without_event"):
        assert getattr(report.overall, name) == sum(getattr(r.figures, name) for r in report.rows)
    assert sum(w.taken for w in report.weeks) == report.overall.taken
