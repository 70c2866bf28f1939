"""Partner statuses (spec partners-and-contracts, "Statuses"): staff grant a status with dates,
end it early and see the history; overlapping grants of one kind and an end before the start are
refused; the partner's owner is told; the card shows current and past statuses."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.urls import reverse

from partnerhub.core.errors import ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.notifications.models import Notification
from partnerhub.partners import selectors, services
from partnerhub.partners.models import StatusGrant, StatusKind
from tests.factories import VendorFactory
from tests.partners.issue6_factories import CSK, FRANCHISEE, grant, status_kind
from tests.smtp import bodies

JAN_1 = dt.date(2026, 1, 1)
DEC_31 = dt.date(2026, 12, 31)

SEEDED = {
    "Франчайзи (договор коммерческой концессии)",
    "1С:ЦСК (сетевой центр компетенции)",
    "ЦК ERP (центр компетенции по ERP)",
    "ЦК КОРП (центр компетенции КОРП)",
    "ЦСО (центр сертифицированного обучения)",
    "Лицензионный партнёр облачной CRM",
}


def test_the_kinds_of_the_spec_are_seeded(world):
    # each vendor starts with its own catalogue of the spec's kinds (issue 14)
    for vendor in (world.vendor, VendorFactory(short_name="ООО «Третий вендор»")):
        names = StatusKind.objects.filter(vendor=vendor).values_list("name", flat=True)
        assert set(names) >= SEEDED


# --- granting ---------------------------------------------------------------------------------


def test_a_status_granted_for_2026_is_in_force_on_both_ends_of_the_period(world):
    grant(world.partner_a, valid_from=JAN_1, valid_until=DEC_31)

    a = world.partner_a
    assert selectors.has_status(organisation=a, code=FRANCHISEE, on=JAN_1)
    assert selectors.has_status(organisation=a, code=FRANCHISEE, on=DEC_31)
    assert not selectors.has_status(organisation=a, code=FRANCHISEE, on=dt.date(2025, 12, 31))
    assert not selectors.has_status(organisation=a, code=FRANCHISEE, on=dt.date(2027, 1, 1))


def test_a_status_without_an_end_is_in_force_from_its_start_on(world):
    grant(world.partner_a, valid_from=JAN_1)

    assert selectors.has_status(
        organisation=world.partner_a, code=FRANCHISEE, on=dt.date(2040, 1, 1)
    )


def test_statuses_in_force_lists_only_the_grants_covering_the_day(world):
    grant(world.partner_a, code=FRANCHISEE, valid_from=JAN_1, valid_until=dt.date(2026, 6, 30))
    grant(world.partner_a, code=CSK, valid_from=dt.date(2026, 3, 1))
    grant(world.partner_b, code=CSK, valid_from=JAN_1)

    in_may = selectors.statuses_in_force(organisation=world.partner_a, on=dt.date(2026, 5, 1))
    in_july = selectors.statuses_in_force(organisation=world.partner_a, on=dt.date(2026, 7, 1))

    assert sorted(g.status.code for g in in_may) == [CSK, FRANCHISEE]
    assert [g.status.code for g in in_july] == [CSK]


def test_the_grant_is_audited_with_who_and_the_period(world):
    staff = world.user("vendor:program_manager")

    made = grant(world.partner_a, valid_from=JAN_1, valid_until=DEC_31, by=staff)

    event = AuditEvent.objects.get(action="partners.status.granted", object_id=str(made.pk))
    assert event.actor_user_id == staff.pk
    assert event.organisation_id == world.partner_a.pk
    assert event.before is None
    assert event.after["valid_from"] == "2026-01-01"
    assert event.after["valid_until"] == "2026-12-31"
    assert made.granted_by == staff


def test_an_overlapping_grant_of_the_same_kind_is_refused_and_nothing_is_stored(world):
    grant(world.partner_a, valid_from=JAN_1, valid_until=DEC_31)
    audit_rows = AuditEvent.objects.count()

    with pytest.raises(ValidationFailed) as refused:
        grant(world.partner_a, valid_from=dt.date(2026, 12, 31), valid_until=dt.date(2027, 6, 30))

    assert "valid_from" in refused.value.fields
    assert "(с 01.01.2026 по 31.12.2026)" in str(refused.value.fields["valid_from"][0])
    assert StatusGrant.objects.filter(organisation=world.partner_a).count() == 1
    assert AuditEvent.objects.count() == audit_rows


def test_an_open_ended_grant_overlaps_any_later_period(world):
    grant(world.partner_a, valid_from=JAN_1)

    with pytest.raises(ValidationFailed) as refused:
        grant(world.partner_a, valid_from=dt.date(2030, 1, 1), valid_until=dt.date(2030, 12, 31))

    assert "(с 01.01.2026, бессрочно)" in str(refused.value.fields["valid_from"][0])


def test_a_period_that_starts_the_day_after_the_last_one_ends_is_accepted(world):
    grant(world.partner_a, valid_from=JAN_1, valid_until=DEC_31)

    grant(world.partner_a, valid_from=dt.date(2027, 1, 1))

    assert StatusGrant.objects.filter(organisation=world.partner_a).count() == 2


def test_another_kind_or_another_partner_may_overlap(world):
    grant(world.partner_a, code=FRANCHISEE, valid_from=JAN_1)

    grant(world.partner_a, code=CSK, valid_from=JAN_1)
    grant(world.partner_b, code=FRANCHISEE, valid_from=JAN_1)

    assert StatusGrant.objects.count() == 3


def test_an_end_before_the_start_is_refused_naming_the_field(world):
    with pytest.raises(ValidationFailed) as refused:
        grant(world.partner_a, valid_from=DEC_31, valid_until=JAN_1)

    assert list(refused.value.fields) == ["valid_until"]
    assert StatusGrant.objects.count() == 0


def test_a_status_cannot_be_granted_to_the_vendor(world):
    with pytest.raises(ValidationFailed) as refused:
        grant(world.vendor, valid_from=JAN_1)

    assert "organisation" in refused.value.fields


# --- ending early -----------------------------------------------------------------------------


def test_ending_early_makes_the_day_the_last_one_and_records_who_and_why(world):
    made = grant(world.partner_a, valid_from=JAN_1, valid_until=DEC_31)
    staff = world.user("vendor:administrator")

    services.status_end(grant=made, on=dt.date(2026, 6, 30), reason="Договор расторгнут", by=staff)

    made.refresh_from_db()
    assert made.valid_until == dt.date(2026, 6, 30)
    assert made.ended_by == staff
    assert made.end_reason == "Договор расторгнут"
    assert not selectors.has_status(
        organisation=world.partner_a, code=FRANCHISEE, on=dt.date(2026, 7, 1)
    )
    event = AuditEvent.objects.get(action="partners.status.ended")
    assert event.before == {"valid_until": "2026-12-31"}
    assert event.after == {"valid_until": "2026-06-30", "reason": "Договор расторгнут"}
    assert OutboxEvent.objects.filter(event_type="partners.status.ended").count() == 1


def test_ending_before_the_first_day_is_refused(world):
    made = grant(world.partner_a, valid_from=dt.date(2026, 3, 1))

    with pytest.raises(ValidationFailed) as refused:
        services.status_end(grant=made, on=dt.date(2026, 2, 28))

    assert "on" in refused.value.fields
    made.refresh_from_db()
    assert made.valid_until is None and made.ended_at is None


def test_ending_on_or_after_the_planned_end_is_refused(world):
    made = grant(world.partner_a, valid_from=JAN_1, valid_until=dt.date(2026, 6, 30))

    with pytest.raises(ValidationFailed) as refused:
        services.status_end(grant=made, on=dt.date(2026, 6, 30))

    assert "30.06.2026" in str(refused.value.fields["on"][0])
    assert not AuditEvent.objects.filter(action="partners.status.ended").exists()


# --- the partner's owner is told ----------------------------------------------------------------


def test_the_owner_is_notified_and_emailed_when_a_status_is_granted(
    world, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        grant(world.partner_a, valid_from=JAN_1, valid_until=DEC_31)

    notification = Notification.objects.get(kind="partners.status.granted")
    assert notification.user == world.user("a:owner")
    assert notification.title == "Присвоен статус «Франчайзи (договор коммерческой концессии)»"
    assert notification.body == "Статус действует с 01.01.2026 по 31.12.2026."
    assert [r for rcpt in smtp.recipients for r in rcpt] == ["owner@a.example"]
    text, html = bodies(smtp.to("owner@a.example")[0])
    assert "01.01.2026" in text and "31.12.2026" in html


def test_the_owner_is_told_the_last_day_and_the_reason_when_a_status_ends(
    world, smtp, django_capture_on_commit_callbacks
):
    made = grant(world.partner_a, valid_from=JAN_1)

    with django_capture_on_commit_callbacks(execute=True):
        services.status_end(
            grant=made, on=dt.date(2026, 9, 30), reason="Нет сертифицированных специалистов"
        )

    notification = Notification.objects.get(kind="partners.status.ended")
    assert notification.user == world.user("a:owner")
    assert "30.09.2026" in notification.body
    assert "Нет сертифицированных специалистов" in notification.body
    text, _html = bodies(smtp.to("owner@a.example")[0])
    assert "Нет сертифицированных специалистов" in text


# --- pages ------------------------------------------------------------------------------------


def test_the_cabinet_card_shows_current_and_past_statuses(world, login_as):
    grant(
        world.partner_a, code=CSK, valid_from=dt.date(2020, 1, 1), valid_until=dt.date(2020, 12, 31)
    )
    grant(world.partner_a, code=FRANCHISEE, valid_from=dt.date(2021, 1, 1))

    response = login_as("a:manager").get(reverse("cabinet:card"))

    body = response.content.decode()
    assert response.status_code == 200
    current, past = body.split("Прежние статусы")
    assert "Франчайзи (договор коммерческой концессии)" in current
    assert "1С:ЦСК" in past and "31.12.2020" in past


def test_partner_b_does_not_see_the_statuses_of_partner_a_on_its_card(world, login_as):
    grant(world.partner_a, code=CSK, valid_from=dt.date(2021, 1, 1))

    body = login_as("b:owner").get(reverse("cabinet:card")).content.decode()

    assert "1С:ЦСК" not in body
    assert "Действующих статусов нет." in body


def test_the_back_office_partner_page_shows_the_statuses(world, login_as):
    grant(world.partner_a, code=CSK, valid_from=dt.date(2021, 1, 1))

    response = login_as("vendor:support").get(
        reverse("backoffice:partner_detail", kwargs={"pk": world.partner_a.pk})
    )

    assert response.status_code == 200
    assert "1С:ЦСК" in response.content.decode()


def test_a_program_manager_grants_a_status_from_the_back_office(world, login_as):
    url = reverse("backoffice:partner_status_grant", kwargs={"pk": world.partner_a.pk})

    response = login_as("vendor:program_manager").post(
        url, {"status": status_kind(CSK).pk, "valid_from": "2026-01-01", "valid_until": ""}
    )

    assert response.status_code == 302
    made = StatusGrant.objects.get(organisation=world.partner_a)
    assert (made.status.code, made.valid_from, made.valid_until) == (CSK, JAN_1, None)
    assert made.granted_by == world.user("vendor:program_manager")


def test_the_grant_form_shows_the_overlap_under_the_start_date(world, login_as):
    grant(world.partner_a, code=CSK, valid_from=JAN_1)
    url = reverse("backoffice:partner_status_grant", kwargs={"pk": world.partner_a.pk})

    response = login_as("vendor:administrator").post(
        url, {"status": status_kind(CSK).pk, "valid_from": "2026-05-01"}
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field="valid_from"' in body
    assert "пересекающийся период" in body
    assert StatusGrant.objects.count() == 1


def test_the_history_page_lists_every_grant_with_who_granted_and_ended_it(
    world, login_as, django_assert_max_num_queries
):
    staff = world.user("vendor:program_manager")
    old = grant(world.partner_a, code=CSK, valid_from=dt.date(2020, 1, 1), by=staff)
    services.status_end(grant=old, on=dt.date(2020, 6, 30), reason="Истёк сертификат", by=staff)
    for code in ("franchisee", "ck-erp", "ck-corp", "cso"):
        grant(world.partner_a, code=code, valid_from=JAN_1, by=staff)
    client = login_as("vendor:program_manager")
    url = reverse("backoffice:partner_statuses", kwargs={"pk": world.partner_a.pk})

    with django_assert_max_num_queries(12):
        response = client.get(url)

    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('class="grant-current"') == 4
    assert body.count('class="grant-past"') == 1
    assert "Истёк сертификат" in body and "program_manager@vendor.example" in body


def test_ending_a_status_from_the_back_office(world, login_as):
    made = grant(world.partner_a, valid_from=JAN_1)
    url = reverse("backoffice:partner_status_end", kwargs={"pk": made.pk})

    response = login_as("vendor:program_manager").post(
        url, {"on": "2026-03-31", "reason": "Просьба партнёра"}
    )

    assert response.status_code == 302
    made.refresh_from_db()
    assert made.valid_until == dt.date(2026, 3, 31)


def test_staff_add_a_kind_of_status_on_the_back_office_page(world, login_as):
    response = login_as("vendor:administrator").post(
        reverse("backoffice:status_kind_add"), {"code": "gold", "name": "Золотой партнёр"}
    )

    assert response.status_code == 302
    assert StatusKind.objects.get(code="gold").name == "Золотой партнёр"
    page = login_as("vendor:support").get(reverse("backoffice:status_kinds")).content.decode()
    assert "Золотой партнёр" in page and "Добавить вид статуса" not in page


def test_a_kind_with_a_taken_code_is_refused(world, login_as):
    response = login_as("vendor:administrator").post(
        reverse("backoffice:status_kind_add"), {"code": FRANCHISEE, "name": "Ещё франчайзи"}
    )

    assert response.status_code == 400
    assert 'data-field="code"' in response.content.decode()
    assert StatusKind.objects.filter(name="Ещё франчайзи").count() == 0


@pytest.mark.django_db(transaction=True)
def test_parallel_overlapping_grants_let_exactly_one_through():
    from tests.factories import OrganisationFactory

    partner = OrganisationFactory()
    kind = status_kind(FRANCHISEE)
    results: list[str] = []
    barrier = threading.Barrier(8)

    def grant_2026(month: int) -> None:
        try:
            barrier.wait()
            services.status_grant(
                organisation=partner, status=kind, valid_from=dt.date(2026, month, 1)
            )
            results.append("won")
        except ValidationFailed:
            results.append("overlap")
        except Exception as exc:  # any other outcome fails the assertion below, by name
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=grant_2026, args=(m,)) for m in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["overlap"] * 7 + ["won"]
    assert StatusGrant.objects.filter(organisation=partner).count() == 1


def test_ending_before_the_start_from_the_back_office_shows_the_error_under_the_date(
    world, login_as
):
    made = grant(world.partner_a, valid_from=dt.date(2026, 3, 1))
    url = reverse("backoffice:partner_status_end", kwargs={"pk": made.pk})

    response = login_as("vendor:administrator").post(url, {"on": "2026-02-01"})

    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field="on"' in body and "01.03.2026" in body
    made.refresh_from_db()
    assert made.valid_until is None


def test_the_admin_shows_grants_read_only_on_the_organisation_page(world, login_as):
    grant(world.partner_a, code=CSK, valid_from=JAN_1)
    url = reverse("admin:partners_organisation_change", args=[world.partner_a.pk])

    response = login_as("vendor:administrator").get(url)

    body = response.content.decode()
    assert response.status_code == 200
    assert "1С:ЦСК" in body
    assert 'name="statuses-0-valid_from"' not in body  # no editable grant fields
