"""Error codes of closing documents (stable, English); messages are for people, in Russian."""

from __future__ import annotations

from partnerhub.core.errors import Conflict


class DocumentNotReady(Conflict):
    """The PDF of a document is not there yet (being prepared) or its render failed."""

    code = "document_not_ready"


class RenderRetryRefused(Conflict):
    """A render is retried only for a document whose render failed."""

    code = "document_render_retry_refused"
