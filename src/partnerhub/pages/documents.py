"""Closing-document page helpers: the list filters and the PDF download (cabinet and back
office)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from partnerhub.documents.models import DocumentKind


def year_filter(request: HttpRequest) -> int | None:
    """The ``?year=`` filter, or None when absent or not a year."""
    raw = request.GET.get("year", "").strip()
    # four ASCII digits: int() of 5,000 digits or of "²" (isdigit) raises
    if len(raw) != 4 or not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw) if 2000 <= int(raw) <= 2100 else None


def kind_filter(request: HttpRequest) -> str:
    """The ``?kind=`` filter ("act", "invoice"), or "" for both."""
    raw = request.GET.get("kind", "").strip()
    return raw if raw in DocumentKind.values else ""


def pdf_response(document_pdf: bytes, filename: str) -> HttpResponse:
    """A PDF as a download (the file name is the document's number, no personal data)."""
    response = HttpResponse(document_pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def pdf_filename(number: str, kind: str) -> str:
    """ "act-A-2026-00001.pdf": ASCII, so that every browser keeps it."""
    ascii_number = number.replace("А", "A").replace("СФ", "SF")
    return f"{kind}-{ascii_number}.pdf"
