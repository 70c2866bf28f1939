"""State machines: the declarative table, ``transition()`` with its conditional update, audit row
and outbox event, and 20 threads racing for the same move."""

import threading

import pytest
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connection

from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.core.transitions import (
    StateMachine,
    machine_for,
    register,
    transition,
    unregister,
)
from partnerhub.partners.models import ENROLMENT_MACHINE, Enrolment, Organisation
from tests.factories import OrganisationFactory, ProgramFactory, UserFactory, VendorFactory


@pytest.fixture
def enrolment(db):
    vendor = VendorFactory()
    return Enrolment.objects.create(
        organisation=OrganisationFactory(), program=ProgramFactory(vendor=vendor), state="applied"
    )


def test_an_allowed_move_changes_the_state_and_writes_the_extra_fields(enrolment):
    moved = transition(
        enrolment, to="rejected", reason=" Нет договора ", extra={"state_reason": "x"}
    )
    assert moved is enrolment
    stored = Enrolment.objects.get(pk=enrolment.pk)
    assert (stored.state, stored.state_reason) == ("rejected", "x")
    assert enrolment.state == "rejected"  # the object is refreshed


def test_a_move_the_table_forbids_is_a_conflict_naming_both_states(enrolment):
    with pytest.raises(Conflict) as exc:
        transition(enrolment, to="suspended", reason="Проверка")
    assert exc.value.code == "transition_not_allowed"
    assert (
        str(exc.value.message) == "Из состояния «Заявка подана» нельзя перейти в «Приостановлено»."
    )
    assert Enrolment.objects.get().state == "applied"
    assert not AuditEvent.objects.exists()


def test_a_final_state_allows_no_move(enrolment):
    Enrolment.objects.filter(pk=enrolment.pk).update(state="terminated")
    enrolment.refresh_from_db()
    with pytest.raises(Conflict, match="Прекращено"):
        transition(enrolment, to="active")


def test_a_state_that_needs_a_reason_names_the_reason_field(enrolment):
    with pytest.raises(ValidationFailed) as exc:
        transition(enrolment, to="rejected", reason="   ")
    assert list(exc.value.fields) == ["reason"]
    assert Enrolment.objects.get().state == "applied"


def test_a_stale_object_gets_stale_state_instead_of_overwriting(enrolment):
    stale = Enrolment.objects.get(pk=enrolment.pk)
    transition(enrolment, to="active")
    with pytest.raises(Conflict) as exc:
        transition(stale, to="rejected", reason="Нет договора")
    assert exc.value.code == "stale_state"
    assert Enrolment.objects.get().state == "active"
    assert AuditEvent.objects.filter(action__startswith="partners.enrolment.").count() == 1


def test_a_move_writes_an_audit_row_by_the_given_actor(enrolment):
    manager = UserFactory(organisation=enrolment.program.vendor, role="program_manager")
    transition(enrolment, to="rejected", by=manager, reason="Нет договора")
    event = AuditEvent.objects.get()
    assert event.action == "partners.enrolment.rejected"
    assert (event.actor_kind, event.actor_user) == ("user", manager)
    assert (event.object_type, event.object_id) == ("partners.enrolment", str(enrolment.pk))
    assert event.organisation_id == enrolment.organisation_id
    assert event.before == {"state": "applied"}
    assert event.after == {"state": "rejected", "reason": "Нет договора"}


@pytest.mark.django_db(transaction=True)
def test_a_move_emits_its_outbox_event_after_commit():
    enrolment = Enrolment.objects.create(
        organisation=OrganisationFactory(), program=ProgramFactory(), state="applied"
    )
    transition(enrolment, to="active")
    event = OutboxEvent.objects.get(event_type="partners.enrolment.active")
    assert event.payload == {"id": enrolment.pk, "from": "applied", "to": "active", "reason": ""}
    assert event.organisation_id == enrolment.organisation_id


def test_the_enrolment_model_declares_its_machine():
    assert machine_for(Enrolment) is ENROLMENT_MACHINE
    assert ENROLMENT_MACHINE.targets("applied") == {"active", "rejected"}
    assert ENROLMENT_MACHINE.targets("terminated") == frozenset()


def test_a_model_without_a_machine_cannot_transition():
    with pytest.raises(ImproperlyConfigured, match="Organisation"):
        machine_for(Organisation)


def test_a_registered_machine_takes_precedence_over_the_class_attribute(enrolment):
    strict = StateMachine(
        field="state",
        transitions={
            "applied": frozenset({"rejected"}),
            "rejected": frozenset(),
            "active": frozenset(),
        },
        event_prefix="test.strict",
    )
    register(Enrolment, strict)
    try:
        with pytest.raises(Conflict):
            transition(enrolment, to="active")
        transition(enrolment, to="rejected")
    finally:
        unregister(Enrolment)
    assert AuditEvent.objects.get().action == "test.strict.rejected"
    assert machine_for(Enrolment) is ENROLMENT_MACHINE


def test_a_table_with_an_undeclared_target_is_refused():
    with pytest.raises(ValueError, match="archived"):
        StateMachine(field="state", transitions={"draft": frozenset({"archived"})})


def test_registering_a_machine_on_a_missing_field_fails_early():
    with pytest.raises(FieldDoesNotExist):
        register(Organisation, StateMachine(field="status", transitions={"a": frozenset()}))
    with pytest.raises(ImproperlyConfigured):
        machine_for(Organisation)


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_moving_the_same_enrolment_let_exactly_one_win():
    enrolment = Enrolment.objects.create(
        organisation=OrganisationFactory(), program=ProgramFactory(), state="applied"
    )
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    results: list[str] = []

    def move() -> None:
        try:
            mine = Enrolment.objects.get(pk=enrolment.pk)  # each request loads its own copy
            barrier.wait()
            transition(mine, to="active")
            results.append("won")
        except Conflict as exc:
            results.append(exc.code)
        except Exception as exc:  # any other outcome fails the assertion below, by name
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=move) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["stale_state"] * 19 + ["won"]
    assert Enrolment.objects.get().state == "active"
    assert AuditEvent.objects.filter(action="partners.enrolment.active").count() == 1
    assert OutboxEvent.objects.filter(event_type="partners.enrolment.active").count() == 1
