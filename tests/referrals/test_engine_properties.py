"""Properties of the referral rule engine on random event streams (spec referrals.md).

Streams of a few partners and clients with activities, payments and refunds at random times over
two years (with ties, and timestamps written in several UTC offsets). The engine must:
1. give the same result for any order of the input ("as if they had arrived in order");
2. keep its invariants: 0 <= active_points <= points_total, level 0..3, bonus_accrued = sum of
   the bonus entries, active points = the grants active at the time, promotions and reviews
   follow the level table, and a level never exceeds what the most active points ever reached;
3. give, as of T, the same standings whether or not the file holds events after T.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.referrals.engine import DEFAULT, run

START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=3)))
HOURS = 2 * 365 * 24
PARTNERS = ["PAAAA2", "PBBBB3", "PCCCC4"]
CLIENTS = [f"k{n}.bitrix24.ru" for n in range(8)]
PRODUCTS = [  # tariffs twice as often: they lift levels and earn rewards
    "tariff.team",
    "tariff.team",
    "tariff.company",
    "tariff.company",
    "users.12",
    "users.12",
    "disk.100gb",
    "disk.250gb",
    "disk.1tb",
    "crm.backup",
]
OFFSETS = [dt.timezone(dt.timedelta(hours=h)) for h in (3, 0, 5, -4)]
KOPECK = Decimal("0.01")

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50000"), places=2)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Calendar months on a fixed +03:00 clock (Moscow has had no DST since 2014)."""
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


class Clock:
    """Draws moments after a given one; often a moment seen before or a review time (ties)."""

    def __init__(self, draw) -> None:
        self.draw = draw
        self.seen: list[dt.datetime] = []

    def after(self, low: dt.datetime, hours: int) -> dt.datetime:
        draw = self.draw
        ties = [m for m in self.seen if low <= m <= low + dt.timedelta(hours=hours)]
        if ties and draw(st.integers(0, 3)) == 0:
            return draw(st.sampled_from(ties))
        minute = draw(st.sampled_from([0, 0, 0, 30, 59]))
        moment = low + dt.timedelta(hours=draw(st.integers(0, hours)), minutes=minute)
        self.seen.append(moment)
        return moment

    def reviews_of(self, registered: dt.datetime) -> None:
        self.seen.extend(add_months(registered, 3 * k) for k in range(1, 9))


@st.composite
def scenarios(draw) -> tuple[list[tuple[dt.datetime, dict]], dt.datetime]:
    """(moment, event) pairs and an as-of time; an event's ``at`` is its moment written in a
    random UTC offset.

    Client events mostly follow the client's registration (activity within about a month,
    payments within two years, refunds after their payment); a few come before it and are
    rejected.
    """
    clock = Clock(draw)
    drafts: list[tuple[dt.datetime, str, dict]] = []
    partners = PARTNERS[: draw(st.integers(1, len(PARTNERS)))]
    for code in partners:
        registered = START + dt.timedelta(hours=draw(st.integers(0, 30 * 24)))
        clock.reviews_of(registered)
        drafts.append((registered, "partner.registered", {"partner": code}))
    for client in CLIENTS[: draw(st.integers(3, len(CLIENTS)))]:
        code = draw(st.sampled_from([*partners, *partners, *partners, None, "NOPE99"]))
        fields = {"client": client} | ({"referral_code": code} if code else {})
        registered = clock.after(START, 300 * 24)
        drafts.append((registered, "client.registered", fields))
        early = registered - dt.timedelta(days=2)
        for _ in range(draw(st.integers(0, 3))):
            users = draw(st.integers(2, 8))
            at = clock.after(early, 40 * 24)
            drafts.append((at, "client.activity", {"client": client, "users": users}))
        for _ in range(draw(st.integers(1, 6))):
            payment = {
                "client": client,
                "product": draw(st.sampled_from(PRODUCTS)),
                "months": draw(st.sampled_from([3, 6, 12])),
                "amount": str(draw(amounts)),
            }
            drafts.append((clock.after(early, 200 * 24), "payment", payment))
    payments = [n for n, (_, type_, _) in enumerate(drafts) if type_ == "payment"]
    for target in (
        draw(st.lists(st.sampled_from(payments), min_size=1, max_size=4)) if payments else []
    ):
        refund_at = clock.after(drafts[target][0] - dt.timedelta(days=1), 60 * 24)
        drafts.append((refund_at, "payment.refunded", {"payment": f"e{target}"}))
    events = []
    for n, (at, type_, fields) in enumerate(drafts):
        written = at.astimezone(draw(st.sampled_from(OFFSETS))).isoformat()
        events.append((at, {"id": f"e{n}", "type": type_, "at": written, **fields}))
    as_of = draw(
        st.one_of(
            st.sampled_from(clock.seen),  # the instant of an event or a review
            st.builds(lambda h: START + dt.timedelta(hours=h), st.integers(0, HOURS)),
        )
    )
    return events, as_of


