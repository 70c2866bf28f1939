"""Reads of the partner's CRM connection: the connection and its delivery log for the cabinet,
what the outbox handler, the poll and the inbound webhook need (issue 7, part 6). Every read is
scoped to an organisation or found by the connection's own secret."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit, urlunsplit

from django.db.models import Q

from partnerhub.core.errors import NotFound
from partnerhub.leads.models import CrmCall, CrmConnection, CrmDealLink
from partnerhub.partners.models import Organisation

#: How many calls of the delivery log the cabinet shows.
LOG_SIZE = 50
_PENDING_PREFIX = "pending-"
_REST_PATH = re.compile(r"^(?P<head>/rest/\d+/)(?P<secret>[^/]+)(?P<tail>/?)$")


def connection_of(*, organisation: Organisation) -> CrmConnection | None:
    """The organisation's CRM connection (switched on or off), if it ever connected one."""
    return CrmConnection.objects.filter(organisation=organisation).first()


def active_connection_id(*, organisation_id: int) -> int | None:
    """The id of the organisation's connection when it is switched on."""
    return (
        CrmConnection.objects.filter(organisation_id=organisation_id, is_active=True)
        .values_list("pk", flat=True)
        .first()
    )


def calls_of(*, organisation: Organisation, limit: int = LOG_SIZE) -> list[CrmCall]:
    """The last ``limit`` REST calls to the organisation's CRM, newest first."""
    return list(
        CrmCall.objects.filter(connection__organisation=organisation).order_by("-at", "-pk")[:limit]
    )


def linked_deals_count(*, organisation: Organisation) -> int:
    """How many of the organisation's deals have a twin in its CRM."""
    return (
        CrmDealLink.objects.filter(connection__organisation=organisation)
        .exclude(remote_deal_id__startswith=_PENDING_PREFIX)
        .count()
    )


def mask_webhook_url(url: str) -> str:
    """The webhook URL with its secret token hidden: ``https://name.bitrix24.ru/rest/1/••••••/``
    (a URL of another shape keeps only its scheme and host)."""
    parts = urlsplit(url)
    match = _REST_PATH.match(parts.path)
    if match is None:
        return urlunsplit((parts.scheme, parts.netloc, "/…", "", ""))
    path = f"{match['head']}••••••{match['tail']}"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def connection_by_inbound_secret(*, secret: str) -> CrmConnection:
    """The active connection whose outgoing webhook posts to our URL with ``secret``;
    ``NotFound`` otherwise (the inbound endpoint answers 404)."""
    connection = CrmConnection.objects.filter(inbound_secret=secret, is_active=True).first()
    if connection is None or not secret:
        raise NotFound("no such CRM connection")
    return connection


def deal_of_remote(*, connection: CrmConnection, remote_deal_id: str) -> int | None:
    """Our deal id whose twin in the connection's CRM is ``remote_deal_id``."""
    return (
        CrmDealLink.objects.filter(connection=connection, remote_deal_id=str(remote_deal_id))
        .values_list("deal_id", flat=True)
        .first()
    )


def connections_due_for_poll(*, now: dt.datetime, every: dt.timedelta) -> list[int]:
    """Active connections not polled for ``every`` that have an open linked deal."""
    due = Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now - every)
    return list(
        CrmConnection.objects.filter(due, is_active=True, links__deal__is_open=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
