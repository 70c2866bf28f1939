"""The API's error format: every error is ``{"error": {"code", "message", "fields"}}``.

``exception_handler`` is DRF's ``EXCEPTION_HANDLER``; ``json_or_html_404/403/500`` answer errors
raised outside DRF views (an unknown URL under ``/api/``) in the same shape.

A lost database connection (issue 14, part 3: the server or its backend went away, the pool had
no connection to give) is not a server bug but a moment of unavailability: it is answered 503
``service_unavailable`` with ``Retry-After`` (``DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS``), as
JSON under ``/api/`` and as the page ``503.html`` elsewhere; DRF views through
``exception_handler``, other views through ``core.unavailable.DatabaseUnavailableMiddleware``,
and errors raised in middleware through ``json_or_html_500``.
"""

from __future__ import annotations

import copy
import logging
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError, connections
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import ApplicationError

API_PREFIX = "/api/"
#: PostgreSQL's SQLSTATEs of a lost or refused connection besides class 08 (connection
#: exception): admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now,
#: too_many_connections.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})

logger = logging.getLogger(__name__)


def error_body(
    code: str, message: str | Promise, fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON error body."""
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def _flatten(detail: Any) -> Any:
    """DRF error details to plain strings (lists stay lists, nested serializers stay dicts)."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _validation_response(detail: Any) -> Response:
    fields: dict[str, Any] = {}
    message = _("Проверьте введённые данные.")
    if isinstance(detail, dict):
        fields = _flatten(detail)
        non_field = fields.pop("non_field_errors", None)
        if non_field:
            message = non_field[0] if isinstance(non_field, list) else str(non_field)
    elif isinstance(detail, list) and detail:
        message = str(detail[0])
    return Response(
        error_body(CoreErrorCode.INVALID, message, fields), status=status.HTTP_400_BAD_REQUEST
    )


def is_connection_loss(exc: BaseException | None) -> bool:
    """True for a database error that means the connection is gone or cannot be had (not for
    an error of the query itself)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = str(getattr(exc.__cause__, "sqlstate", None) or "")
    if sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES:
        return True
    if any(_broken(alias) for alias in connections):
        return True
    return "connection" in str(exc).lower()


def _broken(alias: str) -> bool:
    """True when the driver knows the connection of ``alias`` is lost (psycopg's ``broken``)."""
    return bool(getattr(connections[alias].connection, "broken", False))


def retry_after_seconds() -> int:
    """When a client should retry after a lost database connection."""
    return int(settings.DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS)


def _unavailable_message() -> str:
    return str(_("Сервис временно недоступен. Повторите запрос через несколько секунд."))


def _unavailable_api_response() -> Response:
    response = Response(
        error_body(CoreErrorCode.SERVICE_UNAVAILABLE, _unavailable_message()),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    response["Retry-After"] = str(retry_after_seconds())
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map every exception a DRF view raises to the JSON error body."""
    if is_connection_loss(exc):
        logger.warning("database connection lost, answered 503: %s", exc)
        return _unavailable_api_response()
    if isinstance(exc, ApplicationError):
        fields = {name: [str(m) for m in messages] for name, messages in exc.fields.items()}
        return Response(error_body(exc.code, exc.message, fields), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return _validation_response(detail)
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc.detail)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Не найдено."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(_("Недостаточно прав для этого действия."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code: str
    message: object
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code, message = CoreErrorCode.NOT_AUTHENTICATED, exc.detail
    elif isinstance(exc, exceptions.PermissionDenied):
        code, message = CoreErrorCode.PERMISSION_DENIED, _("Недостаточно прав для этого действия.")
    elif isinstance(exc, exceptions.NotFound):
        code, message = CoreErrorCode.NOT_FOUND, _("Не найдено.")
    elif isinstance(exc, exceptions.APIException):
        code, message = exc.default_code, exc.detail
    else:  # pragma: no cover - drf handles only APIException, Http404, PermissionDenied
        code, message = CoreErrorCode.ERROR, str(exc)
    response.data = error_body(str(code), str(message))
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def json_or_html_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 as JSON under /api/, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body(CoreErrorCode.NOT_FOUND, _("Не найдено.")), status=404)
    return defaults.page_not_found(request, exception)


def json_or_html_403(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403 as JSON under /api/, the project's page elsewhere."""
    if _is_api(request):
        body = error_body(
            CoreErrorCode.PERMISSION_DENIED, _("Недостаточно прав для этого действия.")
        )
        return JsonResponse(body, status=403)
    return defaults.permission_denied(request, exception)


def json_or_html_503(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After after a lost database connection: JSON under /api/, the page
    ``503.html`` elsewhere (rendered without the request's context, whose processors would
    query the database)."""
    if _is_api(request):
        response: HttpResponse = JsonResponse(
            error_body(CoreErrorCode.SERVICE_UNAVAILABLE, _unavailable_message()), status=503
        )
    else:
        page = loader.get_template("503.html").render()
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(retry_after_seconds())
    return response


def json_or_html_500(request: HttpRequest) -> HttpResponse:
    """500 as JSON under /api/, the project's page elsewhere; 503 when the error being handled
    is a lost database connection (raised where no view or middleware answered it)."""
    if is_connection_loss(sys.exc_info()[1]):
        return json_or_html_503(request)
    if _is_api(request):
        return JsonResponse(
            error_body(CoreErrorCode.SERVER_ERROR, _("Внутренняя ошибка сервера.")), status=500
        )
    return defaults.server_error(request)


class BuiltFieldsCache:
    """A mixin for a ``ModelSerializer`` whose fields depend on its ``Meta`` alone: the fields
    DRF builds from the model (``get_fields``: the model's metadata, labels, validators) are
    built once per class and copied for each instance, as DRF copies declared fields (issue 17:
    building them was about a quarter of an authenticated API GET)."""

    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        template: dict[str, Any] | None = cls.__dict__.get("_built_fields_template")
        if template is None:
            template = super().get_fields()  # type: ignore[misc]
            cls._built_fields_template = template  # type: ignore[attr-defined]
        return copy.deepcopy(template)
