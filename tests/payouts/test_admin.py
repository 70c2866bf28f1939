"""The admin shows payouts and registers read-only (the services write them)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from partnerhub.payouts import services
from tests.payouts.factories import convert, partner_ready

pytestmark = pytest.mark.django_db


def test_the_administrator_sees_payouts_and_registers_but_cannot_add(world, login_as):
    payout = services.payout_accept(
        payout=services.payout_mark_sent(payout=convert(partner_ready(world)))
    )
    register = services.register_create(vendor=world.vendor, payout_ids=[payout.pk])
    client = login_as("vendor:administrator")

    payouts = client.get(reverse("admin:payouts_payout_changelist"))
    detail = client.get(reverse("admin:payouts_paymentregister_change", args=[register.pk]))

    assert payouts.status_code == 200
    assert "ООО «Альфа»" in payouts.content.decode()
    assert detail.status_code == 200
    assert client.get(reverse("admin:payouts_payout_add")).status_code == 403
