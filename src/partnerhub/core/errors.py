"""Application errors: business-rule failures raised by services with a stable code.

Views turn them into a flash message or form errors; the API turns them into the JSON error body
``{"error": {"code", "message", "fields"}}`` (see ``core.api``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from django.utils.functional import Promise

from partnerhub.core.error_codes import CoreErrorCode


class ApplicationError(Exception):
    """A use case refused on a business rule. ``code`` is stable and English; the message is for
    people (Russian, translated)."""

    code: ClassVar[str] = CoreErrorCode.APPLICATION_ERROR
    http_status: ClassVar[int] = 400

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str | None = None,
        fields: Mapping[str, list[str | Promise]] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.fields: dict[str, list[str | Promise]] = dict(fields or {})


class ValidationFailed(ApplicationError):
    """Input failed validation; ``fields`` maps each field name to its messages."""

    code: ClassVar[str] = CoreErrorCode.INVALID


class NotFound(ApplicationError):
    """The object does not exist or is not visible to whoever asks."""

    code: ClassVar[str] = CoreErrorCode.NOT_FOUND
    http_status = 404


class Conflict(ApplicationError):
    """The request conflicts with the current state (already done, already taken...)."""

    code: ClassVar[str] = CoreErrorCode.CONFLICT
    http_status = 409
