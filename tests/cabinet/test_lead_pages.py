"""Cabinet pages of the lead marketplace (issue 7, parts 1, 3-5; spec leads.md; seed points 1-4):
the list with masked contacts for an eligible partner and the unmet conditions for the others,
taking a lead and every refusal reason, the deal's page with its audited contacts, events,
stage, won (portal or licence key required) and lost (reason required), the slot a closed deal
frees, the conditions' forms, the deals list with its "stuck" marker, and bounded query counts.
Contacts of a lead the partner has not taken are in no page's HTML."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from partnerhub.core import clock
from partnerhub.leads import notify, reporting, selectors, services
from partnerhub.leads.models import (
    ContactReveal,
    Deal,
    DealEvent,
    DealStage,
    MarketplaceAccess,
    PageState,
    Region,
)
from partnerhub.partners.models import Enrolment, EnrolmentState
from tests.leads.factories import (
    CONTACT_EMAIL,
    CONTACT_NAME,
    CONTACT_PHONE,
    eligible_partner,
    lead_program,
    make_eligible,
    make_lead,
)

LEADS = reverse("cabinet:leads")
CONDITIONS = reverse("cabinet:lead_conditions")
DEALS = reverse("cabinet:deals")
PARTNER_ROLES = ("owner", "manager", "accountant", "operator", "developer")

#: The raw contacts of the untaken lead, as a page could show them.
UNTAKEN = {
    "contact_name": "Пётр Сидоров",
    "contact_phone": "+79031112233",
    "contact_email": "p.sidorov@untaken.example",
}


def raw_contact_traces(contacts: dict[str, str]) -> list[str]:
    """Substrings any rendering of the contacts would contain: the email, its mailbox, each word
    of the name past its first letter, the phone's ten national digits in any grouping."""
    digits = re.sub(r"\D", "", contacts["contact_phone"])[-10:]
    return [
        contacts["contact_email"],
        contacts["contact_email"].split("@")[0],
        *[word for word in contacts["contact_name"].split()],
        digits,
        f"{digits[:3]} {digits[3:6]}",
        f"({digits[:3]})",
        digits[3:6] + "-" + digits[6:8],
    ]


def assert_no_raw_contacts(html: str, contacts: dict[str, str], where: str) -> None:
    flat = html.replace("\u00a0", " ")
    for trace in raw_contact_traces(contacts):
        assert trace not in flat, f"{where}: {trace!r} of an untaken lead is in the page"


def take_url(lead) -> str:
    return reverse("cabinet:lead_take", kwargs={"pk": lead.pk})


def deal_url(deal, action: str = "") -> str:
    name = f"cabinet:deal_{action}" if action else "cabinet:deal"
    return reverse(name, kwargs={"pk": deal.pk})


@pytest.fixture
def program(world):
    return lead_program(world.vendor)


@pytest.fixture
def eligible_a(world, program):
    return make_eligible(world.partner_a, program)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def follow(client, response):
    assert response.status_code == 302, response.status_code
    return client.get(response["Location"])


# --- the marketplace list -----------------------------------------------------------------------


def test_eligible_partner_sees_open_leads_with_masked_contacts_only(
    world, program, eligible_a, login_as
):
    # given an open lead of Moscow with the client's contacts
    make_lead(program, **UNTAKEN, company_name="ООО «Свободная»")

    # when any partner role opens the marketplace
    response = login_as("a:operator").get(LEADS)

    # then the lead is listed with its masked contacts and none of the raw ones
    assert response.status_code == 200
    html = response.content.decode()
    assert "ООО «Свободная»" in html
    assert "<td>Москва</td>" in html
    assert "+7 *** ***-**-33" in html
    assert "p***@u***.example" in html
    assert "П*** С***" in html
    assert_no_raw_contacts(html, UNTAKEN, "marketplace")


def test_the_list_shows_open_deals_against_the_cap(world, program, eligible_a, login_as):
    # given partner A took one of two leads (cap 3 by default)
    services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    make_lead(program, company_name="ООО «Вторая»")

    response = login_as("a:manager").get(LEADS)

    assert "В работе 1 из 3 заявок." in response.content.decode()
    assert response.content.decode().count("Взять заявку") == 1


