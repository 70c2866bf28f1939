"""The API's error format: every error is ``{"error": {"code", "message", "fields"}}``.

``exception_handler`` is DRF's ``EXCEPTION_HANDLER``; ``json_or_html_404/403/500`` answer errors
raised outside DRF views (an unknown URL under ``/api/``) in the same shape.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from partnerhub.core.errors import ApplicationError

API_PREFIX = "/api/"


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
    return Response(error_body("invalid", message, fields), status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map every exception a DRF view raises to the JSON error body."""
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
    message: object
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code, message = "not_authenticated", exc.detail
    elif isinstance(exc, exceptions.PermissionDenied):
        code, message = "permission_denied", _("Недостаточно прав для этого действия.")
    elif isinstance(exc, exceptions.NotFound):
        code, message = "not_found", _("Не найдено.")
    elif isinstance(exc, exceptions.APIException):
        code, message = exc.default_code, exc.detail
    else:  # pragma: no cover - drf handles only APIException, Http404, PermissionDenied
        code, message = "error", str(exc)
    response.data = error_body(str(code), str(message))
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def json_or_html_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 as JSON under /api/, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body("not_found", _("Не найдено.")), status=404)
    return defaults.page_not_found(request, exception)


def json_or_html_403(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403 as JSON under /api/, the project's page elsewhere."""
    if _is_api(request):
        body = error_body("permission_denied", _("Недостаточно прав для этого действия."))
        return JsonResponse(body, status=403)
    return defaults.permission_denied(request, exception)


def json_or_html_500(request: HttpRequest) -> HttpResponse:
    """500 as JSON under /api/, the project's page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body("server_error", _("Внутренняя ошибка сервера.")), status=500)
    return defaults.server_error(request)
