"""Errors of closing documents; their codes are ``documents.error_codes``, messages are for people,
in Russian."""

from __future__ import annotations

from partnerhub.core.errors import Conflict
from partnerhub.documents.error_codes import DocumentsErrorCode


class DocumentNotReady(Conflict):
    """The PDF of a document is not there yet (being prepared) or its render failed."""

    code = DocumentsErrorCode.DOCUMENT_NOT_READY


class RenderRetryRefused(Conflict):
    """A render is retried only for a document whose render failed."""

    code = DocumentsErrorCode.DOCUMENT_RENDER_RETRY_REFUSED
