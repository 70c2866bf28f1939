"""Read queries of identity, scoped to an organisation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from partnerhub.accounts.models import ApiToken, Invitation, User

if TYPE_CHECKING:
    # Type only: an organisation (partners) is above accounts in the layers contract.
    from partnerhub.partners.models import Organisation


def employees_of(*, organisation: Organisation) -> QuerySet[User]:
    """Users of ``organisation``."""
    return User.objects.filter(organisation=organisation).order_by("full_name", "email")


def invitations_pending(*, organisation: Organisation) -> QuerySet[Invitation]:
    """Invitations of ``organisation`` not yet accepted nor revoked (expired ones included)."""
    return Invitation.objects.filter(
        organisation=organisation, accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")


def api_tokens_of(*, organisation: Organisation) -> QuerySet[ApiToken]:
    """Live API tokens of ``organisation``."""
    return ApiToken.objects.filter(organisation=organisation, revoked_at__isnull=True)
