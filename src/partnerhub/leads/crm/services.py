"""Use cases of the partner's CRM connection (issue 7, part 6): connect a portal by its incoming
webhook, switch the push off.

``crm_connect`` checks the address (``https://<portal>/rest/<user>/<token>/``, a public host
unless ``CRM_ALLOW_LOCAL``: the spelling and the host's DNS answer, by ``core.netguard``, which
checks the address again when the call connects) and then calls the portal once
(``crm.category.list`` of deals: it needs the webhook's CRM permission, which the push needs
too); any failure is a ``ValidationFailed`` naming the ``webhook_url`` field and nothing is
saved. The check is made before the transaction (no database lock is held during a network
call).

Decisions the brief left open:

- one connection per organisation (the model's one-to-one); connecting again replaces the URL
  and switches the push back on. When the portal (host) changes, the remembered pipeline and
  the deals' twins are forgotten: the deals are created anew in the new portal on their next
  push. A new token of the same portal keeps them.
- disconnecting switches the push off and keeps the row, its log and the twins, so the same
  portal can be connected again without duplicates; the inbound webhook of ours answers 404
  meanwhile.
- the audit rows carry the portal's host, never the token.
- what the partner reads of a failed check call is ours, never the portal's text or code, and
  the same whether the portal refused the connection, did not answer or answered with an
  unexpected error (issue 14: such differences let one scan ports); only the REST error codes
  that say what to fix in the webhook (its permissions, its token) get their own message.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from partnerhub.core import audit, netguard
from partnerhub.core.errors import ValidationFailed
from partnerhub.leads.crm.client import CrmClient, CrmError, host_of
from partnerhub.leads.models import CrmCallOutcome, CrmConnection, CrmDealLink, new_inbound_secret
from partnerhub.partners.models import Organisation

FIELD = "webhook_url"
_REST_PATH = re.compile(r"^/rest/\d+/[A-Za-z0-9_-]+/$")
_AUTH_CODES = frozenset(
    {"INVALID_CREDENTIALS", "NO_AUTH_FOUND", "EXPIRED_TOKEN", "INVALID_TOKEN", "WRONG_AUTH_TYPE"}
)
_SCOPE_CODES = frozenset({"INSUFFICIENT_SCOPE", "ACCESS_DENIED", "AUTHORIZATION_ERROR"})


def _refuse(message: str | Promise) -> ValidationFailed:
    return ValidationFailed(message, fields={FIELD: [message]})


def clean_webhook_url(raw: str) -> str:
    """The incoming-webhook URL, stripped, with its trailing slash; ``ValidationFailed`` naming
    ``webhook_url`` when it is not one we call."""
    url = (raw or "").strip()
    if url and not url.endswith("/"):
        url += "/"
    allow_local: bool = settings.CRM_ALLOW_LOCAL
    parts = urlsplit(url)
    example = _("например https://name.bitrix24.ru/rest/1/abcdef0123456789/")
    if not url:
        raise _refuse(_("Укажите адрес входящего вебхука вашего портала."))
    if parts.scheme not in ({"http", "https"} if allow_local else {"https"}):
        raise _refuse(_("Адрес должен начинаться с https://, %(example)s.") % {"example": example})
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        raise _refuse(_("Укажите адрес вебхука целиком, %(example)s.") % {"example": example})
    _check_destination(url, allow_local=allow_local, resolve=False, example=example)
    if not _REST_PATH.match(parts.path):
        raise _refuse(
            _("Это не адрес входящего вебхука: он выглядит так: %(example)s.")
            % {"example": example}
        )
    if len(url) > 500:
        raise _refuse(_("Слишком длинный адрес."))
    _check_destination(url, allow_local=allow_local, resolve=True, example=example)
    return url


def _check_destination(url: str, *, allow_local: bool, resolve: bool, example: Promise) -> None:
    """The guard's save-time check (spelling, then the host's DNS answer), as a field error."""
    try:
        netguard.check_url(url, allow_local=allow_local, resolve=resolve)
    except netguard.DestinationRefused as refused:
        if refused.reason == "malformed":
            raise _refuse(
                _("Укажите адрес вебхука целиком, %(example)s.") % {"example": example}
            ) from None
        if refused.reason == "unresolvable":
            raise _refuse(_("Портал с таким адресом не найден. Проверьте адрес.")) from None
        raise _refuse(_("Адрес портала должен быть доступен из интернета.")) from None


def _check_message(error: CrmError) -> str | Promise:
    """What the partner reads when the portal did not accept the check call."""
    if error.outcome == CrmCallOutcome.BLOCKED:
        return _("Адрес портала должен быть доступен из интернета.")
    code = error.code.upper() if error.outcome == CrmCallOutcome.ERROR else ""
    if code in _AUTH_CODES:
        return _("Портал не принял вебхук: проверьте адрес, вебхук мог быть удалён.")
    if code in _SCOPE_CODES:
        return _("У вебхука нет доступа к CRM: включите в его настройках право «CRM».")
    if code == "ERROR_METHOD_NOT_FOUND":
        return _("По этому адресу нет входящего вебхука портала.")
    return _(
        "Портал не ответил на проверочный запрос или ответил ошибкой. "
        "Проверьте адрес и попробуйте ещё раз."
    )


def crm_connect(*, organisation: Organisation, webhook_url: str, by: Any) -> CrmConnection:
    """Connect (or reconnect) the organisation's portal by its incoming webhook, after one
    check call; returns the active connection."""
    url = clean_webhook_url(webhook_url)
    probe = CrmConnection(organisation=organisation, webhook_url=url)
    try:
        CrmClient(probe).call("crm.category.list", {"entityTypeId": 2})
    except CrmError as error:
        raise _refuse(_check_message(error)) from None
    host = host_of(url)
    with transaction.atomic():
        existing = (
            CrmConnection.objects.select_for_update().filter(organisation=organisation).first()
        )
        if existing is None:
            connection = CrmConnection.objects.create(organisation=organisation, webhook_url=url)
            before = None
        else:
            before = {"portal": host_of(existing.webhook_url), "is_active": existing.is_active}
            changes: dict[str, Any] = {"webhook_url": url, "is_active": True, "last_error": ""}
            if host_of(existing.webhook_url) != host:
                changes.update(category_id="", next_slot_at=None)
                CrmDealLink.objects.filter(connection=existing).delete()
            CrmConnection.objects.filter(pk=existing.pk).update(**changes)
            connection = CrmConnection.objects.get(pk=existing.pk)
        audit.record(
            action="leads.crm.connected",
            obj=connection,
            before=before,
            after={"portal": host, "is_active": True},
            actor=by,
        )
    return connection


def crm_disconnect(*, organisation: Organisation, by: Any) -> CrmConnection | None:
    """Switch the push to the organisation's CRM off (None when it never connected one)."""
    with transaction.atomic():
        connection = (
            CrmConnection.objects.select_for_update().filter(organisation=organisation).first()
        )
        if connection is None or not connection.is_active:
            return connection
        CrmConnection.objects.filter(pk=connection.pk).update(is_active=False)
        connection.is_active = False
        audit.record(
            action="leads.crm.disconnected",
            obj=connection,
            before={"is_active": True},
            after={"portal": host_of(connection.webhook_url), "is_active": False},
            actor=by,
        )
    return connection


def crm_secret_rotate(*, organisation: Organisation, by: Any) -> CrmConnection | None:
    """Give the organisation's inbound webhook a new secret (the old address stops answering at
    once: a leaked address is dead). None when it never connected a CRM."""
    with transaction.atomic():
        connection = (
            CrmConnection.objects.select_for_update().filter(organisation=organisation).first()
        )
        if connection is None:
            return None
        connection.inbound_secret = new_inbound_secret()
        CrmConnection.objects.filter(pk=connection.pk).update(
            inbound_secret=connection.inbound_secret
        )
        audit.record(action="leads.crm.secret_rotated", obj=connection, actor=by)
    return connection
