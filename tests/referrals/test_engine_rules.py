"""The referral rule engine against the spec's numbers (../shared/spec/referrals.md).

One behaviour a test, written from the spec: joining, attribution, activation, points, expiry,
levels, reviews, rewards, refunds, configuration versions, ordering, duplicates and bad events.
No database: the engine is a pure function of the events, the configuration and an as-of time.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from partnerhub.referrals.engine import ConfigSet, ProgramConfig, config_from_dict, run

P = "AB12CD"  # the partner of most tests
Q = "QW34ER"  # a second partner
REG = "2026-01-10T09:00:00+03:00"  # P's registration time (reviews on the 10th, 09:00 MSK)
C1 = "acme.bitrix24.ru"
C2 = "beta.bitrix24.ru"
C3 = "gamma.bitrix24.ru"
LIFT = "lift.bitrix24.ru"  # a client whose first payment sets P's level (at level 0: no reward)
INN = "7707083893"


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


class Stream:
    """Events of the spec's contract with ids e0001, e0002... in the order they are added."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def add(self, type_: str, at: str, **fields) -> str:
        event_id = f"e{len(self.events) + 1:04d}"
        self.events.append({"id": event_id, "type": type_, "at": at, **fields})
        return event_id

    def partner(self, code: str = P, at: str = REG, **extra) -> str:
        return self.add("partner.registered", at, partner=code, **extra)

    def client(self, client: str, at: str, **codes) -> str:
        return self.add("client.registered", at, client=client, **codes)

    def referred(self, client: str, at: str, partner: str = P) -> str:
        return self.client(client, at, referral_code=partner)

    def activity(self, client: str, at: str, users: int = 5) -> str:
        return self.add("client.activity", at, client=client, users=users)

    def payment(
        self, client: str, at: str, product: str, months: int, amount: str = "1000.00"
    ) -> str:
        return self.add("payment", at, client=client, product=product, months=months, amount=amount)

    def refund(self, payment: str, at: str) -> str:
        return self.add("payment.refunded", at, payment=payment)

    def promo(self, code: str, at: str, valid_from: str, valid_until: str, partner: str = P) -> str:
        return self.add(
            "promo_code.created",
            at,
            partner=partner,
            code=code,
            valid_from=valid_from,
            valid_until=valid_until,
            client_bonus="month",
        )

    def lift_to(self, level: int, at: str = "2026-01-20T10:00:00+03:00") -> None:
        """P reaches ``level`` at ``at`` through a LIFT payment made at level 0 (no reward)."""
        if level == 0:
            return
        product, months = {
            1: ("tariff.team", 3),
            2: ("tariff.team", 12),
            3: ("tariff.company", 12),
        }[level]
        self.referred(LIFT, "2026-01-15T10:00:00+03:00")
        self.payment(LIFT, at, product, months)

    def run(self, as_of: str, configs: ConfigSet | None = None):
        return run(self.events, as_of=ts(as_of), configs=configs)


def standing(result, code: str = P):
    return result.partners[code].standing


def rewards_for(result, payment: str, code: str = P) -> list[Decimal]:
    return [b.amount for b in result.partners[code].bonuses if b.payment == payment]


# --- Joining ------------------------------------------------------------------------------


def levels_with_level_1(*, min_points: int, first_rate: str) -> list[dict[str, object]]:
    """The spec's levels table with level 1 changed (for configuration versions)."""
    return [
        {"number": 0, "min_points": 0, "first_rate": "0", "later_rate": "0"},
        {"number": 1, "min_points": min_points, "first_rate": first_rate, "later_rate": "20"},
        {"number": 2, "min_points": 60, "first_rate": "35", "later_rate": "20"},
        {"number": 3, "min_points": 120, "first_rate": "50", "later_rate": "20"},
    ]


def test_a_new_partner_starts_at_level_0_with_nothing_and_a_review_in_three_months():
    # given a partner registered on 10 January 09:00 MSK
    s = Stream()
    s.partner()

    # when asked a day later
    result = s.run("2026-01-11T00:00:00+03:00")

    # then level 0, nothing earned, first review on 10 April 09:00 MSK
    st = standing(result)
    assert (st.level, st.active_points, st.points_total) == (0, 0, 0)
    assert (st.bonus_accrued, st.bonus_balance) == (Decimal("0.00"), Decimal("0.00"))
    assert (st.clients, st.active_clients) == (0, 0)
    assert st.registered_at == ts(REG)
    assert st.next_review == ts("2026-04-10T09:00:00+03:00")


def test_next_review_after_a_review_is_registration_plus_six_months():
    s = Stream()
    s.partner()

    result = s.run("2026-04-10T09:00:00+03:00")

    assert standing(result).next_review == ts("2026-07-10T09:00:00+03:00")


def test_reviews_are_counted_from_registration_not_chained_through_short_months():
    # given a partner registered on 31 August: reviews on 30 November, 28 February, 31 May
    s = Stream()
    s.partner(at="2026-08-31T09:00:00+03:00")

    assert standing(s.run("2026-09-01T00:00:00+03:00")).next_review == ts(
        "2026-11-30T09:00:00+03:00"
    )
    assert standing(s.run("2026-12-01T00:00:00+03:00")).next_review == ts(
        "2027-02-28T09:00:00+03:00"
    )
    assert standing(s.run("2027-03-01T00:00:00+03:00")).next_review == ts(
        "2027-05-31T09:00:00+03:00"
    )


def test_a_partner_registered_after_the_as_of_time_is_not_in_the_result():
    s = Stream()
    s.partner()

    result = s.run("2026-01-10T08:59:59+03:00")

    assert P not in result.partners


# --- Attribution --------------------------------------------------------------------------


def test_a_referral_code_attributes_the_client_to_its_partner():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")

    result = s.run("2026-01-16T00:00:00+03:00")

    assert result.clients[C1].partner == P
    assert result.clients[C1].reason is None
    assert standing(result).clients == 1


def test_a_client_without_a_code_is_unattributed_with_the_reason_kept():
    s = Stream()
    s.partner()
    s.client(C1, "2026-01-15T10:00:00+03:00")

    result = s.run("2026-01-16T00:00:00+03:00")

    assert result.clients[C1].partner is None
    assert result.clients[C1].reason.startswith("no code")
    assert standing(result).clients == 0


def test_an_unknown_referral_code_leaves_the_client_unattributed():
    s = Stream()
    s.partner()
    s.client(C1, "2026-01-15T10:00:00+03:00", referral_code="ZZ99ZZ")

    result = s.run("2026-01-16T00:00:00+03:00")

    assert result.clients[C1].partner is None
    assert result.clients[C1].reason.startswith("unknown referral code")


def test_an_unknown_promo_code_leaves_the_client_unattributed():
    s = Stream()
    s.partner()
    s.client(C1, "2026-01-15T10:00:00+03:00", promo_code="NO-SUCH-CODE")

    result = s.run("2026-01-16T00:00:00+03:00")

    assert result.clients[C1].partner is None
    assert result.clients[C1].reason.startswith("unknown promo code")


PROMO_FROM = "2026-02-01T00:00:00+03:00"
PROMO_UNTIL = "2026-03-01T00:00:00+03:00"  # exclusive


