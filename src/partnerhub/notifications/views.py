"""Cabinet pages of notifications: the list, mark one read (htmx or a plain form), mark all read.

Issue "Notifications": an in-app notification list in the cabinet. Any logged-in user (partner
users and vendor staff alike) sees only their own notifications; another user's answers 404.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from partnerhub.core.access import AUTHENTICATED, access
from partnerhub.core.errors import NotFound
from partnerhub.core.pagination import paginate
from partnerhub.notifications import selectors, services

PER_PAGE = 20


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@access(AUTHENTICATED)
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first, unread ones highlighted."""
    page = paginate(request, selectors.notifications_of(user=request.user), per_page=PER_PAGE)
    return render(request, "notifications/list.html", {"page": page})


@access(AUTHENTICATED)
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read; htmx gets the updated item and the header link back."""
    try:
        notification = services.notification_mark_read(user=request.user, notification_id=pk)
    except NotFound as exc:
        raise Http404 from exc
    if _is_htmx(request):
        return render(request, "notifications/item.html", {"n": notification, "oob": True})
    return redirect("notifications:list")


@access(AUTHENTICATED)
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    """Mark every notification of the user read."""
    services.notifications_mark_all_read(user=request.user)
    return redirect("notifications:list")
