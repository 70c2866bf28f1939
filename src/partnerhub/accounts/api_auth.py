"""DRF authentication by API token: ``Authorization: Token <key>`` (or ``Bearer``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from partnerhub.accounts.models import ApiToken, token_digest

if TYPE_CHECKING:
    # Type only: an organisation (partners) is above accounts in the layers contract.
    from partnerhub.partners.models import Organisation


@dataclass
class TokenUser:
    """The principal of an API token: it acts for its organisation with the token's role."""

    token: ApiToken
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False
    is_staff: bool = False
    pk: None = None
    id: None = None

    @property
    def organisation(self) -> Organisation:
        return self.token.organisation

    @property
    def organisation_id(self) -> int:
        return self.token.organisation_id

    @property
    def organisation_kind(self) -> str:
        return self.token.organisation.kind

    @property
    def role(self) -> str:
        return self.token.role

    def __str__(self) -> str:
        return f"API token {self.token.name}"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Authenticate a request by the digest of its token; revoked tokens are refused."""

    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Неверный заголовок Authorization."))
        try:  # the digest is unique: no ordering, no LIMIT
            token = ApiToken.objects.select_related("organisation").get(
                key_digest=token_digest(header[1]), revoked_at__isnull=True
            )
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Неверный или отозванный токен.")) from None
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return TokenUser(token=token), token

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema (and Swagger UI's "Authorize") describes the token."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Token <key> or Bearer <key> (partnerhub apitoken create)",
        }
