"""The admin of the lead marketplace and its hourly expiry task (issue 7)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from partnerhub.core import clock
from partnerhub.leads.models import LeadState
from partnerhub.leads.tasks import leads_expire_task
from tests.leads.factories import CONTACT_PHONE, make_lead


def test_administrator_sees_a_lead_with_its_contacts_but_cannot_change_it(world, program, login_as):
    lead = make_lead(program)
    client = login_as("vendor:administrator")
    listing = client.get(reverse("admin:leads_lead_changelist"))
    detail = client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert listing.status_code == 200
    assert "ООО «Строймонтаж»" in listing.content.decode()
    assert CONTACT_PHONE not in listing.content.decode()
    assert detail.status_code == 200 and CONTACT_PHONE in detail.content.decode()
    assert client.get(reverse("admin:leads_lead_add")).status_code == 403


def test_other_staff_do_not_reach_the_admin(world, program, login_as):
    lead = make_lead(program)
    response = login_as("vendor:program_manager").get(
        reverse("admin:leads_lead_change", args=[lead.pk])
    )
    assert response.status_code == 403


def test_settings_are_editable_in_the_admin(world, program, login_as):
    client = login_as("vendor:administrator")
    url = reverse("admin:leads_leadprogramsettings_change", args=[program.lead_settings.pk])
    assert client.get(url).status_code == 200


def test_expiry_task_expires_due_leads(program):
    old = make_lead(program, now=clock.now() - dt.timedelta(days=31))
    assert leads_expire_task.call_local() == 1
    old.refresh_from_db()
    assert old.state == LeadState.EXPIRED
