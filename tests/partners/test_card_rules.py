"""The card rules (pure): required fields by legal form, checks across fields, completeness."""

from partnerhub.partners import card
from tests.factories import COMPLETE_UL_CARD


def complete_ul(**overrides):
    return {**COMPLETE_UL_CARD, "inn": "7707083893", **overrides}


def complete_ip(**overrides):
    data = {
        **COMPLETE_UL_CARD,
        "legal_form": "ip",
        "inn": "500100732259",
        "kpp": "",
        "ogrn": "304500116000157",
        "director_position": "",
    }
    return {**data, **overrides}


def test_a_complete_legal_entity_card_is_complete():
    result = card.completeness(complete_ul())
    assert result.is_complete
    assert result.percent == 100


def test_an_entrepreneur_needs_no_kpp_nor_director_position():
    result = card.completeness(complete_ip())
    assert result.is_complete, (result.missing, result.invalid)


def test_a_legal_entity_without_kpp_is_incomplete():
    result = card.completeness(complete_ul(kpp=""))
    assert not result.is_complete
    assert result.missing == ("kpp",)
    assert result.percent == 14 * 100 // 15


def test_an_invalid_field_makes_the_card_incomplete_even_when_filled():
    result = card.completeness(complete_ul(settlement_account="40702810938000000002"))
    assert result.missing == ()
    assert result.invalid == ("settlement_account",)
    assert not result.is_complete


def test_a_ten_digit_inn_is_refused_for_an_entrepreneur():
    errors = card.field_errors(complete_ip(inn="7707083893"))
    assert [e.code for e in errors["inn"]] == ["inn_length"]


def test_an_entrepreneur_is_checked_against_ogrnip_not_ogrn():
    errors = card.field_errors(complete_ip(ogrn="1027700132195"))
    assert "ogrn" in errors


def test_kpp_is_refused_for_an_entrepreneur():
    errors = card.field_errors(complete_ip(kpp="773601001"))
    assert [e.code for e in errors["kpp"]] == ["kpp_not_for_ip"]


def test_accounts_are_checked_against_the_bik_of_the_card():
    # Alfa-Bank's BIK: Sberbank's correspondent account no longer matches it
    errors = card.field_errors(complete_ul(bik="044525593"))
    assert "correspondent_account" in errors
    assert "settlement_account" in errors


def test_accounts_cannot_be_checked_without_a_valid_bik():
    errors = card.field_errors(complete_ul(bik="123"))
    assert [e.code for e in errors["settlement_account"]] == ["bik_invalid"]


def test_all_zero_numbers_are_refused():
    errors = card.field_errors(complete_ul(inn="0000000000", ogrn="0000000000000"))
    assert [e.code for e in errors["inn"]] == ["all_zeros"]
    assert [e.code for e in errors["ogrn"]] == ["all_zeros"]


def test_phone_needs_ten_to_fifteen_digits():
    assert "phone" in card.field_errors(complete_ul(phone="12-34"))
    assert "phone" not in card.field_errors(complete_ul(phone="+7 (495) 500-55-50"))


def test_empty_optional_fields_are_not_errors():
    assert card.field_errors({"legal_form": "ul"}) == {}
