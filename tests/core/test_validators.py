"""Tests for partnerhub.core.validators (checksums of Russian requisites).

Assertions check ``ValidationError.code``, never the (lazy, translated) message.
The reference check-digit helpers below are written directly from the published
algorithms (FNS for INN/OGRN/OGRNIP, Bank of Russia for the account control
key) and deliberately do not reuse the module or python-stdnum.
"""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given
from hypothesis import strategies as st

from partnerhub.core.validators import (
    control_key_ok,
    validate_bik,
    validate_correspondent_account,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_ogrnip,
    validate_settlement_account,
)

DIGITS = "0123456789"

# Well-known public requisites of Sberbank (ПАО Сбербанк).
SBER_INN = "7707083893"
SBER_KPP = "773601001"
SBER_OGRN = "1027700132195"
SBER_BIK = "044525225"
SBER_CORR_ACCOUNT = "30101810400000000225"
# Settlement account for Sberbank's BIK: layout 40702 (legal entity) 810 (RUB), key digit 9,
# branch 3800, number 0000001. The key 9 is what `reference_control_key` yields for
# 40702810_38000000001 with BIK suffix 225 (checked in a test below).
SBER_SETTLEMENT_ACCOUNT = "40702810938000000001"

PERSONAL_INN = "500100732259"
OGRNIP = "304500116000157"
# 304770000000020: the first 14 digits mod 13 = 10, so the check digit is its lowest digit 0.
# python-stdnum 2.2 compares with "10" and wrongly rejects such numbers.
OGRNIP_REMAINDER_TEN = "304770000000020"


# --- Reference implementations of the published algorithms -------------------------------


def reference_inn10_check_digit(first9: str) -> str:
    """FNS: weights 2,4,10,3,5,9,4,6,8; sum mod 11, then mod 10."""
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    total = sum(w * int(d) for w, d in zip(weights, first9, strict=True))
    return str(total % 11 % 10)


def reference_inn12_check_digits(first10: str) -> str:
    """FNS: two check digits, each a weighted sum mod 11, then mod 10."""
    weights_11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    d11 = str(sum(w * int(d) for w, d in zip(weights_11, first10, strict=True)) % 11 % 10)
    weights_12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    first11 = first10 + d11
    d12 = str(sum(w * int(d) for w, d in zip(weights_12, first11, strict=True)) % 11 % 10)
    return d11 + d12


def reference_ogrn_check_digit(first12: str) -> str:
    """Lowest digit of the remainder of the 12-digit number divided by 11."""
    return str(int(first12) % 11)[-1]


def reference_ogrnip_check_digit(first14: str) -> str:
    """Lowest digit of the remainder of the 14-digit number divided by 13."""
    return str(int(first14) % 13)[-1]


def reference_control_key(prefix3: str, account_with_zero_key: str) -> str:
    """Bank of Russia procedure for the account key (9th account digit).

    Set the key to 0, multiply the 23 digits by 7,1,3,7,1,3,...; sum the lowest digits of the
    products; multiply the lowest digit of the sum by 3; the lowest digit of that is the key.
    """
    digits = prefix3 + account_with_zero_key
    weights = [7, 1, 3] * 8
    lowest_digits_sum = sum((int(d) * w) % 10 for d, w in zip(digits, weights, strict=False))
    return str((lowest_digits_sum % 10) * 3 % 10)


def with_key(prefix3: str, account: str) -> str:
    """Return ``account`` with its 9th digit replaced by the correct control key."""
    zero_key = account[:8] + "0" + account[9:]
    return account[:8] + reference_control_key(prefix3, zero_key) + account[9:]


def reference_number_ok(number: str, check_len: int, check, first_digits: str = DIGITS) -> bool:
    """Reference verdict for a digit string: leading digit, not all zeros, check digit(s)."""
    return (
        number[0] in first_digits
        and set(number) != {"0"}
        and check(number[:-check_len]) == number[-check_len:]
    )


# --- Hypothesis strategies -------------------------------------------------------------


def digit_strings(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=DIGITS, min_size=length, max_size=length)


def not_all_zeros(length: int) -> st.SearchStrategy[str]:
    return digit_strings(length).filter(lambda s: set(s) != {"0"})


@st.composite
def valid_inn10(draw) -> str:
    body = draw(not_all_zeros(9))
    return body + reference_inn10_check_digit(body)


@st.composite
def valid_inn12(draw) -> str:
    body = draw(not_all_zeros(10))
    return body + reference_inn12_check_digits(body)


