"""What an uploaded counterparty document really is: PDF, JPEG or PNG, decided by its bytes.

Spec partners-and-contracts, "Contract" step 1 (copies of documents for the counterparty check).
The type comes from the file's first bytes, never from its name or the browser's content type;
the name's extension must then agree with it (a PDF named ``scan.png`` is refused), images must
decode (Pillow reads the header and checks the structure) and a PDF must end with its ``%%EOF``
marker. Executables, scripts and archives fail the signature check; empty and oversized files are
refused before anything is read in full; an image whose declared size is over Pillow's
decompression-bomb limit is refused without being decoded.

Written here rather than with python-magic: libmagic is a system library we would have to ship,
and three signatures plus Pillow's check are all the rule needs.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from partnerhub.core.errors import ValidationFailed

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"

#: content type -> (leading bytes, extensions a name may have, stored extension)
SIGNATURES: dict[str, tuple[bytes, frozenset[str], str]] = {
    PDF: (b"%PDF-", frozenset({"pdf"}), "pdf"),
    JPEG: (b"\xff\xd8\xff", frozenset({"jpg", "jpeg"}), "jpg"),
    PNG: (b"\x89PNG\r\n\x1a\n", frozenset({"png"}), "png"),
}

#: Signatures of things people try to pass off as documents, for a precise message.
KNOWN_REFUSED: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "exe"),
    (b"\x7fELF", "exe"),
    (b"\xcf\xfa\xed\xfe", "exe"),
    (b"#!", "script"),
    (b"PK\x03\x04", "archive"),
    (b"Rar!", "archive"),
    (b"7z\xbc\xaf\x27\x1c", "archive"),
    (b"\x1f\x8b", "archive"),
)

#: Editors' formats (mostly ZIP or OLE inside): people are told to save them as PDF.
OFFICE_EXTENSIONS = frozenset({"doc", "docx", "xls", "xlsx", "odt", "ods", "rtf"})

_PDF_TAIL = 2048


@dataclass(frozen=True)
class SniffedFile:
    """An accepted upload: its bytes, type by content, the extension to store it under."""

    content: bytes
    content_type: str
    extension: str
    original_name: str
    size: int
    sha256: str


def _refuse(field: str, message: str | Promise) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


def _extension(name: str) -> str:
    suffix = PurePath(name).suffix
    return suffix[1:].lower() if suffix else ""


def _type_of(head: bytes) -> str | None:
    for content_type, (magic, _exts, _stored) in SIGNATURES.items():
        if head.startswith(magic):
            return content_type
    return None


def _refused_kind(head: bytes) -> str | None:
    for magic, kind in KNOWN_REFUSED:
        if head.startswith(magic):
            return kind
    return None


def _image_problem(content: bytes) -> str | None:
    """None for an image that decodes; "bomb" for one whose pixel count is over Pillow's
    decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``: a few hundred KB of PNG can declare
    40000×40000 pixels, gigabytes once decoded); "broken" for anything else."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
                return "bomb"
            image.verify()
    except Image.DecompressionBombError:
        return "bomb"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return "broken"
    return None


def clean_name(name: str) -> str:
    """The original name as we keep it: the last path part, no control characters, ≤255."""
    base = PurePath(str(name).replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[-255:] or "document"


def sniff(upload: IO[bytes] | None, *, name: str, field: str = "file") -> SniffedFile:
    """Check an uploaded file and return what it is, or raise ``ValidationFailed`` naming
    ``field``: nothing sent, empty, over ``COUNTERPARTY_DOCUMENT_MAX_BYTES``, not a PDF/JPEG/PNG
    by content, a name whose extension disagrees with the content, a broken image or PDF."""
    limit = settings.COUNTERPARTY_DOCUMENT_MAX_BYTES
    if upload is None:
        raise _refuse(field, _("Выберите файл."))
    declared_size = getattr(upload, "size", None)
    if declared_size is not None and declared_size > limit:
        raise _refuse(field, _too_big(limit))
    if hasattr(upload, "seek"):
        upload.seek(0)
    content = upload.read(limit + 1)
    if not content:
        raise _refuse(field, _("Файл пустой."))
    if len(content) > limit:
        raise _refuse(field, _too_big(limit))
    content_type = _type_of(content[:16])
    if content_type is None:
        refused = _refused_kind(content[:16])
        if _extension(clean_name(name)) in OFFICE_EXTENSIONS:
            refused = "office"
        messages = {
            "exe": _("Исполняемые файлы не принимаются: загрузите PDF, JPEG или PNG."),
            "script": _("Скрипты не принимаются: загрузите PDF, JPEG или PNG."),
            "archive": _("Архивы не принимаются: загрузите каждый документ PDF, JPEG или PNG."),
            "office": _("Файлы Word, Excel и других редакторов не принимаются: сохраните как PDF."),
        }
        raise _refuse(
            field,
            messages.get(refused or "", _("Файл не PDF, JPEG или PNG: загрузите скан документа.")),
        )
    _magic, extensions, stored = SIGNATURES[content_type]
    original = clean_name(name)
    if _extension(original) not in extensions:
        raise _refuse(
            field,
            _("Расширение имени «%(name)s» не совпадает с содержимым файла (%(kind)s).")
            % {"name": original, "kind": stored.upper()},
        )
    if content_type == PDF:
        if b"%%EOF" not in content[-_PDF_TAIL:]:
            raise _refuse(field, _("PDF-файл повреждён или загружен не полностью."))
    else:
        problem = _image_problem(content)
        if problem == "bomb":
            raise _refuse(
                field,
                str(
                    _(
                        "Изображение слишком большое: больше %(limit)s млн точек. "
                        "Отсканируйте документ с меньшим разрешением или загрузите PDF."
                    )
                )
                % {"limit": (Image.MAX_IMAGE_PIXELS or 0) // 1_000_000},
            )
        if problem is not None:
            raise _refuse(field, _("Изображение повреждено или загружено не полностью."))
    return SniffedFile(
        content=content,
        content_type=content_type,
        extension=stored,
        original_name=original,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _too_big(limit: int) -> str:
    return str(_("Файл больше допустимых %(limit)s.")) % {"limit": filesizeformat(limit)}
