"""Cabinet pages of the referral program: the standing, bonus history and clients (issue 5,
item 7). The numbers are the spec's (referrals.md): points table, level thresholds 15/60/120,
rates 20%/35%/50% and 20% later, 100 bonuses for an active client, 3-month expiry and reviews.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from partnerhub.referrals.selectors import standing as st
from tests.referrals.pages_support import (
    NOW,
    T0,
    activity,
    client,
    ingest,
    join,
    payment,
    referral_program,
    spec_story,
)

NBSP = "\xa0"


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def program(world):
    return referral_program(world.vendor)


@pytest.fixture
def partner_a(world, program):
    referral_partner = join(program, world.partner_a)
    ingest(program, spec_story(referral_partner.code))
    return referral_partner


def text(response) -> str:
    """The page's HTML with ``&nbsp;`` as the character it stands for."""
    return response.content.decode().replace("&nbsp;", NBSP)


def page(client_, name: str, **params: str):
    response = client_.get(reverse(name), params)
    assert response.status_code == 200
    return response


# --- the dashboard --------------------------------------------------------------------------


def test_dashboard_shows_level_progress_points_and_bonuses(partner_a, login_as):
    # given partner A with the spec story (level 2, 79 active points, 2 700 bonuses)
    # when any of its users opens the referral dashboard
    response = page(login_as("a:operator"), "cabinet:referrals")
    # then the level, the progress to level 3 (79 of 120) and the bonuses are shown
    context = response.context
    standing = context["standing"]
    assert (standing.level, standing.active_points, standing.points_total) == (2, 79, 79)
    assert standing.bonus_accrued == Decimal("2700.00")
    assert standing.bonus_balance == Decimal("2700.00")
    assert context["progress"] == {
        "level": 2,
        "active_points": 79,
        "next_level": 3,
        "needed": 41,
        "threshold": 120,
        "percent": 65,
    }
    body = text(response)
    assert '<p class="big-number" id="level">2</p>' in body
    assert '<progress max="120" value="79"' in body
    assert f"2{NBSP}700,00{NBSP}₽" in body
    assert "До уровня 3 не хватает 41 " in body
    # and the bonuses lead to their conversion and the payouts
    assert 'href="/cabinet/payouts/" id="payouts-link"' in body


def test_dashboard_shows_the_next_review_and_the_level_kept_today(partner_a, login_as):
    # given partner A registered on 10.01.2026 09:00 (reviews every 3 months)
    response = page(login_as("a:owner"), "cabinet:referrals")
    # then the next review is on 10.04.2026 09:00 and with 79 points it would keep level 2
    assert response.context["next_review"] == T0 + dt.timedelta(days=90)
    assert response.context["kept_level"] == 2
    body = text(response)
    assert '<dd id="next-review">10.04.2026 09:00</dd>' in body
    assert '<dd id="kept-level">2</dd>' in body


def test_dashboard_lists_active_grants_with_their_expiry(partner_a, login_as):
    response = page(login_as("a:owner"), "cabinet:referrals")
    # then each grant expires 3 calendar months after its event, soonest first
    grants = [(row["grant"].points, row["grant"].expires_at) for row in response.context["grants"]]
    assert grants == [
        (1, dt.datetime(2026, 4, 12, 9, 0, tzinfo=T0.tzinfo)),
        (15, dt.datetime(2026, 4, 13, 9, 0, tzinfo=T0.tzinfo)),
        (60, dt.datetime(2026, 4, 14, 9, 0, tzinfo=T0.tzinfo)),
        (3, dt.datetime(2026, 4, 15, 9, 0, tzinfo=T0.tzinfo)),
    ]
    body = text(response)
    assert "12.04.2026 09:00 — 1 балл" in body
    assert "14.04.2026 09:00 — 60 баллов" in body


def test_dashboard_chart_data_spans_three_months_back_and_ahead(partner_a, login_as):
    response = page(login_as("a:owner"), "cabinet:referrals")
    body = text(response)
    # then the chart's data is a JSON block: 20.10.2025 to 20.04.2026, one value a day
    start = body.index('<script id="points-chart-data" type="application/json">')
    raw = body[body.index(">", start) + 1 : body.index("</script>", start)]
    chart = json.loads(raw)
    assert chart["today"] == "2026-01-20"
    assert (chart["dates"][0], chart["dates"][-1]) == ("2025-10-20", "2026-04-20")
    points = dict(zip(chart["dates"], chart["points"], strict=True))
    # before joining nothing; 79 today; after the last grant expires (15.04) nothing again
    assert points["2026-01-01"] == 0
    assert points["2026-01-20"] == 79
    assert points["2026-04-13"] == 63  # at noon: the 1 and the 15 expired at 09:00
    assert points["2026-04-20"] == 0
    assert "vendor/uplot/uPlot.iife.min.js" in body
    assert "js/referral_chart.js" in body


