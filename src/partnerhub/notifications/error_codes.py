"""Error codes of notifications: stable English values of ``ApplicationError.code``."""

from __future__ import annotations

from enum import StrEnum


class NotificationsErrorCode(StrEnum):
    """Why sending a notification was refused."""

    #: Another worker holds the claim of this email and has not sent it yet: retry later.
    EMAIL_IN_PROGRESS = "email_in_progress"
