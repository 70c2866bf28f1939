"""Payment register formats for the bank: CSV and 1CClientBankExchange (issue 6, part 7).

Pure functions of plain data (no ORM): ``client_bank_exchange`` writes the text exchange format
of 1C:Enterprise with client-bank systems, version 1.03 (windows-1251, CRLF line ends, one
``СекцияДокумент=Платежное поручение`` per payment), and ``register_csv`` the same payments as a
semicolon-separated UTF-8 table with a BOM (how spreadsheet programs in Russian locales open CSV),
written by the shared ``core.exports`` writer (text cells that a spreadsheet would read as a
formula are neutralised; the 1C exchange file is not a spreadsheet and keeps its exact text).
Written here: the formats are a few dozen lines and no maintained Python library writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from partnerhub.core import exports

ENCODING = "cp1251"
CRLF = "\r\n"
FORMAT_VERSION = "1.03"
SENDER = "partnerhub"


@dataclass(frozen=True)
class Party:
    """Requisites of a payer or a recipient."""

    name: str
    inn: str
    kpp: str
    account: str
    bank_name: str
    bik: str
    correspondent_account: str


@dataclass(frozen=True)
class PaymentOrder:
    """One payment order (платёжное поручение)."""

    number: str
    date: dt.date
    amount: Decimal
    payer: Party
    recipient: Party
    purpose: str


@dataclass(frozen=True)
class Register:
    """What a register file holds: the payer's account, the period and the orders."""

    payer: Party
    created_at: dt.datetime
    start: dt.date
    end: dt.date
    orders: Sequence[PaymentOrder]
    receiver: str = ""


def amount_text(amount: Decimal) -> str:
    """An amount as the format wants it: a point and two decimals, no grouping ("6000.00")."""
    return f"{amount.quantize(Decimal('0.01')):f}"


def purpose_text(
    *, act_number: str, act_date: dt.date, vat_rate: Decimal | None, vat_amount: Decimal | None
) -> str:
    """The purpose of a payout's payment: the act it pays and its VAT."""
    base = f"Выплата вознаграждения по акту № {act_number} от {act_date:%d.%m.%Y}."
    if not vat_amount:
        return f"{base} НДС не облагается"
    rate = vat_rate if vat_rate is not None else Decimal(0)
    if rate < 1:  # a fraction (0.22) rather than percent (22)
        rate *= 100
    rate_text = f"{rate.normalize():f}"
    return f"{base} В т.ч. НДС {rate_text}% - {amount_text(vat_amount)} руб."


def _clean(value: str) -> str:
    """One line of text: no line breaks and no characters windows-1251 cannot hold."""
    flat = " ".join(str(value).split())
    return flat.encode(ENCODING, errors="replace").decode(ENCODING)


def _party_lines(prefix: str, party: Party) -> list[tuple[str, str]]:
    return [
        (f"{prefix}Счет", party.account),
        (prefix, party.name),
        (f"{prefix}ИНН", party.inn),
        (f"{prefix}КПП", party.kpp),
        (f"{prefix}Банк1", party.bank_name),
        (f"{prefix}БИК", party.bik),
        (f"{prefix}Корсчет", party.correspondent_account),
    ]


def client_bank_exchange(register: Register) -> bytes:
    """The register as a 1CClientBankExchange file: windows-1251 bytes, CRLF line ends."""
    lines: list[tuple[str, str] | str] = [
        "1CClientBankExchange",
        ("ВерсияФормата", FORMAT_VERSION),
        ("Кодировка", "Windows"),
        ("Отправитель", SENDER),
        ("Получатель", register.receiver),
        ("ДатаСоздания", f"{register.created_at:%d.%m.%Y}"),
        ("ВремяСоздания", f"{register.created_at:%H:%M:%S}"),
        ("ДатаНачала", f"{register.start:%d.%m.%Y}"),
        ("ДатаКонца", f"{register.end:%d.%m.%Y}"),
        ("РасчСчет", register.payer.account),
        ("Документ", "Платежное поручение"),
    ]
    for order in register.orders:
        lines += [
            ("СекцияДокумент", "Платежное поручение"),
            ("Номер", order.number),
            ("Дата", f"{order.date:%d.%m.%Y}"),
            ("Сумма", amount_text(order.amount)),
            *_party_lines("Плательщик", order.payer),
            *_party_lines("Получатель", order.recipient),
            ("ВидОплаты", "01"),
            ("Очередность", "5"),
            ("НазначениеПлатежа", order.purpose),
            "КонецДокумента",
        ]
    lines.append("КонецФайла")
    text = "".join(
        (line if isinstance(line, str) else f"{line[0]}={_clean(line[1])}") + CRLF for line in lines
    )
    return text.encode(ENCODING)


CSV_HEADER = (
    "Номер",
    "Дата",
    "Сумма",
    "Получатель",
    "ИНН",
    "КПП",
    "Счёт",
    "Банк",
    "БИК",
    "Корсчёт",
    "Назначение платежа",
)


def register_csv(register: Register) -> bytes:
    """The register as CSV: UTF-8 with a BOM, semicolons, a decimal comma, CRLF; the amount a
    number, every text cell safe for spreadsheets (``core.exports``)."""
    rows: list[Sequence[object]] = [CSV_HEADER]
    for order in register.orders:
        r = order.recipient
        rows.append(
            (
                order.number,
                order.date,
                order.amount.quantize(Decimal("0.01")),
                r.name,
                r.inn,
                r.kpp,
                r.account,
                r.bank_name,
                r.bik,
                r.correspondent_account,
                order.purpose,
            )
        )
    return exports.csv_bytes(rows, delimiter=";", decimal_comma=True, date_format="%d.%m.%Y")
