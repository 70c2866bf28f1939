"""A lost database connection answers 503 with Retry-After on every page (issue 14, part 3).

DRF views answer it in their exception handler (``core.api.exception_handler``); this
middleware answers it for the other views, as the page ``503.html`` (or JSON under ``/api/``),
instead of the 500 page. The connection itself is closed by Django at the end of the request
(``close_if_unusable_or_obsolete``), so the next request opens a fresh one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from partnerhub.core.api import is_connection_loss, json_or_html_503

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """Answer a view's lost database connection with 503 and Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_connection_loss(exception):
            return None
        logger.warning("database connection lost on %s, answered 503: %s", request.path, exception)
        return json_or_html_503(request)
