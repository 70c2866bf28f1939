"""The referral link ``/r/<code>`` (issue 5, item 6): a known code records the click (time,
referer, hashed IP, user agent), sets the first-party cookie for the attribution window and
redirects to the landing URL with the code; an unknown or blocked code redirects without one;
robots are redirected but not counted. Click statistics of the last 30 days."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
import time_machine
from django.test import Client

from partnerhub.referrals.engine.config import DEFAULT
from partnerhub.referrals.models import ReferralClick
from partnerhub.referrals.selectors.links import click_stats, referral_link
from partnerhub.referrals.services.links import referral_click_record
from partnerhub.referrals.services.partners import referral_partner_block
from tests.referrals.links_support import (
    MSK,
    record_portal_events,
    referral_program,
    register,
    use_config,
)

IP = "203.0.113.7"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0 Safari/537.36"


@pytest.fixture
def portal_events(monkeypatch):
    return record_portal_events(monkeypatch)


@pytest.fixture
def partner(world, portal_events):
    return register(referral_program(world.vendor), world.partner_a)


def visit(code: str, *, method: str = "get", **headers):
    client = Client(REMOTE_ADDR=IP)
    headers.setdefault("HTTP_USER_AGENT", BROWSER)
    return getattr(client, method)(f"/r/{code}", **headers)


def test_a_known_code_redirects_to_the_landing_with_the_code_and_sets_the_cookie(partner):
    response = visit(partner.code, HTTP_REFERER="https://t.me/channel/15")

    assert response.status_code == 302
    assert response["Location"] == f"https://www.bitrix24.ru/?p={partner.code}"
    assert "no-store" in response["Cache-Control"]  # each visit reaches us
    cookie = response.cookies["partnerhub_ref"]
    assert cookie.value == partner.code
    assert cookie["max-age"] == 30 * 86400  # the default attribution window: 30 days
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True
    assert cookie["path"] == "/"
    assert not cookie["secure"]


def test_the_cookie_is_secure_when_the_site_runs_on_https(partner, settings):
    settings.HTTPS = True
    assert visit(partner.code).cookies["partnerhub_ref"]["secure"] is True


def test_the_cookie_lives_for_the_attribution_window_of_the_program(partner, monkeypatch):
    use_config(monkeypatch, attribution_window_days=7)
    assert visit(partner.code).cookies["partnerhub_ref"]["max-age"] == 7 * 86400


def test_the_landing_keeps_its_own_query_and_replaces_an_old_code(partner, monkeypatch):
    use_config(
        monkeypatch,
        landing_url="https://vendor.example/start?utm_source=partners&ref=OLD#form",
        referral_param="ref",
    )
    response = visit(partner.code)
    assert response["Location"] == (
        f"https://vendor.example/start?utm_source=partners&ref={partner.code}#form"
    )


def test_the_code_is_found_whatever_its_case_and_with_a_trailing_slash(partner):
    response = visit(partner.code.lower() + "/")
    assert response["Location"] == f"https://www.bitrix24.ru/?p={partner.code}"
    assert response.cookies["partnerhub_ref"].value == partner.code
    assert ReferralClick.objects.filter(partner=partner).count() == 1


def test_the_click_is_recorded_with_a_hashed_ip_never_the_ip(partner, settings):
    at = dt.datetime(2026, 3, 5, 12, 0, tzinfo=MSK)
    with time_machine.travel(at, tick=False):
        visit(partner.code, HTTP_REFERER="https://t.me/channel/15")

    click = ReferralClick.objects.get()
    assert click.partner == partner
    assert click.at == at
    assert click.referer == "https://t.me/channel/15"
    assert click.user_agent == BROWSER
    expected = hmac.new(settings.SECRET_KEY.encode(), IP.encode(), hashlib.sha256).hexdigest()
    assert click.ip_hash == expected
    stored = [str(v) for v in ReferralClick.objects.values_list().get()]
    assert not any(IP in value for value in stored)


def test_long_referer_and_user_agent_are_cut_to_500_characters(partner):
    visit(partner.code, HTTP_REFERER="https://x.example/" + "a" * 700, HTTP_USER_AGENT="U" * 900)
    click = ReferralClick.objects.get()
    assert len(click.referer) == 500
    assert len(click.user_agent) == 500


def test_a_head_request_redirects_but_is_not_a_click(partner):
    response = visit(partner.code, method="head")
    assert response.status_code == 302
    assert response["Location"] == f"https://www.bitrix24.ru/?p={partner.code}"
    assert "partnerhub_ref" not in response.cookies
    assert not ReferralClick.objects.exists()


@pytest.mark.parametrize(
    "agent",
    [
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "facebookexternalhit/1.1",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    ],
)
def test_robots_and_link_previews_are_redirected_but_not_counted(partner, agent):
    response = visit(partner.code, HTTP_USER_AGENT=agent)
    assert response["Location"] == f"https://www.bitrix24.ru/?p={partner.code}"
    assert not ReferralClick.objects.exists()


def test_an_unknown_code_goes_to_the_landing_without_a_code(partner):
    response = visit("ZZZZZZ")
    assert response.status_code == 302
    assert response["Location"] == "https://www.bitrix24.ru/"
    assert "partnerhub_ref" not in response.cookies
    assert not ReferralClick.objects.exists()


def test_a_blocked_partner_code_goes_to_the_landing_without_a_code(partner):
    referral_partner_block(partner=partner)
    response = visit(partner.code)
    assert response["Location"] == "https://www.bitrix24.ru/"
    assert "partnerhub_ref" not in response.cookies
    assert not ReferralClick.objects.exists()


def test_post_is_not_allowed(partner):
    assert Client().post(f"/r/{partner.code}").status_code == 405


def test_the_referral_link_is_the_landing_with_the_code(partner):
    assert referral_link(partner, DEFAULT) == f"https://www.bitrix24.ru/?p={partner.code}"


def _click(partner, at: dt.datetime, ip: str) -> None:
    referral_click_record(partner=partner, ip=ip, referer="", user_agent=BROWSER, at=at)


def test_click_stats_count_moscow_days_and_unique_visitors(
    partner, world, django_assert_max_num_queries
):
    # Given "today" is 31 March 2026 in Moscow
    now = dt.datetime(2026, 3, 31, 15, 0, tzinfo=MSK)
    # 23:30 on 30 March in Moscow is 20:30 UTC: a click of 30 March
    _click(partner, dt.datetime(2026, 3, 30, 23, 30, tzinfo=MSK), "198.51.100.1")
    _click(partner, dt.datetime(2026, 3, 31, 0, 10, tzinfo=MSK), "198.51.100.1")
    _click(partner, dt.datetime(2026, 3, 31, 9, 0, tzinfo=MSK), "198.51.100.2")
    _click(partner, dt.datetime(2026, 3, 2, 0, 0, tzinfo=MSK), "198.51.100.3")  # day 1 of 30
    _click(partner, dt.datetime(2026, 3, 1, 23, 59, tzinfo=MSK), "198.51.100.4")  # 31 days ago
    other = register(referral_program(world.vendor, name="Другая"), world.partner_b)
    _click(other, dt.datetime(2026, 3, 31, 9, 0, tzinfo=MSK), "198.51.100.9")

    with time_machine.travel(now, tick=False), django_assert_max_num_queries(2):
        stats = click_stats(partner)

    assert len(stats.days) == 30
    assert stats.days[0].day == dt.date(2026, 3, 2)
    assert stats.days[-1].day == dt.date(2026, 3, 31)
    by_day = {d.day: d.clicks for d in stats.days if d.clicks}
    assert by_day == {
        dt.date(2026, 3, 2): 1,
        dt.date(2026, 3, 30): 1,
        dt.date(2026, 3, 31): 2,
    }
    assert stats.total == 4
    assert stats.unique_visitors == 3
    assert stats.busiest == 2
