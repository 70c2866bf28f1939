"""Builders of issue 6 partner data: status grants, counterparty document kinds, uploads and the
bytes of real PDF, JPEG and PNG files (and of things that only pretend to be documents)."""

from __future__ import annotations

import datetime as dt
import importlib
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from partnerhub.partners import services
from partnerhub.partners.models import (
    CounterpartyDocument,
    CounterpartyDocumentKind,
    Organisation,
    OrgKind,
    StatusGrant,
    StatusKind,
)
from tests.factories import VendorFactory

#: Codes of the kinds the data migration seeds.
FRANCHISEE = "franchisee"
CSK = "csk"
REGISTRATION = "registration-certificate"
EXTRACT = "registry-extract"
OTHER = "other"


SEED = importlib.import_module(
    "partnerhub.partners.migrations.0003_issue6_seed_status_and_document_kinds"
)


def _first_vendor() -> Organisation:
    """The vendor whose catalogue the builders use: the first one created (``world.vendor``)."""
    vendor = Organisation.objects.filter(kind=OrgKind.VENDOR).order_by("pk").first()
    return vendor if vendor is not None else VendorFactory()


def status_kind(code: str = FRANCHISEE, *, vendor: Organisation | None = None) -> StatusKind:
    """A seeded kind of ``vendor``'s catalogue (default: the first vendor's), made again if a
    transactional test flushed it."""
    names = dict(SEED.STATUS_KINDS)
    kind, _created = StatusKind.objects.get_or_create(
        vendor=vendor or _first_vendor(), code=code, defaults={"name": names[code]}
    )
    return kind


def document_kind(
    code: str = REGISTRATION, *, vendor: Organisation | None = None
) -> CounterpartyDocumentKind:
    """A seeded kind of ``vendor``'s catalogue (default: the first vendor's), made again if a
    transactional test flushed it."""
    vendor = vendor or _first_vendor()
    rows = {row[0]: row for row in SEED.DOCUMENT_KINDS}
    if code not in rows:
        return CounterpartyDocumentKind.objects.get(vendor=vendor, code=code)
    _code, name, description, applies_to, required, position = rows[code]
    kind, _created = CounterpartyDocumentKind.objects.get_or_create(
        vendor=vendor,
        code=code,
        defaults={
            "name": name,
            "description": description,
            "applies_to": applies_to,
            "required": required,
            "position": position,
        },
    )
    return kind


def grant(
    organisation: Organisation,
    *,
    code: str = FRANCHISEE,
    valid_from: dt.date = dt.date(2026, 1, 1),
    valid_until: dt.date | None = None,
    by=None,
) -> StatusGrant:
    return services.status_grant(
        organisation=organisation,
        status=status_kind(code),
        valid_from=valid_from,
        valid_until=valid_until,
        by=by,
    )


def pdf_bytes(text: str = "scan") -> bytes:
    """A small but well-formed PDF (what a scanner's "save as PDF" gives, minus the image)."""
    body = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
        + f"% {text}\n".encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    return body


def image_bytes(fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def png_bytes() -> bytes:
    return image_bytes("PNG")


def jpeg_bytes() -> bytes:
    return image_bytes("JPEG")


def upload_file(
    name: str = "svidetelstvo.pdf", content: bytes | None = None, content_type: str = ""
) -> SimpleUploadedFile:
    data = pdf_bytes() if content is None else content
    return SimpleUploadedFile(name, data, content_type=content_type or "application/octet-stream")


def upload(
    organisation: Organisation,
    *,
    code: str = REGISTRATION,
    name: str = "svidetelstvo.pdf",
    content: bytes | None = None,
    by=None,
) -> CounterpartyDocument:
    file = upload_file(name, content)
    return services.counterparty_document_upload(
        organisation=organisation, kind=document_kind(code), upload=file, name=name, by=by
    )