def snapshot(result, *, with_rejections: bool = True):
    partners = {
        code: (pr.standing, pr.grants, pr.bonuses, pr.levels, pr.reviews)
        for code, pr in result.partners.items()
    }
    rejected = sorted((r.event_id or "", r.reason) for r in result.rejected)
    return (partners, result.clients, rejected if with_rejections else None)


def active_at(grants, moment: dt.datetime) -> int:
    """Active points at ``moment``, after the events of that instant."""
    return sum(
        g.points
        for g in grants
        if g.at <= moment < g.expires_at and (g.revoked_at is None or g.revoked_at > moment)
    )


def active_at_review(grants, moment: dt.datetime) -> int:
    """Active points seen by a review at ``moment``: before the events of that instant."""
    return sum(
        g.points
        for g in grants
        if g.at < moment < g.expires_at and (g.revoked_at is None or g.revoked_at >= moment)
    )


def most_active_ever(grants) -> int:
    """An upper bound of the active points at any time (a grant revoked at the instant of
    another grant still counts there: both may happen within the same instant)."""
    return max(
        (
            sum(
                g.points
                for g in grants
                if g.at <= t.at < g.expires_at and (g.revoked_at is None or g.revoked_at >= t.at)
            )
            for t in grants
        ),
        default=0,
    )


@PROPERTY_SETTINGS
@given(scenario=scenarios(), shuffle=st.randoms(use_true_random=False))
def test_any_order_of_the_input_gives_the_same_result(scenario, shuffle):
    stream, as_of = scenario
    events = [event for _, event in stream]
    shuffled = list(events)
    shuffle.shuffle(shuffled)

    assert snapshot(run(shuffled, as_of=as_of)) == snapshot(run(events, as_of=as_of))


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_the_standing_keeps_its_invariants(scenario):
    stream, as_of = scenario
    result = run([event for _, event in stream], as_of=as_of)

    for code, pr in result.partners.items():
        st_ = pr.standing
        assert st_.partner == code
        assert 0 <= st_.active_points <= st_.points_total
        assert 0 <= st_.level <= 3
        assert st_.bonus_accrued == sum((b.amount for b in pr.bonuses), Decimal("0"))
        assert st_.bonus_balance == st_.bonus_accrued  # nothing converted inside the engine
        assert all(b.amount == b.amount.quantize(KOPECK) for b in pr.bonuses)
        assert st_.active_points == active_at(pr.grants, as_of)
        assert st_.next_review > as_of
        assert all(g.at <= as_of and g.points > 0 for g in pr.grants)
        assert st_.level <= DEFAULT.level_for(most_active_ever(pr.grants))
        for change in pr.levels:
            if change.cause == "promotion":
                assert change.new > change.old
                assert change.new == DEFAULT.level_for(change.active_points)
            else:
                assert change.cause == "review"
                assert change.new < change.old
        for review in pr.reviews:
            assert review.active_points == active_at_review(pr.grants, review.at)
            reached = DEFAULT.level_for(review.active_points)
            assert review.level_after == min(review.level_before, reached)
        final = pr.levels[-1].new if pr.levels else 0
        assert st_.level == final
        mine = [c for c in result.clients.values() if c.partner == code]
        assert st_.clients == len(mine)
        assert st_.active_clients == sum(1 for c in mine if c.active_at is not None)
        assert st_.active_clients == sum(1 for g in pr.grants if g.cause == "activation")


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_events_after_the_as_of_time_change_nothing_before_it(scenario):
    stream, as_of = scenario
    everything = run([event for _, event in stream], as_of=as_of)
    until = run([event for at, event in stream if at <= as_of], as_of=as_of)

    assert snapshot(everything, with_rejections=False) == snapshot(until, with_rejections=False)
