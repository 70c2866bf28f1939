"""Tests for partnerhub.core.money: the "Money" issue and house rule 5.

The numbers are the issue's: "1 234,50 ₽", "Одна тысяча двести тридцать четыре рубля 50 копеек",
15 % of 1 234,50 = 185,18, 100 into three parts = 33,34 + 33,33 + 33,33. The property tests read
the words back with a small parser written here from Russian grammar, independently of the module
and of num2words.
"""

import io
from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction

import pytest
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Value
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.parsers import JSONParser

from partnerhub.core.money import (
    Currency,
    CurrencyField,
    CurrencyMismatch,
    Money,
    MoneyField,
    MoneyFormField,
    MoneySerializerField,
    allocate,
    amount_in_words,
    format_money,
    format_rub,
    percent_of,
    plural_ru,
    quantize,
)

D = Decimal
NBSP = "\u00a0"
TOO_MANY_DECIMALS_TEXT = "Сумма может содержать не больше двух знаков после запятой."

amounts = st.decimals(
    min_value=D("-999999999999.99"),
    max_value=D("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
non_negative_amounts = st.decimals(
    min_value=D("0"), max_value=D("999999999999.99"), places=2, allow_nan=False
)


# --- quantize ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("0.005"), "0.01"),
        (D("2.675"), "2.68"),
        (D("2.665"), "2.67"),
        (D("1.004"), "1.00"),
        (D("-0.005"), "-0.01"),
        (D("-2.675"), "-2.68"),
        (7, "7.00"),
    ],
)
def test_quantize_rounds_half_up_to_two_places(value, expected):
    # given a value, when quantized, then halves go away from zero and two places remain
    assert str(quantize(value)) == expected


def test_quantize_never_returns_negative_zero():
    assert str(quantize(D("-0.001"))) == "0.00"


def test_quantize_ignores_the_thread_decimal_context():
    # given a thread context that would round down and keep five digits
    with localcontext() as context:
        context.rounding = ROUND_DOWN
        context.prec = 5
        # when quantizing, then the project's rounding and precision apply
        assert quantize(D("123456789.125")) == D("123456789.13")


def test_quantize_refuses_floats():
    with pytest.raises(TypeError, match="float"):
        quantize(2.675)


# --- percent_of -------------------------------------------------------------------------------


def test_percent_of_the_issue_example_rounds_half_up():
    # 15 % of 1 234,50 = 185,175 → 185,18
    assert percent_of(D("1234.50"), D("15")) == D("185.18")


def test_percent_of_accepts_fractional_percent():
    # 12,5 % of 100,10 = 12,5125 → 12,51
    assert percent_of(D("100.10"), D("12.5")) == D("12.51")


def test_percent_of_negative_amount_rounds_away_from_zero():
    assert percent_of(D("-1234.50"), 15) == D("-185.18")


def test_percent_of_refuses_floats():
    with pytest.raises(TypeError):
        percent_of(D("100"), 15.0)


# --- allocate ---------------------------------------------------------------------------------


def test_allocate_100_into_three_equal_parts_gives_the_extra_kopeck_to_the_first():
    assert allocate(D("100"), [1, 1, 1]) == [D("33.34"), D("33.33"), D("33.33")]


def test_allocate_five_kopecks_into_two_equal_parts():
    assert allocate(D("0.05"), [1, 1]) == [D("0.03"), D("0.02")]


def test_allocate_gives_the_left_over_kopeck_to_the_largest_remainder():
    # exact shares 33.333… and 66.666…: the second has the larger remainder
    assert allocate(D("100"), [1, 2]) == [D("33.33"), D("66.67")]


def test_allocate_by_decimal_weights():
    assert allocate(D("10.00"), [D("0.5"), D("0.25"), D("0.25")]) == [
        D("5.00"),
        D("2.50"),
        D("2.50"),
    ]


def test_allocate_gives_zero_to_zero_weights():
    assert allocate(D("0.05"), [0, 1, 1, 0]) == [D("0.00"), D("0.03"), D("0.02"), D("0.00")]


def test_allocate_negative_amount_mirrors_the_positive_one():
    assert allocate(D("-100"), [1, 1, 1]) == [D("-33.34"), D("-33.33"), D("-33.33")]