def test_ineligible_partner_sees_each_condition_and_no_leads(world, program, login_as):
    # given partner B takes part in the program but meets no other condition
    Enrolment.objects.create(
        organisation=world.partner_b, program=program, state=EnrolmentState.ACTIVE
    )
    make_lead(program, company_name="ООО «Скрытая»")

    response = login_as("b:owner").get(LEADS)

    html = response.content.decode()
    assert response.status_code == 200
    assert "ООО «Скрытая»" not in html
    for code in ("contract", "page", "crm_tariff", "app"):
        assert re.search(rf'id="cond-{code}" data-met="0"', html), code
    assert re.search(r'id="cond-participation" data-met="1"', html)
    assert "Подпишите договор в разделе «Договоры»." in html
    assert reverse("cabinet:contracts") in html
    assert f"{CONDITIONS}#condition-page" in html
    assert "Взять заявку" not in html


def test_partner_outside_every_marketplace_is_sent_to_the_programs(world, program, login_as):
    response = login_as("b:manager").get(LEADS)

    assert response.status_code == 200
    assert "не участвует в программе заявок на внедрение" in response.content.decode()
    assert reverse("cabinet:programs") in response.content.decode()


def test_filters_narrow_the_list_by_region_size_need_and_date(world, program, eligible_a, login_as):
    spb = Region.objects.get(code="78")
    make_lead(program, company_name="ООО «Московская»")
    make_lead(program, company_name="ООО «Питерская»", region=spb, need="tasks")
    client = login_as("a:owner")

    by_region = client.get(LEADS, {"region": spb.pk}).content.decode()
    by_need = client.get(LEADS, {"need": "crm"}).content.decode()
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    from_tomorrow = client.get(LEADS, {"published_from": tomorrow}).content.decode()

    assert "ООО «Питерская»" in by_region and "ООО «Московская»" not in by_region
    assert "ООО «Московская»" in by_need and "ООО «Питерская»" not in by_need
    assert "ООО «Московская»" not in from_tomorrow and "ООО «Питерская»" not in from_tomorrow


