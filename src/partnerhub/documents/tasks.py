"""Background work of closing documents: the PDF render after the issue commits, and the sweep
of documents left pending (``documents.pdf_render``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from partnerhub.core.clock import now
from partnerhub.documents import pdf_render

#: Huey retries a failed render this many times, this many seconds apart; the document then
#: stays failed (staff may retry it).
RENDER_RETRIES = 3
RENDER_RETRY_DELAY = 60


@db_task(retries=RENDER_RETRIES, retry_delay=RENDER_RETRY_DELAY, name="documents.render")
def closing_document_render(document_id: int) -> None:
    """Render and store one document's PDF (no transaction open while rendering)."""
    pdf_render.closing_document_render(document_id=document_id)


@db_periodic_task(crontab(minute="*/5"), name="documents.render_sweep")
@lock_task("documents-render-sweep")
def closing_documents_render_sweep() -> int:
    """Every five minutes: enqueue the renders of documents left pending (their task was lost:
    the worker was down at commit or died mid-render)."""
    ids = pdf_render.closing_documents_stale(now=now())
    for document_id in ids:
        closing_document_render(document_id)
    return len(ids)