def test_allocate_returns_two_places_even_for_whole_parts():
    assert [str(part) for part in allocate(D("2"), [1, 1])] == ["1.00", "1.00"]


@pytest.mark.parametrize("weights", [[0, 0], [], [1, -1]])
def test_allocate_refuses_weights_that_define_no_split(weights):
    with pytest.raises(ValueError):
        allocate(D("100"), weights)


def test_allocate_refuses_a_fraction_of_a_kopeck():
    with pytest.raises(ValueError, match="kopecks"):
        allocate(D("100.005"), [1, 1])


def test_allocate_refuses_floats():
    with pytest.raises(TypeError):
        allocate(100.0, [1, 1])
    with pytest.raises(TypeError):
        allocate(D("100"), [0.5, 0.5])


weights_lists = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=1000),
        st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False),
    ),
    min_size=1,
    max_size=12,
).filter(lambda weights: any(weight > 0 for weight in weights))


@given(amount=amounts, weights=weights_lists)
def test_allocate_parts_sum_exactly_to_the_amount(amount, weights):
    assert sum(allocate(amount, weights), D(0)) == amount


@given(amount=amounts, weights=weights_lists)
def test_allocate_each_part_is_within_a_kopeck_of_its_exact_share(amount, weights):
    parts = allocate(amount, weights)
    total_weight = sum(Fraction(weight) for weight in weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(amount) * Fraction(weight) / total_weight
        assert abs(Fraction(part) - exact) < Fraction(1, 100)
        assert part == quantize(part)


@given(amount=amounts, weights=weights_lists)
def test_allocate_zero_weights_get_zero(amount, weights):
    parts = allocate(amount, weights)
    assert all(part == 0 for part, weight in zip(parts, weights, strict=True) if weight == 0)


# --- Money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(D("1234.50"), "1234.50"), ("1234.5", "1234.50"), (" 1234.50 ", "1234.50"), (1234, "1234.00")],
)
def test_money_of_accepts_decimal_str_and_int(value, expected):
    money = Money.of(value)
    assert str(money.amount) == expected
    assert money.currency == "RUB"


def test_money_of_quantizes_with_the_one_helper():
    assert str(Money.of("10.005").amount) == "10.01"


def test_money_of_refuses_float_with_a_clear_message():
    with pytest.raises(TypeError, match=r"must not be a float .*Decimal, an int or a str"):
        Money.of(0.1)


@pytest.mark.parametrize("value", [True, None, [1]])
def test_money_of_refuses_other_types(value):
    with pytest.raises(TypeError):
        Money.of(value)


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", D("NaN")])
def test_money_of_refuses_what_is_not_a_finite_number(value):
    with pytest.raises(ValueError):
        Money.of(value)


@pytest.mark.parametrize("currency", ["rub", "RUBL", "R1B", ""])
def test_money_refuses_a_currency_that_is_not_an_iso_code(currency):
    with pytest.raises(ValueError, match="Currency"):
        Money.of(1, currency)


def test_money_is_frozen():
    money = Money.of(1)
    with pytest.raises(AttributeError):
        money.amount = D("2")  # type: ignore[misc]


def test_money_adds_and_subtracts_in_one_currency():
    assert Money.of("10.50") + Money.of("0.75") == Money.of("11.25")
    assert Money.of("10.50") - Money.of("0.75") == Money.of("9.75")


def test_money_negates_and_takes_absolute_value():
    assert -Money.of("10.50") == Money.of("-10.50")
    assert abs(Money.of("-10.50")) == Money.of("10.50")


def test_money_multiplies_by_decimal_and_int_and_quantizes():
    assert Money.of("10.01") * 3 == Money.of("30.03")
    assert 3 * Money.of("10.01") == Money.of("30.03")
    assert Money.of("10.00") * D("0.3333") == Money.of("3.33")
    assert Money.of("0.05") * D("0.5") == Money.of("0.03")


def test_money_refuses_multiplication_by_float_and_by_money():
    with pytest.raises(TypeError, match="float"):
        Money.of(10) * 1.5
    with pytest.raises(TypeError):
        Money.of(10) * Money.of(2)