@pytest.mark.parametrize(
    ("registered_at", "attributed"),
    [
        ("2026-01-31T23:59:59+03:00", False),  # before the validity period
        ("2026-02-01T00:00:00+03:00", True),  # its first moment
        ("2026-02-28T23:59:59+03:00", True),  # its last second
        ("2026-03-01T00:00:00+03:00", False),  # the end is exclusive
    ],
)
def test_a_promo_code_attributes_only_inside_its_validity_period(registered_at, attributed):
    # given a promo code of P valid in February
    s = Stream()
    s.partner()
    s.promo("SPRING-26", "2026-01-20T10:00:00+03:00", PROMO_FROM, PROMO_UNTIL)

    # when a client registers with it
    s.client(C1, registered_at, promo_code="SPRING-26")
    result = s.run("2026-03-02T00:00:00+03:00")

    # then it is P's client only inside the period
    record = result.clients[C1]
    if attributed:
        assert (record.partner, record.reason) == (P, None)
    else:
        assert record.partner is None
        assert record.reason.startswith("promo code not valid")


def test_promo_codes_are_compared_case_insensitively():
    s = Stream()
    s.partner()
    s.promo("Spring-26", "2026-01-20T10:00:00+03:00", PROMO_FROM, PROMO_UNTIL)
    s.client(C1, "2026-02-10T10:00:00+03:00", promo_code="SPRING-26")

    result = s.run("2026-02-11T00:00:00+03:00")

    assert result.clients[C1].partner == P


def test_a_deactivated_promo_code_attributes_nobody_after_deactivation():
    # given a promo code deactivated on 10 February
    s = Stream()
    s.partner()
    s.promo("SPRING-26", "2026-01-20T10:00:00+03:00", PROMO_FROM, PROMO_UNTIL)
    s.client(C1, "2026-02-05T10:00:00+03:00", promo_code="SPRING-26")
    s.add("promo_code.deactivated", "2026-02-10T10:00:00+03:00", code="SPRING-26")
    s.client(C2, "2026-02-11T10:00:00+03:00", promo_code="SPRING-26")

    result = s.run("2026-02-12T00:00:00+03:00")

    # then the earlier client stays attributed, the later one is not
    assert result.clients[C1].partner == P
    assert result.clients[C2].partner is None
    assert "promo" in result.clients[C2].reason
    assert standing(result).clients == 1


def test_a_blocked_partner_attributes_nobody_until_unblocked():
    s = Stream()
    s.partner()
    s.add("partner.blocked", "2026-02-01T10:00:00+03:00", partner=P)
    s.referred(C1, "2026-02-05T10:00:00+03:00")
    s.add("partner.unblocked", "2026-02-10T10:00:00+03:00", partner=P)
    s.referred(C2, "2026-02-11T10:00:00+03:00")

    result = s.run("2026-02-12T00:00:00+03:00")

    assert result.clients[C1].partner is None
    assert result.clients[C1].reason.startswith("partner blocked")
    assert result.clients[C2].partner == P
    assert standing(result).clients == 1


def test_a_client_with_its_partners_inn_is_a_self_referral():
    s = Stream()
    s.partner(inn=INN)
    s.client(C1, "2026-01-15T10:00:00+03:00", referral_code=P, inn=INN)
    s.client(C2, "2026-01-15T11:00:00+03:00", referral_code=P, inn="500100732259")

    result = s.run("2026-01-16T00:00:00+03:00")

    assert result.clients[C1].partner is None
    assert result.clients[C1].reason.startswith("self-referral")
    assert result.clients[C2].partner == P


def test_self_referral_through_a_promo_code_is_not_attributed_either():
    s = Stream()
    s.partner(inn=INN)
    s.promo("SPRING-26", "2026-01-20T10:00:00+03:00", PROMO_FROM, PROMO_UNTIL)
    s.client(C1, "2026-02-10T10:00:00+03:00", promo_code="SPRING-26", inn=INN)

    result = s.run("2026-02-11T00:00:00+03:00")

    assert result.clients[C1].partner is None
    assert result.clients[C1].reason.startswith("self-referral")


def test_the_first_attribution_wins_when_a_client_registers_twice():
    # given a client attributed to P, then registered again with Q's code
    s = Stream()
    s.partner()
    s.partner(Q, at="2026-01-11T09:00:00+03:00")
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.referred(C1, "2026-01-20T10:00:00+03:00", partner=Q)
    s.payment(C1, "2026-01-25T10:00:00+03:00", "tariff.team", 3)

    result = s.run("2026-02-01T00:00:00+03:00")

    # then it stays P's: Q gets neither the client nor its points
    assert result.clients[C1].partner == P
    assert standing(result).clients == 1
    assert standing(result).active_points == 15
    assert standing(result, Q).clients == 0
    assert standing(result, Q).active_points == 0


# --- Activation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("users", "active"), [(3, False), (4, True)])
def test_a_client_is_active_with_more_than_three_users(users, active):
    s = Stream()
    s.partner()
    s.referred(C1, "2026-02-01T10:00:00+03:00")
    s.activity(C1, "2026-02-02T12:00:00+03:00", users=users)

    result = s.run("2026-02-03T00:00:00+03:00")

    assert standing(result).active_clients == (1 if active else 0)
    assert (result.clients[C1].active_at is not None) is active


def test_activation_earns_one_point_and_100_bonuses_at_level_0():
    # given a level-0 partner whose client has 5 users the day after registering
    s = Stream()
    s.partner()
    s.referred(C1, "2026-02-01T10:00:00+03:00")
    activity = s.activity(C1, "2026-02-02T12:00:00+03:00", users=5)

    # when asked afterwards
    result = s.run("2026-02-03T00:00:00+03:00")

    # then 1 point (active for 3 months) and 100 bonuses
    st = standing(result)
    assert (st.level, st.active_points, st.points_total, st.active_clients) == (0, 1, 1, 1)
    assert (st.bonus_accrued, st.bonus_balance) == (Decimal("100.00"), Decimal("100.00"))
    [grant] = result.partners[P].grants
    assert (grant.event_id, grant.points, grant.cause, grant.client) == (
        activity,
        1,
        "activation",
        C1,
    )
    assert grant.at == ts("2026-02-02T12:00:00+03:00")
    assert grant.expires_at == ts("2026-05-02T12:00:00+03:00")
    [bonus] = result.partners[P].bonuses
    assert (bonus.event_id, bonus.amount, bonus.kind, bonus.client) == (
        activity,
        Decimal("100.00"),
        "activation",
        C1,
    )
    assert result.clients[C1].active_at == ts("2026-02-02T12:00:00+03:00")


def test_activity_on_the_registration_day_does_not_activate():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-02-01T10:00:00+03:00")
    s.activity(C1, "2026-02-01T23:59:59+03:00", users=50)

    result = s.run("2026-02-02T00:00:00+03:00")

    assert standing(result).active_clients == 0
    assert standing(result).active_points == 0


def test_activity_on_the_day_after_registration_activates():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-02-01T10:00:00+03:00")
    s.activity(C1, "2026-02-01T23:59:59+03:00", users=50)
    s.activity(C1, "2026-02-02T00:00:00+03:00", users=4)

    result = s.run("2026-02-03T00:00:00+03:00")

    assert result.clients[C1].active_at == ts("2026-02-02T00:00:00+03:00")


