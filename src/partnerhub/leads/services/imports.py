"""Import of leads from a CSV or XLSX file in the back office (issue 7, part 2; spec leads.md,
"Leads come from ... a file import").

``leads_import`` reads a file with a header row (Russian or English column names), turns every
row into the arguments of ``services.lead_create(source="import")`` and stores the good rows; each
bad row is listed with its row number (as a spreadsheet shows it: the header is row 1), the field
and the message. One transaction for the file with a savepoint per row, so a bad row rolls back
only itself. The file as a whole is refused, with nothing stored, when it is too big
(``settings.LEAD_IMPORT_MAX_BYTES``), has too many rows (``settings.LEAD_IMPORT_MAX_ROWS``), is not
a CSV or XLSX file (the content is sniffed, the name is not trusted), or lacks a required column.

CSV: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text") or windows-1251; the
delimiter (``;``, ``,`` or tab) is the one the header line uses most. XLSX: the first sheet, read
with openpyxl in read-only mode. Written here: the mapping of column names and of labels to codes
is ours, and no import library fits the per-row service call.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

import partnerhub.leads.services as services
from partnerhub.core import audit
from partnerhub.core.errors import ApplicationError, ValidationFailed
from partnerhub.leads.error_codes import LeadsErrorCode
from partnerhub.leads.models import CompanySize, Lead, LeadSource, Need, Region
from partnerhub.partners.models import Program

__all__ = ["COLUMNS", "ImportRefused", "ImportReport", "RowError", "leads_import"]


class ImportRefused(ValidationFailed):
    """The file as a whole cannot be imported; nothing was stored. ``fields`` has "file"."""

    code = LeadsErrorCode.IMPORT_REFUSED


@dataclass(frozen=True)
class RowError:
    """One problem of one row: ``row`` as the spreadsheet numbers it (header = 1), ``field`` the
    lead's field ("" for the row as a whole), ``column`` the header as written in the file."""

    row: int
    field: str
    column: str
    message: str


@dataclass
class ImportReport:
    """What an import did: leads created, rows whose external id was already imported, and the
    rows refused with their errors."""

    filename: str
    rows: int = 0
    created: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    lead_ids: list[int] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def error_rows(self) -> int:
        """How many rows were refused."""
        return len({error.row for error in self.errors})


#: Lead fields the file may carry, with the column names accepted for each (compared after
#: ``_normalise_header``). The first Russian name is the one messages show.
COLUMNS: dict[str, tuple[str, ...]] = {
    "company_name": ("компания", "название компании", "организация", "company", "company_name"),
    "region": ("регион", "region"),
    "company_size": ("размер", "размер компании", "сотрудников", "company_size", "size"),
    "need": ("потребность", "что нужно", "need"),
    "description": ("описание", "описание задачи", "комментарий", "description"),
    "contact_name": (
        "контактное лицо",
        "контакт",
        "имя",
        "фио",
        "contact_name",
        "contact",
        "contact person",
    ),
    "contact_phone": ("телефон", "phone", "contact_phone"),
    "contact_email": (
        "email",
        "e-mail",
        "эл. почта",
        "электронная почта",
        "почта",
        "contact_email",
    ),
    "external_id": (
        "внешний номер",
        "номер заявки",
        "external_id",
        "external id",
        "external no.",
    ),
}
REQUIRED_COLUMNS = ("company_name", "region", "company_size", "need", "contact_name")
CONTACT_COLUMNS = ("contact_phone", "contact_email")

_ALIASES: dict[str, str] = {}  # filled below, once _normalise_header is defined
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Signatures of files people upload by mistake (checked before anything is decoded).
_BINARY_MAGIC = (
    b"%PDF",
    b"\xd0\xcf\x11\xe0",  # OLE2: .xls, .doc
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"\x1f\x8b",  # gzip
    b"Rar!",
    b"7z\xbc\xaf",
)
_ZIP_MAGIC = b"PK\x03\x04"
#: An XLSX whose parts unpack to more than this many times the upload limit is refused.
_MAX_UNPACK_RATIO = 20


