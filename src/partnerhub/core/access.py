"""The one permission layer every URL goes through (house rule 12).

Each view declares an access ``Rule`` (``@access(partner("owner"))`` on a function view, the
``access_rule`` attribute on a class-based or DRF view). ``AccessMiddleware`` enforces the rule
for pages and ``core.permissions.AccessPermission`` for the DRF API; both call the same
``decide``. A view that declares no rule is refused (fail closed), and the table-driven test in
``tests/test_url_authorisation.py`` fails for a URL that has no entry in its table.

Rules look at the *principal*: authenticated or not, the kind of its organisation (``vendor`` or
``partner``) and its role. Object-level scoping ("a partner sees only its own data") is done by
selectors, which answer 404 for another organisation's objects.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

logger = logging.getLogger(__name__)

VENDOR = "vendor"
PARTNER = "partner"


class Decision(enum.Enum):
    """Outcome of checking a rule against a principal."""

    ALLOW = "allow"
    LOGIN_REQUIRED = "login_required"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user (session) or an API token acting for an organisation."""

    is_authenticated: bool
    org_kind: str | None = None
    role: str | None = None
    org_id: int | None = None
    is_superuser: bool = False


ANONYMOUS = Principal(is_authenticated=False)


def principal_of(user: Any) -> Principal:
    """Build the principal from ``request.user`` (a User, an API-token user or anonymous).

    Duck-typed so that core knows no domain model: the user object offers ``organisation_id``,
    ``organisation_kind`` and ``role``.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    if not getattr(user, "is_active", True):
        return ANONYMOUS
    return Principal(
        is_authenticated=True,
        org_kind=getattr(user, "organisation_kind", None),
        role=getattr(user, "role", None) or None,
        org_id=getattr(user, "organisation_id", None),
        is_superuser=bool(getattr(user, "is_superuser", False)),
    )


@dataclass(frozen=True)
class Rule:
    """Who may use a view. ``org_kind`` None means any organisation; ``roles`` None, any role."""

    name: str
    anonymous: bool = False
    org_kind: str | None = None
    roles: frozenset[str] | None = None

    def decide(self, principal: Principal) -> Decision:
        """ALLOW, LOGIN_REQUIRED (anonymous on a private view) or FORBIDDEN."""
        if self.anonymous:
            return Decision.ALLOW
        if not principal.is_authenticated:
            return Decision.LOGIN_REQUIRED
        if self.org_kind is not None and principal.org_kind != self.org_kind:
            return Decision.FORBIDDEN
        if self.roles is not None and principal.role not in self.roles:
            return Decision.FORBIDDEN
        return Decision.ALLOW


def allowed(rule: Rule, user: Any) -> bool:
    """True when ``user`` passes ``rule`` (pages use it to show or hide actions)."""
    return rule.decide(principal_of(user)) is Decision.ALLOW


PUBLIC = Rule("public", anonymous=True)
AUTHENTICATED = Rule("authenticated")


def partner(*roles: str) -> Rule:
    """Users of a partner organisation; with roles, only those roles."""
    return Rule(
        f"partner:{','.join(roles) or '*'}",
        org_kind=PARTNER,
        roles=frozenset(roles) if roles else None,
    )


def vendor(*roles: str) -> Rule:
    """The vendor's staff; with roles, only those roles."""
    return Rule(
        f"vendor:{','.join(roles) or '*'}",
        org_kind=VENDOR,
        roles=frozenset(roles) if roles else None,
    )


@dataclass(frozen=True)
class ByMethod:
    """Rules per HTTP method for a view that reads and writes (HEAD and OPTIONS follow GET).

    A method with no rule is answered 405 by the layer itself.
    """

    rules: dict[str, Rule]

    def for_method(self, method: str) -> Rule | None:
        """The rule of ``method``, or None when the view does not take it."""
        method = method.upper()
        if method in {"HEAD", "OPTIONS"}:
            method = "GET"
        return self.rules.get(method)


#: Django's admin site is for the vendor's administrators (the admin also checks ``is_staff``).
ADMIN_SITE = vendor("administrator")

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def access(rule: Rule) -> Callable[[ViewT], ViewT]:
    """Declare the access rule of a function view."""

    def decorate(view: ViewT) -> ViewT:
        view.access_rule = rule  # type: ignore[attr-defined]
        return view

    return decorate


def declared_rule(view: Any) -> Rule | ByMethod | None:
    """The rule declared by a view function, a class-based view or a DRF view (or instance)."""
    rule = getattr(view, "access_rule", None)
    if rule is None:
        view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
        rule = getattr(view_class, "access_rule", None)
    return rule if isinstance(rule, Rule | ByMethod) else None


def rule_for(view: Any, method: str) -> Rule | None:
    """The rule that applies to ``method`` on ``view``; None when none is declared."""
    rule = declared_rule(view)
    if isinstance(rule, ByMethod):
        return rule.for_method(method)
    return rule


def is_api_view(view_func: Callable[..., Any]) -> bool:
    """True for DRF views (``APIView.as_view`` sets ``cls`` and ``initkwargs``), which
    ``core.api.AccessPermission`` checks after token authentication."""
    return getattr(view_func, "cls", None) is not None and hasattr(view_func, "initkwargs")


def is_admin_view(request: HttpRequest) -> bool:
    """True for Django admin URLs."""
    match = request.resolver_match
    return match is not None and "admin" in match.namespaces


class AccessMiddleware:
    """Enforce the declared rule of every page view; refuse views that declare none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if is_api_view(view_func):
            return None
        if is_admin_view(request):
            return self._admin(request, view_func)
        declared = declared_rule(view_func)
        if declared is None:
            logger.error("view %r declares no access rule; refused", view_func)
            raise PermissionDenied("no access rule")
        rule = (
            declared.for_method(request.method or "GET")
            if isinstance(declared, ByMethod)
            else declared
        )
        if rule is None:
            return HttpResponseNotAllowed(sorted(declared.rules))  # type: ignore[union-attr]
        decision = rule.decide(principal_of(getattr(request, "user", None)))
        if decision is Decision.LOGIN_REQUIRED:
            from django.contrib.auth.views import redirect_to_login  # needs the user model

            return redirect_to_login(request.get_full_path())
        if decision is Decision.FORBIDDEN:
            raise PermissionDenied(rule.name)
        return None

    @staticmethod
    def _admin(request: HttpRequest, view_func: Callable[..., Any]) -> HttpResponse | None:
        """Admin pages: anonymous users reach the admin's own login; others need ADMIN_SITE,
        except a platform superuser (``createsuperuser``, no organisation), who runs the site."""
        principal = principal_of(getattr(request, "user", None))
        if not principal.is_authenticated or principal.is_superuser:
            return None
        if ADMIN_SITE.decide(principal) is not Decision.ALLOW:
            raise PermissionDenied(ADMIN_SITE.name)
        return None