@st.composite
def valid_ogrn(draw) -> str:
    body = draw(st.sampled_from("15")) + draw(digit_strings(11))
    return body + reference_ogrn_check_digit(body)


@st.composite
def valid_ogrnip(draw) -> str:
    body = "3" + draw(digit_strings(13))
    return body + reference_ogrnip_check_digit(body)


@st.composite
def russian_biks(draw) -> str:
    return "04" + draw(digit_strings(7))


@st.composite
def bik_and_settlement_account(draw) -> tuple[str, str]:
    bik = draw(russian_biks())
    account = with_key(bik[-3:], draw(digit_strings(20)))
    assume(set(account) != {"0"})
    return bik, account


@st.composite
def bik_and_corr_account(draw) -> tuple[str, str]:
    bik = draw(russian_biks())
    raw = "30101" + draw(digit_strings(12)) + bik[-3:]
    return bik, with_key("0" + bik[4:6], raw)


def replace_digit(number: str, index: int, data: st.DataObject) -> str:
    """Return ``number`` with the digit at ``index`` replaced by a different digit."""
    new_digit = data.draw(st.sampled_from([d for d in DIGITS if d != number[index]]))
    return number[:index] + new_digit + number[index + 1 :]


def mutate_one_digit(number: str, data: st.DataObject, lo: int = 0, hi: int | None = None) -> str:
    """Change one digit of ``number`` at a position in ``[lo, hi)``."""
    hi = len(number) if hi is None else hi
    return replace_digit(number, data.draw(st.integers(lo, hi - 1)), data)


def is_accepted(validator, value: str, **kwargs) -> bool:
    try:
        validator(value, **kwargs)
    except ValidationError:
        return False
    return True


# --- Sanity of the reference helpers against real numbers ------------------------------


def test_reference_helpers_reproduce_real_world_check_digits():
    # given real numbers, when recomputing their check digits, then they match
    assert reference_inn10_check_digit(SBER_INN[:9]) == SBER_INN[9]
    assert reference_inn12_check_digits(PERSONAL_INN[:10]) == PERSONAL_INN[10:]
    assert reference_ogrn_check_digit(SBER_OGRN[:12]) == SBER_OGRN[12]
    assert reference_ogrnip_check_digit(OGRNIP[:14]) == OGRNIP[14]
    assert with_key("0" + SBER_BIK[4:6], SBER_CORR_ACCOUNT) == SBER_CORR_ACCOUNT


def test_sber_settlement_account_key_was_derived_by_reference_algorithm():
    # given the account with its key digit zeroed, when computing the key, then it is 9
    assert reference_control_key(SBER_BIK[-3:], "40702810038000000001") == "9"


# --- INN ----------------------------------------------------------------------------------


def test_validate_inn_accepts_sberbank_inn_as_legal_entity():
    assert validate_inn(SBER_INN, legal_form="ul") == SBER_INN


def test_validate_inn_accepts_either_length_without_legal_form():
    assert validate_inn(SBER_INN) == SBER_INN
    assert validate_inn(PERSONAL_INN) == PERSONAL_INN


def test_validate_inn_accepts_personal_inn_as_entrepreneur():
    assert validate_inn(PERSONAL_INN, legal_form="ip") == PERSONAL_INN


def test_validate_inn_strips_surrounding_whitespace():
    assert validate_inn(f"  {SBER_INN}\n", legal_form="ul") == SBER_INN


def test_validate_inn_rejects_wrong_check_digit_for_legal_entity():
    with pytest.raises(ValidationError) as excinfo:
        validate_inn("7707083894", legal_form="ul")
    assert excinfo.value.code == "inn_checksum"


def test_validate_inn_rejects_wrong_check_digit_for_entrepreneur():
    with pytest.raises(ValidationError) as excinfo:
        validate_inn("500100732258", legal_form="ip")
    assert excinfo.value.code == "inn_checksum"


def test_validate_inn_rejects_12_digits_for_legal_entity():
    with pytest.raises(ValidationError) as excinfo:
        validate_inn(PERSONAL_INN, legal_form="ul")
    assert excinfo.value.code == "inn_length"


def test_validate_inn_rejects_10_digits_for_entrepreneur():
    with pytest.raises(ValidationError) as excinfo:
        validate_inn(SBER_INN, legal_form="ip")
    assert excinfo.value.code == "inn_length"


