"""Write use cases of identity: users, invitations, API tokens, login throttling.

Every function is one transaction; e-mails leave after commit through the outbox: a service
emits an event (``accounts.invitation.created``) and the notifications app sends the mail.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.models import ApiToken, Invitation, LoginAttempt, User, token_digest
from partnerhub.accounts.roles import ROLES_BY_KIND, Role
from partnerhub.core import audit
from partnerhub.core.errors import Conflict, NotFound, ValidationFailed
from partnerhub.core.outbox import emit
from partnerhub.partners.models import Organisation

TOKEN_PREFIX = "ph_"
INVITATION_TOKEN_SALT = "partnerhub.accounts.invitation"
INVITATION_CREATED = "accounts.invitation.created"


def _check_role(organisation: Organisation, role: str, field: str = "role") -> None:
    if role not in ROLES_BY_KIND[organisation.kind]:
        raise ValidationFailed(
            _("Такой роли нет у организации этого вида."),
            fields={field: [_("Выберите роль из списка.")]},
        )


def _check_password(password: str, user: User | None = None, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        messages: list[str | Promise] = list(exc.messages)
        raise ValidationFailed(_("Пароль не подходит."), fields={field: messages}) from exc


def normalise_email(email: str, field: str = "email") -> str:
    """Lower-cased, trimmed email; a clear error naming ``field`` when it is not an address."""
    value = (email or "").strip().lower()
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValidationFailed(
            _("Введите правильный адрес эл. почты."),
            fields={field: [_("Введите правильный адрес эл. почты.")]},
        ) from exc
    return value


def email_is_taken(email: str) -> bool:
    """True when a user with this email exists."""
    return User.objects.filter(email__iexact=email).exists()


def user_create(
    *,
    organisation: Organisation | None,
    email: str,
    password: str | None,
    role: str,
    full_name: str = "",
    phone: str = "",
) -> User:
    """Create a user of ``organisation`` with ``role`` (administrators get the Django admin)."""
    email = normalise_email(email)
    if organisation is not None:
        _check_role(organisation, role)
    if email_is_taken(email):
        raise ValidationFailed(
            _("Пользователь с такой эл. почтой уже зарегистрирован."),
            fields={"email": [_("Пользователь с такой эл. почтой уже зарегистрирован.")]},
        )
    user = User(email=email, full_name=full_name.strip(), phone=phone.strip())
    if password is not None:
        _check_password(password, user)
    is_admin = organisation is not None and organisation.is_vendor and role == Role.ADMINISTRATOR
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email,
                password,
                full_name=user.full_name,
                phone=user.phone,
                organisation=organisation,
                role=role,
                is_staff=is_admin,
                is_superuser=is_admin,
            )
    except IntegrityError as exc:  # a parallel registration with the same email won
        raise ValidationFailed(
            _("Пользователь с такой эл. почтой уже зарегистрирован."),
            fields={"email": [_("Пользователь с такой эл. почтой уже зарегистрирован.")]},
        ) from exc


@transaction.atomic
def invitation_create(
    *,
    organisation: Organisation,
    email: str,
    role: str,
    invited_by: User | None,
    now: datetime | None = None,
) -> tuple[Invitation, str]:
    """Invite an employee: a one-time link valid for INVITATION_TTL_DAYS days, sent by email.

    An earlier pending invitation of the same address to the same organisation is revoked.
    Returns the invitation and the raw token (only its digest is stored). The mail leaves after
    commit through the outbox event ``accounts.invitation.created``, whose payload carries no
    secret: the mail handler derives the link again with ``invitation_accept_url``.
    """
    now = now or timezone.now()
    email = normalise_email(email)
    _check_role(organisation, role)
    if email_is_taken(email):
        raise ValidationFailed(
            _("Пользователь с такой эл. почтой уже зарегистрирован."),
            fields={"email": [_("Пользователь с такой эл. почтой уже зарегистрирован.")]},
        )
    Invitation.objects.filter(
        organisation=organisation, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=email,
        role=role,
        # The token is derived from the id, unknown before the insert: a random placeholder
        # (never shown to anyone) holds the unique column until the real digest replaces it.
        token_digest=token_digest(secrets.token_urlsafe(32)),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    raw = invitation_token(invitation.pk)
    invitation.token_digest = token_digest(raw)
    Invitation.objects.filter(pk=invitation.pk).update(token_digest=invitation.token_digest)
    emit(
        INVITATION_CREATED,
        {"id": invitation.pk, "email": email, "role": role},
        organisation_id=organisation.pk,
    )
    audit.record(
        action="accounts.invitation.created",
        obj=invitation,
        actor=invited_by,
        after={"email": email, "role": role, "expires_at": invitation.expires_at},
    )
    return invitation, raw


def invitation_token(invitation_id: int) -> str:
    """The secret of an invitation's link: an HMAC-SHA256 of its id under SECRET_KEY.

    Only its digest is stored, as for random tokens, so the database alone opens no invitation;
    deriving it from the id lets the mail handler rebuild the link after commit without the
    secret travelling through the outbox table.
    """
    mac = salted_hmac(INVITATION_TOKEN_SALT, str(invitation_id), algorithm="sha256")
    return urlsafe_base64_encode(mac.digest())


def invitation_accept_url(*, invitation: Invitation) -> str:
    """The absolute link that accepts ``invitation`` (sent by email)."""
    path = reverse("accounts:invitation_accept", args=[invitation_token(invitation.pk)])
    return settings.SITE_URL + path


def invitation_pending_get(*, invitation_id: int, now: datetime | None = None) -> Invitation | None:
    """The invitation with its organisation and inviter while it can still be accepted; None
    once accepted, revoked, expired or deleted (its mail is then not worth sending)."""
    now = now or timezone.now()
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or invitation.state(now) != "pending":
        return None
    return invitation


def invitation_by_token(raw: str, *, now: datetime | None = None) -> Invitation:
    """The pending invitation of a link; NotFound when unknown, used, revoked or expired."""
    now = now or timezone.now()
    invitation = (
        Invitation.objects.select_related("organisation")
        .filter(token_digest=token_digest(raw or ""))
        .first()
    )
    if invitation is None or invitation.state(now) != "pending":
        raise NotFound(_("Приглашение не найдено, уже использовано или его срок истёк."))
    return invitation


def invitation_accept(
    *, raw_token: str, full_name: str, password: str, now: datetime | None = None
) -> User:
    """Accept an invitation: create the employee with the invited role. One use only."""
    now = now or timezone.now()
    if not full_name.strip():
        raise ValidationFailed(_("Укажите ФИО."), fields={"full_name": [_("Обязательное поле.")]})
    with transaction.atomic():
        invitation = invitation_by_token(raw_token, now=now)
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(accepted_at=now)
        if claimed != 1:
            raise Conflict(_("Приглашение уже использовано."))
        user = user_create(
            organisation=invitation.organisation,
            email=invitation.email,
            password=password,
            role=invitation.role,
            full_name=full_name,
        )
        Invitation.objects.filter(pk=invitation.pk).update(accepted_user=user)
        audit.record(
            action="accounts.invitation.accepted",
            obj=invitation,
            actor=user,  # the visitor who followed the link is now this user
            after={"user_id": user.pk, "email": user.email, "role": user.role},
        )
    return user


@transaction.atomic
def invitation_revoke(*, organisation: Organisation, invitation_id: int) -> Invitation:
    """Revoke a pending invitation of ``organisation``."""
    invitation = Invitation.objects.filter(organisation=organisation, pk=invitation_id).first()
    if invitation is None:
        raise NotFound(_("Приглашение не найдено."))
    updated = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not updated:
        raise Conflict(_("Приглашение уже использовано или отозвано."))
    invitation.refresh_from_db()
    audit.record(
        action="accounts.invitation.revoked",
        obj=invitation,
        before={"state": "pending"},
        after={"state": "revoked", "email": invitation.email},
    )
    return invitation


@transaction.atomic
def api_token_create(
    *,
    organisation: Organisation,
    name: str,
    role: str = Role.OWNER,
    created_by: User | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token; the raw key is returned once and only its digest is stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed(_("Укажите название."), fields={"name": [_("Обязательное поле.")]})
    if organisation.kind == "vendor" and role == Role.OWNER:
        role = Role.ADMINISTRATOR
    _check_role(organisation, role)
    if ApiToken.objects.filter(organisation=organisation, name=name).exists():
        raise ValidationFailed(
            _("Токен с таким названием уже есть."),
            fields={"name": [_("Токен с таким названием уже есть.")]},
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organisation=organisation,
        name=name,
        role=role,
        prefix=raw[:10],
        key_digest=token_digest(raw),
        created_by=created_by,
    )
    audit.record(  # never the key: only its name, role and public prefix
        action="accounts.api_token.created",
        obj=token,
        actor=created_by,
        after={"name": name, "role": role, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, organisation: Organisation, token_id: int) -> None:
    """Revoke a token of ``organisation``."""
    updated = ApiToken.objects.filter(
        organisation=organisation, pk=token_id, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not updated:
        raise NotFound(_("Токен не найден."))
    token = ApiToken.objects.get(pk=token_id)
    audit.record(
        action="accounts.api_token.revoked",
        obj=token,
        before={"state": "active"},
        after={"state": "revoked", "name": token.name},
    )


def login_throttled(*, email: str, ip: str | None, now: datetime | None = None) -> bool:
    """True when too many failed logins for this email (or ten times as many from this IP)
    happened within the throttle window."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    failures = LoginAttempt.objects.filter(at__gte=since, succeeded=False)
    limit = settings.LOGIN_THROTTLE_ATTEMPTS
    if failures.filter(email=email.strip().lower()).count() >= limit:
        return True
    return bool(ip) and failures.filter(ip=ip).count() >= limit * 10


def login_record(*, email: str, ip: str | None, succeeded: bool) -> None:
    """Remember a login attempt; a success clears the failures of that email."""
    email = email.strip().lower()
    LoginAttempt.objects.create(email=email[:254], ip=ip or None, succeeded=succeeded)
    if succeeded:
        LoginAttempt.objects.filter(Q(email=email) & Q(succeeded=False)).delete()