def test_money_compares_in_one_currency():
    assert Money.of(1) < Money.of(2)
    assert Money.of(2) >= Money.of(2)
    assert max(Money.of(3), Money.of(5), Money.of(4)) == Money.of(5)


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a > b,
        lambda a, b: a <= b,
    ],
)
def test_money_refuses_to_mix_currencies(operation):
    with pytest.raises(CurrencyMismatch) as raised:
        operation(Money.of(1, "RUB"), Money.of(1, "USD"))
    assert raised.value.code == "currency_mismatch"
    assert "RUB" in str(raised.value)
    assert "USD" in str(raised.value)


def test_money_in_different_currencies_is_not_equal():
    assert Money.of(1, "RUB") != Money.of(1, "USD")


def test_money_zero_sign_and_sum():
    assert Money.zero().is_zero()
    assert Money.of("0.01").is_positive()
    assert Money.of("-0.01").is_negative()
    assert sum([Money.of(1), Money.of(2)], Money.zero()) == Money.of(3)


def test_money_percent_and_allocate_keep_the_currency():
    assert Money.of("1234.50", "USD").percent(15) == Money.of("185.18", "USD")
    assert Money.of(100, "EUR").allocate([1, 1, 1]) == [
        Money.of("33.34", "EUR"),
        Money.of("33.33", "EUR"),
        Money.of("33.33", "EUR"),
    ]


@given(a=amounts, b=amounts)
def test_money_addition_is_undone_by_subtraction(a, b):
    assert Money.of(a) + Money.of(b) - Money.of(b) == Money.of(a)


# --- formatting -------------------------------------------------------------------------------


def test_format_rub_the_issue_example():
    assert format_rub(D("1234.50")) == f"1{NBSP}234,50{NBSP}₽"


def test_format_rub_negative_uses_the_minus_sign():
    assert format_rub(D("-1234.50")) == f"\u22121{NBSP}234,50{NBSP}₽"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (D("0"), "0,00 ₽"),
        (D("999"), "999,00 ₽"),
        (D("1000"), "1 000,00 ₽"),
        (D("1234567.89"), "1 234 567,89 ₽"),
        (D("999999999999.99"), "999 999 999 999,99 ₽"),
        (D("0.005"), "0,01 ₽"),
        (D("-0.001"), "0,00 ₽"),
    ],
)
def test_format_rub_groups_thousands(amount, expected):
    assert format_rub(amount) == expected.replace(" ", NBSP)


@pytest.mark.parametrize(
    ("money", "expected"),
    [
        (Money.of("1234.5", "USD"), "1 234,50 $"),
        (Money.of("1234.5", "EUR"), "1 234,50 €"),
        (Money.of("1234.5", "CNY"), "1 234,50 CNY"),
        (Money.of("-5", "RUB"), "\u22125,00 ₽"),
    ],
)
def test_format_money_puts_the_currency_sign_after_the_amount(money, expected):
    assert format_money(money) == expected.replace(" ", NBSP)
    assert str(money) == expected.replace(" ", NBSP)


def test_format_rub_refuses_floats():
    with pytest.raises(TypeError):
        format_rub(1234.5)


# --- plural_ru --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "рублей"),
        (1, "рубль"),
        (2, "рубля"),
        (4, "рубля"),
        (5, "рублей"),
        (11, "рублей"),
        (12, "рублей"),
        (14, "рублей"),
        (21, "рубль"),
        (22, "рубля"),
        (25, "рублей"),
        (101, "рубль"),
        (111, "рублей"),
        (112, "рублей"),
        (1000, "рублей"),
        (2000, "рублей"),
        (5000, "рублей"),
        (1_000_000, "рублей"),
        (1_000_001, "рубль"),
        (-21, "рубль"),
    ],
)
def test_plural_ru_picks_the_form_by_the_last_digits(n, expected):
    assert plural_ru(n, "рубль", "рубля", "рублей") == expected


# --- amount in words --------------------------------------------------------------------------


def test_amount_in_words_the_issue_example():
    assert amount_in_words(D("1234.50")) == "Одна тысяча двести тридцать четыре рубля 50 копеек"


