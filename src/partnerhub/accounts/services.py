"""Write use cases of identity: users, invitations, API tokens, login throttling (issue 14:
per e-mail and IP, per IP and per known device, with a progressive delay).

Every function is one transaction; e-mails leave after commit through the outbox: a service
emits an event (``accounts.invitation.created``) and the notifications app sends the mail.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.models import ApiToken, Invitation, LoginAttempt, User, token_digest
from partnerhub.accounts.roles import ROLES_BY_KIND, Role
from partnerhub.core import audit, clock
from partnerhub.core.errors import Conflict, NotFound, ValidationFailed
from partnerhub.core.outbox import emit
from partnerhub.core.text import clean_name

if TYPE_CHECKING:
    # Type only: an organisation (partners) is above accounts in the layers contract.
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
    user = User(email=email, full_name=clean_name(full_name), phone=phone.strip())
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
    if not clean_name(full_name):
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


@dataclass(frozen=True)
class LoginGate:
    """The outcome of ``login_attempt_start``: either the attempt may check the password (its
    row is ``attempt_id``) or it must wait ``wait_seconds`` more, checking nothing."""

    attempt_id: int | None
    wait_seconds: int


def login_delay(failures: int, free: int) -> int:
    """Seconds the next attempt waits after ``failures`` failures of one scope: none for the
    first ``free`` ones, then the base delay doubling with each failure, up to the cap
    (3 free, base 2 s: 0, 0, 0, 2, 4, 8, ... 300)."""
    if failures < free:
        return 0
    base = settings.LOGIN_THROTTLE_BASE_DELAY_SECONDS
    cap = settings.LOGIN_THROTTLE_MAX_DELAY_SECONDS
    return int(min(base * 2 ** min(failures - free, 32), cap))


def _wait_seconds(failures: QuerySet[LoginAttempt], free: int, now: datetime) -> int:
    found = failures.aggregate(count=Count("pk"), last=Max("at"))
    delay = login_delay(found["count"], free)
    if not delay:
        return 0
    last: datetime = found["last"]
    remaining = (last + timedelta(seconds=delay) - now).total_seconds()
    return max(0, math.ceil(remaining))


def login_attempt_start(
    *, email: str, ip: str | None, device: str = "", now: datetime | None = None
) -> LoginGate:
    """Begin a login attempt: record it (as failed until ``login_attempt_finish``) and tell
    whether it may check the password now.

    Failures within the window are counted per scope, each with a progressive delay
    (``login_delay``): from a known device (``device``: its cookie is valid for this e-mail)
    only that device's failures count, so failures from other IPs or devices never block it;
    otherwise the failures of this e-mail from this IP and, with a higher allowance, of any
    e-mail from this IP. So guessing from one address slows that address down, and nobody
    can lock the real user out from elsewhere.

    The attempt is recorded before the count and the count takes only the attempts recorded
    before it, so parallel attempts are ordered by the database: each sees those ahead of it.
    A refused attempt is deleted again: waiting attempts do not lengthen the wait.
    """
    now = now or clock.now()
    email = email.strip().lower()[:254]
    ip = ip or None
    attempt = LoginAttempt.objects.create(email=email, ip=ip, device=device, at=now)
    window = timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    earlier = LoginAttempt.objects.filter(succeeded=False, at__gte=now - window, pk__lt=attempt.pk)
    free = settings.LOGIN_THROTTLE_FREE_FAILURES
    if device:
        scopes = [(earlier.filter(email=email, device=device), free)]
    else:
        anonymous = earlier.filter(device="")
        scopes = [(anonymous.filter(email=email, ip=ip), free)]
        if ip is not None:
            scopes.append((anonymous.filter(ip=ip), settings.LOGIN_THROTTLE_IP_FREE_FAILURES))
    wait = max(_wait_seconds(failures, limit, now) for failures, limit in scopes)
    if wait:
        LoginAttempt.objects.filter(pk=attempt.pk).delete()
        return LoginGate(attempt_id=None, wait_seconds=wait)
    return LoginGate(attempt_id=attempt.pk, wait_seconds=0)


@transaction.atomic
def login_attempt_finish(*, attempt_id: int, succeeded: bool) -> None:
    """Close an attempt; a success forgives the failures of its e-mail from the same IP or the
    same device (the user's own typos), not anybody else's."""
    if not succeeded:
        return
    attempt = LoginAttempt.objects.filter(pk=attempt_id).first()
    if attempt is None:
        return
    LoginAttempt.objects.filter(pk=attempt_id).update(succeeded=True)
    same_place = Q(device=attempt.device) if attempt.device else Q(device="", ip=attempt.ip)
    LoginAttempt.objects.filter(same_place, email=attempt.email, succeeded=False).delete()


#: Login attempts are kept this long after the throttle window (for staff to look into a burst).
LOGIN_ATTEMPTS_KEPT = timedelta(days=1)


def login_attempts_cleanup(*, now: datetime | None = None) -> int:
    """Delete the login attempts no throttle counts any more (older than the window and a day);
    returns how many. The hourly task ``accounts.login_attempts_cleanup`` runs it."""
    moment = now or clock.now()
    window = timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    deleted, _by_model = LoginAttempt.objects.filter(
        at__lt=moment - window - LOGIN_ATTEMPTS_KEPT
    ).delete()
    return deleted
