"""Template context of notifications: the unread count shown in the page header.

Issue "Notifications" (unread count in the header). The count is lazy: the one COUNT query runs
only when a template shows it, and never for anonymous visitors.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from partnerhub.notifications import selectors


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    """``notifications_unread``: the user's unread count (absent for anonymous visitors)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(user, "pk", None) is None:
        return {}
    return {"notifications_unread": SimpleLazyObject(lambda: selectors.unread_count(user=user))}
