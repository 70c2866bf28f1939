"""Notifications of the lead marketplace (issue 7, item 8): the daily digest of new leads in the
partner's regions (opt-in), the deal with no event for N days and the lead about to expire. Who
gets what, that nothing is sent twice, and that the emails reach a real SMTP server with the
client's contacts masked."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.core import clock
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.leads import notify, services
from partnerhub.leads.models import Lead, LeadProgramSettings
from partnerhub.notifications.models import Notification
from tests.leads.factories import (
    CONTACT_EMAIL,
    CONTACT_NAME,
    CONTACT_PHONE,
    make_lead,
    make_lead_at,
)
from tests.smtp import bodies

MOSCOW = "77"
SPB = "78"
DAY = dt.timedelta(days=1)


@pytest.fixture
def program(program, world):
    """The marketplace of ``tests/leads/conftest.py`` (A and B eligible), partner A subscribed
    to Moscow's leads."""
    subscribe(world.partner_a, program, MOSCOW)
    return program


def subscribe(organisation, program, *regions, opt_in=True):
    services.marketplace_digest_set(
        organisation=organisation, program=program, opt_in=opt_in, regions=regions, by=None
    )


def events(event_type: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event_type=event_type).order_by("created_at", "pk"))


def told(event_type: str) -> dict[int, list[int]]:
    """{organisation id: lead ids} of the lead-list events emitted."""
    return {e.organisation_id: e.payload["lead_ids"] for e in events(event_type)}


def mailed(smtp) -> list[str]:
    return sorted(r for rcpt in smtp.recipients for r in rcpt)


# --- the pure plan ------------------------------------------------------------------------------


def test_each_partner_gets_the_untaken_leads_of_its_regions():
    plan = notify.leads_per_partner(
        leads={10: 77, 11: 78, 12: 77},
        subscriptions={1: frozenset({77}), 2: frozenset({78, 77}), 3: frozenset({50})},
        taken=[(12, 2)],
    )

    assert plan == {1: [10, 12], 2: [10, 11]}


# --- the digest ---------------------------------------------------------------------------------


def test_the_digest_lists_new_leads_of_the_partners_regions(world, program):
    moscow = make_lead(program)
    make_lead(program, region=SPB)

    assert notify.digest_send(now=clock.now()) == 1

    assert told("leads.digest") == {world.partner_a.pk: [moscow.pk]}


def test_the_digest_is_opt_in(world, program):
    subscribe(world.partner_b, program, MOSCOW, opt_in=False)
    make_lead(program)

    notify.digest_send(now=clock.now())

    assert world.partner_b.pk not in told("leads.digest")


def test_the_digest_skips_partners_that_do_not_meet_the_conditions(world, program):
    # A new version of the personal-data agreement: partner A has not accepted it yet.
    LeadProgramSettings.objects.filter(program=program).update(agreement_version="2.0")
    make_lead(program)

    notify.digest_send(now=clock.now())

    assert told("leads.digest") == {}


def test_the_digest_leaves_out_a_lead_the_partner_has_taken(world, program):
    taken = make_lead(program)
    fresh = make_lead(program, company_name="ООО «Новая»")
    services.lead_take(lead=taken, organisation=world.partner_a)

    notify.digest_send(now=clock.now())

    assert told("leads.digest") == {world.partner_a.pk: [fresh.pk]}


def test_a_lead_goes_into_one_digest_only(world, program):
    lead = make_lead(program)
    notify.digest_send(now=clock.now())

    assert notify.digest_send(now=clock.now() + DAY) == 0

    lead.refresh_from_db()
    assert lead.digested_at is not None
    assert len(events("leads.digest")) == 1


def test_a_lead_published_after_a_digest_goes_into_the_next(world, program):
    make_lead(program)
    notify.digest_send(now=clock.now())
    later = make_lead(program, company_name="ООО «Позже»")

    notify.digest_send(now=clock.now() + DAY)

    assert [e.payload["lead_ids"] for e in events("leads.digest")][-1] == [later.pk]


