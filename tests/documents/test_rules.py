"""VAT by date, the VAT inside an amount and document numbers (pure rules)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerhub.core.money import quantize
from partnerhub.documents.rendering import format_amount, long_date
from partnerhub.documents.rules import document_number, vat_rate_on, vat_split


def test_vat_is_20_percent_on_the_last_day_of_2025():
    assert vat_rate_on(dt.date(2025, 12, 31)) == Decimal("20")


def test_vat_is_22_percent_from_the_first_day_of_2026():
    assert vat_rate_on(dt.date(2026, 1, 1)) == Decimal("22")


def test_vat_was_18_percent_before_2019():
    assert vat_rate_on(dt.date(2018, 12, 31)) == Decimal("18")
    assert vat_rate_on(dt.date(2019, 1, 1)) == Decimal("20")


def test_a_date_before_the_table_has_no_rate():
    with pytest.raises(ValueError, match="No VAT rate"):
        vat_rate_on(dt.date(2003, 12, 31))


def test_vat_is_taken_out_of_6000_at_22_percent():
    split = vat_split(Decimal("6000"), vat_payer=True, on=dt.date(2026, 3, 2))
    assert (split.rate, split.vat, split.without_vat) == (
        Decimal("22"),
        Decimal("1081.97"),
        Decimal("4918.03"),
    )


def test_vat_is_taken_out_of_6000_at_20_percent_in_2025():
    split = vat_split(Decimal("6000"), vat_payer=True, on=dt.date(2025, 12, 31))
    assert (split.rate, split.vat, split.without_vat) == (
        Decimal("20"),
        Decimal("1000.00"),
        Decimal("5000.00"),
    )


def test_a_seller_without_vat_has_no_rate_and_no_vat():
    split = vat_split(Decimal("5000"), vat_payer=False, on=dt.date(2026, 3, 2))
    assert (split.rate, split.vat, split.without_vat) == (None, Decimal("0.00"), Decimal("5000.00"))


@given(
    kopecks=st.integers(min_value=1, max_value=10**12),
    day=st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2030, 12, 31)),
)
def test_vat_and_the_amount_without_it_add_up_to_the_amount(kopecks, day):
    amount = Decimal(kopecks).scaleb(-2)
    split = vat_split(amount, vat_payer=True, on=day)
    assert split.vat + split.without_vat == split.amount == amount
    rate = vat_rate_on(day)
    assert split.vat == quantize(amount * rate / (100 + rate))


def test_act_numbers_read_a_year_and_five_digits():
    assert document_number("act", 2026, 1) == "А-2026-00001"


def test_invoice_numbers_have_their_own_prefix():
    assert document_number("invoice", 2027, 42) == "СФ-2027-00042"


def test_a_sequence_starts_at_one():
    with pytest.raises(ValueError):
        document_number("act", 2026, 0)


def test_documents_write_dates_with_the_month_in_the_genitive():
    assert long_date(dt.date(2026, 3, 2)) == "2\u00a0марта 2026\u00a0г."


def test_table_amounts_have_grouped_digits_and_a_decimal_comma():
    assert format_amount(Decimal("1234567.5")) == "1\u00a0234\u00a0567,50"