@pytest.mark.parametrize("value", ["", "770708389", "77070838931"])
def test_validate_inn_rejects_lengths_other_than_10_or_12(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_inn(value)
    assert excinfo.value.code == "inn_length"


@pytest.mark.parametrize(
    "value", ["770708389A", "7707 083893", "７７０７０８３８９３", "-707083893"]
)
def test_validate_inn_rejects_non_digits(value):
    # full-width digits pass str.isdigit() but are not accepted
    with pytest.raises(ValidationError) as excinfo:
        validate_inn(value)
    assert excinfo.value.code == "not_digits"


@pytest.mark.parametrize(
    ("value", "body_length", "check"),
    [("0" * 10, 9, reference_inn10_check_digit), ("0" * 12, 10, reference_inn12_check_digits)],
)
def test_validate_inn_rejects_all_zeros_although_checksum_matches(value, body_length, check):
    # given an all-zero INN whose check digits are formally correct
    assert check(value[:body_length]) == value[body_length:]
    with pytest.raises(ValidationError) as excinfo:
        validate_inn(value)
    assert excinfo.value.code == "all_zeros"


def test_validate_inn_raises_value_error_for_unknown_legal_form():
    with pytest.raises(ValueError):
        validate_inn(SBER_INN, legal_form="llc")


@given(valid_inn10())
def test_validate_inn_accepts_any_10_digit_number_with_correct_check_digit(inn):
    assert validate_inn(inn, legal_form="ul") == inn


@given(valid_inn10(), st.data())
def test_validate_inn_rejects_10_digit_number_with_changed_check_digit(inn, data):
    mutated = replace_digit(inn, 9, data)
    with pytest.raises(ValidationError) as excinfo:
        validate_inn(mutated, legal_form="ul")
    assert excinfo.value.code == "inn_checksum"


@given(valid_inn10(), st.data())
def test_validate_inn_10_single_digit_change_agrees_with_reference(inn, data):
    # mod 11 then mod 10 maps remainders 10 and 0 to the same digit, so a changed body digit is
    # not always detected; the validator must agree with the published algorithm either way
    mutated = mutate_one_digit(inn, data)
    expected = reference_number_ok(mutated, 1, reference_inn10_check_digit)
    assert is_accepted(validate_inn, mutated, legal_form="ul") == expected


@given(valid_inn12())
def test_validate_inn_accepts_any_12_digit_number_with_correct_check_digits(inn):
    assert validate_inn(inn, legal_form="ip") == inn


@given(valid_inn12(), st.data())
def test_validate_inn_rejects_12_digit_number_with_changed_check_digit(inn, data):
    mutated = mutate_one_digit(inn, data, lo=10)
    with pytest.raises(ValidationError) as excinfo:
        validate_inn(mutated, legal_form="ip")
    assert excinfo.value.code == "inn_checksum"


@given(valid_inn12(), st.data())
def test_validate_inn_12_single_digit_change_agrees_with_reference(inn, data):
    mutated = mutate_one_digit(inn, data)
    expected = reference_number_ok(mutated, 2, reference_inn12_check_digits)
    assert is_accepted(validate_inn, mutated, legal_form="ip") == expected


# --- KPP ----------------------------------------------------------------------------------


def test_validate_kpp_accepts_sberbank_kpp():
    assert validate_kpp(SBER_KPP) == SBER_KPP


def test_validate_kpp_accepts_uppercase_latin_reason_code():
    assert validate_kpp("7736AB001") == "7736AB001"


def test_validate_kpp_strips_surrounding_whitespace():
    assert validate_kpp(f" {SBER_KPP} ") == SBER_KPP


def test_validate_kpp_rejects_lowercase_letters():
    with pytest.raises(ValidationError) as excinfo:
        validate_kpp("7736ab001")
    assert excinfo.value.code == "kpp_format"


@pytest.mark.parametrize("value", ["77A6AB001", "7736AB0C1", "7736АБ001", "7736 B001"])
def test_validate_kpp_rejects_letters_outside_reason_code_or_cyrillic(value):
    # "АБ" in the third case is Cyrillic
    with pytest.raises(ValidationError) as excinfo:
        validate_kpp(value)
    assert excinfo.value.code == "kpp_format"


@pytest.mark.parametrize("value", ["77360100", "7736010011", ""])
def test_validate_kpp_rejects_wrong_length(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_kpp(value)
    assert excinfo.value.code == "kpp_length"


def test_validate_kpp_rejects_all_zeros():
    with pytest.raises(ValidationError) as excinfo:
        validate_kpp("000000000")
    assert excinfo.value.code == "all_zeros"


@given(st.from_regex(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}", fullmatch=True))
def test_validate_kpp_accepts_any_value_in_fns_format(kpp):
    assume(set(kpp) != {"0"})
    assert validate_kpp(kpp) == kpp


# --- OGRN ---------------------------------------------------------------------------------


def test_validate_ogrn_accepts_sberbank_ogrn():
    assert validate_ogrn(SBER_OGRN) == SBER_OGRN


def test_validate_ogrn_rejects_wrong_check_digit():
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrn("1027700132196")
    assert excinfo.value.code == "ogrn_checksum"


@pytest.mark.parametrize("first_digit", ["0", "2", "3", "4", "6", "7", "8", "9"])
def test_validate_ogrn_rejects_first_digit_other_than_1_or_5(first_digit):
    # given a number with a correct check digit but a wrong leading digit
    body = first_digit + SBER_OGRN[1:12]
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrn(body + reference_ogrn_check_digit(body))
    assert excinfo.value.code == "ogrn_format"


@pytest.mark.parametrize("value", ["102770013219", OGRNIP, ""])
def test_validate_ogrn_rejects_wrong_length(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrn(value)
    assert excinfo.value.code == "ogrn_length"


def test_validate_ogrn_rejects_letters():
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrn("10277OO132195")  # letter O instead of zero
    assert excinfo.value.code == "not_digits"


def test_validate_ogrn_rejects_all_zeros():
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrn("0000000000000")
    assert excinfo.value.code == "all_zeros"


@given(valid_ogrn())
def test_validate_ogrn_accepts_any_number_with_correct_check_digit(ogrn):
    assert validate_ogrn(ogrn) == ogrn


@given(valid_ogrn(), st.data())
def test_validate_ogrn_rejects_changed_check_digit(ogrn, data):
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrn(replace_digit(ogrn, 12, data))
    assert excinfo.value.code == "ogrn_checksum"


@given(valid_ogrn(), st.data())
def test_validate_ogrn_single_digit_change_agrees_with_reference(ogrn, data):
    mutated = mutate_one_digit(ogrn, data)
    expected = reference_number_ok(mutated, 1, reference_ogrn_check_digit, first_digits="15")
    assert is_accepted(validate_ogrn, mutated) == expected


# --- OGRNIP -------------------------------------------------------------------------------


def test_validate_ogrnip_accepts_real_world_ogrnip():
    assert validate_ogrnip(OGRNIP) == OGRNIP


def test_validate_ogrnip_accepts_remainder_ten_with_check_digit_zero():
    assert validate_ogrnip(OGRNIP_REMAINDER_TEN) == OGRNIP_REMAINDER_TEN


def test_validate_ogrnip_rejects_wrong_check_digit():
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrnip("304500116000158")
    assert excinfo.value.code == "ogrnip_checksum"


def test_validate_ogrnip_rejects_check_digit_equal_to_unreduced_remainder_digit():
    # remainder 10: "1" (leading digit of 10) is wrong, the lowest digit "0" is right
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrnip(OGRNIP_REMAINDER_TEN[:14] + "1")
    assert excinfo.value.code == "ogrnip_checksum"


def test_validate_ogrnip_rejects_first_digit_other_than_3():
    # given a checksum-valid 15-digit number starting with 4
    body = "4" + OGRNIP[1:14]
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrnip(body + reference_ogrnip_check_digit(body))
    assert excinfo.value.code == "ogrnip_format"


@pytest.mark.parametrize("value", ["30450011600015", SBER_OGRN, "3045001160001570"])
def test_validate_ogrnip_rejects_wrong_length(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrnip(value)
    assert excinfo.value.code == "ogrnip_length"


def test_validate_ogrnip_rejects_inner_spaces():
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrnip("304 500116000157")
    assert excinfo.value.code == "not_digits"


def test_validate_ogrnip_rejects_all_zeros():
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrnip("000000000000000")
    assert excinfo.value.code == "all_zeros"


@given(valid_ogrnip())
def test_validate_ogrnip_accepts_any_number_with_correct_check_digit(ogrnip):
    assert validate_ogrnip(ogrnip) == ogrnip


@given(valid_ogrnip(), st.data())
def test_validate_ogrnip_rejects_changed_check_digit(ogrnip, data):
    with pytest.raises(ValidationError) as excinfo:
        validate_ogrnip(replace_digit(ogrnip, 14, data))
    assert excinfo.value.code == "ogrnip_checksum"


@given(valid_ogrnip(), st.data())
def test_validate_ogrnip_single_digit_change_agrees_with_reference(ogrnip, data):
    mutated = mutate_one_digit(ogrnip, data)
    expected = reference_number_ok(mutated, 1, reference_ogrnip_check_digit, first_digits="3")
    assert is_accepted(validate_ogrnip, mutated) == expected


# --- BIK ----------------------------------------------------------------------------------


def test_validate_bik_accepts_sberbank_bik():
    assert validate_bik(f" {SBER_BIK} ") == SBER_BIK


def test_validate_bik_rejects_prefix_other_than_04():
    with pytest.raises(ValidationError) as excinfo:
        validate_bik("144525225")
    assert excinfo.value.code == "bik_format"


@pytest.mark.parametrize("value", ["04452522", "0445252250"])
def test_validate_bik_rejects_wrong_length(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_bik(value)
    assert excinfo.value.code == "bik_length"


def test_validate_bik_rejects_letters():
    with pytest.raises(ValidationError) as excinfo:
        validate_bik("04452522S")
    assert excinfo.value.code == "not_digits"


def test_validate_bik_rejects_all_zeros():
    with pytest.raises(ValidationError) as excinfo:
        validate_bik("000000000")
    assert excinfo.value.code == "all_zeros"


# --- control_key_ok -----------------------------------------------------------------------


def test_control_key_ok_accepts_real_settlement_and_correspondent_accounts():
    assert control_key_ok(SBER_BIK[-3:], SBER_SETTLEMENT_ACCOUNT)
    assert control_key_ok("0" + SBER_BIK[4:6], SBER_CORR_ACCOUNT)


def test_control_key_ok_rejects_account_with_changed_digit():
    assert not control_key_ok(SBER_BIK[-3:], "40702810938000000002")


@pytest.mark.parametrize(
    ("prefix3", "account20"),
    [("22", SBER_SETTLEMENT_ACCOUNT), ("225", SBER_SETTLEMENT_ACCOUNT[:19]), ("22x", "1" * 20)],
)
def test_control_key_ok_raises_value_error_for_malformed_input(prefix3, account20):
    with pytest.raises(ValueError):
        control_key_ok(prefix3, account20)


# --- Settlement account -------------------------------------------------------------------


def test_validate_settlement_account_accepts_account_matching_sberbank_bik():
    result = validate_settlement_account(f" {SBER_SETTLEMENT_ACCOUNT} ", bik=SBER_BIK)
    assert result == SBER_SETTLEMENT_ACCOUNT


def test_validate_settlement_account_rejects_account_with_one_digit_changed():
    with pytest.raises(ValidationError) as excinfo:
        validate_settlement_account("40702810938000000002", bik=SBER_BIK)
    assert excinfo.value.code == "account_checksum"


def test_validate_settlement_account_rejects_account_checked_against_other_bik():
    # one digit of the BIK suffix changed: 225 -> 226
    with pytest.raises(ValidationError) as excinfo:
        validate_settlement_account(SBER_SETTLEMENT_ACCOUNT, bik="044525226")
    assert excinfo.value.code == "account_checksum"


@pytest.mark.parametrize("value", ["4070281093800000000", "407028109380000000011"])
def test_validate_settlement_account_rejects_wrong_length(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_settlement_account(value, bik=SBER_BIK)
    assert excinfo.value.code == "account_length"


def test_validate_settlement_account_rejects_letters():
    with pytest.raises(ValidationError) as excinfo:
        validate_settlement_account("40702810938OOOOOOOO1", bik=SBER_BIK)
    assert excinfo.value.code == "not_digits"


def test_validate_settlement_account_rejects_all_zeros():
    with pytest.raises(ValidationError) as excinfo:
        validate_settlement_account("0" * 20, bik=SBER_BIK)
    assert excinfo.value.code == "all_zeros"


@pytest.mark.parametrize("bik", ["", "04452522", "144525225", "04452522X"])
def test_validate_settlement_account_reports_invalid_bik(bik):
    with pytest.raises(ValidationError) as excinfo:
        validate_settlement_account(SBER_SETTLEMENT_ACCOUNT, bik=bik)
    assert excinfo.value.code == "bik_invalid"


@given(bik_and_settlement_account())
def test_validate_settlement_account_accepts_any_account_with_correct_key(bik_account):
    bik, account = bik_account
    assert validate_settlement_account(account, bik=bik) == account


@given(bik_and_settlement_account(), st.data())
def test_validate_settlement_account_rejects_any_single_digit_change(bik_account, data):
    # weights 7, 1, 3 are coprime with 10, so changing one digit always breaks the key
    bik, account = bik_account
    mutated = mutate_one_digit(account, data)
    assume(set(mutated) != {"0"})
    assert not control_key_ok(bik[-3:], mutated)
    with pytest.raises(ValidationError) as excinfo:
        validate_settlement_account(mutated, bik=bik)
    assert excinfo.value.code == "account_checksum"


@given(bik_and_settlement_account(), st.data())
def test_validate_settlement_account_rejects_change_in_bik_suffix(bik_account, data):
    bik, account = bik_account
    other_bik = mutate_one_digit(bik, data, lo=6)
    with pytest.raises(ValidationError) as excinfo:
        validate_settlement_account(account, bik=other_bik)
    assert excinfo.value.code == "account_checksum"


# --- Correspondent account ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bik", "corr_account"),
    [
        (SBER_BIK, SBER_CORR_ACCOUNT),  # Sberbank
        ("044525187", "30101810700000000187"),  # VTB
        ("044525593", "30101810200000000593"),  # Alfa-Bank
    ],
)
def test_validate_correspondent_account_accepts_real_bank_accounts(bik, corr_account):
    assert validate_correspondent_account(corr_account, bik=bik) == corr_account


def test_validate_correspondent_account_rejects_suffix_not_matching_bik():
    # Sberbank's correspondent account with VTB's BIK (ends in 187, not 225)
    with pytest.raises(ValidationError) as excinfo:
        validate_correspondent_account(SBER_CORR_ACCOUNT, bik="044525187")
    assert excinfo.value.code == "corr_account_bik_mismatch"


def test_validate_correspondent_account_rejects_wrong_key():
    with pytest.raises(ValidationError) as excinfo:
        validate_correspondent_account("30101810500000000225", bik=SBER_BIK)
    assert excinfo.value.code == "corr_account_checksum"


def test_validate_correspondent_account_rejects_prefix_other_than_30101():
    with pytest.raises(ValidationError) as excinfo:
        validate_correspondent_account(SBER_SETTLEMENT_ACCOUNT, bik=SBER_BIK)
    assert excinfo.value.code == "corr_account_format"


def test_validate_correspondent_account_rejects_wrong_length():
    with pytest.raises(ValidationError) as excinfo:
        validate_correspondent_account(SBER_CORR_ACCOUNT[:-1], bik=SBER_BIK)
    assert excinfo.value.code == "corr_account_length"


def test_validate_correspondent_account_rejects_inner_spaces():
    with pytest.raises(ValidationError) as excinfo:
        validate_correspondent_account("30101 810400000000225", bik=SBER_BIK)
    assert excinfo.value.code == "not_digits"


def test_validate_correspondent_account_rejects_all_zeros():
    with pytest.raises(ValidationError) as excinfo:
        validate_correspondent_account("0" * 20, bik=SBER_BIK)
    assert excinfo.value.code == "all_zeros"


def test_validate_correspondent_account_reports_invalid_bik():
    with pytest.raises(ValidationError) as excinfo:
        validate_correspondent_account(SBER_CORR_ACCOUNT, bik="000000000")
    assert excinfo.value.code == "bik_invalid"


@given(bik_and_corr_account())
def test_validate_correspondent_account_accepts_any_account_with_correct_key(bik_account):
    bik, account = bik_account
    assert validate_correspondent_account(account, bik=bik) == account


@given(bik_and_corr_account(), st.data())
def test_validate_correspondent_account_rejects_single_digit_change_after_prefix(bik_account, data):
    # positions 5..16: outside the "30101" prefix and the BIK suffix; weights coprime with 10
    bik, account = bik_account
    mutated = mutate_one_digit(account, data, lo=5, hi=17)
    assert not control_key_ok("0" + bik[4:6], mutated)
    with pytest.raises(ValidationError) as excinfo:
        validate_correspondent_account(mutated, bik=bik)
    assert excinfo.value.code == "corr_account_checksum"


@given(bik_and_corr_account(), st.data())
def test_validate_correspondent_account_rejects_change_in_bik_digits_5_6(bik_account, data):
    bik, account = bik_account
    other_bik = mutate_one_digit(bik, data, lo=4, hi=6)
    with pytest.raises(ValidationError) as excinfo:
        validate_correspondent_account(account, bik=other_bik)
    assert excinfo.value.code == "corr_account_checksum"