def test_dashboard_computes_the_standing_once(partner_a, login_as, django_assert_max_num_queries):
    # given partner A with history (4 grants, 3 bonus entries, a level change)
    owner = login_as("a:owner")
    # when its owner opens the dashboard
    with django_assert_max_num_queries(13) as captured:
        response = page(owner, "cabinet:referrals")
    # then the live state is read once (not once per selector) and the page is complete
    state_reads = [q for q in captured.captured_queries if "referrals_partnerstate" in q["sql"]]
    assert len(state_reads) == 1
    assert response.context["progress"]["needed"] == 41
    assert response.context["kept_level"] == 2


def test_a_partner_that_has_not_joined_sees_how_to_join(world, program, login_as):
    response = page(login_as("b:owner"), "cabinet:referrals")
    body = text(response)
    assert 'id="not-joined"' in body
    assert reverse("cabinet:programs") in body
    assert "standing" not in response.context


def test_the_level_kept_today_is_lower_once_points_expired(world, program, login_as):
    # given a partner with 16 points from days 2 and 3 (level 1); review on 10.04.2026
    referral_partner = join(program, world.partner_a)
    ingest(
        program,
        [
            client("c1", "one.bitrix24.ru", 1, referral_code=referral_partner.code),
            activity("a1", "one.bitrix24.ru", 2),
            payment("p1", "one.bitrix24.ru", 3, "disk.1tb", 3, "1500.00"),
        ],
    )
    # when it looks on 20.04.2026: the review of 10.04 kept level 1 (16 points then), the
    # points expired on 12-13.04, and the level does not drop between reviews
    with time_machine.travel(dt.datetime(2026, 4, 20, 12, 0, tzinfo=T0.tzinfo), tick=False):
        response = page(login_as("a:owner"), "cabinet:referrals")
    # then it is level 1 with 0 active points and would keep level 0 at a review today
    assert response.context["standing"].level == 1
    assert response.context["standing"].active_points == 0
    assert response.context["kept_level"] == 0
    assert response.context["next_review"] == dt.datetime(2026, 7, 10, 9, 0, tzinfo=T0.tzinfo)
    assert "Чтобы сохранить уровень 1" in text(response)


# --- bonus history --------------------------------------------------------------------------


def test_bonus_history_lists_every_accrual_with_rate_and_payment(partner_a, login_as):
    response = page(login_as("a:accountant"), "cabinet:referral_bonuses")
    rows = [
        (str(r["kind"]), r["entry"].client, r["entry"].base, r["entry"].rate, r["entry"].amount)
        for r in response.context["page"]
    ]
    # newest first: the later payment at 20%, the first tariff payment at level 1 (20%), the
    # activation bonus; the disk payment earns no reward
    assert rows == [
        ("Вознаграждение с оплаты", "acme.bitrix24.ru", Decimal("1000.00"), Decimal("20"),
         Decimal("200.00")),
        ("Вознаграждение с оплаты", "acme.bitrix24.ru", Decimal("12000.00"), Decimal("20"),
         Decimal("2400.00")),
        ("За активного клиента", "acme.bitrix24.ru", None, None, Decimal("100.00")),
    ]  # fmt: skip
    body = text(response)
    assert f"12{NBSP}000,00{NBSP}₽" in body
    assert f"2{NBSP}400,00{NBSP}₽" in body


def test_bonus_history_is_paginated(world, program, login_as):
    # given 30 active clients: 30 activation bonuses of 100
    referral_partner = join(program, world.partner_a)
    events = []
    for i in range(30):
        name = f"c{i:02d}.bitrix24.ru"
        events += [
            client(f"r{i}", name, 1, referral_code=referral_partner.code),
            activity(f"a{i}", name, 2 + i / 100),
        ]
    ingest(program, events)
    # when the second page is asked for
    response = page(login_as("a:owner"), "cabinet:referral_bonuses", page="2")
    # then it holds the last 5 of 30
    assert response.context["page"].paginator.count == 30
    assert len(response.context["page"]) == 5
    assert response.context["standing"].bonus_accrued == Decimal("3000.00")


# --- clients --------------------------------------------------------------------------------


def test_clients_page_lists_attributed_clients_with_payments(partner_a, login_as):
    response = page(login_as("a:manager"), "cabinet:referral_clients")
    rows = [
        (c.client, c.active_at is not None, c.payments, c.paid) for c in response.context["page"]
    ]
    assert rows == [("acme.bitrix24.ru", True, 3, Decimal("14500.00"))]
    body = text(response)
    assert f"14{NBSP}500,00{NBSP}₽" in body


