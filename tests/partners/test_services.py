"""Partner use cases: joining, the card with its history, enrolments."""

import threading

import pytest
from django.db import connection

from partnerhub.accounts.models import User
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.partners import services
from partnerhub.partners.models import CardChange, Enrolment, Organisation
from tests.factories import COMPLETE_UL_CARD, OrganisationFactory, ProgramFactory, UserFactory

JOIN = {
    "legal_form": "ul",
    "name": "ООО «Ромашка»",
    "inn": "7707083893",
    "contact_name": "Иван Петров",
    "email": "Ivan@Romashka.example",
    "phone": "+7 495 123-45-67",
    "password": "Strong-pass-2026!",
}


@pytest.mark.django_db
def test_join_creates_the_organisation_and_its_owner():
    user = services.partner_join(**JOIN)
    assert user.email == "ivan@romashka.example"
    assert user.role == "owner"
    assert user.organisation.kind == "partner"
    assert user.organisation.inn == "7707083893"
    assert user.check_password("Strong-pass-2026!")


@pytest.mark.django_db
def test_join_with_a_bad_inn_names_the_field_and_stores_nothing():
    with pytest.raises(ValidationFailed) as exc:
        services.partner_join(**{**JOIN, "inn": "7707083894"})
    assert "inn" in exc.value.fields
    assert "ИНН" in str(exc.value.fields["inn"][0])
    assert Organisation.objects.count() == 0
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_join_with_a_weak_password_stores_nothing():
    with pytest.raises(ValidationFailed) as exc:
        services.partner_join(**{**JOIN, "password": "12345678"})
    assert "password" in exc.value.fields
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_join_refuses_an_inn_already_registered():
    services.partner_join(**JOIN)
    with pytest.raises(ValidationFailed) as exc:
        services.partner_join(**{**JOIN, "email": "other@romashka.example"})
    assert list(exc.value.fields) == ["inn"]
    assert Organisation.objects.count() == 1


@pytest.mark.django_db
def test_join_refuses_an_email_already_registered():
    services.partner_join(**JOIN)
    with pytest.raises(ValidationFailed) as exc:
        services.partner_join(**{**JOIN, "inn": "7728123459", "email": "IVAN@romashka.example"})
    assert list(exc.value.fields) == ["email"]


@pytest.mark.django_db
def test_join_of_an_entrepreneur_needs_a_twelve_digit_inn():
    with pytest.raises(ValidationFailed) as exc:
        services.partner_join(**{**JOIN, "legal_form": "ip"})
    assert "inn" in exc.value.fields
    user = services.partner_join(**{**JOIN, "legal_form": "ip", "inn": "500100732259"})
    assert user.organisation.legal_form == "ip"


@pytest.mark.django_db
def test_card_update_writes_history_of_each_changed_field():
    org = OrganisationFactory(inn="7707083893")
    user = UserFactory(organisation=org)
    rows = services.card_update(
        organisation=org,
        changes={"kpp": "773601001", "bank_name": "ПАО Сбербанк", "inn": "7707083893"},
        changed_by=user,
        source="cabinet",
    )
    assert sorted(r.field for r in rows) == ["bank_name", "kpp"]
    change = CardChange.objects.get(field="kpp")
    assert (change.old_value, change.new_value, change.changed_by) == ("", "773601001", user)
    assert change.actor_label == user.email


@pytest.mark.django_db
def test_card_update_with_one_bad_number_changes_nothing():
    org = OrganisationFactory(inn="7707083893")
    card = {**COMPLETE_UL_CARD, "settlement_account": "40702810938000000002"}
    with pytest.raises(ValidationFailed) as exc:
        services.card_update(organisation=org, changes=card, changed_by=None, source="api")
    assert list(exc.value.fields) == ["settlement_account"]
    org.refresh_from_db()
    assert org.kpp == ""
    assert CardChange.objects.count() == 0


@pytest.mark.django_db
def test_card_update_refuses_unknown_fields():
    org = OrganisationFactory()
    with pytest.raises(ValidationFailed) as exc:
        services.card_update(
            organisation=org, changes={"kind": "vendor"}, changed_by=None, source="api"
        )
    assert list(exc.value.fields) == ["kind"]


@pytest.mark.django_db
def test_card_update_refuses_the_inn_of_another_partner():
    OrganisationFactory(inn="7728123459")
    org = OrganisationFactory(inn="7707083893")
    with pytest.raises(ValidationFailed) as exc:
        services.card_update(
            organisation=org, changes={"inn": "7728123459"}, changed_by=None, source="api"
        )
    assert list(exc.value.fields) == ["inn"]


@pytest.mark.django_db
def test_switching_to_entrepreneur_clears_the_kpp():
    org = OrganisationFactory(inn="7707083893", kpp="773601001")
    services.card_update(
        organisation=org,
        changes={"legal_form": "ip", "inn": "500100732259"},
        changed_by=None,
        source="cabinet",
    )
    org.refresh_from_db()
    assert (org.legal_form, org.kpp) == ("ip", "")


@pytest.mark.django_db
def test_enrolment_in_an_auto_approved_program_is_active_at_once():
    org = OrganisationFactory()
    enrolment = services.enrolment_apply(
        organisation=org, program=ProgramFactory(auto_approve=True)
    )
    assert enrolment.state == "active"


@pytest.mark.django_db
def test_enrolment_waits_for_the_vendor_then_moves_by_the_table():
    org = OrganisationFactory()
    program = ProgramFactory(default_terms={"credit_limit": "100000.00"})
    enrolment = services.enrolment_apply(organisation=org, program=program)
    assert enrolment.state == "applied"
    assert enrolment.terms == {"credit_limit": "100000.00"}
    with pytest.raises(Conflict):
        services.enrolment_transition(enrolment=enrolment, to="suspended", reason="x")
    with pytest.raises(ValidationFailed):
        services.enrolment_transition(enrolment=enrolment, to="rejected", reason=" ")
    services.enrolment_transition(enrolment=enrolment, to="active")
    assert Enrolment.objects.get().state == "active"


@pytest.mark.django_db
def test_applying_twice_is_a_conflict_but_a_rejected_partner_may_apply_again():
    org = OrganisationFactory()
    program = ProgramFactory()
    enrolment = services.enrolment_apply(organisation=org, program=program)
    with pytest.raises(Conflict):
        services.enrolment_apply(organisation=org, program=program)
    services.enrolment_transition(enrolment=enrolment, to="rejected", reason="Нет договора")
    again = services.enrolment_apply(organisation=org, program=program)
    assert again.state == "applied"
    assert Enrolment.objects.count() == 1


@pytest.mark.django_db
def test_a_closed_program_takes_no_applications():
    with pytest.raises(Conflict):
        services.enrolment_apply(
            organisation=OrganisationFactory(), program=ProgramFactory(is_active=False)
        )


@pytest.mark.django_db(transaction=True)
def test_parallel_transitions_of_one_enrolment_let_exactly_one_win():
    enrolment = services.enrolment_apply(
        organisation=OrganisationFactory(), program=ProgramFactory()
    )
    results: list[str] = []
    barrier = threading.Barrier(8)

    def decide(to: str) -> None:
        try:
            barrier.wait()
            stale = Enrolment.objects.get(pk=enrolment.pk)
            services.enrolment_transition(enrolment=stale, to=to, reason="решение")
            results.append("won")
        except Conflict:
            results.append("conflict")
        except Exception as exc:  # any other outcome fails the assertion below, by name
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=("active" if i % 2 else "rejected",)) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["conflict"] * 7 + ["won"]