def test_htmx_filter_returns_the_list_alone(world, program, eligible_a, login_as):
    make_lead(program, company_name="ООО «Московская»")

    response = login_as("a:owner").get(LEADS, {"need": "crm"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="leads-list">')
    assert "ООО «Московская»" in html
    assert "<html" not in html


def test_a_second_program_is_picked_by_its_code(world, program, eligible_a, login_as):
    other = lead_program(world.vendor)
    make_eligible(world.partner_a, other)
    make_lead(other, company_name="ООО «Из второй программы»")

    first = login_as("a:owner").get(LEADS).content.decode()
    picked = login_as("a:owner").get(LEADS, {"program": other.code}).content.decode()
    unknown = login_as("a:owner").get(LEADS, {"program": "no-such-program"})

    chosen_first = sorted([program, other], key=lambda p: p.name)[0]
    shown_first = "ООО «Из второй программы»" in first
    assert shown_first == (chosen_first == other)
    assert "ООО «Из второй программы»" in picked
    assert unknown.status_code == 404


# --- taking a lead ------------------------------------------------------------------------------


def test_owner_takes_a_lead_and_sees_the_contacts_in_the_deal(world, program, eligible_a, login_as):
    lead = make_lead(program)
    client = login_as("a:owner")

    response = client.post(take_url(lead))

    deal = Deal.objects.get(lead=lead, organisation=world.partner_a)
    assert response["Location"] == deal_url(deal)
    page = follow(client, response)
    html = page.content.decode()
    assert "Заявка взята в работу" in html
    assert CONTACT_NAME in html and CONTACT_EMAIL in html and CONTACT_PHONE in html
    channels = sorted(ContactReveal.objects.filter(deal=deal).values_list("channel", flat=True))
    assert channels == ["page", "take"]


def test_every_view_of_the_deal_page_writes_a_reveal(world, program, eligible_a, login_as):
    deal = services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    client = login_as("a:accountant")

    client.get(deal_url(deal))
    client.get(deal_url(deal))

    reveals = ContactReveal.objects.filter(deal=deal, channel="page")
    assert reveals.count() == 2
    assert {r.user for r in reveals} == {world.user("a:accountant")}
    assert set(reveals[0].fields) == {"contact_name", "contact_phone", "contact_email"}


def test_take_at_the_cap_is_refused_with_the_reason(world, program, eligible_a, login_as):
    # given partner A holds 3 open deals, the default cap
    for number in range(3):
        services.lead_take(
            lead=make_lead(program, company_name=f"ООО «Сделка {number}»"),
            organisation=world.partner_a,
        )
    fourth = make_lead(program, company_name="ООО «Четвёртая»")
    client = login_as("a:manager")

    # then the list shows why instead of the button
    listing = client.get(LEADS).content.decode()
    assert "В работе 3 из 3 заявок" in listing
    assert "Взять заявку" not in listing

    # and a take posted anyway is refused with the same reason, nothing written
    page = follow(client, client.post(take_url(fourth)))
    assert "В работе 3 из 3 заявок: закройте одну из сделок" in page.content.decode()
    assert not Deal.objects.filter(lead=fourth).exists()
    assert MarketplaceAccess.objects.get(organisation=world.partner_a).open_deals == 3


def test_take_by_an_ineligible_partner_names_the_unmet_conditions(world, program, login_as):
    Enrolment.objects.create(
        organisation=world.partner_b, program=program, state=EnrolmentState.ACTIVE
    )
    lead = make_lead(program)
    client = login_as("b:owner")

    page = follow(client, client.post(take_url(lead)))

    assert "Не выполнены условия участия" in page.content.decode()
    assert "Договор партнёрского лицензирования подписан" in page.content.decode()
    assert not Deal.objects.exists()


def test_take_of_a_lead_at_its_partner_cap_is_refused(world, program, eligible_a, login_as):
    program.lead_settings.partners_per_lead_cap = 1
    program.lead_settings.save()
    lead = make_lead(program)
    services.lead_take(lead=lead, organisation=eligible_partner(program))
    client = login_as("a:owner")

    assert "ООО «Строймонтаж»" not in client.get(LEADS).content.decode()
    page = follow(client, client.post(take_url(lead)))

    assert "Заявку уже взяли в работу столько партнёров, сколько разрешено." in (
        page.content.decode()
    )
    assert not Deal.objects.filter(organisation=world.partner_a).exists()


def test_take_of_a_withdrawn_lead_is_refused(world, program, eligible_a, login_as):
    lead = make_lead(program)
    services.lead_withdraw(lead=lead, reason="Дубль", by=world.user("vendor:program_manager"))
    client = login_as("a:owner")

    page = follow(client, client.post(take_url(lead)))

    assert "Заявка больше не доступна" in page.content.decode()
    assert not Deal.objects.exists()


def test_taking_the_same_lead_twice_is_refused(world, program, eligible_a, login_as):
    lead = make_lead(program)
    client = login_as("a:owner")
    client.post(take_url(lead))

    page = follow(client, client.post(take_url(lead)))

    assert "Вы уже взяли эту заявку в работу." in page.content.decode()
    assert Deal.objects.filter(lead=lead).count() == 1


def test_a_lead_of_another_marketplace_is_not_found(world, program, eligible_a, login_as):
    foreign = make_lead(lead_program(world.vendor))

    response = login_as("a:owner").post(take_url(foreign))

    assert response.status_code == 404
    assert not Deal.objects.exists()


# --- working and closing the deal --------------------------------------------------------------


@pytest.fixture
def deal(world, program, eligible_a):
    return services.lead_take(lead=make_lead(program), organisation=world.partner_a)


def test_a_call_and_a_stage_change_show_on_the_deal(world, deal, login_as):
    client = login_as("a:manager")
    # a call planned for tomorrow at 11:30, Moscow time
    tomorrow = clock.local_date(clock.now()) + dt.timedelta(days=1)
    planned = dt.datetime.combine(tomorrow, dt.time(11, 30), tzinfo=clock.PROGRAM_TZ)

    added = client.post(
        deal_url(deal, "event_add"),
        {
            "kind": "call",
            "happened_at": f"{tomorrow:%Y-%m-%d}T11:30",
            "text": "Обсудили пилот на 12 мест",
        },
    )
    moved = client.post(deal_url(deal, "stage"), {"stage": DealStage.CONTACTED})

    assert added.status_code == 302 and moved.status_code == 302
    html = client.get(deal_url(deal)).content.decode()
    assert "Обсудили пилот на 12 мест" in html
    assert f"{tomorrow:%d.%m.%Y} 11:30" in html
    deal.refresh_from_db()
    assert deal.stage == DealStage.CONTACTED
    assert deal.last_event_at == planned


def test_deal_data_with_a_bad_email_comes_back_naming_it_and_saves_nothing(deal, login_as):
    response = login_as("a:owner").post(
        deal_url(deal, "edit"),
        {"company_name": "ООО «Новое имя»", "contact_name": "Иван", "contact_email": "не почта"},
    )

    assert response.status_code == 400
    assert 'data-field="contact_email"' in response.content.decode()
    deal.refresh_from_db()
    assert deal.company_name == "ООО «Строймонтаж»"


def test_deal_data_are_saved(deal, login_as):
    response = login_as("a:owner").post(
        deal_url(deal, "edit"),
        {
            "company_name": "ООО «Строймонтаж»",
            "contact_name": "Анастасия Воронцова",
            "contact_position": "Коммерческий директор",
            "services": "Внедрение CRM, обучение",
            "amount": "150 000,50",
        },
    )

    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.contact_position == "Коммерческий директор"
    assert str(deal.amount) == "150000.50"


def test_won_without_a_valid_portal_is_refused_naming_the_field(deal, login_as):
    client = login_as("a:owner")

    empty = client.post(deal_url(deal, "win"), {"won_kind": "portal", "won_reference": ""})
    wrong = client.post(
        deal_url(deal, "win"), {"won_kind": "portal", "won_reference": "stroymontazh.ru"}
    )

    for response in (empty, wrong):
        assert response.status_code == 400
        assert re.search(r'class="error" data-field="won_reference"', response.content.decode())
    assert "name.bitrix24.ru" in wrong.content.decode()
    deal.refresh_from_db()
    assert deal.is_open and deal.stage == DealStage.NEW


def test_won_with_a_portal_closes_the_deal(world, deal, login_as):
    client = login_as("a:owner")

    response = client.post(
        deal_url(deal, "win"),
        {"won_kind": "portal", "won_reference": "https://StroyMontazh.bitrix24.ru/"},
    )

    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.stage, deal.is_open, deal.won_reference) == (
        DealStage.WON,
        False,
        "stroymontazh.bitrix24.ru",
    )
    assert "stroymontazh.bitrix24.ru" in client.get(deal_url(deal)).content.decode()


def test_won_with_a_licence_key(deal, login_as):
    response = login_as("a:owner").post(
        deal_url(deal, "win"), {"won_kind": "licence_key", "won_reference": "ABC-12-1234567890"}
    )

    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.won_reference == "ABC-12-1234567890"


def test_lost_without_a_reason_is_refused(deal, login_as):
    client = login_as("a:owner")

    no_reason = client.post(deal_url(deal, "lose"), {"reason": "", "comment": ""})
    other_no_text = client.post(deal_url(deal, "lose"), {"reason": "other", "comment": ""})

    assert no_reason.status_code == 400
    assert 'data-field="reason"' in no_reason.content.decode()
    assert other_no_text.status_code == 400
    assert 'data-field="comment"' in other_no_text.content.decode()
    deal.refresh_from_db()
    assert deal.is_open


def test_closing_a_deal_frees_a_slot_under_the_cap(world, program, eligible_a, login_as):
    deals = [
        services.lead_take(
            lead=make_lead(program, company_name=f"ООО «Сделка {n}»"),
            organisation=world.partner_a,
        )
        for n in range(3)
    ]
    fourth = make_lead(program, company_name="ООО «Четвёртая»")
    client = login_as("a:owner")

    lost = client.post(deal_url(deals[0], "lose"), {"reason": "no_answer"})
    taken = client.post(take_url(fourth))

    assert lost.status_code == 302
    new_deal = Deal.objects.get(lead=fourth)
    assert taken["Location"] == deal_url(new_deal)
    assert MarketplaceAccess.objects.get(organisation=world.partner_a).open_deals == 3


def test_a_closed_deal_is_read_only(world, deal, login_as):
    services.deal_close_lost(deal=deal, reason="price")
    client = login_as("a:owner")

    html = client.get(deal_url(deal)).content.decode()
    refused = client.post(
        deal_url(deal, "event_add"),
        {"kind": "note", "happened_at": "2026-03-10T11:30", "text": "Поздно"},
    )

    assert "Закрытая сделка не изменяется." in html
    for form_id in ("edit-form", "event-form", "stage-form", "win-form", "lose-form"):
        assert f'id="{form_id}"' not in html
    assert refused.status_code == 400
    assert not DealEvent.objects.exists()


@pytest.mark.parametrize("role", ["accountant", "operator", "developer"])
def test_readers_see_the_deal_without_forms(deal, login_as, role):
    html = login_as(f"a:{role}").get(deal_url(deal)).content.decode()

    assert CONTACT_NAME in html
    assert 'id="win-form"' not in html and 'id="event-form"' not in html


# --- the conditions page ------------------------------------------------------------------------


@pytest.fixture
def enrolled_b(world, program):
    Enrolment.objects.create(
        organisation=world.partner_b, program=program, state=EnrolmentState.ACTIVE
    )
    return world.partner_b


def post_condition(client, form: str, **fields: str):
    return client.post(CONDITIONS, {"form": form, **{f"{form}-{k}": v for k, v in fields.items()}})


def test_page_url_goes_to_review_and_shows_the_rejection_reason(
    world, program, enrolled_b, login_as
):
    client = login_as("b:owner")

    response = post_condition(client, "page", page_url="https://beta.example/vnedrenie")

    assert response.status_code == 302
    access = MarketplaceAccess.objects.get(organisation=enrolled_b)
    assert access.page_state == PageState.PENDING
    assert "На проверке" in client.get(CONDITIONS).content.decode()
    services.marketplace_page_review(
        access=access, accept=False, reason="Нет цен пакетов", by=world.user("vendor:support")
    )
    html = client.get(CONDITIONS).content.decode()
    assert "Отклонена" in html and "Нет цен пакетов" in html


def test_crm_with_a_bad_portal_comes_back_naming_it(world, program, enrolled_b, login_as):
    response = post_condition(login_as("b:manager"), "crm", tariff="company", portal="beta.ru")

    assert response.status_code == 400
    assert 'data-field="portal"' in response.content.decode()
    assert MarketplaceAccess.objects.get(organisation=enrolled_b).crm_tariff == "none"


def test_app_install_needs_the_agreement_accepted_and_keeps_version_and_time(
    world, program, enrolled_b, login_as
):
    settings = program.lead_settings
    settings.agreement_version, settings.agreement_text = "2.1", "Текст соглашения о ПДн"
    settings.save()
    client = login_as("b:owner")
    assert "Текст соглашения о ПДн" in client.get(CONDITIONS).content.decode()

    unchecked = post_condition(client, "app", version="2.1")
    accepted = post_condition(client, "app", version="2.1", accept="on")

    assert unchecked.status_code == 400
    assert 'data-field="accept"' in unchecked.content.decode()
    assert accepted.status_code == 302
    access = MarketplaceAccess.objects.get(organisation=enrolled_b)
    assert access.agreement_version == "2.1"
    assert access.agreement_accepted_at is not None
    assert access.agreement_accepted_by == world.user("b:owner")


def test_app_install_of_an_outdated_agreement_is_refused(world, program, enrolled_b, login_as):
    response = post_condition(login_as("b:owner"), "app", version="0.9", accept="on")

    assert response.status_code == 400
    assert "Соглашение обновлено" in response.content.decode()
    assert MarketplaceAccess.objects.get(organisation=enrolled_b).agreement_accepted_at is None


def test_digest_needs_a_region_to_opt_in(world, program, enrolled_b, login_as):
    client = login_as("b:owner")
    moscow = Region.objects.get(code="77")

    refused = post_condition(client, "digest", opt_in="on")
    saved = post_condition(client, "digest", opt_in="on", regions=str(moscow.pk))

    assert refused.status_code == 400
    assert 'data-field="regions"' in refused.content.decode()
    assert saved.status_code == 302
    access = MarketplaceAccess.objects.get(organisation=enrolled_b)
    assert access.digest_opt_in and list(access.regions.all()) == [moscow]


@pytest.mark.parametrize("role", ["accountant", "operator", "developer"])
def test_other_roles_read_the_conditions_but_cannot_change_them(
    world, program, enrolled_b, login_as, role
):
    client = login_as(f"b:{role}")

    html = client.get(CONDITIONS).content.decode()
    refused = post_condition(client, "page", page_url="https://beta.example/vnedrenie")

    assert 'id="cond-page"' in html and 'id="page-form"' not in html
    assert refused.status_code == 403


def test_conditions_met_say_so(world, program, eligible_a, login_as):
    html = login_as("a:operator").get(CONDITIONS).content.decode()

    assert 'id="eligible"' in html
    assert 'data-met="0"' not in html


# --- the deals list -----------------------------------------------------------------------------


def test_deals_list_marks_a_deal_without_events_for_the_stale_days(
    world, program, eligible_a, login_as
):
    # given one deal taken 8 days ago without events (stale after 7) and one with a fresh call
    now = clock.now()
    stale = services.lead_take(
        lead=make_lead(program, company_name="ООО «Тихая»", now=now - dt.timedelta(days=9)),
        organisation=world.partner_a,
        now=now - dt.timedelta(days=8),
    )
    fresh = services.lead_take(
        lead=make_lead(program, company_name="ООО «Живая»"), organisation=world.partner_a
    )
    services.deal_event_add(deal=fresh, kind="call", happened_at=now, text="Созвон", by=None)

    html = login_as("a:operator").get(DEALS).content.decode()

    assert re.search(rf'id="deal-{stale.pk}" class="stuck"', html)
    assert f'id="deal-{fresh.pk}">' in html
    assert html.count("Зависла: нет событий") == 1


@pytest.mark.parametrize(
    "idle, stale", [(dt.timedelta(days=7), True), (dt.timedelta(days=7, seconds=-1), False)]
)
def test_the_list_the_report_and_the_warnings_agree_on_a_stale_deal_at_the_boundary(
    world, program, eligible_a, login_as, idle, stale
):
    # given a deal taken exactly seven days ago (the program's stale days), or a second less,
    # with the clock stopped
    now = clock.now().replace(microsecond=0)
    deal = services.lead_take(
        lead=make_lead(program, now=now - idle - dt.timedelta(days=1)),
        organisation=world.partner_a,
        now=now - idle,
    )
    days = selectors.lead_settings_for(program).stale_deal_days
    assert days == 7
    with time_machine.travel(now, tick=False):
        html = login_as("a:operator").get(DEALS).content.decode()
        warned = list(notify.stale_deals(program=program, stale_days=days, now=clock.now()))
    # then the cabinet's list, the report's rule and the hourly warning all say the same
    assert bool(re.search(rf'id="deal-{deal.pk}" class="stuck"', html)) is stale
    assert (
        reporting.deal_is_stale(
            is_open=True, taken_at=deal.taken_at, last_event_at=None, now=now, stale_days=days
        )
        is stale
    )
    assert (deal in warned) is stale


def test_deals_list_filters_open_closed_and_stage(world, program, eligible_a, login_as):
    won = services.lead_take(
        lead=make_lead(program, company_name="ООО «Выигранная»"), organisation=world.partner_a
    )
    services.deal_close_won(deal=won, won_kind="portal", won_reference="vyigr.bitrix24.ru")
    services.lead_take(
        lead=make_lead(program, company_name="ООО «Открытая»"), organisation=world.partner_a
    )
    client = login_as("a:owner")

    open_only = client.get(DEALS, {"show": "open"}).content.decode()
    closed = client.get(DEALS, {"show": "closed"}).content.decode()
    by_stage = client.get(DEALS, {"stage": "won"}).content.decode()

    assert "ООО «Открытая»" in open_only and "ООО «Выигранная»" not in open_only
    assert "ООО «Выигранная»" in closed and "ООО «Открытая»" not in closed
    assert "ООО «Выигранная»" in by_stage and "ООО «Открытая»" not in by_stage


# --- contacts of untaken leads, everywhere -----------------------------------------------------


def test_untaken_contacts_are_in_no_cabinet_page(world, program, eligible_a, login_as):
    # given a lead A took (its deal shows those contacts) and another it has not taken
    deal = services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    make_lead(program, company_name="ООО «Свободная»", **UNTAKEN)
    client = login_as("a:owner")
    pages = {
        "marketplace": client.get(LEADS),
        "marketplace htmx": client.get(LEADS, {"need": "crm"}, HTTP_HX_REQUEST="true"),
        "conditions": client.get(CONDITIONS),
        "deals": client.get(DEALS),
        "deal": client.get(deal_url(deal)),
        "deal with a bad form": client.post(deal_url(deal, "win"), {"won_kind": "portal"}),
    }

    for where, response in pages.items():
        assert response.status_code in (200, 400), where
        assert_no_raw_contacts(response.content.decode(), UNTAKEN, where)
    # the check can fail: the taken lead's contacts are on its deal page
    assert CONTACT_EMAIL in pages["deal"].content.decode()


def test_another_partner_taking_the_same_lead_is_never_named(world, program, eligible_a, login_as):
    lead = make_lead(program)
    services.lead_take(lead=lead, organisation=world.partner_a)
    make_eligible(world.partner_b, program)
    client = login_as("b:owner")
    deal_b = Deal.objects.get(pk=follow(client, client.post(take_url(lead))).context["deal"].pk)

    for response in (client.get(LEADS), client.get(DEALS), client.get(deal_url(deal_b))):
        assert "ООО «Альфа»" not in response.content.decode()


# --- query counts -------------------------------------------------------------------------------


def test_marketplace_query_count_does_not_grow_with_leads(
    world, program, eligible_a, login_as, django_assert_max_num_queries
):
    for number in range(20):
        make_lead(program, company_name=f"ООО «Компания {number}»")
    services.lead_take(lead=make_lead(program), organisation=world.partner_a)
    client = login_as("a:owner")

    with django_assert_max_num_queries(20):  # 17 measured, whatever the number of leads
        response = client.get(LEADS)

    assert response.content.decode().count("Взять заявку") == 20


def test_deals_query_count_does_not_grow_with_deals(
    world, program, login_as, django_assert_max_num_queries
):
    program.lead_settings.open_deal_cap = 30
    program.lead_settings.save()
    make_eligible(world.partner_a, program)
    for number in range(20):
        services.lead_take(
            lead=make_lead(program, company_name=f"ООО «Компания {number}»"),
            organisation=world.partner_a,
        )
    client = login_as("a:owner")

    with django_assert_max_num_queries(10):  # 6 measured, whatever the number of deals
        response = client.get(DEALS)

    assert response.content.decode().count("ООО «Компания") == 20


# --- roles --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", PARTNER_ROLES)
def test_every_partner_role_reads_the_pages(world, deal, login_as, role):
    client = login_as(f"a:{role}")

    for url in (LEADS, CONDITIONS, DEALS, deal_url(deal)):
        assert client.get(url).status_code == 200, url


def test_vendor_staff_are_refused(world, deal, login_as):
    client = login_as("vendor:program_manager")

    for url in (LEADS, CONDITIONS, DEALS, deal_url(deal)):
        assert client.get(url).status_code == 403, url
