"""Vendors never see each other's data (issue 14, break 7).

Given two vendors, each with its own referral program and partners (partner A registered with
vendor 1, partner C with vendor 2), the staff and the API tokens of one vendor get 404 for the
other's partners and never find them in their lists. The URL authorisation table walks every
URL with vendor 2's staff; these tests pin down the referral pages and the API the issue found
open, and the selectors the pages read through.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerhub.accounts.services import api_token_create
from partnerhub.referrals.models import StoredEvent
from partnerhub.referrals.selectors import standing as st
from partnerhub.referrals.services.partners import referral_partner_register
from tests.conftest import PARTNER_C_NAME
from tests.factories import ProgramFactory

PARTNER_A_NAME = "ООО «Альфа»"


@pytest.fixture
def two_programs(world) -> dict[str, Any]:
    """Vendor 1's referral program (made first, so it is "the first in the database") with
    partner A registered; vendor 2's with partner C."""
    program = ProgramFactory(vendor=world.vendor, name="Реферальная программа вендора 1")
    a = referral_partner_register(program=program, organisation=world.partner_a, at=timezone.now())
    second = world.vendor2_programs()
    return {"program": program, "a_code": a.code, "vendor2": second}


def token_client(organisation, role: str) -> Client:
    _token, raw = api_token_create(organisation=organisation, name="isolation", role=role)
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


# --- the back office's referral pages ---------------------------------------------------------


def test_vendor2_staff_list_only_their_own_referral_partners(world, two_programs, login_as):
    response = login_as("vendor2:support").get(reverse("backoffice:referrals"))
    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["program"] == two_programs["vendor2"].referral_program
    assert two_programs["vendor2"].referral_code in body
    assert PARTNER_C_NAME in body
    assert two_programs["a_code"] not in body
    assert PARTNER_A_NAME not in body


def test_vendor1_staff_do_not_see_vendor2_partners(world, two_programs, login_as):
    body = login_as("vendor:support").get(reverse("backoffice:referrals")).content.decode()
    assert two_programs["a_code"] in body
    assert two_programs["vendor2"].referral_code not in body
    assert PARTNER_C_NAME not in body


def test_vendor2_staff_get_404_on_a_partner_of_vendor1(world, two_programs, login_as):
    url = reverse("backoffice:referral_partner", kwargs={"code": two_programs["a_code"]})
    assert login_as("vendor2:support").get(url).status_code == 404
    assert login_as("vendor:support").get(url).status_code == 200


def test_vendor2_cannot_adjust_a_partner_of_vendor1(world, two_programs, login_as):
    url = reverse("backoffice:referral_partner_adjust", kwargs={"code": two_programs["a_code"]})
    response = login_as("vendor2:administrator").post(url, {"points": "15", "reason": "чужой"})
    assert response.status_code == 404
    assert not StoredEvent.objects.filter(type="points.adjusted").exists()


def test_vendor2_export_holds_only_its_own_partners(world, two_programs, login_as):
    response = login_as("vendor2:accountant").get(reverse("backoffice:referral_export"))
    body = b"".join(response.streaming_content).decode()
    assert two_programs["vendor2"].referral_code in body
    assert two_programs["a_code"] not in body
    assert PARTNER_A_NAME not in body


def test_vendor2_staff_without_a_program_see_none_of_vendor1(world, login_as):
    # given only vendor 1 runs a referral program
    program = ProgramFactory(vendor=world.vendor)
    a = referral_partner_register(program=program, organisation=world.partner_a, at=timezone.now())
    # then vendor 2's staff are told they have no program
    response = login_as("vendor2:program_manager").get(reverse("backoffice:referrals"))
    assert response.status_code == 200
    assert response.context["program"] is None
    assert a.code not in response.content.decode()
    for name in ("backoffice:referral_events", "backoffice:referral_unattributed"):
        assert login_as("vendor2:support").get(reverse(name)).context["program"] is None


# --- the API ----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["api:referral_standing", "api:referral_history"])
def test_vendor2_token_gets_404_on_a_partner_of_vendor1(world, two_programs, endpoint):
    url = reverse(endpoint, kwargs={"code": two_programs["a_code"]})
    response = token_client(world.vendor2, "administrator").get(url)
    assert response.status_code == 404
    # the same request with vendor 1's token: the 404 above is scoping, not a broken URL
    assert token_client(world.vendor, "administrator").get(url).status_code == 200


def test_vendor2_staff_session_gets_404_on_a_partner_of_vendor1(world, two_programs, login_as):
    url = reverse("api:referral_standing", kwargs={"code": two_programs["a_code"]})
    assert login_as("vendor2:support").get(url).status_code == 404
    own = reverse("api:referral_standing", kwargs={"code": two_programs["vendor2"].referral_code})
    response = login_as("vendor2:support").get(own)
    assert response.status_code == 200
    assert response.json()["partner"] == two_programs["vendor2"].referral_code


def test_partner_c_token_reads_only_its_own_code(world, two_programs):
    client = token_client(world.partner_c, "owner")
    own = reverse("api:referral_standing", kwargs={"code": two_programs["vendor2"].referral_code})
    assert client.get(own).status_code == 200
    other = reverse("api:referral_standing", kwargs={"code": two_programs["a_code"]})
    assert client.get(other).status_code == 404


def test_events_of_vendor2_go_to_vendor2s_program(world, two_programs):
    event = {
        "id": "v2-p1",
        "type": "partner.registered",
        "at": timezone.now().isoformat(),
        "partner": "V2FILE",
    }
    response = token_client(world.vendor2, "program_manager").post(
        reverse("api:referral_events"), [event], content_type="application/json"
    )
    assert response.status_code == 200, response.content
    stored = StoredEvent.objects.get(event_id="v2-p1")
    assert stored.program == two_programs["vendor2"].referral_program


# --- the selectors ----------------------------------------------------------------------------


def test_program_for_vendor_is_always_one_vendors(world, two_programs):
    assert st.program_for_vendor(vendor=world.vendor) == two_programs["program"]
    assert st.program_for_vendor(vendor=world.vendor2) == two_programs["vendor2"].referral_program
    # another vendor's program code is not found
    assert st.program_for_vendor(vendor=world.vendor2, code=two_programs["program"].code) is None
    with pytest.raises(TypeError):
        st.program_for_vendor()  # type: ignore[call-arg]


def test_a_partner_code_is_found_only_within_the_askers_vendor(world, two_programs):
    assert st.program_of_code(vendor=world.vendor, code=two_programs["a_code"]) is not None
    assert st.program_of_code(vendor=world.vendor2, code=two_programs["a_code"]) is None


def test_the_command_line_needs_one_referral_program(world, two_programs):
    # two vendors run referral programs: the command cannot guess whose events a file holds
    with pytest.raises(CommandError, match="several"):
        call_command("referrals", "recompute")