def test_clients_search_by_portal_id(world, program, login_as):
    referral_partner = join(program, world.partner_a)
    ingest(
        program,
        [
            client("r1", "acme.bitrix24.ru", 1, referral_code=referral_partner.code),
            client("r2", "globex.bitrix24.ru", 1, referral_code=referral_partner.code),
        ],
    )
    response = page(login_as("a:owner"), "cabinet:referral_clients", q="GLOBEX")
    assert [c.client for c in response.context["page"]] == ["globex.bitrix24.ru"]
    assert 'value="GLOBEX"' in text(response)


def test_clients_page_is_paginated_in_few_queries(
    world, program, login_as, django_assert_max_num_queries
):
    code = join(program, world.partner_a).code
    ingest(
        program,
        [
            client(f"r{i}", f"c{i:02d}.bitrix24.ru", 1 + i / 100, referral_code=code)
            for i in range(60)
        ],
    )
    owner = login_as("a:owner")
    with django_assert_max_num_queries(12):
        response = page(owner, "cabinet:referral_clients", page="3")
    assert response.context["page"].paginator.count == 60
    assert len(response.context["page"]) == 10


# --- navigation -----------------------------------------------------------------------------

REFERRAL_PAGES = (
    "cabinet:referrals",
    "cabinet:referral_bonuses",
    "cabinet:referral_clients",
    "cabinet:referral_link",
    "cabinet:promo_codes",
)


def test_the_five_referral_pages_share_one_menu(partner_a, login_as):
    owner = login_as("a:owner")
    for name in REFERRAL_PAGES:
        body = text(page(owner, name))
        # then each page has the same submenu, with itself marked as the current page
        menu = body[body.index('<nav class="subnav"') : body.index("</nav>", body.index("subnav"))]
        for other in REFERRAL_PAGES:
            assert f'href="{reverse(other)}"' in menu, (name, other)
        assert f'<a href="{reverse(name)}" aria-current="page">' in menu, name
        assert menu.count('aria-current="page"') == 1, name
        # and the top menu has one item for the whole program
        assert body.count(f'href="{reverse("cabinet:referrals")}"') == 2, name  # top + submenu
        assert "Ссылка и промокоды" not in body, name


# --- scoping --------------------------------------------------------------------------------


def test_partner_b_sees_only_its_own_referral_data(world, program, partner_a, login_as):
    # given partner B joined too, with one client of its own
    partner_b = join(program, world.partner_b)
    ingest(program, [client("b-reg", "beta-client.bitrix24.ru", 1, referral_code=partner_b.code)])
    b_owner = login_as("b:owner")
    # then each of B's pages shows B's numbers and nothing of A's
    for name in ("cabinet:referrals", "cabinet:referral_bonuses", "cabinet:referral_clients"):
        body = text(page(b_owner, name))
        assert "acme.bitrix24.ru" not in body, name
        assert partner_a.code not in body, name
        assert "2 700" not in body.replace(NBSP, " "), name
    dashboard = page(b_owner, "cabinet:referrals")
    assert dashboard.context["standing"].partner == partner_b.code
    assert (dashboard.context["standing"].level, dashboard.context["standing"].clients) == (0, 1)
    clients = page(b_owner, "cabinet:referral_clients", q="acme")
    assert list(clients.context["page"]) == []


def test_a_partner_of_another_referral_program_than_the_first_sees_its_own_data(world, login_as):
    # given the vendor's first referral program, which A has not joined, and a second one, which
    # A joined with the spec story (level 2, 79 active points, one client)
    referral_program(world.vendor)
    second = referral_program(world.vendor)
    code = join(second, world.partner_a).code
    ingest(second, spec_story(code))
    owner = login_as("a:owner")
    # when A's owner opens the referral pages
    dashboard = page(owner, "cabinet:referrals")
    bonuses = page(owner, "cabinet:referral_bonuses")
    clients = page(owner, "cabinet:referral_clients")
    link = page(owner, "cabinet:referral_link")
    # then every page shows the same partner, of the second program, with its data
    assert dashboard.context["program"] == second
    assert (dashboard.context["standing"].partner, dashboard.context["standing"].level) == (code, 2)
    assert bonuses.context["standing"].bonus_accrued == Decimal("2700.00")
    assert [c.client for c in clients.context["page"]] == ["acme.bitrix24.ru"]
    assert {r.context["partner"].code for r in (dashboard, bonuses, clients, link)} == {code}


def test_a_standing_not_computed_yet_is_said_so(world, program, login_as, monkeypatch):
    # given a partner whose live state is not there yet (its registration is being applied)
    join(program, world.partner_a)
    monkeypatch.setattr(st, "history_of", lambda **kwargs: None)
    # then the pages say so instead of showing zeros
    for name in ("cabinet:referrals", "cabinet:referral_bonuses"):
        response = page(login_as("a:owner"), name)
        assert 'id="pending"' in text(response), name
        assert "standing" not in response.context, name
