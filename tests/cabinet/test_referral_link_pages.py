"""Cabinet pages of the referral link and the promo codes (issue 5, item 7): Russian text, the
link with its copy button and click statistics, the promo code list with states and the create
form with errors under their fields; partner B never sees or deactivates partner A's codes; an
organisation outside the referral program gets an explanation."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from partnerhub.referrals.models import PromoCode
from partnerhub.referrals.services.links import (
    promo_code_create,
    promo_code_deactivate,
    referral_click_record,
)
from partnerhub.referrals.services.partners import referral_partner_block
from tests.referrals.links_support import MSK, record_portal_events, referral_program, register

NOW = dt.datetime(2026, 3, 10, 11, 0, tzinfo=MSK)
TODAY = NOW.date()
LINK_URL = "/cabinet/referrals/link/"
PROMO_URL = "/cabinet/referrals/promo-codes/"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def portal_events(monkeypatch):
    return record_portal_events(monkeypatch)


@pytest.fixture
def program(world):
    return referral_program(world.vendor)


@pytest.fixture
def partner_a(world, program, portal_events):
    return register(program, world.partner_a)


def a_code(partner, code="SPRING-2026", **overrides):
    values = {
        "client_bonus": "month",
        "valid_from": TODAY,
        "valid_until": dt.date(2026, 3, 31),
    }
    values.update(overrides)
    return promo_code_create(partner=partner, code=code, actor=None, **values)


# --- the referral link page -------------------------------------------------------------------


def test_link_page_shows_the_code_the_link_and_a_copy_button(partner_a, login_as):
    response = login_as("a:operator").get(LINK_URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Реферальная ссылка" in body
    assert f'<code id="partner-code">{partner_a.code}</code>' in body
    assert f'value="https://www.bitrix24.ru/?p={partner_a.code}"' in body
    assert 'data-copy="referral-link"' in body
    assert "Копировать" in body
    assert "/static/js/copy.js" in body
    assert "запоминается на 30 дн." in body


def test_link_page_shows_clicks_of_the_last_30_days(
    partner_a, login_as, django_assert_max_num_queries
):
    for hour, ip in ((9, "198.51.100.1"), (10, "198.51.100.1"), (11, "198.51.100.2")):
        referral_click_record(
            partner=partner_a,
            ip=ip,
            referer="",
            user_agent="Firefox",
            at=dt.datetime(2026, 3, 9, hour, tzinfo=MSK),
        )
    client = login_as("a:owner")

    with django_assert_max_num_queries(10):
        response = client.get(LINK_URL)

    body = response.content.decode()
    assert "Переходы за 30 дней" in body
    assert '<strong id="clicks-total">3</strong>' in body
    assert '<strong id="clicks-unique">2</strong>' in body
    assert "<td>09.03.2026</td><td>3</td>" in body
    assert body.count("<meter") == 30


def test_link_page_explains_how_to_join_when_not_in_the_program(world, login_as):
    response = login_as("a:owner").get(LINK_URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "пока не участвует в реферальной программе" in body
    assert 'href="/cabinet/programs/"' in body
    assert "data-copy" not in body


def test_link_page_warns_a_blocked_partner(partner_a, login_as):
    referral_partner_block(partner=partner_a)
    body = login_as("a:owner").get(LINK_URL).content.decode()
    assert "Участие в программе приостановлено" in body


def test_link_page_in_english(partner_a, login_as):
    client = login_as("a:owner")
    client.cookies["django_language"] = "en"
    response = client.get(LINK_URL)
    assert response.status_code == 200
    assert partner_a.code in response.content.decode()


# --- the promo codes page ---------------------------------------------------------------------


def test_promo_page_lists_codes_with_their_states(
    partner_a, login_as, clock, django_assert_max_num_queries
):
    a_code(partner_a, "NOW-1")
    a_code(partner_a, "LATER-1", valid_from=TODAY + dt.timedelta(days=5))
    promo_code_deactivate(promo_code=a_code(partner_a, "OFF-1"), actor=None)
    a_code(partner_a, "SHORT-1", valid_until=TODAY)
    for n in range(20):
        a_code(partner_a, f"BULK-{n:02d}")
    clock.move_to(NOW + dt.timedelta(days=1))
    client = login_as("a:accountant")

    with django_assert_max_num_queries(10):
        response = client.get(PROMO_URL)

    assert response.status_code == 200
    body = response.content.decode()
    for code, state in (
        ("NOW-1", "Действует"),
        ("LATER-1", "Ещё не действует"),
        ("OFF-1", "Отключён"),
        ("SHORT-1", "Истёк"),
    ):
        row = body.split(f"<code>{code}</code>")[1].split("</tr>")[0]
        assert state in row, code
        assert "+1 месяц к тарифу" in row
    assert "10.03.2026 – 31.03.2026" in body
    # an accountant reads but neither creates nor deactivates
    assert "Новый промокод" not in body
    assert "Отключить" not in body


def test_owner_creates_a_promo_code_from_the_form(partner_a, login_as, portal_events):
    client = login_as("a:manager")
    form = client.get(PROMO_URL).content.decode()
    assert "Новый промокод" in form
    assert '<option value="discount10">10% на первую покупку</option>' in form
    assert 'value="2026-03-10"' in form  # starts today by default

    response = client.post(
        PROMO_URL,
        {
            "code": "Весна-2026",
            "client_bonus": "discount10",
            "valid_from": "2026-03-10",
            "valid_until": "2026-04-10",
        },
        follow=True,
    )

    assert response.redirect_chain == [(PROMO_URL, 302)]
    body = response.content.decode()
    assert "Промокод «Весна-2026» создан." in body
    promo = PromoCode.objects.get()
    assert promo.partner == partner_a
    assert promo.created_by.email == "manager@a.example"
    assert promo.valid_until == dt.date(2026, 4, 10)


def test_form_errors_are_shown_under_their_fields(partner_a, login_as):
    a_code(partner_a, "TAKEN")
    response = login_as("a:owner").post(
        PROMO_URL,
        {
            "code": "taken",
            "client_bonus": "month",
            "valid_from": "2026-03-09",
            "valid_until": "2027-06-01",
        },
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert (
        '<p class="error" data-field="code">Такой промокод уже есть в программе '
        "(регистр букв не важен).</p>" in body
    )
    assert (
        '<p class="error" data-field="valid_from">Срок действия не может начинаться в прошлом.</p>'
        in body
    )
    assert PromoCode.objects.count() == 1


def test_form_shape_errors_are_shown_too(partner_a, login_as):
    response = login_as("a:owner").post(
        PROMO_URL, {"code": "", "client_bonus": "nope", "valid_from": "завтра"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    for field in ("code", "client_bonus", "valid_from", "valid_until"):
        assert f'data-field="{field}"' in body, field
    assert not PromoCode.objects.exists()


def test_a_blocked_partner_sees_no_form_and_cannot_create(partner_a, login_as):
    referral_partner_block(partner=partner_a)
    client = login_as("a:owner")
    assert "Новый промокод" not in client.get(PROMO_URL).content.decode()
    response = client.post(
        PROMO_URL,
        {
            "code": "BLOCKED",
            "client_bonus": "month",
            "valid_from": "2026-03-10",
            "valid_until": "2026-03-20",
        },
    )
    assert response.status_code == 400
    assert not PromoCode.objects.exists()


def test_promo_page_explains_how_to_join_when_not_in_the_program(world, login_as):
    body = login_as("b:owner").get(PROMO_URL).content.decode()
    assert "пока не участвует в реферальной программе" in body
    assert "Новый промокод" not in body


def test_operator_cannot_create_promo_codes(partner_a, login_as):
    response = login_as("a:operator").post(PROMO_URL, {"code": "NOPE"})
    assert response.status_code == 403


# --- deactivation and scoping -----------------------------------------------------------------


def test_manager_deactivates_a_code(partner_a, login_as):
    promo = a_code(partner_a)
    url = reverse("cabinet:promo_code_deactivate", kwargs={"pk": promo.pk})

    response = login_as("a:manager").post(url, follow=True)

    assert response.redirect_chain == [(PROMO_URL, 302)]
    assert "Промокод «SPRING-2026» отключён." in response.content.decode()
    promo.refresh_from_db()
    assert promo.deactivated_at == NOW


def test_partner_b_neither_sees_nor_deactivates_a_codes(world, program, partner_a, login_as):
    promo = a_code(partner_a, "ALFA-ONLY")
    register(program, world.partner_b)
    client = login_as("b:owner")

    body = client.get(PROMO_URL).content.decode()
    assert "ALFA-ONLY" not in body
    assert "Промокодов пока нет." in body
    assert partner_a.code not in client.get(LINK_URL).content.decode()

    url = reverse("cabinet:promo_code_deactivate", kwargs={"pk": promo.pk})
    assert client.post(url).status_code == 404
    promo.refresh_from_db()
    assert promo.deactivated_at is None


def test_a_partner_outside_the_program_gets_404_on_deactivation(partner_a, login_as):
    promo = a_code(partner_a)
    url = reverse("cabinet:promo_code_deactivate", kwargs={"pk": promo.pk})
    assert login_as("b:manager").post(url).status_code == 404
