"""Vendor reporting of the lead marketplace: pure aggregation rules (no ORM).

Issue 7, item 7; spec leads.md, "Vendor reporting": per partner and overall, leads taken, time
from publication to take, time to first event, win rate, deals stuck without events and what
personal data each partner revealed. ``report_selectors`` loads plain facts with a few bounded
queries; ``report_build`` folds them into a ``Report`` (dataclasses in, dataclasses out), so the
same rules serve the page, the CSV export and property tests.

Definitions (where the spec is silent):

- A deal counts as *taken in the period* when ``period.start <= taken_at < period.end``. Leads
  taken, time to take, time to first event and the weekly series are over those deals.
- *Time to take* is ``deal.taken_at - lead.published_at`` for each deal; *time to first take* is
  ``lead.first_taken_at - lead.published_at`` for each lead first taken in the period (overall
  only: a lead's first take is not a figure of one partner).
- *Time to first event* is ``first_event_at - taken_at`` over the deals taken in the period that
  have an event; those without one are counted apart (``without_event``).
- *Win rate* is won / closed over the deals closed in the period (``closed_at`` in it), in
  percent with one decimal; None when none was closed.
- *Open now* and *stale now* describe the moment of the report, whatever the period: an open
  deal is stale when its last activity (last event, or the take when it has none) is at least
  ``stale_days`` old; ``stale_days`` is the program's ``stale_deal_days`` unless overridden.
- *Personal data revealed* are the ``ContactReveal`` rows in the period: how many, by channel,
  and how many distinct leads were revealed to the partner (overall: the sum over partners,
  i.e. distinct (partner, lead) pairs).
- Weeks start on Monday in Moscow time; the series covers every week of the period, empty weeks
  included.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")
PERCENT = Decimal("0.1")


@dataclass(frozen=True)
class Period:
    """A half-open interval of time ``[start, end)``, aware datetimes."""

    start: dt.datetime
    end: dt.datetime

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, dt.datetime) and self.start <= moment < self.end


@dataclass(frozen=True)
class DealFacts:
    """What the report needs of one deal (and of its lead)."""

    deal_id: int
    organisation_id: int
    lead_id: int
    published_at: dt.datetime
    lead_first_taken_at: dt.datetime | None
    taken_at: dt.datetime
    first_event_at: dt.datetime | None
    last_event_at: dt.datetime | None
    is_open: bool
    won: bool
    closed_at: dt.datetime | None
    stale_days: int


@dataclass(frozen=True)
class RevealFacts:
    """One partner's personal-data reveals in the period: rows by channel, distinct leads."""

    organisation_id: int
    by_channel: Mapping[str, int]
    distinct_leads: int


@dataclass(frozen=True)
class DurationStats:
    """How many durations, their median and their average (None when there are none)."""

    count: int = 0
    median: dt.timedelta | None = None
    average: dt.timedelta | None = None


@dataclass(frozen=True)
class Figures:
    """The figures of one partner, or of all of them."""

    taken: int = 0
    to_take: DurationStats = field(default_factory=DurationStats)
    to_first_event: DurationStats = field(default_factory=DurationStats)
    without_event: int = 0
    won: int = 0
    lost: int = 0
    win_rate: Decimal | None = None
    open_now: int = 0
    stale_now: int = 0
    reveals: int = 0
    revealed_leads: int = 0
    reveals_by_channel: Mapping[str, int] = field(default_factory=dict)

    @property
    def closed(self) -> int:
        return self.won + self.lost


@dataclass(frozen=True)
class PartnerRow:
    """One partner's line of the report."""

    organisation_id: int
    name: str
    figures: Figures


@dataclass(frozen=True)
class WeekCount:
    """Deals taken in the week starting on ``week`` (a Monday, Moscow time)."""

    week: dt.date
    taken: int


@dataclass(frozen=True)
class Report:
    """The whole report: per partner, overall, the lead-level time to first take, weeks."""

    period: Period
    now: dt.datetime
    rows: list[PartnerRow]
    overall: Figures
    to_first_take: DurationStats
    weeks: list[WeekCount]
    stale_days_override: int | None = None


# --- rules ------------------------------------------------------------------------------------


def duration_stats(durations: Iterable[dt.timedelta]) -> DurationStats:
    """Median and average of ``durations``, to the whole second."""
    seconds = [d.total_seconds() for d in durations]
    if not seconds:
        return DurationStats()
    return DurationStats(
        count=len(seconds),
        median=dt.timedelta(seconds=round(statistics.median(seconds))),
        average=dt.timedelta(seconds=round(statistics.fmean(seconds))),
    )


def win_rate(won: int, closed: int) -> Decimal | None:
    """Won deals as a percentage of closed ones, one decimal (ROUND_HALF_UP); None if none."""
    if closed <= 0:
        return None
    return (Decimal(100) * won / closed).quantize(PERCENT, rounding=ROUND_HALF_UP)


def last_activity(*, taken_at: dt.datetime, last_event_at: dt.datetime | None) -> dt.datetime:
    """When the partner last did something on a deal: its last event, or the take."""
    return max(taken_at, last_event_at) if last_event_at is not None else taken_at


def stale_before(*, now: dt.datetime, stale_days: int) -> dt.datetime:
    """The rule's one boundary: an open deal whose last activity is at or before this moment
    is stale (idle for ``stale_days`` days or more). The cabinet's list, this report and the
    hourly warnings (``leads.notify``, as a query) all take it from here."""
    return now - dt.timedelta(days=stale_days)