def test_amount_in_words_zero():
    assert amount_in_words(D("0")) == "Ноль рублей 00 копеек"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (1, "Один рубль 00 копеек"),
        (2, "Два рубля 00 копеек"),
        (5, "Пять рублей 00 копеек"),
        (11, "Одиннадцать рублей 00 копеек"),
        (21, "Двадцать один рубль 00 копеек"),
        (22, "Двадцать два рубля 00 копеек"),
        (25, "Двадцать пять рублей 00 копеек"),
        (111, "Сто одиннадцать рублей 00 копеек"),
        (1000, "Одна тысяча рублей 00 копеек"),
        (2000, "Две тысячи рублей 00 копеек"),
        (5000, "Пять тысяч рублей 00 копеек"),
        (21_000, "Двадцать одна тысяча рублей 00 копеек"),
        (1_000_000, "Один миллион рублей 00 копеек"),
        (2_001_002, "Два миллиона одна тысяча два рубля 00 копеек"),
        (1_000_000_000, "Один миллиард рублей 00 копеек"),
        (
            D("999999999999.99"),
            "Девятьсот девяносто девять миллиардов девятьсот девяносто девять миллионов "
            "девятьсот девяносто девять тысяч девятьсот девяносто девять рублей 99 копеек",
        ),
    ],
)
def test_amount_in_words_roubles_plural_and_feminine_thousands(amount, expected):
    assert amount_in_words(D(amount)) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.01", "Ноль рублей 01 копейка"),
        ("0.02", "Ноль рублей 02 копейки"),
        ("0.05", "Ноль рублей 05 копеек"),
        ("0.11", "Ноль рублей 11 копеек"),
        ("0.21", "Ноль рублей 21 копейка"),
        ("1.5", "Один рубль 50 копеек"),
    ],
)
def test_amount_in_words_kopecks_as_two_digits_with_plural(amount, expected):
    assert amount_in_words(D(amount)) == expected


def test_amount_in_words_refuses_negative_amounts():
    with pytest.raises(ValueError, match="negative"):
        amount_in_words(D("-1.00"))


def test_amount_in_words_refuses_a_fraction_of_a_kopeck():
    with pytest.raises(ValueError, match="kopecks"):
        amount_in_words(D("1.005"))


def test_amount_in_words_refuses_floats():
    with pytest.raises(TypeError):
        amount_in_words(1234.5)


UNITS = {
    "ноль": 0, "один": 1, "одна": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5,
    "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "одиннадцать": 11,
    "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14, "пятнадцать": 15,
    "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18, "девятнадцать": 19,
    "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60,
    "семьдесят": 70, "восемьдесят": 80, "девяносто": 90, "сто": 100, "двести": 200,
    "триста": 300, "четыреста": 400, "пятьсот": 500, "шестьсот": 600, "семьсот": 700,
    "восемьсот": 800, "девятьсот": 900,
}  # fmt: skip
SCALES = {  # form for 1, for 2–4, for 5–20; the grammatical gender of the scale word
    1_000: (("тысяча", "тысячи", "тысяч"), "f"),
    1_000_000: (("миллион", "миллиона", "миллионов"), "m"),
    1_000_000_000: (("миллиард", "миллиарда", "миллиардов"), "m"),
}
FEMININE = {"одна", "две"}
MASCULINE = {"один", "два"}


def expected_form(n, one, few, many):
    """Russian plural agreement, written from the grammar (teens first, then the last digit)."""
    if 11 <= n % 100 <= 14:
        return many
    return {1: one, 2: few, 3: few, 4: few}.get(n % 10, many)


def read_rouble_words(words):
    """The integer spelled by ``words``, checking the gender and form of every scale word."""
    total, group, previous = 0, 0, None
    for word in words.split():
        scale = next((s for s, (forms_, _) in SCALES.items() if word in forms_), None)
        if scale is None:
            group += UNITS[word]
            previous = word
            continue
        forms_, gender = SCALES[scale]
        assert word == expected_form(group or 1, *forms_), words
        if previous in FEMININE | MASCULINE:
            assert previous in (FEMININE if gender == "f" else MASCULINE), words
        total += (group or 1) * scale
        group, previous = 0, None
    if previous in FEMININE:
        raise AssertionError(f"roubles are masculine: {words}")
    return total + group


