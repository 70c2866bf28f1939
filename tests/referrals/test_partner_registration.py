"""Registration of referral partners (spec: referrals.md, "Joining"): a partner code at once,
the registration time is the moment the enrolment became active (however late the outbox
handler runs), suspension and termination block the partner, reactivation unblocks it."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from partnerhub.core.errors import ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import OutboxDelivery, OutboxEvent
from partnerhub.core.outbox import fan_out, registered_handlers
from partnerhub.partners.models import Enrolment, EnrolmentState, Organisation, ProgramKind
from partnerhub.partners.services import enrolment_apply, enrolment_transition
from partnerhub.referrals.codes import ALPHABET
from partnerhub.referrals.handlers import ENROLMENT
from partnerhub.referrals.models import ReferralPartner
from partnerhub.referrals.services.partners import (
    referral_partner_block,
    referral_partner_register,
    referral_partner_unblock,
)
from tests.factories import ProgramFactory
from tests.referrals.links_support import MSK, record_portal_events, referral_program

ACTIVATED = dt.datetime(2026, 3, 2, 10, 15, tzinfo=MSK)


@pytest.fixture
def portal_events(monkeypatch):
    return record_portal_events(monkeypatch)


@pytest.fixture
def program(world):
    return referral_program(world.vendor)


def applied(world, program) -> Enrolment:
    return enrolment_apply(organisation=world.partner_a, program=program)


def test_registration_assigns_a_code_and_keeps_the_time_and_inn(world, program, portal_events):
    partner = referral_partner_register(program=program, organisation=world.partner_a, at=ACTIVATED)

    assert len(partner.code) == 6
    assert set(partner.code) <= set(ALPHABET)
    assert partner.registered_at == ACTIVATED
    assert partner.inn == "7707083893"
    assert not partner.blocked
    assert portal_events == [
        {
            "program": program,
            "type": "partner.registered",
            "at": ACTIVATED,
            "fields": {"partner": partner.code, "inn": "7707083893"},
        }
    ]
    row = AuditEvent.objects.get(action="referrals.partner.registered")
    assert row.organisation_id == world.partner_a.pk
    assert row.after["code"] == partner.code


def test_registration_is_idempotent(world, program, portal_events):
    first = referral_partner_register(program=program, organisation=world.partner_a, at=ACTIVATED)
    again = referral_partner_register(
        program=program, organisation=world.partner_a, at=ACTIVATED + dt.timedelta(days=3)
    )

    assert again.pk == first.pk
    assert again.code == first.code
    assert again.registered_at == ACTIVATED
    assert len(portal_events) == 1
    assert ReferralPartner.objects.count() == 1


def test_partners_get_different_codes(world, program, portal_events):
    a = referral_partner_register(program=program, organisation=world.partner_a, at=ACTIVATED)
    b = referral_partner_register(program=program, organisation=world.partner_b, at=ACTIVATED)
    assert a.code != b.code


def test_only_a_referral_program_registers_partners(world, portal_events):
    leads = ProgramFactory(vendor=world.vendor, kind=ProgramKind.LEADS)
    with pytest.raises(ValidationFailed):
        referral_partner_register(program=leads, organisation=world.partner_a, at=ACTIVATED)
    assert not ReferralPartner.objects.exists()


def test_activation_of_the_enrolment_registers_the_partner_at_that_moment(
    world, program, portal_events, django_capture_on_commit_callbacks
):
    # Given partner A applied to the referral program
    enrolment = applied(world, program)

    # When the vendor activates it at 10:15 and the outbox delivers at once
    with (
        time_machine.travel(ACTIVATED, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        enrolment_transition(enrolment=enrolment, to=EnrolmentState.ACTIVE)

    # Then A is a referral partner registered at 10:15
    partner = ReferralPartner.objects.get(organisation=world.partner_a)
    assert partner.registered_at == ACTIVATED
    assert partner.program == program
    assert [e["type"] for e in portal_events] == ["partner.registered"]
    assert portal_events[0]["at"] == ACTIVATED


def test_a_late_delivery_still_registers_at_the_activation_time(
    world, program, portal_events, django_capture_on_commit_callbacks
):
    # Given the activation at 10:15 whose delivery did not run (the worker was down)
    enrolment = applied(world, program)
    with (
        time_machine.travel(ACTIVATED, tick=False),
        django_capture_on_commit_callbacks(execute=False),
    ):
        enrolment_transition(enrolment=enrolment, to=EnrolmentState.ACTIVE)
    event = OutboxEvent.objects.get(event_type="partners.enrolment.active")
    fan_out(event.pk)  # by the sweep: its task was lost with the worker
    assert OutboxDelivery.objects.filter(event=event, handler=ENROLMENT).count() == 1
    assert not ReferralPartner.objects.exists()

    # When the handler runs two days later, and then once more
    with time_machine.travel(ACTIVATED + dt.timedelta(days=2), tick=False):
        registered_handlers()[ENROLMENT].fn(event, "")
        registered_handlers()[ENROLMENT].fn(event, "")

    # Then the registration time is still the moment of activation, and there is one partner
    partner = ReferralPartner.objects.get(organisation=world.partner_a)
    assert partner.registered_at == ACTIVATED
    assert len(portal_events) == 1


def test_suspension_blocks_and_reactivation_unblocks(
    world, program, portal_events, django_capture_on_commit_callbacks
):
    enrolment = applied(world, program)
    suspended_at = ACTIVATED + dt.timedelta(days=10)
    back_at = ACTIVATED + dt.timedelta(days=20)
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = enrolment_transition(
            enrolment=enrolment, to=EnrolmentState.ACTIVE, now=ACTIVATED
        )
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = enrolment_transition(
            enrolment=enrolment,
            to=EnrolmentState.SUSPENDED,
            reason="Нет договора",
            now=suspended_at,
        )
    partner = ReferralPartner.objects.get(organisation=world.partner_a)
    assert partner.blocked

    with django_capture_on_commit_callbacks(execute=True):
        enrolment_transition(enrolment=enrolment, to=EnrolmentState.ACTIVE, now=back_at)

    partner.refresh_from_db()
    assert not partner.blocked
    assert partner.registered_at == ACTIVATED  # the first activation stays the registration
    assert [(e["type"], e["at"]) for e in portal_events] == [
        ("partner.registered", ACTIVATED),
        ("partner.blocked", suspended_at),
        ("partner.unblocked", back_at),
    ]
    assert all(e["fields"]["partner"] == partner.code for e in portal_events)


def test_termination_blocks_the_partner(
    world, program, portal_events, django_capture_on_commit_callbacks
):
    enrolment = applied(world, program)
    with django_capture_on_commit_callbacks(execute=True):
        enrolment = enrolment_transition(enrolment=enrolment, to=EnrolmentState.ACTIVE)
    with django_capture_on_commit_callbacks(execute=True):
        enrolment_transition(enrolment=enrolment, to=EnrolmentState.TERMINATED, reason="Нарушение")

    assert ReferralPartner.objects.get(organisation=world.partner_a).blocked
    assert [e["type"] for e in portal_events] == ["partner.registered", "partner.blocked"]


def test_a_suspension_handled_before_the_activation_ends_blocked(
    world, program, portal_events, django_capture_on_commit_callbacks
):
    # Given activation and suspension whose deliveries run in the wrong order
    enrolment = applied(world, program)
    with django_capture_on_commit_callbacks(execute=False):
        enrolment = enrolment_transition(
            enrolment=enrolment, to=EnrolmentState.ACTIVE, now=ACTIVATED
        )
        enrolment_transition(enrolment=enrolment, to=EnrolmentState.SUSPENDED, reason="Проверка")
    handle = registered_handlers()[ENROLMENT].fn
    handle(OutboxEvent.objects.get(event_type="partners.enrolment.suspended"), "")
    handle(OutboxEvent.objects.get(event_type="partners.enrolment.active"), "")

    # Then the partner exists and is blocked, as its enrolment is
    assert ReferralPartner.objects.get(organisation=world.partner_a).blocked


def test_enrolments_in_other_programs_get_no_delivery(
    world, portal_events, django_capture_on_commit_callbacks
):
    leads = ProgramFactory(vendor=world.vendor, kind=ProgramKind.LEADS)
    enrolment = enrolment_apply(organisation=world.partner_a, program=leads)
    with django_capture_on_commit_callbacks(execute=True):
        enrolment_transition(enrolment=enrolment, to=EnrolmentState.ACTIVE)

    assert not OutboxDelivery.objects.filter(handler=ENROLMENT).exists()
    assert not ReferralPartner.objects.exists()


def test_block_and_unblock_are_idempotent(world, program, portal_events):
    partner = referral_partner_register(program=program, organisation=world.partner_a, at=ACTIVATED)

    assert referral_partner_block(partner=partner) is True
    assert referral_partner_block(partner=partner) is False
    assert referral_partner_unblock(partner=partner) is True
    assert referral_partner_unblock(partner=partner) is False
    assert [e["type"] for e in portal_events] == [
        "partner.registered",
        "partner.blocked",
        "partner.unblocked",
    ]


def test_demo_data_ends_with_referral_partners(db, portal_events):
    call_command("demo_load", stdout=io.StringIO())

    partners = ReferralPartner.objects.select_related("organisation").order_by("organisation__inn")
    assert [p.organisation.short_name for p in partners] == [
        "ООО «Альфа Интеграция»",
        "ООО «Бета Софт»",
    ]
    for partner in partners:
        enrolment = Enrolment.objects.get(
            organisation=partner.organisation, program=partner.program
        )
        # the demo dates its partners' registration 60 days back, to have a history
        assert enrolment.state_changed_at - partner.registered_at > dt.timedelta(days=59)
    assert not Organisation.objects.get(inn="771012345630").referral_partners.exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_registrations_of_one_organisation_make_one_partner(world, monkeypatch):
    events = record_portal_events(monkeypatch)
    program = referral_program(world.vendor)
    workers = 4
    barrier = threading.Barrier(workers)
    codes: list[str] = []

    def attempt() -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            partner = referral_partner_register(
                program=program, organisation=world.partner_a, at=ACTIVATED
            )
            codes.append(partner.code)
        except Exception as exc:  # any other outcome fails the assertion below, by name
            codes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    partner = ReferralPartner.objects.get(organisation=world.partner_a)
    assert codes == [partner.code] * workers
    assert [e["type"] for e in events] == ["partner.registered"]