def leads_import(*, program: Program, filename: str, content: bytes, by: Any) -> ImportReport:
    """Import leads into ``program`` from a CSV or XLSX file; see the module docstring.

    Raises ``ImportRefused`` (nothing stored) when the file as a whole is unfit; otherwise
    returns the report, good rows stored and bad rows listed.
    """
    rows = _read_table(filename=filename, content=content)
    header, body = _split_header(rows)
    mapping, ignored = _map_columns(header)
    numbered = [(number, row) for number, row in body if any(_text(cell) for cell in row)]
    if not numbered:
        raise _refused(_("В файле нет ни одной строки с заявкой под строкой заголовков."))
    limit = settings.LEAD_IMPORT_MAX_ROWS
    if len(numbered) > limit:
        raise _refused(
            _("В файле %(n)d строк с заявками, а за один раз можно загрузить не больше %(max)d.")
            % {"n": len(numbered), "max": limit}
        )

    report = ImportReport(filename=filename, rows=len(numbered), ignored_columns=ignored)
    regions = _region_lookup()
    seen = _already_imported(program, [_row_fields(row, mapping) for _n, row in numbered])
    with transaction.atomic():
        for number, row in numbered:
            fields = _row_fields(row, mapping)
            _import_row(program, number, fields, header, mapping, regions, seen, by, report)
        audit.record(
            action="leads.import.completed",
            obj=program,
            organisation_id=program.vendor_id,
            after={
                "filename": filename[:200],
                "rows": report.rows,
                "created": report.created,
                "duplicates": report.duplicates,
                "error_rows": report.error_rows,
            },
            actor=by,
        )
    return report


# --- one row --------------------------------------------------------------------------------


def _import_row(
    program: Program,
    number: int,
    fields: dict[str, str],
    header: list[str],
    mapping: dict[int, str],
    regions: dict[str, Region],
    seen: set[str],
    by: Any,
    report: ImportReport,
) -> None:
    """Create one lead in a savepoint; record it as created, duplicate or refused."""
    arguments: dict[str, Any] = dict(fields)
    arguments["region"] = regions.get(_key(fields.get("region", "")), fields.get("region", ""))
    arguments["company_size"] = _choice(fields.get("company_size", ""), CompanySize)
    arguments["need"] = _choice(fields.get("need", ""), Need)
    external_id = fields.get("external_id", "")
    try:
        with transaction.atomic():
            lead = services.lead_create(
                program=program, source=LeadSource.IMPORT, created_by=by, **arguments
            )
    except ValidationFailed as error:
        _add_errors(report, number, error, header, mapping)
        return
    except ApplicationError as error:
        report.errors.append(RowError(number, "", "", str(error.message)))
        return
    if external_id and external_id in seen:
        report.duplicates += 1
        return
    if external_id:
        seen.add(external_id)
    report.created += 1
    report.lead_ids.append(lead.pk)


def _add_errors(
    report: ImportReport,
    number: int,
    error: ValidationFailed,
    header: list[str],
    mapping: dict[int, str],
) -> None:
    columns = {name: header[index] for index, name in mapping.items()}
    if not error.fields:
        report.errors.append(RowError(number, "", "", str(error.message)))
    for name, messages in error.fields.items():
        column = columns.get(name, _column_title(name))
        for message in messages:
            report.errors.append(RowError(number, name, column, str(message)))


def _row_fields(row: list[Any], mapping: dict[int, str]) -> dict[str, str]:
    """The lead fields of one row, as text (absent columns are left out)."""
    return {name: _text(row[index]) if index < len(row) else "" for index, name in mapping.items()}


def _already_imported(program: Program, rows: Iterable[dict[str, str]]) -> set[str]:
    """External ids of the file that earlier imports into ``program`` already stored."""
    ids = {row.get("external_id", "") for row in rows} - {""}
    if not ids:
        return set()
    return set(
        Lead.objects.filter(
            program=program, source=LeadSource.IMPORT, external_id__in=ids
        ).values_list("external_id", flat=True)
    )


def _region_lookup() -> dict[str, Region]:
    """Active regions by code and by name (keys normalised by ``_key``)."""
    lookup: dict[str, Region] = {}
    for region in Region.objects.filter(is_active=True):
        lookup[_key(region.name)] = region
        lookup[_key(region.code)] = region
        if region.code.isdigit():
            lookup[str(int(region.code))] = region  # "7" for "07", as a spreadsheet stores it
    return lookup


def _choice(value: str, choices: Any) -> str:
    """The code of a choice given by its code or its label ("до 15 сотрудников", "CRM и
    продажи"); an unknown value is passed on for the service to name."""
    wanted = _key(value)
    for code, label in choices.choices:
        if wanted in {_key(code), _key(str(label))}:
            return str(code)
    return value


def _text(value: Any) -> str:
    """A cell as text: whole numbers without ".0" (phones and ids typed into Excel)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _key(value: str) -> str:
    return (
        _SPACES.sub(" ", value.replace("ё", "е").replace("Ё", "Е").replace("–", "-"))
        .strip()
        .lower()
    )


# --- the file -------------------------------------------------------------------------------


def _read_table(*, filename: str, content: bytes) -> list[list[Any]]:
    """Rows of the file's first sheet, or of the CSV; refuses what is neither."""
    limit = settings.LEAD_IMPORT_MAX_BYTES
    if len(content) > limit:
        raise _refused(
            _("Файл больше %(max)s МБ: разделите его на части.")
            % {"max": f"{limit / 1024 / 1024:g}"}
        )
    if not content.strip():
        raise _refused(_("Файл пуст."))
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in {"csv", "txt", "xlsx"}:
        raise _refused(_("Загрузите файл CSV или XLSX."))
    if content.startswith(_ZIP_MAGIC):
        return _read_xlsx(content)
    if extension == "xlsx":
        raise _refused(
            _("Файл назван .xlsx, но это не книга Excel: сохраните его заново как XLSX.")
        )
    return _read_csv(content)