@given(amount=non_negative_amounts)
def test_amount_in_words_reads_back_as_the_amount(amount):
    # given any amount, when written in words, then the words read back as the same roubles,
    # the kopecks are the amount's cents, and both nouns agree with their numbers
    text = amount_in_words(amount)
    roubles = int(amount)
    cents = int((amount - roubles) * 100)
    *number_words, rouble_word, kopeck_digits, kopeck_word = text.split()
    assert text[0].isupper()
    assert read_rouble_words(" ".join(number_words).lower()) == roubles
    assert rouble_word == expected_form(roubles, "рубль", "рубля", "рублей")
    assert kopeck_digits == f"{cents:02d}"
    assert kopeck_word == expected_form(cents, "копейка", "копейки", "копеек")


# --- MoneyField -------------------------------------------------------------------------------


def test_money_field_defaults_to_14_digits_and_2_places():
    field = MoneyField()
    assert (field.max_digits, field.decimal_places) == (14, 2)


def test_money_field_refuses_other_decimal_places():
    with pytest.raises(ValueError):
        MoneyField(decimal_places=3)


@pytest.mark.parametrize(
    "call",
    [
        lambda field: field.clean(1234.5, None),
        lambda field: field.to_python(1234.5),
        lambda field: field.get_prep_value(1234.5),
    ],
)
def test_money_field_refuses_floats(call):
    with pytest.raises(ValidationError) as raised:
        call(MoneyField())
    assert raised.value.code == "float_refused"


@pytest.mark.parametrize(
    "call",
    [
        lambda field: field.clean("1234.505", None),
        lambda field: field.to_python(D("0.001")),
        lambda field: field.get_prep_value(D("1.005")),
    ],
)
def test_money_field_refuses_more_than_two_decimals(call):
    with pytest.raises(ValidationError) as raised:
        call(MoneyField())
    assert raised.value.code == "too_many_decimals"
    assert raised.value.messages == [TOO_MANY_DECIMALS_TEXT]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1234.5", "1234.50"), (D("1.500"), "1.50"), (1234, "1234.00"), ("-0", "0.00")],
)
def test_money_field_accepts_strings_ints_and_trailing_zeros(value, expected):
    assert str(MoneyField().clean(value, None)) == expected


def test_money_field_refuses_more_than_14_digits():
    with pytest.raises(ValidationError) as raised:
        MoneyField().clean("1234567890123.00", None)
    assert raised.value.error_list[0].code in {"max_digits", "max_whole_digits"}


def test_money_field_keeps_none_for_nullable_columns():
    assert MoneyField(null=True).to_python(None) is None


def test_money_field_form_field_is_the_money_form_field():
    form_field = MoneyField().formfield()
    assert isinstance(form_field, MoneyFormField)
    assert form_field.clean("1 234,50") == D("1234.50")


@pytest.mark.django_db
def test_money_field_sends_two_places_to_the_database():
    # given an amount typed with one decimal, when prepared for saving, then it has two places
    prepared = MoneyField().get_db_prep_save(D("1234.5"), connection)
    assert str(prepared) == "1234.50"


@pytest.mark.django_db
def test_money_field_refuses_a_float_in_a_query():
    ContentType.objects.get_or_create(app_label="money_test", model="row")
    query = ContentType.objects.annotate(amount=Value(1234.5, output_field=MoneyField()))
    with pytest.raises(ValidationError) as raised:
        list(query)
    assert raised.value.code == "float_refused"


@pytest.mark.django_db
def test_money_field_refuses_a_fraction_of_a_kopeck_in_a_filter():
    query = ContentType.objects.annotate(amount=Value(D("5.00"), output_field=MoneyField()))
    with pytest.raises(ValidationError) as raised:
        list(query.filter(amount=D("5.005")))
    assert raised.value.code == "too_many_decimals"


# --- CurrencyField ----------------------------------------------------------------------------


def test_currency_field_defaults_to_rub_with_three_letters():
    field = CurrencyField()
    assert field.get_default() == "RUB"
    assert field.max_length == 3
    assert [code for code, _label in field.choices] == ["RUB", "USD", "EUR"]