@pytest.mark.parametrize(
    ("registered_at", "activity_at", "active"),
    [
        # one calendar month after 1 February is 1 March: the whole of that day counts
        ("2026-02-01T10:00:00+03:00", "2026-03-01T23:59:59+03:00", True),
        ("2026-02-01T10:00:00+03:00", "2026-03-02T00:00:00+03:00", False),
        # 31 January + 1 month = 28 February (2026) or 29 February (2028)
        ("2026-01-31T10:00:00+03:00", "2026-02-28T23:00:00+03:00", True),
        ("2026-01-31T10:00:00+03:00", "2026-03-01T00:00:00+03:00", False),
        ("2028-01-31T10:00:00+03:00", "2028-02-29T23:00:00+03:00", True),
        ("2028-01-31T10:00:00+03:00", "2028-03-01T00:00:00+03:00", False),
        # 31 March + 1 month = 30 April
        ("2026-03-31T10:00:00+03:00", "2026-04-30T12:00:00+03:00", True),
        ("2026-03-31T10:00:00+03:00", "2026-05-01T12:00:00+03:00", False),
    ],
)
def test_activity_counts_up_to_one_calendar_month_after_the_registration_date(
    registered_at, activity_at, active
):
    s = Stream()
    s.partner(at="2025-12-01T09:00:00+03:00")
    s.referred(C1, registered_at)
    s.activity(C1, activity_at, users=10)

    result = s.run("2028-06-01T00:00:00+03:00")

    assert (result.clients[C1].active_at is not None) is active


@pytest.mark.parametrize(
    ("registered_at", "activity_at", "active"),
    [
        # 20:30 UTC on 1 Feb is 23:30 MSK: still the registration day
        ("2026-02-01T12:00:00+03:00", "2026-02-01T20:30:00+00:00", False),
        # 23:30 UTC on 1 Feb is 02:30 MSK on 2 Feb: the next Moscow day
        ("2026-02-01T12:00:00+03:00", "2026-02-01T23:30:00+00:00", True),
        # registered 22:00 UTC 31 Jan = 01:00 MSK 1 Feb; 1 Feb 10:00 MSK is the same Moscow day
        ("2026-01-31T22:00:00+00:00", "2026-02-01T10:00:00+03:00", False),
        # window ends with 1 March MSK; 22:30 UTC on 1 Mar is already 2 March in Moscow
        ("2026-02-01T12:00:00+03:00", "2026-03-01T20:30:00+00:00", True),
        ("2026-02-01T12:00:00+03:00", "2026-03-01T22:30:00+00:00", False),
    ],
)
def test_activation_days_are_moscow_days(registered_at, activity_at, active):
    s = Stream()
    s.partner()
    s.referred(C1, registered_at)
    s.activity(C1, activity_at, users=10)

    result = s.run("2026-04-01T00:00:00+03:00")

    assert (result.clients[C1].active_at is not None) is active


def test_a_client_activates_only_once():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-02-01T10:00:00+03:00")
    s.activity(C1, "2026-02-02T10:00:00+03:00", users=5)
    s.activity(C1, "2026-02-03T10:00:00+03:00", users=9)
    s.activity(C1, "2026-02-04T10:00:00+03:00", users=20)

    result = s.run("2026-02-05T00:00:00+03:00")

    st = standing(result)
    assert (st.active_points, st.active_clients, st.bonus_accrued) == (1, 1, Decimal("100.00"))
    assert result.clients[C1].active_at == ts("2026-02-02T10:00:00+03:00")


def test_an_unattributed_client_earns_nothing_for_anybody():
    # given a client without a code that becomes active and pays
    s = Stream()
    s.partner()
    s.client(C1, "2026-02-01T10:00:00+03:00")
    s.activity(C1, "2026-02-02T10:00:00+03:00", users=10)
    s.payment(C1, "2026-02-03T10:00:00+03:00", "tariff.company", 12, "50000.00")

    result = s.run("2026-02-05T00:00:00+03:00")

    # then the partner gets nothing
    st = standing(result)
    assert (st.active_points, st.points_total, st.bonus_accrued) == (0, 0, Decimal("0.00"))
    assert result.partners[P].grants == []
    assert result.partners[P].bonuses == []


# --- Points -------------------------------------------------------------------------------

POINTS_TABLE = [
    ("tariff.team", 3, 15),
    ("tariff.team", 6, 30),
    ("tariff.team", 12, 60),
    ("tariff.company", 3, 30),
    ("tariff.company", 6, 60),
    ("tariff.company", 12, 120),
    ("users.12", 3, 3),
    ("users.12", 6, 6),
    ("users.12", 12, 12),
    ("disk.100gb", 3, 3),
    ("disk.100gb", 6, 6),
    ("disk.100gb", 12, 12),
    ("disk.250gb", 3, 7),
    ("disk.250gb", 6, 13),
    ("disk.250gb", 12, 24),
    ("disk.1tb", 3, 15),
    ("disk.1tb", 6, 27),
    ("disk.1tb", 12, 48),
]


@pytest.mark.parametrize(("product", "months", "points"), POINTS_TABLE)
def test_a_first_payment_earns_the_points_of_the_table(product, months, points):
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-20T10:00:00+03:00", product, months)

    result = s.run("2026-02-01T00:00:00+03:00")

    st = standing(result)
    assert (st.active_points, st.points_total) == (points, points)
    [grant] = result.partners[P].grants
    assert (grant.event_id, grant.points, grant.cause, grant.client) == (
        paid,
        points,
        "payment",
        C1,
    )
    assert grant.expires_at == ts("2026-04-20T10:00:00+03:00")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("tariff.team", 3), ("tariff.team", 3)),  # renewal
        (("tariff.team", 3), ("tariff.team", 12)),  # renewal for longer
        (("tariff.team", 3), ("tariff.company", 12)),  # upgrade Team -> Company
        (("users.12", 3), ("users.12", 12)),
        (("disk.100gb", 3), ("disk.1tb", 12)),  # another size in the disk line
        (("disk.1tb", 3), ("disk.250gb", 6)),
    ],
)
def test_only_the_first_payment_in_a_line_earns_points(first, second):
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.payment(C1, "2026-01-20T10:00:00+03:00", *first)
    later = s.payment(C1, "2026-01-25T10:00:00+03:00", *second)

    result = s.run("2026-02-01T00:00:00+03:00")

    expected = {(p, m): n for p, m, n in POINTS_TABLE}[first]
    assert standing(result).active_points == expected
    assert [g for g in result.partners[P].grants if g.event_id == later] == []


def test_the_tariff_users_and_disk_lines_earn_points_separately():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.payment(C1, "2026-01-20T10:00:00+03:00", "tariff.team", 3)  # 15
    s.payment(C1, "2026-01-21T10:00:00+03:00", "users.12", 3)  # 3
    s.payment(C1, "2026-01-22T10:00:00+03:00", "disk.100gb", 3)  # 3

    result = s.run("2026-02-01T00:00:00+03:00")

    assert standing(result).active_points == 21


def test_the_first_payment_in_a_line_is_per_client():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.referred(C2, "2026-01-15T11:00:00+03:00")
    s.payment(C1, "2026-01-20T10:00:00+03:00", "tariff.team", 3)
    s.payment(C2, "2026-01-21T10:00:00+03:00", "tariff.team", 3)

    result = s.run("2026-02-01T00:00:00+03:00")

    assert standing(result).active_points == 30


def test_other_products_earn_neither_points_nor_rewards_and_are_not_rejected():
    # given a level-3 partner whose client buys another product
    s = Stream()
    s.partner()
    s.lift_to(3)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    other = s.payment(C1, "2026-01-22T10:00:00+03:00", "crm.backup", 12, "9000.00")

    result = s.run("2026-02-01T00:00:00+03:00")

    assert result.rejected == []
    assert standing(result).active_points == 120
    assert rewards_for(result, other) == []
    assert standing(result).bonus_accrued == Decimal("0.00")


def test_a_payment_of_a_client_not_yet_active_earns_points():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.payment(C1, "2026-01-15T11:00:00+03:00", "tariff.team", 6)

    result = s.run("2026-02-01T00:00:00+03:00")

    assert standing(result).active_points == 30
    assert standing(result).active_clients == 0


# --- Expiry -------------------------------------------------------------------------------