def test_the_digest_email_lists_leads_with_masked_contacts_only(
    world, program, smtp, django_capture_on_commit_callbacks
):
    lead = make_lead(program)

    with django_capture_on_commit_callbacks(execute=True):
        notify.digest_send(now=clock.now())

    assert mailed(smtp) == ["manager@a.example", "owner@a.example"]
    message = smtp.to("owner@a.example")[0]
    assert message["Subject"].strip() == "Новые заявки в ваших регионах: 1"
    text, html = bodies(message)
    for part in (text, html):
        assert f"№ {lead.pk} — " in part
        assert "ООО «Строймонтаж»" in part
        assert "+7 *** ***-**-67" in part
        assert "a***@s***.example" in part
        assert "А*** В***" in part
        for secret in (CONTACT_PHONE, CONTACT_EMAIL, CONTACT_NAME, "1234567", "vorontsova"):
            assert secret not in part


def test_the_digest_shows_in_the_cabinet(world, program, django_capture_on_commit_callbacks):
    make_lead(program)

    with django_capture_on_commit_callbacks(execute=True):
        notify.digest_send(now=clock.now())

    notification = Notification.objects.get(kind="leads.digest", user=world.user("a:manager"))
    assert notification.title == "Новые заявки в ваших регионах: 1"
    assert notification.url == "/cabinet/leads/"
    assert not Notification.objects.filter(kind="leads.digest", user=world.user("a:accountant"))


# --- the stale deal ----------------------------------------------------------------------------


def taken_deal(world, program, *, at):
    lead = make_lead_at(program, at)
    return services.lead_take(lead=lead, organisation=world.partner_a, now=at)


def test_a_deal_without_events_for_seven_days_warns_the_owner_and_the_manager(
    world, program, smtp, django_capture_on_commit_callbacks
):
    taken_at = clock.now() - dt.timedelta(days=7, hours=1)
    deal = taken_deal(world, program, at=taken_at)

    with django_capture_on_commit_callbacks(execute=True):
        assert notify.stale_deals_notify(now=clock.now()) == 1

    assert mailed(smtp) == ["manager@a.example", "owner@a.example"]
    subject = smtp.to("manager@a.example")[0]["Subject"].strip()
    assert subject == f"Сделка № {deal.pk} без событий 7 дн."
    assert events("leads.deal.stale")[0].organisation_id == world.partner_a.pk


def test_a_deal_idle_for_less_than_the_program_days_is_not_stale(world, program):
    taken_deal(world, program, at=clock.now() - dt.timedelta(days=6, hours=23))

    assert notify.stale_deals_notify(now=clock.now()) == 0


def test_a_stale_deal_is_warned_once_per_stale_period(world, program):
    now = clock.now()
    taken_deal(world, program, at=now - dt.timedelta(days=7))
    notify.stale_deals_notify(now=now)

    assert notify.stale_deals_notify(now=now + dt.timedelta(days=6)) == 0
    assert notify.stale_deals_notify(now=now + dt.timedelta(days=7)) == 1


def test_an_event_makes_the_deal_fresh_again(world, program):
    now = clock.now()
    deal = taken_deal(world, program, at=now - dt.timedelta(days=10))
    services.deal_event_add(
        deal=deal, kind="call", happened_at=now - dt.timedelta(days=2), text="Созвонились", by=None
    )

    assert notify.stale_deals_notify(now=now) == 0


def test_the_program_sets_the_number_of_days(world, program):
    LeadProgramSettings.objects.filter(program=program).update(stale_deal_days=3)
    taken_deal(world, program, at=clock.now() - dt.timedelta(days=3))

    assert notify.stale_deals_notify(now=clock.now()) == 1


def test_a_closed_deal_is_never_stale(world, program):
    deal = taken_deal(world, program, at=clock.now() - dt.timedelta(days=30))
    services.deal_close_lost(deal=deal, reason="no_answer")

    assert notify.stale_deals_notify(now=clock.now()) == 0


# --- the expiring lead -------------------------------------------------------------------------


def published_days_ago(program, days: float, **fields) -> Lead:
    """A lead of a 30-day lifetime published ``days`` ago."""
    return make_lead_at(program, clock.now() - dt.timedelta(days=days), **fields)