def _read_xlsx(content: bytes) -> list[list[Any]]:
    import openpyxl  # only the back office's import needs it
    from openpyxl.utils.exceptions import InvalidFileException

    not_a_workbook = _("Файл не удалось прочитать как книгу Excel (XLSX).")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _refused(not_a_workbook) from None
    if unpacked > _MAX_UNPACK_RATIO * settings.LEAD_IMPORT_MAX_BYTES:
        raise _refused(_("Книга Excel слишком велика после распаковки: разделите её на части."))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise _refused(not_a_workbook) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise _refused(not_a_workbook)
        return _bounded(list(row) for row in sheet.iter_rows(values_only=True))
    finally:
        workbook.close()


def _read_csv(content: bytes) -> list[list[Any]]:
    if any(content.startswith(magic) for magic in _BINARY_MAGIC):
        raise _refused(_("Это не CSV и не XLSX: загрузите таблицу в одном из этих форматов."))
    text = _decode(content)
    if _CONTROL.search(text):
        raise _refused(_("Это не CSV и не XLSX: загрузите таблицу в одном из этих форматов."))
    first_line = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _bounded(reader)
    except csv.Error:
        raise _refused(_("Файл CSV повреждён: проверьте кавычки в строках.")) from None


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else windows-1251."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        for encoding in ("utf-8-sig", "cp1251"):
            try:
                return content.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise _refused(_("Не удалось определить кодировку файла: сохраните его в UTF-8."))


def _bounded(rows: Iterable[list[Any]]) -> list[list[Any]]:
    """Read rows, stopping soon after the row limit (blank lines included, generously), so a huge
    file is not held in memory just to be refused."""
    ceiling = 2 * settings.LEAD_IMPORT_MAX_ROWS + 100
    result: list[list[Any]] = []
    for row in rows:
        result.append(row)
        if len(result) > ceiling:
            break
    return result


def _split_header(rows: list[list[Any]]) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """The first non-empty row is the header; the rest are numbered as a spreadsheet shows."""
    for index, row in enumerate(rows):
        if any(_text(cell) for cell in row):
            header = [_text(cell) for cell in row]
            return header, ((number + 1, rows[number]) for number in range(index + 1, len(rows)))
    raise _refused(_("Файл пуст."))


def _map_columns(header: list[str]) -> tuple[dict[int, str], list[str]]:
    """Column index -> lead field; refuses a file without the required columns or with a field
    in two columns. Returns the columns it ignores too."""
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        name = _ALIASES.get(_normalise_header(title))
        if name is None:
            if title:
                ignored.append(title)
            continue
        if name in mapping.values():
            raise _refused(
                _("Столбец «%(column)s» встречается в заголовке дважды.")
                % {"column": _column_title(name)}
            )
        mapping[index] = name
    missing = [f"«{_column_title(n)}»" for n in REQUIRED_COLUMNS if n not in mapping.values()]
    if not any(name in mapping.values() for name in CONTACT_COLUMNS):
        missing.append(_("«Телефон» или «Email»"))
    if missing:
        raise _refused(
            _("В строке заголовков нет столбцов: %(columns)s. Первая строка файла — заголовки.")
            % {"columns": ", ".join(missing)}
        )
    return mapping, ignored


def _normalise_header(title: str) -> str:
    """A header cell compared with the aliases: case, "ё", "*", "_" and ":" do not matter."""
    return _key(title.replace("*", "").replace("_", " ")).rstrip(":").strip()


_ALIASES.update(
    {_normalise_header(alias): name for name, aliases in COLUMNS.items() for alias in aliases}
)


def _column_title(name: str) -> str:
    """The Russian column name of a lead field, as messages show it."""
    titles = {
        "company_name": _("Компания"),
        "region": _("Регион"),
        "company_size": _("Размер"),
        "need": _("Потребность"),
        "description": _("Описание"),
        "contact_name": _("Контактное лицо"),
        "contact_phone": _("Телефон"),
        "contact_email": _("Email"),
        "external_id": _("Внешний номер"),
    }
    return str(titles.get(name, name))


def _refused(message: str) -> ImportRefused:
    return ImportRefused(message, fields={"file": [message]})
