"""The contract workflow (spec "Contract (referral program)"): draft -> sent -> under review ->
signed (or rejected, fixed and sent again) -> terminated; each step audited with an outbox event;
every refusal names what is wrong and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerhub.contracts import selectors, services
from partnerhub.contracts.models import Contract, ContractState
from partnerhub.core import clock
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.partners import services as partner_services
from tests.contracts.factories import (
    DIADOC_ID,
    complete_card,
    contract_started,
    prepare_edo,
    referral_program,
    signed,
    upload_required_documents,
)


def audit_actions(contract: Contract) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(contract.pk), action__startswith="contracts.")
        .order_by("pk")
        .values_list("action", flat=True)
    )


def events(contract: Contract) -> list[str]:
    return list(
        OutboxEvent.objects.filter(event_type__startswith="contracts.contract.")
        .filter(payload__id=contract.pk)
        .order_by("created_at")
        .values_list("event_type", flat=True)
    )


# --- the happy path ------------------------------------------------------------------------------


def test_a_started_contract_is_a_draft_of_the_partner_in_the_program(world, program):
    contract = contract_started(world, program)

    assert contract.state == ContractState.DRAFT
    assert (contract.organisation, contract.program) == (world.partner_a, program)
    assert contract.enrolment.program == program
    assert audit_actions(contract) == ["contracts.contract.created"]


def test_starting_again_returns_the_same_contract(world, program):
    first = contract_started(world, program)

    assert contract_started(world, program).pk == first.pk
    assert Contract.objects.count() == 1


def test_the_whole_workflow_is_audited_and_emits_an_event_at_each_step(world, ready):
    owner, staff = world.user("a:owner"), world.user("vendor:program_manager")
    contract = prepare_edo(ready, by=owner)

    contract = services.contract_send(contract=contract, by=owner)
    assert contract.state == ContractState.SENT
    contract = services.contract_review_start(contract=contract, by=staff)
    assert contract.state == ContractState.UNDER_REVIEW
    contract = services.contract_sign(contract=contract, signed_on=clock.today(), by=staff)
    assert contract.state == ContractState.SIGNED
    assert contract.signed_on == clock.today()
    assert contract.state_changed_by == staff
    contract = services.contract_terminate(contract=contract, reason="Нарушение условий", by=staff)

    assert contract.state == ContractState.TERMINATED
    assert contract.state_reason == "Нарушение условий"
    assert audit_actions(contract) == [
        "contracts.contract.created",
        "contracts.contract.prepared",
        "contracts.contract.sent",
        "contracts.contract.under_review",
        "contracts.contract.signed",
        "contracts.contract.terminated",
    ]
    assert events(contract) == [
        "contracts.contract.sent",
        "contracts.contract.under_review",
        "contracts.contract.signed",
        "contracts.contract.terminated",
    ]
    signed_event = OutboxEvent.objects.get(event_type="contracts.contract.signed")
    assert signed_event.organisation_id == world.partner_a.pk
    assert signed_event.payload["from"] == "under_review"


def test_a_rejected_application_is_fixed_and_sent_again_with_a_new_number(world, ready):
    owner, staff = world.user("a:owner"), world.user("vendor:program_manager")
    contract = services.contract_send(contract=ready, by=owner)
    first_number = contract.application_number

    contract = services.contract_reject(contract=contract, reason="Нет подписи", by=staff)
    assert contract.state == ContractState.REJECTED
    assert contract.state_reason == "Нет подписи"
    contract = prepare_edo(contract, by=owner)  # the partner fixes it
    contract = services.contract_send(contract=contract, by=owner)

    assert contract.state == ContractState.SENT
    assert contract.state_reason == ""
    assert first_number == f"{contract.pk:06d}-1"
    assert contract.application_number == f"{contract.pk:06d}-2"
    assert contract.application_snapshot["edo_participant_id"] == DIADOC_ID


def test_sending_keeps_the_application_as_sent_even_when_the_card_changes(world, ready):
    contract = services.contract_send(contract=prepare_edo(ready), by=world.user("a:owner"))
    stored = contract.application_pdf.name

    partner_services.card_update(
        organisation=world.partner_a,
        changes={"bank_name": "АО «Другой банк»"},
        changed_by=None,
        source="test",
    )
    contract.refresh_from_db()

    assert contract.application_snapshot["partner"]["bank_name"] == "ПАО Сбербанк"
    assert contract.application_snapshot["partner"]["inn"] == "7707083893"
    assert contract.application_snapshot["postal_address"].startswith("236001")
    assert contract.application_pdf.name == stored
    assert contract.application_pdf.size > 1000


# --- selectors other apps use --------------------------------------------------------------------


def test_contract_signed_is_true_only_while_the_contract_is_signed(world, ready, program):
    assert selectors.contract_signed(organisation=world.partner_a, program=program) is False

    contract = signed(world, ready)
    assert selectors.contract_signed(organisation=world.partner_a, program=program) is True
    assert selectors.contract_signed(organisation=world.partner_b, program=program) is False

    services.contract_terminate(contract=contract, reason="Расторгнут по соглашению")
    assert selectors.contract_signed(organisation=world.partner_a, program=program) is False


def test_closing_documents_channel_is_the_agreed_one_of_a_concluded_contract(world, ready, program):
    assert (
        selectors.closing_documents_channel(organisation=world.partner_a, program=program) is None
    )
    prepare_edo(ready, closing_channel="edo")
    assert (
        selectors.closing_documents_channel(organisation=world.partner_a, program=program) is None
    )

    signed(world, ready)

    assert (
        selectors.closing_documents_channel(organisation=world.partner_a, program=program) == "edo"
    )
    assert (
        selectors.closing_documents_channel(organisation=world.partner_b, program=program) is None
    )


def test_a_paper_contract_reports_paper_for_closing_documents(world, ready, program):
    services.contract_prepare(contract=ready, application_channel="paper", closing_channel="paper")
    contract = services.contract_send(contract=ready)
    contract = services.contract_review_start(contract=contract)
    services.contract_sign(contract=contract, signed_on=clock.today())

    assert (
        selectors.closing_documents_channel(organisation=world.partner_a, program=program)
        == "paper"
    )


# --- refusals ------------------------------------------------------------------------------------


def test_sending_with_an_incomplete_card_is_refused_and_nothing_changes(world, program):
    upload_required_documents(world.partner_a)
    contract = contract_started(world, program)  # the card has only the name and INN

    with pytest.raises(ValidationFailed) as refused:
        services.contract_send(contract=contract)

    assert set(refused.value.fields) == {"card"}
    assert "Карточка организации заполнена не полностью" in str(refused.value.fields["card"][0])
    contract.refresh_from_db()
    assert contract.state == ContractState.DRAFT
    assert not contract.application_pdf
    assert events(contract) == []


def test_sending_without_the_counterparty_documents_is_refused(world, program):
    complete_card(world.partner_a)
    contract = contract_started(world, program)

    with pytest.raises(ValidationFailed) as refused:
        services.contract_send(contract=contract)

    assert set(refused.value.fields) == {"documents"}
    assert "Загружены не все документы" in str(refused.value.fields["documents"][0])
    contract.refresh_from_db()
    assert contract.state == ContractState.DRAFT


def test_each_missing_condition_has_its_own_message(world, program):
    contract = contract_started(world, program)

    with pytest.raises(ValidationFailed) as refused:
        services.contract_send(contract=contract)

    assert set(refused.value.fields) == {"card", "documents"}


def test_a_vat_payer_cannot_choose_paper_for_closing_documents(world, program):
    complete_card(world.partner_a, vat_payer=True)
    contract = contract_started(world, program)

    with pytest.raises(ValidationFailed) as refused:
        services.contract_prepare(
            contract=contract, application_channel="paper", closing_channel="paper"
        )

    assert set(refused.value.fields) == {"closing_channel"}
    assert "только через ЭДО" in str(refused.value.fields["closing_channel"][0])
    contract.refresh_from_db()
    assert contract.closing_channel == "edo"  # a VAT payer's draft starts with EDO
    assert contract.application_channel == "paper"


def test_a_vat_payer_may_send_the_application_on_paper(world, program):
    complete_card(world.partner_a, vat_payer=True)
    upload_required_documents(world.partner_a)
    contract = contract_started(world, program)

    contract = prepare_edo(contract, application_channel="paper")
    contract = services.contract_send(contract=contract)

    assert contract.state == ContractState.SENT
    assert (contract.application_channel, contract.closing_channel) == ("paper", "edo")


def test_a_partner_that_became_a_vat_payer_after_choosing_paper_cannot_send(world, ready):
    services.contract_prepare(contract=ready, application_channel="paper", closing_channel="paper")
    partner_services.card_update(
        organisation=world.partner_a, changes={"vat_payer": True}, changed_by=None, source="test"
    )

    with pytest.raises(ValidationFailed) as refused:
        services.contract_send(contract=ready)

    assert set(refused.value.fields) == {"closing_channel"}


@pytest.mark.parametrize(
    ("operator", "participant_id"),
    [
        ("taxcom", DIADOC_ID),  # Diadoc's id given for Taxcom
        ("sbis", DIADOC_ID),
        ("diadoc", "2BM-12345"),
        ("diadoc", "2BM-7728123459-772801001"),  # partner B's INN
    ],
)
def test_a_bad_edo_id_is_refused_for_the_operator(world, ready, operator, participant_id):
    with pytest.raises(ValidationFailed) as refused:
        prepare_edo(ready, edo_operator=operator, edo_participant_id=participant_id)

    assert set(refused.value.fields) == {"edo_participant_id"}
    ready.refresh_from_db()
    assert ready.edo_participant_id == ""


def test_edo_without_an_operator_is_refused(world, ready):
    with pytest.raises(ValidationFailed) as refused:
        prepare_edo(ready, edo_operator="")

    assert set(refused.value.fields) == {"edo_operator"}


def test_paper_both_ways_forgets_the_edo_details(world, ready):
    prepare_edo(ready)

    contract = services.contract_prepare(
        contract=ready,
        application_channel="paper",
        closing_channel="paper",
        edo_operator="diadoc",
        edo_participant_id=DIADOC_ID,
    )

    assert (contract.edo_operator, contract.edo_participant_id) == ("", "")


def test_the_channels_cannot_change_after_sending(world, ready):
    services.contract_send(contract=ready)

    with pytest.raises(Conflict) as refused:
        prepare_edo(ready)

    assert refused.value.code == "contract_not_editable"


def test_a_sent_application_cannot_be_sent_again(world, ready):
    services.contract_send(contract=ready)

    with pytest.raises(Conflict) as refused:
        services.contract_send(contract=ready)

    assert refused.value.code == "transition_not_allowed"


@pytest.mark.parametrize(
    ("use_case", "state"),
    [
        ("sign_sent", ContractState.SENT),  # signing needs the review first
        ("review_draft", ContractState.DRAFT),
        ("terminate_under_review", ContractState.UNDER_REVIEW),
        ("reject_signed", ContractState.SIGNED),
    ],
)
def test_moves_outside_the_table_are_refused(world, ready, use_case, state):
    Contract.objects.filter(pk=ready.pk).update(state=state)
    ready.refresh_from_db()
    calls = {
        "sign_sent": lambda: services.contract_sign(contract=ready, signed_on=clock.today()),
        "review_draft": lambda: services.contract_review_start(contract=ready),
        "terminate_under_review": lambda: services.contract_terminate(contract=ready, reason="x"),
        "reject_signed": lambda: services.contract_reject(contract=ready, reason="x"),
    }

    with pytest.raises(Conflict) as refused:
        calls[use_case]()

    assert refused.value.code == "transition_not_allowed"
    ready.refresh_from_db()
    assert ready.state == state


def test_a_terminated_contract_is_final(world, ready):
    contract = signed(world, ready)
    contract = services.contract_terminate(contract=contract, reason="Ликвидация партнёра")

    with pytest.raises(Conflict):
        services.contract_send(contract=contract)


def test_rejecting_needs_a_reason(world, ready):
    contract = services.contract_send(contract=ready)

    with pytest.raises(ValidationFailed) as refused:
        services.contract_reject(contract=contract, reason="   ")

    assert set(refused.value.fields) == {"reason"}
    contract.refresh_from_db()
    assert contract.state == ContractState.SENT


def test_terminating_needs_a_reason(world, ready):
    contract = signed(world, ready)

    with pytest.raises(ValidationFailed) as refused:
        services.contract_terminate(contract=contract, reason="")

    assert set(refused.value.fields) == {"reason"}


def test_signing_in_the_future_is_refused(world, ready):
    contract = services.contract_review_start(contract=services.contract_send(contract=ready))

    with pytest.raises(ValidationFailed) as refused:
        services.contract_sign(contract=contract, signed_on=clock.today() + dt.timedelta(days=1))

    assert set(refused.value.fields) == {"signed_on"}
    contract.refresh_from_db()
    assert contract.state == ContractState.UNDER_REVIEW


def test_signing_before_the_application_was_sent_is_refused(world, ready):
    contract = services.contract_review_start(contract=services.contract_send(contract=ready))

    with pytest.raises(ValidationFailed) as refused:
        services.contract_sign(contract=contract, signed_on=clock.today() - dt.timedelta(days=3))

    assert set(refused.value.fields) == {"signed_on"}


def test_a_stale_copy_loses_the_race(world, ready):
    contract = services.contract_send(contract=ready)
    stale = Contract.objects.get(pk=contract.pk)
    services.contract_reject(contract=contract, reason="Нет подписи")

    with pytest.raises(Conflict) as refused:
        services.contract_review_start(contract=stale)

    assert refused.value.code == "stale_state"


def test_a_partner_not_in_the_program_cannot_start_a_contract(world, program):
    with pytest.raises(Conflict) as refused:
        services.contract_start(organisation=world.partner_b, program=program)

    assert refused.value.code == "not_enrolled"
    assert not Contract.objects.filter(organisation=world.partner_b).exists()


def test_the_vendor_cannot_start_a_contract(world, program):
    with pytest.raises(ValidationFailed):
        services.contract_start(organisation=world.vendor, program=program)


def test_partner_b_in_the_program_has_its_own_contract(world, program):
    from partnerhub.partners.models import Enrolment

    Enrolment.objects.create(organisation=world.partner_b, program=program, state="active")
    a = contract_started(world, program)
    b = services.contract_start(organisation=world.partner_b, program=program)

    assert a.pk != b.pk
    assert selectors.contract_of(organisation=world.partner_b, program=program) == b
    assert list(selectors.contracts_of_partner(organisation=world.partner_a)) == [a]


def test_a_referral_partner_without_an_enrolment_may_start_a_contract(world):
    from django.utils import timezone

    from partnerhub.referrals.services.partners import referral_partner_register
    from tests.factories import ProgramFactory

    program = ProgramFactory(vendor=world.vendor, name="Рефералы", kind="referrals")
    referral_partner_register(program=program, organisation=world.partner_b, at=timezone.now())

    contract = services.contract_start(organisation=world.partner_b, program=program)

    assert contract.enrolment is None
    assert contract.state == ContractState.DRAFT


def test_another_enrolled_partner_program_is_listed(world):
    program = referral_program(world, enrol=world.partner_b)

    rows = selectors.programs_for_contract(organisation=world.partner_b)

    assert [row.program for row in rows] == [program]
    assert rows[0].contract is None
    assert selectors.programs_for_contract(organisation=world.partner_a) == []
