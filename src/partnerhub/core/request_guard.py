"""Requests the database could not store, and bodies over the limits, answered before any view.

Issue 14 ("no 500 from input, anywhere"):

- ``RequestGuardMiddleware`` refuses with 400 a request whose path, query string or header values
  carry what no text column can keep: NUL (PostgreSQL refuses ``\\x00`` in text) anywhere; in the
  query also bytes that are not UTF-8 and encoded lone surrogates (strict UTF-8 decoding refuses
  both; Django would silently turn them into U+FFFD). The answer
  names the parameter: the API's JSON error body under ``/api/``, a page elsewhere. Checking once
  here covers every view's filters, path ids and codes, instead of a check in each.
- Oversized bodies get 413 before anything reads them: a ``Content-Length`` over the view's limit
  (``REQUEST_BODY_LIMITS`` by URL name, else ``DATA_UPLOAD_MAX_MEMORY_SIZE``, multipart uploads
  ``REQUEST_UPLOAD_MAX_BYTES``), and Django's ``RequestDataTooBig`` raised later through
  ``bad_request`` (the project's ``handler400``).

Written here: Django answers these with its 400 page (a NUL in a query reaches the database and
ends in 500); there is no library for this small rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from partnerhub.core.api import API_PREFIX, error_body
from partnerhub.core.error_codes import CoreErrorCode

#: The name given for a bad path (the part of the URL before ``?``).
PATH = "path"


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _text_of(raw: bytes) -> str | None:
    """``raw`` as text a database can store, or None (not UTF-8, a surrogate, or a NUL)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _printable_name(raw: bytes) -> str:
    name = raw.decode("utf-8", errors="replace").replace("\x00", "\\0")
    return name[:100]


def bad_query_parameter(query_string: bytes) -> str | None:
    """The name of the first query parameter whose name or value is not storable text."""
    for part in query_string.split(b"&"):
        if not part:
            continue
        name, _sep, value = part.partition(b"=")
        raw_name = unquote_to_bytes(name.replace(b"+", b" "))
        raw_value = unquote_to_bytes(value.replace(b"+", b" "))
        if _text_of(raw_name) is None or _text_of(raw_value) is None:
            return _printable_name(raw_name)
    return None


def _wsgi_bytes(request: HttpRequest, key: str) -> bytes:
    """An environ string as the bytes the client sent (PEP 3333 gives them as ISO-8859-1)."""
    return str(request.META.get(key, "")).encode("iso-8859-1", errors="replace")


def bad_path(request: HttpRequest) -> bool:
    """True when the path carries a NUL (bytes that are not UTF-8 Django already keeps as their
    ``%XX`` text, which any column stores)."""
    return "\x00" in request.path_info


def bad_header(request: HttpRequest) -> str | None:
    """The first header whose value carries a NUL (real servers refuse them; be safe anyway)."""
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return key[5:].replace("_", "-").title()
    return None


def invalid_characters(request: HttpRequest, name: str) -> HttpResponse:
    """400 naming ``name``: JSON under /api/, a page elsewhere."""
    if name == PATH:
        message = _("Адрес страницы содержит недопустимые символы (NUL или не UTF-8).")
    else:
        message = _("Параметр «%(name)s» содержит недопустимые символы (NUL или не UTF-8).") % {
            "name": name
        }
    if _is_api(request):
        body = error_body(CoreErrorCode.INVALID_CHARACTERS, message, {name: [message]})
        return JsonResponse(body, status=400)
    return render(request, "400.html", {"message": message}, status=400)


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    """413 for a body over ``limit`` bytes: JSON under /api/, a page elsewhere."""
    message = _("Тело запроса больше допустимых %(limit)s.") % {"limit": filesizeformat(limit)}
    if _is_api(request):
        return JsonResponse(error_body(CoreErrorCode.PAYLOAD_TOO_LARGE, message), status=413)
    return render(request, "413.html", {"message": message}, status=413)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler400``: Django's ``RequestDataTooBig`` is a 413; other bad requests
    (``TooManyFieldsSent``, a disallowed host...) a 400, as JSON under /api/."""
    if isinstance(exception, RequestDataTooBig):
        return too_large(request, int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0))
    message = _("Некорректный запрос.")
    if _is_api(request):
        return JsonResponse(error_body(CoreErrorCode.BAD_REQUEST, message), status=400)
    return render(request, "400.html", {"message": message}, status=400)


def body_limit(request: HttpRequest) -> int | None:
    """The largest body the view of ``request`` takes, in bytes (None: no limit)."""
    match = request.resolver_match
    limits: dict[str, int] = settings.REQUEST_BODY_LIMITS
    if match is not None and match.view_name in limits:
        return limits[match.view_name]
    if request.content_type == "multipart/form-data":
        return int(settings.REQUEST_UPLOAD_MAX_BYTES)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return None if limit is None else int(limit)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestGuardMiddleware:
    """Refuse unstorable text in the path, query and headers (400) and oversized bodies (413)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if bad_path(request):
            return invalid_characters(request, PATH)
        name = bad_query_parameter(_wsgi_bytes(request, "QUERY_STRING"))
        if name is None:
            name = bad_header(request)
        if name is not None:
            return invalid_characters(request, name)
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        limit = body_limit(request)
        if limit is not None and _content_length(request) > limit:
            return too_large(request, limit)
        return None
