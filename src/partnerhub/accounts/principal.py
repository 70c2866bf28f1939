"""Who a request acts for: the organisation, and the person (None for an API token)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied

from partnerhub.accounts.models import User

if TYPE_CHECKING:
    # Type only: an organisation (partners) is above accounts in the layers contract.
    from partnerhub.partners.models import Organisation


def organisation_of(user: Any) -> Organisation:
    """The organisation of a user or API token; refuses callers without one."""
    organisation = getattr(user, "organisation", None)
    if organisation is None:
        raise PermissionDenied("no organisation")
    return organisation


def person_of(user: Any) -> User | None:
    """The human user behind a request (None when an API token acts)."""
    return user if isinstance(user, User) else None
