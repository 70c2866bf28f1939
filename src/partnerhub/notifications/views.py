"""Cabinet pages of notifications: the list, mark one read (htmx or a plain form), mark all read.

Issue "Notifications": an in-app notification list in the cabinet. Any logged-in user (partner
users and vendor staff alike) sees only their own notifications; another user's answers 404.
Issue 5: the email settings page, where a partner user switches optional emails off and on.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.core.access import AUTHENTICATED, access, partner
from partnerhub.core.errors import NotFound
from partnerhub.core.pagination import paginate
from partnerhub.notifications import selectors, services
from partnerhub.notifications.rules import optional_email_rules

PER_PAGE = 20
#: Email settings are for partner users: the rules send mail to partner organisations only.
SETTINGS_USERS = partner()
#: The hidden field that marks a submitted settings form (an unchecked box sends nothing, so an
#: empty body must not read as "switch every email off").
SETTINGS_MARKER = "email_settings"


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


@access(SETTINGS_USERS)
@require_http_methods(["GET", "POST"])
def email_settings(request: HttpRequest) -> HttpResponse:
    """Which emails the user gets: a checkbox per optional email, grouped; saved per user."""
    if request.method == "POST":
        if request.POST.get(SETTINGS_MARKER) != "1":
            return render(
                request,
                "notifications/settings.html",
                {"groups": _groups(request), "marker": SETTINGS_MARKER},
                status=400,
            )
        services.email_preferences_set(user=request.user, enabled=request.POST.getlist("email"))
        messages.success(request, _("Настройки писем сохранены."))
        return redirect("notifications:settings")
    return render(
        request,
        "notifications/settings.html",
        {"groups": _groups(request), "marker": SETTINGS_MARKER},
    )


def _groups(request: HttpRequest) -> list[tuple[str, list[selectors.EmailChoice]]]:
    return selectors.email_choices(user=request.user, rules=optional_email_rules())
