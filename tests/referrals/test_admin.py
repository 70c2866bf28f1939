"""The read-only admin of the referral program's store and of the email preferences: every list
and detail page opens for the vendor's administrator, nothing can be added, changed or deleted,
and a partner's live state is shown by its standing columns only (never the pickled state)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from partnerhub.notifications.models import NotificationPreference
from partnerhub.referrals.models import (
    EventRejection,
    PartnerState,
    PromoCode,
    ReferralClick,
    ReferralClient,
    StoredEvent,
)
from partnerhub.referrals.services import intake
from partnerhub.referrals.services.links import promo_code_create
from tests.referrals.pages_support import NOW, ingest, join, referral_program, spec_story

MODELS = [
    StoredEvent,
    EventRejection,
    PartnerState,
    ReferralClient,
    PromoCode,
    ReferralClick,
    NotificationPreference,
]


@pytest.fixture
def store(world, client):
    """Partner A with the spec story, a refused event, a promo code, a link click and an email
    preference: one row at least in each table the admin shows."""
    with time_machine.travel(NOW, tick=False):
        program = referral_program(world.vendor)
        partner = join(program, world.partner_a)
        ingest(program, spec_story(partner.code))
        intake.events_ingest(program=program, objs=[{"id": "bad", "type": "nope"}], source="file")
        promo_code_create(
            partner=partner,
            code="ALFA-2026",
            client_bonus="month",
            valid_from=NOW.date(),
            valid_until=NOW.date() + dt.timedelta(days=10),
            actor=world.user("a:owner"),
        )
        client.get(reverse("referrals:referral_redirect", kwargs={"code": partner.code}))
    NotificationPreference.objects.create(
        user=world.user("a:owner"), event_type="referrals.level.changed", email=False
    )
    for model in MODELS:
        assert model.objects.exists(), model.__name__
    return partner


def admin_url(model, view: str, *args) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_administrator_reads_each_list_and_row(store, login_as, model):
    admin = login_as("vendor:administrator")
    # when the administrator opens the list and the first row
    listing = admin.get(admin_url(model, "changelist"))
    row = admin.get(admin_url(model, "change", model.objects.order_by("pk").first().pk))
    # then both open, read only
    assert listing.status_code == 200
    assert row.status_code == 200
    assert b'name="_save"' not in row.content


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_nothing_is_added_or_deleted_in_the_admin(store, login_as, model):
    admin = login_as("vendor:administrator")
    pk = model.objects.order_by("pk").first().pk
    assert admin.get(admin_url(model, "add")).status_code == 403
    assert admin.post(admin_url(model, "delete", pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=pk).exists()


def test_the_partner_state_page_shows_the_standing_not_the_state(store, login_as):
    admin = login_as("vendor:administrator")
    state = PartnerState.objects.get(partner=store.code)
    response = admin.get(admin_url(PartnerState, "change", state.pk))
    body = response.content.decode()
    assert "field-active_points" in body
    assert "field-level" in body
    assert "field-state" not in body
    assert "field-last_us" not in body


def test_the_event_list_filters_by_type_and_searches_by_subject(store, login_as):
    admin = login_as("vendor:administrator")
    url = admin_url(StoredEvent, "changelist")
    payments = admin.get(url, {"type": "payment"})
    assert payments.status_code == 200
    assert {e.type for e in payments.context["cl"].result_list} == {"payment"}
    found = admin.get(url, {"q": "acme.bitrix24.ru"})
    assert len(found.context["cl"].result_list) == 5