def _fifteen_points_on_1_february() -> Stream:
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.payment(C1, "2026-02-01T12:00:00+03:00", "tariff.team", 3)
    return s


def test_points_are_active_until_a_microsecond_before_three_calendar_months():
    result = _fifteen_points_on_1_february().run("2026-05-01T11:59:59.999999+03:00")

    assert standing(result).active_points == 15


def test_points_expire_three_calendar_months_after_their_grant():
    result = _fifteen_points_on_1_february().run("2026-05-01T12:00:00+03:00")

    st = standing(result)
    assert (st.active_points, st.points_total) == (0, 15)
    assert result.partners[P].grants[0].expires_at == ts("2026-05-01T12:00:00+03:00")


@pytest.mark.parametrize(
    ("paid_at", "expires_at"),
    [
        ("2025-11-30T12:00:00+03:00", "2026-02-28T12:00:00+03:00"),  # no 30 February
        ("2026-03-31T12:00:00+03:00", "2026-06-30T12:00:00+03:00"),  # no 31 June
        # 22:00 UTC on 30 April is 1 May 01:00 MSK: expires 1 August 01:00 MSK
        ("2026-04-30T22:00:00+00:00", "2026-07-31T22:00:00+00:00"),
    ],
)
def test_expiry_is_calendar_months_in_moscow_time(paid_at, expires_at):
    s = Stream()
    s.partner(at="2025-11-01T09:00:00+03:00")
    s.referred(C1, "2025-11-15T10:00:00+03:00")
    s.payment(C1, paid_at, "tariff.team", 3)

    result = s.run("2026-09-01T00:00:00+03:00")

    assert result.partners[P].grants[0].expires_at == ts(expires_at)


# --- Levels and promotion -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("product", "months", "level"),
    [("tariff.team", 3, 1), ("tariff.team", 12, 2), ("tariff.company", 12, 3)],
)
def test_promotion_is_immediate(product, months, level):
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-20T10:00:00+03:00", product, months)

    result = s.run("2026-01-20T10:00:00+03:00")

    assert standing(result).level == level
    [change] = result.partners[P].levels
    assert (change.old, change.new, change.cause, change.event_id) == (0, level, "promotion", paid)
    assert change.at == ts("2026-01-20T10:00:00+03:00")


def test_a_partner_jumps_from_level_0_to_3_at_once():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.payment(C1, "2026-01-20T10:00:00+03:00", "tariff.company", 12)

    result = s.run("2026-01-21T00:00:00+03:00")

    assert [(c.old, c.new) for c in result.partners[P].levels] == [(0, 3)]


# each item makes one client: a first payment (product, months) or an activation (1 point)
THRESHOLDS = [
    ([("users.12", 12), "act", "act"], 14, 0),
    ([("tariff.team", 3)], 15, 1),
    ([("disk.1tb", 12), ("disk.250gb", 3), ("users.12", 3), "act"], 59, 1),
    ([("tariff.team", 12)], 60, 2),
    ([("tariff.company", 6), ("disk.1tb", 12), ("disk.250gb", 3), ("users.12", 3), "act"], 119, 2),
    ([("tariff.company", 12)], 120, 3),
]


@pytest.mark.parametrize(("items", "points", "level"), THRESHOLDS)
def test_level_thresholds_are_15_60_and_120_active_points(items, points, level):
    s = Stream()
    s.partner()
    for n, item in enumerate(items):
        client = f"c{n}.bitrix24.ru"
        s.referred(client, f"2026-01-{11 + n}T10:00:00+03:00")
        if item == "act":
            s.activity(client, f"2026-01-{12 + n}T10:00:00+03:00", users=5)
        else:
            s.payment(client, f"2026-01-{11 + n}T11:00:00+03:00", *item)

    result = s.run("2026-02-01T00:00:00+03:00")

    assert standing(result).active_points == points
    assert standing(result).level == level


def test_the_level_does_not_drop_between_reviews_when_points_expire():
    # given 15 points granted on 20 January (expire 20 April), reviews on 10 Apr and 10 Jul
    s = Stream()
    s.partner()
    s.lift_to(1, at="2026-01-20T10:00:00+03:00")

    # when the points have expired but no review without them has happened yet
    result = s.run("2026-07-10T08:59:59+03:00")

    # then the level is still 1
    st = standing(result)
    assert (st.active_points, st.level) == (0, 1)


# --- Reviews ------------------------------------------------------------------------------


def test_the_first_review_keeps_the_level_the_active_points_still_reach():
    s = Stream()
    s.partner()
    s.lift_to(1, at="2026-01-20T10:00:00+03:00")

    result = s.run("2026-04-10T09:00:00+03:00")

    assert standing(result).level == 1
    [review] = result.partners[P].reviews
    assert review.at == ts("2026-04-10T09:00:00+03:00")
    assert (review.active_points, review.level_before, review.level_after) == (15, 1, 1)


def test_a_review_lowers_the_level_to_the_one_the_active_points_reach():
    # given level 3 from 120 points of 20 January (expire 20 April) and 15 points of 1 May
    s = Stream()
    s.partner()
    s.lift_to(3, at="2026-01-20T10:00:00+03:00")
    s.referred(C1, "2026-04-25T10:00:00+03:00")
    s.payment(C1, "2026-05-01T10:00:00+03:00", "tariff.team", 3)

    # then the level stays 3 until the review of 10 July, which sets it to 1 (not 2, not 0)
    assert standing(s.run("2026-07-10T08:59:59.999999+03:00")).level == 3
    result = s.run("2026-07-10T09:00:00+03:00")
    assert standing(result).level == 1
    reviews = result.partners[P].reviews
    assert [(r.at, r.active_points, r.level_before, r.level_after) for r in reviews] == [
        (ts("2026-04-10T09:00:00+03:00"), 120, 3, 3),
        (ts("2026-07-10T09:00:00+03:00"), 15, 3, 1),
    ]
    last = result.partners[P].levels[-1]
    assert (last.old, last.new, last.cause) == (3, 1, "review")
    assert last.at == ts("2026-07-10T09:00:00+03:00")


def test_a_review_drops_the_level_to_0_when_no_points_are_active():
    s = Stream()
    s.partner()
    s.lift_to(3, at="2026-01-20T10:00:00+03:00")

    result = s.run("2026-07-10T09:00:00+03:00")

    assert standing(result).level == 0


def test_points_expiring_exactly_at_the_review_time_are_not_counted():
    # given a partner registered 29 Nov 09:00 (review 28 Feb 09:00) whose 15 points of
    # 30 Nov 09:00 expire at 28 Feb 09:00 too (no 29/30 February in 2026)
    s = Stream()
    s.partner(at="2025-11-29T09:00:00+03:00")
    s.referred(C1, "2025-11-29T10:00:00+03:00")
    s.payment(C1, "2025-11-30T09:00:00+03:00", "tariff.team", 3)

    before = s.run("2026-02-28T08:59:59+03:00")
    result = s.run("2026-02-28T09:00:00+03:00")

    assert standing(before).level == 1
    assert standing(result).level == 0
    [review] = result.partners[P].reviews
    assert review.at == ts("2026-02-28T09:00:00+03:00")
    assert (review.active_points, review.level_before, review.level_after) == (0, 1, 0)


