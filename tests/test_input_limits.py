"""Dates and amounts in the page forms and services beyond deals (issue 14, break 5): a date at
year 1 is a form error, not a 500; an amount is range-checked before it is quantized."""

from __future__ import annotations

from decimal import Decimal

import pytest

from partnerhub.payouts import services as payouts
from partnerhub.payouts.errors import ConversionRefused
from tests.payouts.factories import partner_ready

YEAR_ERROR = "Год должен быть от 2000 до 2100."


@pytest.mark.parametrize(
    "url",
    [
        "/backoffice/audit/?date_from=0001-01-01",  # was a 500: OverflowError making it aware
        "/backoffice/audit/?date_to=2101-01-01",
        "/backoffice/leads/report/?from=0001-01-01&to=0001-01-02",
    ],
)
def test_a_filter_date_outside_the_years_is_a_form_error(world, login_as, url):
    response = login_as("vendor:administrator").get(url)
    assert response.status_code < 500
    assert YEAR_ERROR in response.content.decode()


@pytest.mark.parametrize("amount", [Decimal("1e30"), Decimal("-1e30"), Decimal("1e1000")])
def test_a_huge_conversion_amount_is_refused_naming_amount(world, amount):
    setup = partner_ready(world)
    with pytest.raises(ConversionRefused) as refused:
        payouts.payout_convert(organisation=setup.organisation, amount=amount, idempotency_key="k")
    assert list(refused.value.fields) == ["amount"]
