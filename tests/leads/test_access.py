"""A partner's marketplace conditions and the staff's check of its page (issue 7, part 1;
"Lead-marketplace conditions" in partners-and-contracts.md)."""

from __future__ import annotations

import pytest

from partnerhub.contracts.models import Contract, ContractState
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.leads import selectors, services
from partnerhub.leads.models import LeadProgramSettings, PageState
from partnerhub.partners.models import Enrolment, EnrolmentState
from tests.leads.factories import lead_program


@pytest.fixture
def bare(world):
    """A marketplace in which partner A is enrolled and has its contract signed, nothing else."""
    program = lead_program(world.vendor)
    Enrolment.objects.create(
        organisation=world.partner_a, program=program, state=EnrolmentState.ACTIVE
    )
    Contract.objects.create(
        organisation=world.partner_a, program=program, state=ContractState.SIGNED
    )
    return program


def _missing(world, program):
    eligibility = selectors.eligibility_of(organisation=world.partner_a, program=program)
    return [c.code for c in eligibility.missing]


def test_new_partner_misses_page_tariff_and_app(world, bare):
    assert _missing(world, bare) == ["page", "crm_tariff", "app"]


def test_unsigned_contract_and_suspended_participation_are_missing(world, bare):
    Contract.objects.filter(organisation=world.partner_a).update(state=ContractState.SENT)
    Enrolment.objects.filter(organisation=world.partner_a).update(state=EnrolmentState.SUSPENDED)
    assert _missing(world, bare)[:2] == ["contract", "participation"]


def test_page_goes_pending_then_accepted_by_staff(world, bare):
    access = services.marketplace_page_submit(
        organisation=world.partner_a, program=bare, url="https://alfa.example/vnedrenie", by=None
    )
    assert access.page_state == PageState.PENDING
    assert "page" in _missing(world, bare)
    services.marketplace_page_review(access=access, accept=True, by=world.user("vendor:support"))
    assert "page" not in _missing(world, bare)


def test_rejection_needs_a_reason(world, bare):
    access = services.marketplace_page_submit(
        organisation=world.partner_a, program=bare, url="https://alfa.example/", by=None
    )
    with pytest.raises(ValidationFailed) as refused:
        services.marketplace_page_review(access=access, accept=False, by=None)
    assert "reason" in refused.value.fields
    access = services.marketplace_page_review(
        access=access, accept=False, reason="Нет пакетов внедрения", by=None
    )
    assert access.page_state == PageState.REJECTED
    assert access.page_reason == "Нет пакетов внедрения"


def test_a_changed_url_goes_back_to_review(world, bare):
    access = services.marketplace_page_submit(
        organisation=world.partner_a, program=bare, url="https://alfa.example/a", by=None
    )
    services.marketplace_page_review(access=access, accept=True, by=None)
    access = services.marketplace_page_submit(
        organisation=world.partner_a, program=bare, url="https://alfa.example/b", by=None
    )
    assert access.page_state == PageState.PENDING


def test_the_same_accepted_url_stays_accepted(world, bare):
    access = services.marketplace_page_submit(
        organisation=world.partner_a, program=bare, url="https://alfa.example/a", by=None
    )
    services.marketplace_page_review(access=access, accept=True, by=None)
    access = services.marketplace_page_submit(
        organisation=world.partner_a, program=bare, url="https://alfa.example/a", by=None
    )
    assert access.page_state == PageState.ACCEPTED


def test_a_page_not_pending_cannot_be_reviewed(world, bare):
    access = services.marketplace_page_submit(
        organisation=world.partner_a, program=bare, url="https://alfa.example/a", by=None
    )
    services.marketplace_page_review(access=access, accept=True, by=None)
    with pytest.raises(Conflict):
        services.marketplace_page_review(access=access, accept=False, reason="x", by=None)