def test_a_review_is_applied_before_an_event_at_the_same_instant():
    # given level 1 whose points expired on 20 April, and a payment exactly at the review time
    s = Stream()
    s.partner()
    s.lift_to(1, at="2026-01-20T10:00:00+03:00")
    s.referred(C1, "2026-07-01T10:00:00+03:00")
    paid = s.payment(C1, "2026-07-10T09:00:00+03:00", "tariff.team", 3, "1000.00")

    result = s.run("2026-07-10T09:00:00+03:00")

    # then the review drops the level to 0 first: the payment is rewarded at level 0 (nothing),
    # and its own 15 points promote the partner back to 1
    review = result.partners[P].reviews[-1]
    assert (review.active_points, review.level_before, review.level_after) == (0, 1, 0)
    assert sum(rewards_for(result, paid), Decimal(0)) == Decimal("0.00")
    assert [(c.old, c.new, c.cause) for c in result.partners[P].levels[-2:]] == [
        (1, 0, "review"),
        (0, 1, "promotion"),
    ]
    assert standing(result).level == 1


def test_a_review_never_raises_the_level():
    # given 12 points (level 0) and a configuration from 1 February where level 1 needs 10
    v2 = config_from_dict(
        {
            "version": 2,
            "effective_from": "2026-02-01T00:00:00+03:00",
            "levels": levels_with_level_1(min_points=10, first_rate="20"),
        }
    )
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.payment(C1, "2026-01-20T10:00:00+03:00", "users.12", 12)

    # when the review of 10 April sees 12 active points
    result = s.run("2026-04-10T09:00:00+03:00", ConfigSet(versions=(ProgramConfig(), v2)))

    # then the level stays the lower of the two: 0
    [review] = result.partners[P].reviews
    assert (review.active_points, review.level_before, review.level_after) == (12, 0, 0)
    assert standing(result).level == 0


# --- Rewards ------------------------------------------------------------------------------


def test_a_level_0_partner_earns_no_reward():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-20T10:00:00+03:00", "users.12", 3, "1000.00")

    result = s.run("2026-02-01T00:00:00+03:00")

    assert sum(rewards_for(result, paid), Decimal(0)) == 0
    assert standing(result).bonus_accrued == Decimal("0.00")


@pytest.mark.parametrize(
    ("level", "reward"), [(1, Decimal("200.00")), (2, Decimal("350.00")), (3, Decimal("500.00"))]
)
@pytest.mark.parametrize(("product", "months"), [("tariff.team", 3), ("users.12", 12)])
def test_a_first_purchase_earns_the_levels_first_purchase_rate(level, reward, product, months):
    # given a partner at ``level``
    s = Stream()
    s.partner()
    s.lift_to(level)
    s.referred(C1, "2026-01-21T10:00:00+03:00")

    # when its client makes its first tariff/users payment of 1000.00
    paid = s.payment(C1, "2026-01-22T10:00:00+03:00", product, months, "1000.00")
    result = s.run("2026-02-01T00:00:00+03:00")

    # then the reward is 20 / 35 / 50 %
    [entry] = [b for b in result.partners[P].bonuses if b.payment == paid]
    rate = {1: 20, 2: 35, 3: 50}[level]
    assert (entry.amount, entry.kind, entry.rate, entry.client) == (reward, "reward", rate, C1)
    assert standing(result).bonus_accrued == reward
    assert standing(result).bonus_balance == reward


@pytest.mark.parametrize("level", [1, 2, 3])
def test_later_tariff_payments_earn_20_percent(level):
    s = Stream()
    s.partner()
    s.lift_to(level)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    s.payment(C1, "2026-01-22T10:00:00+03:00", "tariff.team", 3, "1000.00")
    renewal = s.payment(C1, "2026-02-22T10:00:00+03:00", "tariff.company", 12, "1000.00")

    result = s.run("2026-03-01T00:00:00+03:00")

    assert rewards_for(result, renewal) == [Decimal("200.00")]


def test_a_tariff_payment_after_a_users_payment_is_a_later_purchase():
    # given a level-3 partner; the client's first tariff/users payment is users.12
    s = Stream()
    s.partner()
    s.lift_to(3)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    first = s.payment(C1, "2026-01-22T10:00:00+03:00", "users.12", 3, "1000.00")
    tariff = s.payment(C1, "2026-01-23T10:00:00+03:00", "tariff.team", 3, "1000.00")

    result = s.run("2026-02-01T00:00:00+03:00")

    # then users.12 earns 50 %, the tariff (first in its line, with points) 20 %
    assert rewards_for(result, first) == [Decimal("500.00")]
    assert rewards_for(result, tariff) == [Decimal("200.00")]
    assert standing(result).active_points == 120 + 3 + 15


def test_disk_payments_earn_points_but_no_reward_and_leave_the_first_purchase_rate():
    s = Stream()
    s.partner()
    s.lift_to(3)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    disk = s.payment(C1, "2026-01-22T10:00:00+03:00", "disk.1tb", 12, "1000.00")
    other = s.payment(C1, "2026-01-23T10:00:00+03:00", "crm.backup", 12, "1000.00")
    tariff = s.payment(C1, "2026-01-24T10:00:00+03:00", "tariff.team", 3, "1000.00")

    result = s.run("2026-02-01T00:00:00+03:00")

    assert rewards_for(result, disk) == []
    assert rewards_for(result, other) == []
    assert rewards_for(result, tariff) == [Decimal("500.00")]
    assert standing(result).active_points == 120 + 48 + 15


def test_the_rate_uses_the_level_before_the_payments_own_points():
    # given a level-0 partner whose client pays tariff.company for 12 months
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-20T10:00:00+03:00", "tariff.company", 12, "12000.00")

    result = s.run("2026-02-01T00:00:00+03:00")

    # then 120 points and level 3, but no reward
    st = standing(result)
    assert (st.active_points, st.level) == (120, 3)
    assert sum(rewards_for(result, paid), Decimal(0)) == 0
    assert st.bonus_accrued == Decimal("0.00")


def test_a_level_1_partner_earns_20_percent_on_a_payment_that_lifts_it_to_level_3():
    s = Stream()
    s.partner()
    s.lift_to(1)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-22T10:00:00+03:00", "tariff.company", 12, "10000.00")

    result = s.run("2026-02-01T00:00:00+03:00")

    assert rewards_for(result, paid) == [Decimal("2000.00")]
    assert standing(result).level == 3


@pytest.mark.parametrize(
    ("level", "amount", "reward"),
    [
        (2, "33.33", Decimal("11.67")),  # 11.6655
        (2, "10.30", Decimal("3.61")),  # 3.605: half up, not to even
        (3, "10.05", Decimal("5.03")),  # 5.025
        (3, "0.01", Decimal("0.01")),  # 0.005
        (1, "0.02", Decimal("0.00")),  # 0.004
    ],
)
def test_rewards_are_rounded_half_up_to_kopecks(level, amount, reward):
    s = Stream()
    s.partner()
    s.lift_to(level)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-22T10:00:00+03:00", "tariff.team", 3, amount)

    result = s.run("2026-02-01T00:00:00+03:00")

    assert sum(rewards_for(result, paid), Decimal(0)) == reward
    assert standing(result).bonus_accrued == reward


def _three_year_window(paid_at: str) -> tuple[Stream, str]:
    # client registered 15 Jan 2026 10:00 MSK: rewards until 15 Jan 2029 10:00 MSK (exclusive)
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.referred(LIFT, "2028-12-20T10:00:00+03:00")
    s.payment(LIFT, "2029-01-05T10:00:00+03:00", "tariff.team", 3)  # level 1 again
    return s, s.payment(C1, paid_at, "tariff.team", 3, "1000.00")


def test_a_payment_a_second_before_three_years_after_registration_earns_a_reward():
    s, paid = _three_year_window("2029-01-15T09:59:59+03:00")

    result = s.run("2029-02-01T00:00:00+03:00")

    assert rewards_for(result, paid) == [Decimal("200.00")]