def test_currency_field_refuses_an_unknown_currency():
    with pytest.raises(ValidationError) as raised:
        CurrencyField().clean("XYZ", None)
    assert raised.value.code == "invalid_choice"


def test_currency_choices_are_iso_codes():
    assert Currency.USD == "USD"


# --- MoneyFormField ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1234,50", "1234.50"),
        ("1 234.50", "1234.50"),
        ("1 234,50", "1234.50"),
        (f"1{NBSP}234,50", "1234.50"),
        ("1\u202f234,5", "1234.50"),
        ("\u221210,5", "-10.50"),
        (" 1234 ", "1234.00"),
        ("1,500", "1.50"),
    ],
)
def test_money_form_field_reads_russian_and_plain_input(typed, expected):
    assert str(MoneyFormField().clean(typed)) == expected


def test_money_form_field_refuses_more_than_two_decimals_naming_the_rule():
    with pytest.raises(ValidationError) as raised:
        MoneyFormField().clean("1 234,505")
    assert raised.value.code == "too_many_decimals"
    assert raised.value.messages == [TOO_MANY_DECIMALS_TEXT]


@pytest.mark.parametrize("typed", ["1,234.50", "abc", "12,3,4", "NaN", "Infinity"])
def test_money_form_field_refuses_what_is_not_an_amount(typed):
    with pytest.raises(ValidationError) as raised:
        MoneyFormField().clean(typed)
    assert raised.value.code == "invalid"


def test_money_form_field_refuses_floats():
    with pytest.raises(ValidationError) as raised:
        MoneyFormField().clean(1234.5)
    assert raised.value.code == "float_refused"


def test_money_form_field_renders_a_text_input_for_the_decimal_comma():
    class PaymentForm(forms.Form):
        amount = MoneyFormField()

    html = str(PaymentForm(initial={"amount": D("1234.50")})["amount"])
    assert 'type="text"' in html
    assert 'inputmode="decimal"' in html
    assert 'value="1234,50"' in html


def test_money_form_field_in_a_bound_form():
    class PaymentForm(forms.Form):
        amount = MoneyFormField()

    form = PaymentForm(data={"amount": "1 234,50"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == D("1234.50")


# --- MoneySerializerField ---------------------------------------------------------------------


class PaymentSerializer(serializers.Serializer):
    amount = MoneySerializerField()


def parse_json(body: bytes):
    return JSONParser().parse(io.BytesIO(body))


def test_money_serializer_field_refuses_a_json_float():
    # given a JSON body with a fractional number, when validated, then it is refused
    serializer = PaymentSerializer(data=parse_json(b'{"amount": 1234.5}'))
    assert not serializer.is_valid()
    assert serializer.errors["amount"][0].code == "float_refused"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"amount": "1234.50"}', D("1234.50")),
        (b'{"amount": "1234.5"}', D("1234.50")),
        (b'{"amount": "1.500"}', D("1.50")),
        (b'{"amount": 1234}', D("1234.00")),
        (b'{"amount": "-0"}', D("0.00")),
    ],
)
def test_money_serializer_field_accepts_json_strings_and_integers(body, expected):
    serializer = PaymentSerializer(data=parse_json(body))
    assert serializer.is_valid(), serializer.errors
    assert str(serializer.validated_data["amount"]) == str(expected)


def test_money_serializer_field_refuses_more_than_two_decimals():
    serializer = PaymentSerializer(data=parse_json(b'{"amount": "1234.505"}'))
    assert not serializer.is_valid()
    assert serializer.errors["amount"][0].code == "too_many_decimals"
    assert str(serializer.errors["amount"][0]) == TOO_MANY_DECIMALS_TEXT


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"amount": true}', "invalid"),
        (b'{"amount": "abc"}', "invalid"),
        (b'{"amount": "NaN"}', "invalid"),
        (b'{"amount": "1e40"}', "max_digits"),
    ],
)
def test_money_serializer_field_refuses_what_is_not_an_amount(body, code):
    serializer = PaymentSerializer(data=parse_json(body))
    assert not serializer.is_valid()
    assert serializer.errors["amount"][0].code == code


def test_money_serializer_field_writes_a_string_with_two_places():
    assert PaymentSerializer({"amount": D("1234.5")}).data == {"amount": "1234.50"}