@pytest.mark.parametrize("url", ["", "alfa", "ftp://alfa.example/", "javascript:alert(1)"])
def test_bad_page_url_is_refused(world, bare, url):
    with pytest.raises(ValidationFailed) as refused:
        services.marketplace_page_submit(
            organisation=world.partner_a, program=bare, url=url, by=None
        )
    assert "page_url" in refused.value.fields


def test_tariff_company_with_a_portal_meets_the_condition(world, bare):
    access = services.marketplace_crm_declare(
        organisation=world.partner_a,
        program=bare,
        tariff="company",
        portal="alfa.bitrix24.ru",
        by=None,
    )
    assert access.crm_portal == "alfa.bitrix24.ru"
    assert "crm_tariff" not in _missing(world, bare)


def test_on_premise_needs_a_licence_key(world, bare):
    with pytest.raises(ValidationFailed) as refused:
        services.marketplace_crm_declare(
            organisation=world.partner_a,
            program=bare,
            tariff="on_premise",
            portal="alfa.bitrix24.ru",
            by=None,
        )
    assert "portal" in refused.value.fields


def test_a_cloud_tariff_needs_a_portal_address(world, bare):
    with pytest.raises(ValidationFailed) as refused:
        services.marketplace_crm_declare(
            organisation=world.partner_a, program=bare, tariff="nfr", portal="", by=None
        )
    assert "portal" in refused.value.fields


def test_ineligible_tariff_is_kept_but_does_not_meet_the_condition(world, bare):
    services.marketplace_crm_declare(
        organisation=world.partner_a,
        program=bare,
        tariff="basic",
        portal="alfa.bitrix24.ru",
        by=None,
    )
    assert "crm_tariff" in _missing(world, bare)


def test_app_install_keeps_the_agreement_version_time_and_user(world, bare):
    access = services.marketplace_app_install(
        organisation=world.partner_a,
        program=bare,
        agreement_version="1.0",
        by=world.user("a:owner"),
    )
    assert access.agreement_version == "1.0"
    assert access.agreement_accepted_at is not None
    assert access.agreement_accepted_by == world.user("a:owner")
    assert "app" not in _missing(world, bare)


def test_app_install_with_an_old_version_is_refused(world, bare):
    LeadProgramSettings.objects.filter(program=bare).update(agreement_version="2.0")
    with pytest.raises(ValidationFailed) as refused:
        services.marketplace_app_install(
            organisation=world.partner_a, program=bare, agreement_version="1.0", by=None
        )
    assert "agreement_version" in refused.value.fields


def test_a_new_agreement_version_unmeets_the_condition_until_accepted(world, bare):
    services.marketplace_app_install(
        organisation=world.partner_a, program=bare, agreement_version="1.0", by=None
    )
    LeadProgramSettings.objects.filter(program=bare).update(agreement_version="2.0")
    assert "app" in _missing(world, bare)
    services.marketplace_app_install(
        organisation=world.partner_a, program=bare, agreement_version="2.0", by=None
    )
    assert "app" not in _missing(world, bare)


def test_digest_opt_in_keeps_the_regions(world, bare):
    access = services.marketplace_digest_set(
        organisation=world.partner_a, program=bare, opt_in=True, regions=["77", "50"], by=None
    )
    assert access.digest_opt_in
    assert sorted(access.regions.values_list("code", flat=True)) == ["50", "77"]


def test_digest_opt_in_needs_a_region(world, bare):
    with pytest.raises(ValidationFailed) as refused:
        services.marketplace_digest_set(
            organisation=world.partner_a, program=bare, opt_in=True, regions=[], by=None
        )
    assert "regions" in refused.value.fields


def test_digest_unknown_region_is_refused(world, bare):
    with pytest.raises(ValidationFailed) as refused:
        services.marketplace_digest_set(
            organisation=world.partner_a, program=bare, opt_in=True, regions=["999"], by=None
        )
    assert "regions" in refused.value.fields