def test_a_payment_three_years_after_the_clients_registration_earns_no_reward():
    s, paid = _three_year_window("2029-01-15T10:00:00+03:00")

    result = s.run("2029-02-01T00:00:00+03:00")

    assert sum(rewards_for(result, paid), Decimal(0)) == 0
    assert standing(result).active_points == 30  # its points still count


# --- Refunds ------------------------------------------------------------------------------


def test_a_refund_takes_back_the_payments_points_and_reward():
    # given a level-1 partner whose client paid 1000.00 for tariff.team 3 (15 points, 200.00)
    s = Stream()
    s.partner()
    s.lift_to(1)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-22T10:00:00+03:00", "tariff.team", 3, "1000.00")

    # when it is refunded
    refund = s.refund(paid, "2026-01-25T10:00:00+03:00")
    result = s.run("2026-02-01T00:00:00+03:00")

    # then its points are no longer active and the reward is reversed
    st = standing(result)
    assert st.active_points == 15  # LIFT's only
    assert st.bonus_accrued == Decimal("0.00")
    assert rewards_for(result, paid) == [Decimal("200.00"), Decimal("-200.00")]
    reversal = [b for b in result.partners[P].bonuses if b.kind == "refund"]
    assert [(b.event_id, b.amount, b.payment) for b in reversal] == [
        (refund, Decimal("-200.00"), paid)
    ]
    [grant] = [g for g in result.partners[P].grants if g.event_id == paid]
    assert grant.revoked_at == ts("2026-01-25T10:00:00+03:00")
    assert grant.revoked_by == refund


def test_points_of_a_refunded_payment_were_active_until_the_refund():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-22T10:00:00+03:00", "tariff.team", 3)
    s.refund(paid, "2026-01-25T10:00:00+03:00")

    assert standing(s.run("2026-01-25T09:59:59+03:00")).active_points == 15
    assert standing(s.run("2026-01-25T10:00:00+03:00")).active_points == 0


def test_a_refunded_payment_still_counts_as_the_lines_first_payment():
    # given a level-3 partner; the client's first tariff payment (50 %) is refunded
    s = Stream()
    s.partner()
    s.lift_to(3)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    first = s.payment(C1, "2026-01-22T10:00:00+03:00", "tariff.team", 3, "1000.00")
    s.refund(first, "2026-01-23T10:00:00+03:00")

    # when the client pays again
    again = s.payment(C1, "2026-01-24T10:00:00+03:00", "tariff.team", 3, "1000.00")
    result = s.run("2026-02-01T00:00:00+03:00")

    # then no points, and the later-purchase rate
    assert [g for g in result.partners[P].grants if g.event_id == again] == []
    assert standing(result).active_points == 120
    assert rewards_for(result, again) == [Decimal("200.00")]


def test_a_refund_does_not_drop_the_level_before_the_review():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-02-01T10:00:00+03:00", "tariff.team", 3)
    s.refund(paid, "2026-02-10T10:00:00+03:00")

    during = s.run("2026-04-10T08:59:59+03:00")
    after = s.run("2026-04-10T09:00:00+03:00")

    assert (standing(during).active_points, standing(during).level) == (0, 1)
    assert standing(after).level == 0


def test_a_refund_of_a_converted_reward_leaves_a_negative_balance_that_later_bonuses_fill():
    # given 200.00 rewarded, then taken out of the balance (as a conversion does)
    s = Stream()
    s.partner()
    s.lift_to(1)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-22T10:00:00+03:00", "users.12", 3, "1000.00")
    s.add(
        "bonus.adjusted",
        "2026-01-23T10:00:00+03:00",
        partner=P,
        amount="-200.00",
        reason="converted",
    )

    # when the payment is refunded
    s.refund(paid, "2026-01-24T10:00:00+03:00")
    refunded = s.run("2026-01-25T00:00:00+03:00")

    # then the balance is negative, and a later activation bonus fills it
    assert standing(refunded).bonus_accrued == Decimal("-200.00")
    assert standing(refunded).bonus_balance == Decimal("-200.00")
    s.referred(C2, "2026-01-25T10:00:00+03:00")
    s.activity(C2, "2026-01-26T10:00:00+03:00", users=5)
    filled = s.run("2026-01-27T00:00:00+03:00")
    assert standing(filled).bonus_balance == Decimal("-100.00")


# --- Configuration versions ---------------------------------------------------------------


def _version_2() -> ProgramConfig:
    points = {p: {3: 0, 6: 0, 12: 0} for p, _, _ in POINTS_TABLE}
    for product, months, value in POINTS_TABLE:
        points[product][months] = value
    points["tariff.team"][3] = 20
    return config_from_dict(
        {
            "version": 2,
            "effective_from": "2026-03-01T00:00:00+03:00",
            "points": {p: {str(m): n for m, n in row.items()} for p, row in points.items()},
            "levels": levels_with_level_1(min_points=15, first_rate="25"),
        }
    )


def test_a_new_configuration_version_applies_to_events_after_its_effective_date_only():
    # given version 2 from 1 March: tariff.team 3 months = 20 points, level 1 first rate 25 %
    configs = ConfigSet(versions=(ProgramConfig(), _version_2()))
    s = Stream()
    s.partner()
    s.lift_to(1)  # 15 points on 20 January (version 1)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    s.referred(C2, "2026-01-21T11:00:00+03:00")
    before = s.payment(C1, "2026-02-28T23:59:59+03:00", "tariff.team", 3, "1000.00")
    after = s.payment(C2, "2026-03-01T00:00:00+03:00", "tariff.team", 3, "1000.00")

    result = s.run("2026-03-02T00:00:00+03:00", configs)

    grants = {g.event_id: g for g in result.partners[P].grants}
    assert (grants[before].points, grants[before].config_version) == (15, 1)
    assert (grants[after].points, grants[after].config_version) == (20, 2)
    assert rewards_for(result, before) == [Decimal("200.00")]
    assert rewards_for(result, after) == [Decimal("250.00")]
    versions = {b.payment: b.config_version for b in result.partners[P].bonuses}
    assert (versions[before], versions[after]) == (1, 2)


def test_without_configs_the_engine_uses_the_specs_defaults():
    s = Stream()
    s.partner()
    s.lift_to(1)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-03-05T10:00:00+03:00", "tariff.team", 3, "1000.00")

    result = s.run("2026-03-06T00:00:00+03:00")

    assert rewards_for(result, paid) == [Decimal("200.00")]
    assert [g.points for g in result.partners[P].grants if g.event_id == paid] == [15]


# --- Order, duplicates, bad events --------------------------------------------------------


def _rich_stream() -> Stream:
    s = Stream()
    s.partner(inn=INN)
    s.partner(Q, at="2026-01-12T12:00:00+05:00")
    s.promo("SPRING-26", "2026-01-20T10:00:00+03:00", PROMO_FROM, PROMO_UNTIL, partner=Q)
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.client(C2, "2026-02-10T10:00:00+03:00", promo_code="spring-26")
    s.client(C3, "2026-01-16T10:00:00+03:00", referral_code=P, inn=INN)
    s.activity(C1, "2026-01-15T20:00:00+03:00", users=10)
    s.activity(C1, "2026-01-16T10:00:00+03:00", users=3)
    s.activity(C1, "2026-01-17T10:00:00+03:00", users=4)
    s.activity(C2, "2026-02-11T10:00:00+03:00", users=7)
    p1 = s.payment(C1, "2026-01-20T10:00:00+03:00", "tariff.team", 3, "3000.00")
    s.payment(C1, "2026-02-20T10:00:00+03:00", "users.12", 12, "4444.44")
    s.payment(C1, "2026-04-10T09:00:00+03:00", "tariff.company", 12, "12000.00")
    p2 = s.payment(C2, "2026-02-12T10:00:00+03:00", "tariff.company", 12, "33.33")
    s.payment(C2, "2026-02-13T10:00:00+03:00", "disk.1tb", 6, "500.00")
    s.payment(C2, "2026-03-13T10:00:00+03:00", "tariff.company", 3, "777.77")
    s.refund(p2, "2026-03-01T10:00:00+03:00")
    s.refund(p1, "2026-05-01T10:00:00+03:00")
    s.activity("nobody.bitrix24.ru", "2026-02-01T10:00:00+03:00", users=5)  # rejected
    return s


