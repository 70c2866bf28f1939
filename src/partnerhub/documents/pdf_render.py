"""Writes of a closing document's PDF after the issue has committed (issue 16, item 4).

``closing_documents_issue`` reserves the number and writes the row (``pdf_status`` pending) in
its transaction, and enqueues ``documents.tasks.closing_document_render`` on commit. The worker
calls ``closing_document_render`` here, which renders with no transaction open (WeasyPrint takes
a second or more; on SQLite a transaction would hold the database-wide write lock for all of it),
stores the file under a new name and then flips the row to ready with one conditional update,
emitting the outbox event ``documents.closing_document.ready`` in that short transaction: what
sends a document on (an EDO exchange, a partner's webhook) listens to it, not to ``issued``,
which comes before the file exists.

Safe to run twice or concurrently: a ready document is not rendered again; when two renders
race, the first conditional update wins and the loser deletes its own file. A failed render
records its error and the status failed, then raises so that Huey retries it; after the last
retry the document stays failed until staff retry it (``closing_document_render_retry`` in
``documents.services``). ``closing_documents_stale`` finds documents left pending (the worker was
down at commit, or was killed while rendering) for the periodic sweep.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F

from partnerhub.core import outbox
from partnerhub.core.clock import now as clock_now
from partnerhub.documents.models import ClosingDocument, PdfStatus
from partnerhub.documents.rendering import render_closing_document

__all__ = [
    "STALE_AFTER",
    "SWEEP_MAX_ATTEMPTS",
    "closing_document_render",
    "closing_documents_stale",
]

logger = logging.getLogger(__name__)

#: A document still pending this long after it was issued has lost its task: the sweep
#: enqueues it again.
STALE_AFTER = dt.timedelta(minutes=10)
#: A pending document whose renders were started this many times and never finished (the worker
#: died mid-render each time) is marked failed by the sweep rather than tried for ever.
SWEEP_MAX_ATTEMPTS = 5
#: How much of an error's text the row keeps.
ERROR_LENGTH = 500


def _claim(document_id: int) -> ClosingDocument | None:
    """Count the attempt (one short autocommit update), unless the document is ready or gone;
    the row as it is then."""
    claimed = (
        ClosingDocument.objects.filter(pk=document_id)
        .exclude(pdf_status=PdfStatus.READY)
        .update(pdf_attempts=F("pdf_attempts") + 1)
    )
    if not claimed:
        return None
    return ClosingDocument.objects.filter(pk=document_id).first()


def closing_document_render(*, document_id: int) -> ClosingDocument | None:
    """Render and store the PDF of one document, then mark it ready; None when there was nothing
    to do (ready already, or no such document). Raises the render's error after recording it
    (status failed), so that the task is retried."""
    document = _claim(document_id)
    if document is None:
        return None
    try:
        content = render_closing_document(document)
        field = document.pdf.field
        name = field.storage.save(
            field.generate_filename(document, "document.pdf"), ContentFile(content)
        )
    except Exception as error:
        message = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
        ClosingDocument.objects.filter(pk=document_id).exclude(pdf_status=PdfStatus.READY).update(
            pdf_status=PdfStatus.FAILED, pdf_error=message
        )
        logger.warning("closing document %s: render failed: %s", document_id, message)
        raise
    moment = clock_now()
    with transaction.atomic():
        flipped = (
            ClosingDocument.objects.filter(pk=document_id)
            .exclude(pdf_status=PdfStatus.READY)
            .update(pdf=name, pdf_status=PdfStatus.READY, pdf_error="", pdf_rendered_at=moment)
        )
        if flipped:
            outbox.emit(
                "documents.closing_document.ready",
                {"document_id": document_id, "kind": document.kind, "number": document.number},
                organisation_id=document.partner_id,
                vendor_id=document.vendor_id,
            )
    if not flipped:  # another render finished first: its file is the document's
        field.storage.delete(name)
        return ClosingDocument.objects.filter(pk=document_id).first()
    document.pdf.name = name
    document.pdf_status, document.pdf_error, document.pdf_rendered_at = (
        PdfStatus.READY,
        "",
        moment,
    )
    return document


def closing_documents_stale(*, now: dt.datetime, limit: int = 200) -> list[int]:
    """The ids of documents pending since before ``now - STALE_AFTER``, to be rendered again;
    those already started ``SWEEP_MAX_ATTEMPTS`` times are marked failed instead."""
    stale = ClosingDocument.objects.filter(
        pdf_status=PdfStatus.PENDING, created_at__lt=now - STALE_AFTER
    )
    stale.filter(pdf_attempts__gte=SWEEP_MAX_ATTEMPTS).update(
        pdf_status=PdfStatus.FAILED, pdf_error="Формирование PDF не завершилось."
    )
    return list(
        stale.filter(pdf_attempts__lt=SWEEP_MAX_ATTEMPTS)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