def deal_is_stale(
    *,
    is_open: bool,
    taken_at: dt.datetime,
    last_event_at: dt.datetime | None,
    now: dt.datetime,
    stale_days: int,
) -> bool:
    """An open deal with no activity for ``stale_days`` days or more (сделка без событий)."""
    if not is_open:
        return False
    last = last_activity(taken_at=taken_at, last_event_at=last_event_at)
    return last <= stale_before(now=now, stale_days=stale_days)


def week_start(moment: dt.datetime) -> dt.date:
    """The Monday (Moscow time) of the week ``moment`` falls in."""
    day = moment.astimezone(MOSCOW).date()
    return day - dt.timedelta(days=day.weekday())


def weeks_of(period: Period) -> list[dt.date]:
    """Every week (its Monday) the period touches, in order."""
    if period.end <= period.start:
        return []
    first = week_start(period.start)
    last = week_start(period.end - dt.timedelta(microseconds=1))
    count = (last - first).days // 7 + 1
    return [first + dt.timedelta(weeks=i) for i in range(count)]


def figures_of(
    deals: Iterable[DealFacts],
    reveals: Iterable[RevealFacts],
    *,
    period: Period,
    now: dt.datetime,
    stale_days_override: int | None = None,
) -> Figures:
    """Fold the deals and reveals (of one partner, or all) into their figures."""
    taken = 0
    to_take: list[dt.timedelta] = []
    to_event: list[dt.timedelta] = []
    without_event = won = lost = open_now = stale_now = 0
    for deal in deals:
        if deal.taken_at in period:
            taken += 1
            to_take.append(deal.taken_at - deal.published_at)
            if deal.first_event_at is None:
                without_event += 1
            else:
                to_event.append(deal.first_event_at - deal.taken_at)
        if not deal.is_open and deal.closed_at in period:
            won += deal.won
            lost += not deal.won
        if deal.is_open:
            open_now += 1
            stale_days = stale_days_override if stale_days_override else deal.stale_days
            stale_now += deal_is_stale(
                is_open=True,
                taken_at=deal.taken_at,
                last_event_at=deal.last_event_at,
                now=now,
                stale_days=stale_days,
            )
    channels: Counter[str] = Counter()
    revealed_leads = 0
    for reveal in reveals:
        channels.update(reveal.by_channel)
        revealed_leads += reveal.distinct_leads
    return Figures(
        taken=taken,
        to_take=duration_stats(to_take),
        to_first_event=duration_stats(to_event),
        without_event=without_event,
        won=won,
        lost=lost,
        win_rate=win_rate(won, won + lost),
        open_now=open_now,
        stale_now=stale_now,
        reveals=sum(channels.values()),
        revealed_leads=revealed_leads,
        reveals_by_channel=dict(sorted(channels.items())),
    )


def first_take_stats(deals: Iterable[DealFacts], *, period: Period) -> DurationStats:
    """Time from publication to the first take, over the leads first taken in the period."""
    firsts: dict[int, dt.timedelta] = {}
    for deal in deals:
        first = deal.lead_first_taken_at
        if first is not None and first in period and deal.lead_id not in firsts:
            firsts[deal.lead_id] = first - deal.published_at
    return duration_stats(firsts.values())


def weekly_takes(deals: Iterable[DealFacts], *, period: Period) -> list[WeekCount]:
    """Deals taken per week of the period, empty weeks included."""
    counts = Counter(week_start(d.taken_at) for d in deals if d.taken_at in period)
    return [WeekCount(week=week, taken=counts.get(week, 0)) for week in weeks_of(period)]


def report_build(
    *,
    deals: Iterable[DealFacts],
    reveals: Iterable[RevealFacts],
    names: Mapping[int, str],
    period: Period,
    now: dt.datetime,
    stale_days_override: int | None = None,
) -> Report:
    """The report: a row per partner with any figure (most deals taken first, then by name),
    the overall figures, the time to first take and the weekly series."""
    deals = list(deals)
    reveals = list(reveals)
    deals_of: dict[int, list[DealFacts]] = defaultdict(list)
    for deal in deals:
        deals_of[deal.organisation_id].append(deal)
    reveals_of: dict[int, list[RevealFacts]] = defaultdict(list)
    for reveal in reveals:
        reveals_of[reveal.organisation_id].append(reveal)

    def fold(some_deals: list[DealFacts], some_reveals: list[RevealFacts]) -> Figures:
        return figures_of(
            some_deals,
            some_reveals,
            period=period,
            now=now,
            stale_days_override=stale_days_override,
        )

    rows = [
        PartnerRow(
            organisation_id=org_id,
            name=names.get(org_id, f"#{org_id}"),
            figures=fold(deals_of.get(org_id, []), reveals_of.get(org_id, [])),
        )
        for org_id in set(deals_of) | set(reveals_of)
    ]
    rows = [row for row in rows if _has_figures(row.figures)]
    rows.sort(key=lambda row: (-row.figures.taken, row.name.casefold(), row.organisation_id))
    return Report(
        period=period,
        now=now,
        rows=rows,
        overall=fold(deals, reveals),
        to_first_take=first_take_stats(deals, period=period),
        weeks=weekly_takes(deals, period=period),
        stale_days_override=stale_days_override,
    )


def _has_figures(figures: Figures) -> bool:
    return bool(figures.taken or figures.closed or figures.open_now or figures.reveals)