def test_a_lead_expiring_within_two_days_warns_subscribed_partners_that_have_not_taken_it(
    world, program
):
    subscribe(world.partner_b, program, MOSCOW)
    lead = published_days_ago(program, 29)
    services.lead_take(lead=lead, organisation=world.partner_b)

    assert notify.expiring_leads_notify(now=clock.now()) == 1

    assert told("leads.lead.expiring") == {world.partner_a.pk: [lead.pk]}


def test_a_lead_expiring_later_is_not_warned_yet(world, program):
    published_days_ago(program, 27)

    assert notify.expiring_leads_notify(now=clock.now()) == 0


def test_an_expiring_lead_is_warned_once(world, program):
    lead = published_days_ago(program, 29)
    notify.expiring_leads_notify(now=clock.now())

    assert notify.expiring_leads_notify(now=clock.now() + dt.timedelta(hours=1)) == 0

    lead.refresh_from_db()
    assert lead.expiry_warned_at is not None


def test_a_lead_at_its_partner_cap_is_not_announced(world, program):
    LeadProgramSettings.objects.filter(program=program).update(partners_per_lead_cap=1)
    lead = published_days_ago(program, 29)
    services.lead_take(lead=lead, organisation=world.partner_b)

    assert notify.expiring_leads_notify(now=clock.now()) == 0


def test_the_expiring_email_has_masked_contacts_only(
    world, program, smtp, django_capture_on_commit_callbacks
):
    published_days_ago(program, 29)

    with django_capture_on_commit_callbacks(execute=True):
        notify.expiring_leads_notify(now=clock.now())

    message = smtp.to("owner@a.example")[0]
    assert message["Subject"].strip() == "Скоро истекут заявки в ваших регионах: 1"
    text, html = bodies(message)
    assert "+7 *** ***-**-67" in text
    for secret in (CONTACT_PHONE, CONTACT_EMAIL, CONTACT_NAME):
        assert secret not in text
        assert secret not in html


# --- the schedule ------------------------------------------------------------------------------


def test_the_digest_runs_daily_at_eight_moscow_time():
    eight_in_moscow = dt.datetime(2026, 3, 2, 5, 0)  # Huey checks naive UTC

    assert notify.leads_digest.s().validate_datetime(eight_in_moscow)
    assert not notify.leads_digest.s().validate_datetime(eight_in_moscow + dt.timedelta(hours=1))


def test_stale_deals_and_expiring_leads_are_checked_hourly():
    hours = [dt.datetime(2026, 3, 2, h, 0) for h in range(24)]

    for task, minute in ((notify.leads_stale_deals, 20), (notify.leads_expiring, 40)):
        runs = [t for t in hours if task.s().validate_datetime(t.replace(minute=minute))]
        assert len(runs) == 24


# --- the staff's check of the partner's page ---------------------------------------------------


def submitted_page(world, program):
    return services.marketplace_page_submit(
        organisation=world.partner_a,
        program=program,
        url="https://alfa.example/vnedrenie",
        by=world.user("a:owner"),
    )


def test_a_rejected_page_tells_the_owner_and_the_manager_the_reason_by_mail(
    world, program, smtp, django_capture_on_commit_callbacks
):
    access = submitted_page(world, program)

    with django_capture_on_commit_callbacks(execute=True):
        services.marketplace_page_review(
            access=access,
            accept=False,
            reason="Нет цен пакетов",
            by=world.user("vendor:program_manager"),
        )

    assert mailed(smtp) == ["manager@a.example", "owner@a.example"]
    text, _html = bodies(smtp.to("owner@a.example")[0])
    assert "https://alfa.example/vnedrenie" in text
    assert "Причина: Нет цен пакетов" in text
    notification = Notification.objects.get(kind="leads.page.rejected", user=world.user("a:owner"))
    assert notification.url == "/cabinet/leads/conditions/"


def test_an_accepted_page_shows_in_the_cabinet(world, program, django_capture_on_commit_callbacks):
    access = submitted_page(world, program)

    with django_capture_on_commit_callbacks(execute=True):
        services.marketplace_page_review(
            access=access, accept=True, by=world.user("vendor:program_manager")
        )

    notification = Notification.objects.get(
        kind="leads.page.accepted", user=world.user("a:manager")
    )
    assert notification.title == "Страница о пакетах внедрения принята"
    assert not Notification.objects.filter(kind="leads.page.accepted", user=world.user("b:owner"))