def _snapshot(result):
    return (
        {
            code: (pr.standing, pr.grants, pr.bonuses, pr.levels, pr.reviews)
            for code, pr in result.partners.items()
        },
        result.clients,
        sorted((r.event_id, r.reason) for r in result.rejected),
    )


@pytest.mark.parametrize("seed", range(5))
def test_out_of_order_input_gives_the_same_result(seed):
    s = _rich_stream()
    shuffled = list(s.events)
    random.Random(seed).shuffle(shuffled)

    as_of = ts("2026-08-01T00:00:00+03:00")
    assert _snapshot(run(shuffled, as_of=as_of)) == _snapshot(run(s.events, as_of=as_of))


def test_a_repeated_event_id_is_ignored():
    # given a level-1 partner and a payment delivered twice, the second copy altered
    s = Stream()
    s.partner()
    s.lift_to(1)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-22T10:00:00+03:00", "tariff.team", 3, "1000.00")
    s.events.append({**s.events[-1], "amount": "5000.00"})

    result = s.run("2026-02-01T00:00:00+03:00")

    # then the first copy counts, once
    assert standing(result).active_points == 30
    assert rewards_for(result, paid) == [Decimal("200.00")]
    assert [(r.index, r.event_id) for r in result.rejected] == [(len(s.events) - 1, paid)]
    assert "duplicate" in result.rejected[0].reason


def _base() -> Stream:
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.activity(C1, "2026-01-16T10:00:00+03:00", users=5)
    s.payment(C1, "2026-01-20T10:00:00+03:00", "tariff.team", 3, "1000.00")
    return s


AT = "2026-01-25T10:00:00+03:00"
DROP = object()


def bad_payment(**changes) -> dict:
    """A payment event of C1 with ``changes``; a change to ``DROP`` removes the field."""
    event = {
        "id": "x",
        "type": "payment",
        "at": AT,
        "client": C1,
        "product": "users.12",
        "months": 3,
        "amount": "1.00",
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not DROP}


@pytest.mark.parametrize(
    ("bad", "keyword"),
    [
        pytest.param({"id": "x", "type": "client.deleted", "at": AT}, "unknown type", id="type"),
        pytest.param(bad_payment(amount=DROP), "missing", id="no-amount"),
        pytest.param(bad_payment(client=DROP), "missing", id="no-client"),
        pytest.param(bad_payment(at=DROP), "missing", id="no-at"),
        pytest.param(bad_payment(id=DROP), "missing", id="no-id"),
        pytest.param({"id": "x", "type": "client.registered", "at": AT}, "missing", id="no-cl"),
        pytest.param(bad_payment(amount="12,50"), "amount", id="amount-comma"),
        pytest.param(bad_payment(amount="abc"), "amount", id="amount-text"),
        pytest.param(bad_payment(amount="-5.00"), "amount", id="amount-negative"),
        pytest.param(bad_payment(amount="NaN"), "amount", id="amount-nan"),
        pytest.param(bad_payment(amount="Infinity"), "amount", id="amount-inf"),
        pytest.param(bad_payment(at="2026-01-25T10:00:00"), "offset", id="at-no-offset"),
        pytest.param(bad_payment(at="yesterday"), None, id="at-text"),
        pytest.param(bad_payment(months="six"), None, id="months-text"),
        pytest.param(
            {"id": "x", "type": "client.activity", "at": AT, "client": C1, "users": "many"},
            None,
            id="users-text",
        ),
        pytest.param(
            {
                "id": "x",
                "type": "client.activity",
                "at": AT,
                "client": "no.bitrix24.ru",
                "users": 5,
            },
            "unknown client",
            id="activity-unknown-client",
        ),
        pytest.param(
            bad_payment(client="no.bitrix24.ru"), "unknown client", id="payment-unknown-client"
        ),
        pytest.param(
            {"id": "x", "type": "payment.refunded", "at": AT, "payment": "no-such"},
            "unknown payment",
            id="refund-unknown-payment",
        ),
        pytest.param(["not", "an", "object"], None, id="list"),
        pytest.param("just text", None, id="text"),
    ],
)
def test_a_bad_event_is_rejected_alone_and_the_rest_applied(bad, keyword):
    # given a good stream with one bad event in the middle
    s = _base()
    good = s.run("2026-02-01T00:00:00+03:00")
    events = [*s.events[:2], bad, *s.events[2:]]

    # when it is run
    result = run(events, as_of=ts("2026-02-01T00:00:00+03:00"))

    # then the bad event alone is rejected, at its position, with a reason
    [rejection] = result.rejected
    assert rejection.index == 2
    expected_id = bad.get("id") if isinstance(bad, dict) else None
    assert rejection.event_id == expected_id
    assert rejection.reason
    if keyword:
        assert keyword in rejection.reason.lower()
    assert standing(result) == standing(good)
    assert standing(result).active_points == 16


def test_several_bad_events_are_rejected_one_by_one():
    s = _base()
    events = [
        {"id": "b1", "type": "nonsense", "at": AT},
        *s.events,
        bad_payment(id="b2", amount="1,00"),
        {"id": "b3", "type": "payment.refunded", "at": AT, "payment": "nope"},
    ]

    result = run(events, as_of=ts("2026-02-01T00:00:00+03:00"))

    assert [(r.index, r.event_id) for r in result.rejected] == [
        (0, "b1"),
        (len(events) - 2, "b2"),
        (len(events) - 1, "b3"),
    ]
    assert standing(result).active_points == 16
    assert standing(result).bonus_accrued == Decimal("100.00")


def test_events_after_the_as_of_time_are_not_applied():
    s = _base()

    result = s.run("2026-01-19T23:59:59+03:00")

    assert standing(result).active_points == 1
    assert result.clients[C1].payments == 0


def test_a_review_happens_every_three_months_even_without_events():
    s = Stream()
    s.partner()

    result = s.run("2027-01-10T09:00:00+03:00")

    assert [r.at for r in result.partners[P].reviews] == [
        ts("2026-04-10T09:00:00+03:00"),
        ts("2026-07-10T09:00:00+03:00"),
        ts("2026-10-10T09:00:00+03:00"),
        ts("2027-01-10T09:00:00+03:00"),
    ]


def test_the_activation_bonus_is_100_at_level_3_too():
    s = Stream()
    s.partner()
    s.lift_to(3)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    activity = s.activity(C1, "2026-01-22T10:00:00+03:00", users=5)

    result = s.run("2026-02-01T00:00:00+03:00")

    assert [b.amount for b in result.partners[P].bonuses if b.event_id == activity] == [
        Decimal("100.00")
    ]


def test_a_referral_code_of_a_partner_not_yet_registered_is_unknown():
    s = Stream()
    s.referred(C1, "2026-01-09T10:00:00+03:00")
    s.partner()

    result = s.run("2026-02-01T00:00:00+03:00")

    assert result.clients[C1].partner is None
    assert result.clients[C1].reason.startswith("unknown referral code")


