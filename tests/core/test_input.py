"""core.input: the checks of text, years, decimals and free-form JSON (issue 14, part 2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from partnerhub.core.input import (
    AMOUNT_LIMIT,
    InputRefused,
    canonical_json_size,
    check_year_range,
    decimal_in_range,
    find_unstorable,
    nesting_depth,
    parse_amount,
    printable,
    reject_unstorable_text,
    validate_storable_text,
    validate_year_range,
)


def test_nul_and_lone_surrogates_are_unstorable_other_text_is_fine():
    assert reject_unstorable_text("ООО «Альфа» \u202e 😀 \ufffe") is None
    assert "U+0000" in reject_unstorable_text("a\x00b")
    assert "U+D800" in reject_unstorable_text("a\ud800")
    assert "U+DFFF" in reject_unstorable_text("\udfff")


def test_find_unstorable_walks_keys_and_values_of_nested_data():
    assert find_unstorable({"a": [1, "x", {"b": None}]}) is None
    assert find_unstorable({"a": [1, "x", {"b": "y\x00"}]}) == ("a[2].b", "U+0000")
    assert find_unstorable({"a": {"k\x00": 1}}) == ("a.k\\u0000", "U+0000")
    assert find_unstorable(["ok", "\ud83d"]) == ("[1]", "U+D83D")


def test_deep_nesting_is_walked_without_recursion():
    deep: object = "\x00"
    for _ in range(10_000):
        deep = [deep]
    assert find_unstorable(deep) is not None
    assert nesting_depth(deep) == 10_000


def test_printable_escapes_what_cannot_be_stored():
    assert printable("e\x001\ud800") == "e\\u00001\\ud800"
    assert reject_unstorable_text(printable("e\x001\ud800")) is None


def test_storable_text_validator_names_the_character():
    validate_storable_text({"a": "fine"})
    with pytest.raises(ValidationError) as caught:
        validate_storable_text("x\x00")
    assert caught.value.code == "unstorable_text"
    assert "U+0000" in caught.value.messages[0]


def test_nesting_depth_counts_objects_and_lists():
    assert nesting_depth("x") == 0
    assert nesting_depth({"a": 1}) == 1
    assert nesting_depth({"a": [1, {"b": []}]}) == 4


def test_canonical_json_size_sorts_keys_and_refuses_what_is_not_json():
    assert canonical_json_size({"b": 1, "a": "я"}) == len(b'{"a":"\xd1\x8f","b":1}')
    with pytest.raises(InputRefused):
        canonical_json_size({"a": "\ud800"})


@pytest.mark.parametrize(
    ("moment", "refused"),
    [
        (dt.date(1, 1, 1), True),
        (dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14))), True),
        (dt.date(1999, 12, 31), True),
        (dt.date(2000, 1, 1), False),
        (dt.datetime(2100, 12, 31, 23, 59, tzinfo=dt.UTC), False),
        (dt.date(2101, 1, 1), True),
        (dt.datetime(9999, 12, 31), True),
    ],
)
def test_years_2000_to_2100_pass(moment, refused):
    assert (check_year_range(moment) is not None) is refused


def test_year_limits_come_from_the_settings(settings):
    settings.INPUT_YEAR_MAX = 2050
    assert check_year_range(dt.date(2051, 1, 1)) == "Год должен быть от 2000 до 2050."
    with pytest.raises(ValidationError) as caught:
        validate_year_range(dt.date(2051, 1, 1))
    assert caught.value.code == "year_out_of_range"
    validate_year_range(dt.date(2050, 12, 31))


@pytest.mark.parametrize("raw", ["NaN", "-Infinity", "sNaN"])
def test_not_finite_decimals_are_refused(raw):
    assert decimal_in_range(Decimal(raw)) is not None
    with pytest.raises(InputRefused):
        parse_amount(raw)


@pytest.mark.parametrize("raw", ["1e30", 1e308, "1e+308", "-1e30", "1000000000000", "9" * 5000])
def test_huge_amounts_are_refused_before_quantizing(raw):
    with pytest.raises(InputRefused) as caught:
        parse_amount(raw, negative=True)
    assert caught.value.reason == "Слишком большая сумма."


def test_amounts_are_parsed_to_kopecks():
    assert parse_amount("999999999999.99") == Decimal("999999999999.99")
    assert parse_amount("1234,5") == Decimal("1234.50")
    assert parse_amount(7) == Decimal("7.00")
    assert parse_amount("1.500") == Decimal("1.50")
    assert str(parse_amount("-0", negative=True)) == "0.00"
    assert str(parse_amount("0E-999999999")) == "0.00"
    assert decimal_in_range(AMOUNT_LIMIT - Decimal("0.01")) is None


@pytest.mark.parametrize("raw", ["abc", "", True, "1.005", "-5", "1e-999999999999999999"])
def test_bad_amounts_are_refused_with_a_reason(raw):
    with pytest.raises(InputRefused):
        parse_amount(raw)


def test_other_places_and_limits():
    assert parse_amount("12.5", places=1, limit=Decimal(100)) == Decimal("12.5")
    with pytest.raises(InputRefused):
        parse_amount("12.55", places=1, limit=Decimal(100))
    with pytest.raises(InputRefused):
        parse_amount("100", places=1, limit=Decimal(100))
    assert str(parse_amount("1e29", limit=Decimal("1e30"))) == "1" + "0" * 29 + ".00"


@given(st.decimals(allow_nan=True, allow_infinity=True) | st.text() | st.floats())
def test_parse_amount_returns_or_refuses_never_anything_else(raw):
    try:
        value = parse_amount(raw, negative=True)
    except InputRefused:
        return
    assert value.is_finite()
    assert abs(value) < AMOUNT_LIMIT
    assert value == value.quantize(Decimal("0.01"))
