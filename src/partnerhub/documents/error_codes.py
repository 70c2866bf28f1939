"""Error codes of closing documents (issue 16): stable English values of
``ApplicationError.code``; the exceptions that carry them are in ``documents.errors``."""

from __future__ import annotations

from enum import StrEnum


class DocumentsErrorCode(StrEnum):
    """Why a closing document request was refused."""

    #: The PDF is being prepared by the worker, or its render failed: nothing to download yet.
    DOCUMENT_NOT_READY = "document_not_ready"
    #: The worker could not render the PDF (it retries; staff may retry by hand).
    DOCUMENT_RENDER_FAILED = "document_render_failed"
    #: A render is retried only for a document whose render failed.
    DOCUMENT_RENDER_RETRY_REFUSED = "document_render_retry_refused"
