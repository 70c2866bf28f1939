"""Pure rules of closing documents: the VAT rate by date, the VAT inside an amount, numbers.

No ORM here, so the rules are tested as plain functions (house rule 3).

* VAT rates (ставка НДС) are a small dated table: 18 % from 2004, 20 % from 2019-01-01
  (Federal Law 303-FZ), 22 % from 2026-01-01 (Federal Law 425-FZ). A document takes the rate in
  force on its date.
* A payout to a VAT payer is the reward *including* VAT: the VAT is taken out of the amount
  (``amount * rate / (100 + rate)``, rounded half up to kopecks), and the amount without VAT is
  the rest, so the two always add up to the amount exactly.
* Document numbers: a separate gapless series per vendor, kind and calendar year, shown as
  ``А-2026-00001`` (act, Cyrillic "А") and ``СФ-2026-00001`` (invoice).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from partnerhub.core.money import quantize

__all__ = [
    "ACT",
    "INVOICE",
    "NUMBER_PREFIXES",
    "VAT_RATES",
    "VatSplit",
    "document_number",
    "vat_rate_on",
    "vat_split",
]

ACT: Final = "act"
INVOICE: Final = "invoice"

#: (in force from, rate in per cent), oldest first.
VAT_RATES: Final[tuple[tuple[dt.date, Decimal], ...]] = (
    (dt.date(2004, 1, 1), Decimal("18")),
    (dt.date(2019, 1, 1), Decimal("20")),
    (dt.date(2026, 1, 1), Decimal("22")),
)

NUMBER_PREFIXES: Final = {ACT: "А", INVOICE: "СФ"}
SEQUENCE_DIGITS: Final = 5


def vat_rate_on(day: dt.date) -> Decimal:
    """The general VAT rate in force on ``day``: 20 on 2025-12-31, 22 on 2026-01-01."""
    rate: Decimal | None = None
    for since, value in VAT_RATES:
        if day >= since:
            rate = value
    if rate is None:
        raise ValueError(f"No VAT rate is known for {day.isoformat()}.")
    return rate


@dataclass(frozen=True)
class VatSplit:
    """An amount with VAT split into the VAT and the amount without it (None rate: no VAT)."""

    amount: Decimal
    rate: Decimal | None
    vat: Decimal
    without_vat: Decimal


def vat_split(amount: Decimal, *, vat_payer: bool, on: dt.date) -> VatSplit:
    """The VAT inside ``amount`` for a seller who pays VAT, by the rate of ``on``; for one who
    does not, no rate and a zero VAT. 6,000.00 at 22 % → VAT 1,081.97, without VAT 4,918.03."""
    total = quantize(amount)
    if total < 0:
        raise ValueError("A closing document never states a negative amount.")
    if not vat_payer:
        return VatSplit(amount=total, rate=None, vat=Decimal("0.00"), without_vat=total)
    rate = vat_rate_on(on)
    vat = quantize(total * rate / (Decimal(100) + rate))
    return VatSplit(amount=total, rate=rate, vat=vat, without_vat=total - vat)


def document_number(kind: str, year: int, sequence: int) -> str:
    """The number people read: ``document_number("act", 2026, 1)`` → "А-2026-00001"."""
    if sequence < 1:
        raise ValueError("Document sequences start at 1.")
    return f"{NUMBER_PREFIXES[kind]}-{year}-{sequence:0{SEQUENCE_DIGITS}d}"
