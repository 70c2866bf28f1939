"""Pure rules of the lead marketplace (issue 7; spec leads.md, "Lead-marketplace conditions" in
partners-and-contracts.md): eligibility, phone normalisation, masking, won references."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerhub.leads import rules

ALL_MET = rules.EligibilityFacts(
    contract_signed=True,
    enrolment_state="active",
    page_state="accepted",
    crm_tariff="company",
    app_installed=True,
    agreement_version="1.0",
    current_agreement_version="1.0",
)


def _with(**changes):
    return rules.EligibilityFacts(**{**ALL_MET.__dict__, **changes})


def test_every_condition_met_is_eligible():
    # given a partner meeting the four conditions of the seed
    # when evaluated
    result = rules.evaluate_eligibility(ALL_MET)
    # then it is eligible and nothing is missing
    assert result.eligible
    assert result.missing == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"contract_signed": False}, "contract"),
        ({"enrolment_state": "suspended"}, "participation"),
        ({"enrolment_state": None}, "participation"),
        ({"page_state": "pending"}, "page"),
        ({"page_state": "rejected"}, "page"),
        ({"page_state": "none"}, "page"),
        ({"crm_tariff": "professional"}, "crm_tariff"),
        ({"crm_tariff": "none"}, "crm_tariff"),
        ({"app_installed": False}, "app"),
        ({"agreement_version": "0.9", "current_agreement_version": "1.0"}, "app"),
    ],
)
def test_each_unmet_condition_is_listed_alone(changes, code):
    # given one condition unmet
    # when evaluated
    result = rules.evaluate_eligibility(_with(**changes))
    # then the partner is not eligible and exactly that condition is missing, with a hint
    assert not result.eligible
    assert [c.code for c in result.missing] == [code]
    assert result.missing[0].hint


def test_all_conditions_unmet_are_all_listed():
    facts = rules.EligibilityFacts(contract_signed=False, enrolment_state=None)
    result = rules.evaluate_eligibility(facts)
    assert [c.code for c in result.missing] == [
        "contract",
        "participation",
        "page",
        "crm_tariff",
        "app",
    ]


@pytest.mark.parametrize("tariff", ["nfr", "company", "on_premise"])
def test_eligible_tariffs_are_nfr_company_and_on_premise(tariff):
    assert rules.evaluate_eligibility(_with(crm_tariff=tariff)).eligible


def test_a_new_agreement_version_must_be_accepted_again():
    # given the partner accepted 1.0 and the program now asks for 2.0
    result = rules.evaluate_eligibility(_with(current_agreement_version="2.0"))
    # then the app condition is unmet with the hint to accept the new version
    assert [c.code for c in result.missing] == ["app"]
    assert "новую редакцию" in result.missing[0].hint


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8 (916) 123-45-67", "+79161234567"),
        ("+7 916 123 45 67", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("8-495-500-55-50", "+74955005550"),
        ("+375 29 123-45-67", "+375291234567"),
    ],
)
def test_phone_is_normalised_to_e164_with_russia_by_default(raw, expected):
    assert rules.normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "8 (916) 123-45", "телефон", "+7 000 000 00 00"])
def test_bad_phone_is_refused_with_a_russian_message(raw):
    with pytest.raises(ValueError, match="елефон"):
        rules.normalise_phone(raw)


def test_phone_mask_keeps_only_the_country_code_and_two_last_digits():
    assert rules.mask_phone("+79161234567") == "+7 *** ***-**-67"
    assert rules.mask_phone("") == ""


def test_email_mask_keeps_first_letters_and_zone():
    assert rules.mask_email("ivan.petrov@example.ru") == "i***@e***.ru"
    assert rules.mask_email("") == ""


def test_name_mask_keeps_initials():
    assert rules.mask_name("Иван Петров") == "И*** П***"


@given(st.from_regex(r"\+79[0-9]{9}", fullmatch=True))
def test_phone_mask_never_shows_more_than_two_subscriber_digits(phone):
    masked = rules.mask_phone(phone)
    assert sum(ch.isdigit() for ch in masked) == 3  # "7" and the last two
    assert phone[2:9] not in masked


@given(st.emails().filter(lambda email: "*" not in email))
def test_email_mask_never_contains_the_address(email):
    # (an address with "*" in it may coincide with the mask's own stars: "0*@a.ad" -> "0***@...")
    masked = rules.mask_email(email)
    local = email.rpartition("@")[0]
    assert email not in masked
    if len(local) > 1:
        assert local not in masked


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("stroymontazh.bitrix24.ru", "stroymontazh.bitrix24.ru"),
        ("https://Stroy-Montazh.bitrix24.ru/", "stroy-montazh.bitrix24.ru"),
        ("minsk.bitrix24.by", "minsk.bitrix24.by"),
        ("almaty.bitrix24.kz", "almaty.bitrix24.kz"),
        ("acme.bitrix24.com", "acme.bitrix24.com"),
    ],
)
def test_valid_portal_addresses_are_normalised(value, expected):
    assert rules.validate_won_reference("portal", value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "stroymontazh.ru",
        "bitrix24.ru",
        "-bad.bitrix24.ru",
        "name.bitrix24.xyz",
        "name.bitrix24.ru/path",
        "name.bitrix.ru",
        "name bitrix24 ru",
    ],
)
def test_invalid_portal_addresses_are_refused(value):
    with pytest.raises(ValueError, match="портал"):
        rules.validate_won_reference("portal", value)


def test_valid_licence_key_is_normalised_to_upper_case():
    assert rules.validate_won_reference("licence_key", " nfr-bx-ab12cd34ef56 ") == (
        "NFR-BX-AB12CD34EF56"
    )


@pytest.mark.parametrize(
    "value", ["", "ABC", "AB-CD-1234567890", "ABC-DE-12345", "ABC_DE_1234567890AB"]
)
def test_invalid_licence_keys_are_refused(value):
    with pytest.raises(ValueError, match="ключ"):
        rules.validate_won_reference("licence_key", value)


def test_unknown_won_kind_is_refused():
    with pytest.raises(ValueError):
        rules.validate_won_reference("voucher", "stroymontazh.bitrix24.ru")