def test_a_payment_dated_before_its_clients_registration_is_rejected():
    s = Stream()
    s.partner()
    early = s.payment(C1, "2026-01-14T10:00:00+03:00", "tariff.team", 3)
    s.referred(C1, "2026-01-15T10:00:00+03:00")

    result = s.run("2026-02-01T00:00:00+03:00")

    assert [(r.event_id, "unknown client" in r.reason) for r in result.rejected] == [(early, True)]
    assert standing(result).active_points == 0


def test_a_refund_dated_before_its_payment_is_rejected_and_the_payment_stands():
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-20T10:00:00+03:00", "tariff.team", 3)
    refund = s.refund(paid, "2026-01-19T10:00:00+03:00")

    result = s.run("2026-02-01T00:00:00+03:00")

    assert [(r.event_id, "unknown payment" in r.reason) for r in result.rejected] == [
        (refund, True)
    ]
    assert standing(result).active_points == 15


def test_a_payment_refunded_twice_is_reversed_once():
    s = Stream()
    s.partner()
    s.lift_to(1)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-22T10:00:00+03:00", "tariff.team", 3, "1000.00")
    s.refund(paid, "2026-01-23T10:00:00+03:00")
    s.refund(paid, "2026-01-24T10:00:00+03:00")

    result = s.run("2026-02-01T00:00:00+03:00")

    assert rewards_for(result, paid) == [Decimal("200.00"), Decimal("-200.00")]
    assert standing(result).bonus_accrued == Decimal("0.00")
    assert standing(result).active_points == 15


def test_a_refund_of_a_disk_payment_takes_back_its_points_only():
    s = Stream()
    s.partner()
    s.lift_to(1)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-22T10:00:00+03:00", "disk.250gb", 12, "1000.00")
    s.refund(paid, "2026-01-23T10:00:00+03:00")

    result = s.run("2026-02-01T00:00:00+03:00")

    assert standing(result).active_points == 15
    assert standing(result).bonus_accrued == Decimal("0.00")
    assert rewards_for(result, paid) == []


def test_the_three_year_window_is_counted_in_calendar_years():
    # given a client registered on 29 February 2028: rewards until 28 February 2031 10:00 MSK
    s = Stream()
    s.partner()
    s.referred(C1, "2028-02-29T10:00:00+03:00")
    s.referred(C2, "2028-02-29T10:00:00+03:00")
    s.referred(LIFT, "2031-01-20T10:00:00+03:00")
    s.payment(LIFT, "2031-02-01T10:00:00+03:00", "tariff.team", 3)  # level 1
    inside = s.payment(C1, "2031-02-28T09:59:59+03:00", "tariff.team", 3, "1000.00")
    outside = s.payment(C2, "2031-02-28T10:00:00+03:00", "tariff.team", 3, "1000.00")

    result = s.run("2031-03-01T00:00:00+03:00")

    assert rewards_for(result, inside) == [Decimal("200.00")]
    assert sum(rewards_for(result, outside), Decimal(0)) == 0


def test_a_later_payment_at_level_0_earns_nothing():
    # given a client whose first payment was rewarded, and a partner back at level 0 (review of
    # 10 July with no active points)
    s = Stream()
    s.partner()
    s.lift_to(1)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    first = s.payment(C1, "2026-02-01T10:00:00+03:00", "tariff.team", 3, "1000.00")
    renewal = s.payment(C1, "2026-07-15T10:00:00+03:00", "tariff.team", 3, "1000.00")

    result = s.run("2026-08-01T00:00:00+03:00")

    assert rewards_for(result, first) == [Decimal("200.00")]
    assert sum(rewards_for(result, renewal), Decimal(0)) == 0
    assert standing(result).level == 0


def test_a_refund_reverses_the_reward_as_granted_even_after_the_level_dropped():
    # given 500.00 rewarded at level 3, then a review that drops the level to 0
    s = Stream()
    s.partner()
    s.lift_to(3)
    s.referred(C1, "2026-01-21T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-22T10:00:00+03:00", "tariff.team", 3, "1000.00")

    # when the payment is refunded after the review of 10 July (its points expired on 22 April)
    s.refund(paid, "2026-07-20T10:00:00+03:00")
    result = s.run("2026-08-01T00:00:00+03:00")

    # then exactly the 500.00 is taken back, and no points go negative
    assert rewards_for(result, paid) == [Decimal("500.00"), Decimal("-500.00")]
    assert standing(result).active_points == 0
    assert standing(result).bonus_accrued == Decimal("0.00")


def test_a_refund_of_an_unattributed_clients_payment_changes_nothing():
    s = Stream()
    s.partner()
    s.client(C1, "2026-01-15T10:00:00+03:00")
    paid = s.payment(C1, "2026-01-20T10:00:00+03:00", "tariff.team", 3, "1000.00")
    s.refund(paid, "2026-01-21T10:00:00+03:00")

    result = s.run("2026-02-01T00:00:00+03:00")

    assert result.rejected == []
    assert result.partners[P].bonuses == []
    assert standing(result).active_points == 0


def test_a_promo_code_of_a_blocked_partner_attributes_nobody():
    s = Stream()
    s.partner()
    s.promo("SPRING-26", "2026-01-20T10:00:00+03:00", PROMO_FROM, PROMO_UNTIL)
    s.add("partner.blocked", "2026-02-01T10:00:00+03:00", partner=P)
    s.client(C1, "2026-02-05T10:00:00+03:00", promo_code="SPRING-26")

    result = s.run("2026-02-06T00:00:00+03:00")

    assert result.clients[C1].partner is None
    assert result.clients[C1].reason.startswith("partner blocked")


def test_a_review_uses_the_thresholds_in_force_at_the_review_time():
    # given level 1 with 15 points, and a version from 1 March where level 1 needs 20
    v2 = config_from_dict(
        {
            "version": 2,
            "effective_from": "2026-03-01T00:00:00+03:00",
            "levels": levels_with_level_1(min_points=20, first_rate="20"),
        }
    )
    s = Stream()
    s.partner()
    s.lift_to(1, at="2026-01-20T10:00:00+03:00")

    # when the review of 10 April sees the 15 points still active
    result = s.run("2026-04-10T09:00:00+03:00", ConfigSet(versions=(ProgramConfig(), v2)))

    # then the level drops to 0 under version 2
    [review] = result.partners[P].reviews
    assert (review.active_points, review.level_before, review.level_after) == (15, 1, 0)
    assert review.config_version == 2


def test_grants_keep_the_lifetime_of_the_version_that_made_them():
    # given a version from 1 March where points live 6 months
    v2 = config_from_dict(
        {"version": 2, "effective_from": "2026-03-01T00:00:00+03:00", "points_lifetime_months": 6}
    )
    s = Stream()
    s.partner()
    s.referred(C1, "2026-01-15T10:00:00+03:00")
    s.referred(C2, "2026-01-15T11:00:00+03:00")
    before = s.payment(C1, "2026-02-01T10:00:00+03:00", "tariff.team", 3)
    after = s.payment(C2, "2026-03-01T10:00:00+03:00", "tariff.team", 3)

    result = s.run("2026-06-01T00:00:00+03:00", ConfigSet(versions=(ProgramConfig(), v2)))

    grants = {g.event_id: g for g in result.partners[P].grants}
    assert grants[before].expires_at == ts("2026-05-01T10:00:00+03:00")
    assert grants[after].expires_at == ts("2026-09-01T10:00:00+03:00")
    assert standing(result).active_points == 15
