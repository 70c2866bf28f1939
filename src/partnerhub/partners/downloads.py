"""The one way a counterparty document leaves storage: as an attachment under its original name
with the content type sniffed at upload (never through a public media URL). Callers check access
by fetching the document through a scoped selector first."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse

from partnerhub.partners.models import CounterpartyDocument


def counterparty_document_response(document: CounterpartyDocument) -> FileResponse:
    """The stored file of ``document`` as a download."""
    handle = default_storage.open(str(document.file.name), "rb")
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response
