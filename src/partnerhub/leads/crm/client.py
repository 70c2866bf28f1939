"""A thin REST client of the partner's CRM (a portal of the vendor's product), issue 7 part 6.

The partner gives us the incoming webhook of its portal, e.g.
``https://name.bitrix24.ru/rest/1/abcdef0123456789/``; a method is called as
``POST <webhook_url><method>.json`` with a JSON body, and the portal answers ``{"result": ...}``
or ``{"error": "CODE", "error_description": "..."}``. Written here over httpx (no maintained
Python client of that REST fits: they bring OAuth apps, batching and their own retry loops,
while retries here belong to the outbox).

What one ``CrmClient.call()`` does:

- **Destination policy**: the one guard of outgoing requests (``core.netguard``): unless
  ``CRM_ALLOW_LOCAL`` is on, only ``https``, connected only to a public address the host
  resolves to at connection time; no redirects, no proxies from the environment. A refused
  address is logged as BLOCKED (not retryable).
- **Rate limit** of ``CRM_REQUESTS_PER_SECOND`` per portal, across processes: the next free
  moment lives on the ``CrmConnection`` row (``next_slot_at``); a call reserves it with a
  compare-and-set UPDATE (``WHERE next_slot_at = <seen>``; the loser reads again), then sleeps
  until its slot. The UPDATE alone carries the guarantee, so it holds on SQLite and PostgreSQL.
  A call that would wait more than ``MAX_QUEUE_SECONDS`` is refused as retryable instead.
- **Timeout** of ``CRM_TIMEOUT_SECONDS`` (connection and each read).
- **Delivery log**: every call that went out is one ``CrmCall`` row (method, outcome, HTTP
  status, short detail, duration). The webhook URL holds the portal's secret: it is never
  written to the log, to an exception or to the logger (the host only).
- **Errors** raise ``CrmError`` with ``retryable`` set for timeouts, network failures, 5xx,
  429 and ``QUERY_LIMIT_EXCEEDED``; the caller decides (the outbox retries everything).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from partnerhub.core import clock, netguard
from partnerhub.leads.models import CrmCall, CrmCallOutcome, CrmConnection, Deal

logger = logging.getLogger(__name__)

_REST_TOKEN = re.compile(r"(/rest/\d+/)[^/\s\"']+")
_TAGS = re.compile(r"<[^>]*>")


class _HideWebhookToken(logging.Filter):
    """httpx logs every request's full URL at INFO: the token of a webhook URL is hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = _REST_TOKEN.sub(r"\1***", message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


logging.getLogger("httpx").addFilter(_HideWebhookToken())

#: How much of an error text is kept in ``CrmCall.detail`` and ``CrmError``.
DETAIL_MAX_CHARS = 300
#: A call waits for its rate-limit slot at most this long; beyond it the portal is too busy
#: for us right now and the call is refused as retryable (the outbox comes back later).
MAX_QUEUE_SECONDS = 60.0
#: Error codes of the portal that mean "try again later".
RETRYABLE_CODES = frozenset(
    {"QUERY_LIMIT_EXCEEDED", "INTERNAL_SERVER_ERROR", "ERROR_SERVER", "OVERLOAD_LIMIT"}
)
USER_AGENT = "partnerhub-crm/1"


class CrmError(Exception):
    """A CRM call failed. ``retryable``: the same call may well work later (timeout, network,
    5xx, rate limit); otherwise the request or the webhook itself is wrong. ``code`` is the
    portal's error code when it sent one."""

    def __init__(
        self,
        detail: str,
        *,
        outcome: str,
        retryable: bool,
        status: int | None = None,
        code: str = "",
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.outcome = outcome
        self.retryable = retryable
        self.status = status
        self.code = code


def host_of(webhook_url: str) -> str:
    """The portal's host: what logs and messages may show of a webhook URL."""
    return urlsplit(webhook_url).hostname or "?"


def check_destination(webhook_url: str, *, allow_local: bool) -> None:
    """Refuse (``CrmError``, outcome BLOCKED) an address the guard refuses by its spelling; the
    address connected to is checked again when the call connects."""
    try:
        netguard.check_syntax(webhook_url, allow_local=allow_local)
    except netguard.DestinationRefused as refused:
        raise _blocked(refused) from None


def _blocked(refused: netguard.DestinationRefused) -> CrmError:
    return CrmError(refused.detail, outcome=CrmCallOutcome.BLOCKED, retryable=False)


def reserve_slot(connection_id: int, *, now: dt.datetime | None = None) -> float:
    """Reserve the next free moment to call the portal; returns how many seconds to wait.

    Compare-and-set on ``CrmConnection.next_slot_at``: read it, then
    ``UPDATE ... SET next_slot_at = slot + interval WHERE next_slot_at = <read>``; when another
    process moved it in between, no row is updated and we read again.
    """
    rate: float = settings.CRM_REQUESTS_PER_SECOND
    interval = dt.timedelta(seconds=1 / rate) if rate > 0 else dt.timedelta(0)
    rows = CrmConnection.objects.filter(pk=connection_id)
    while True:
        moment = now or clock.now()
        seen = rows.values_list("next_slot_at", flat=True).get()
        slot = max(moment, seen) if seen is not None else moment
        wait = (slot - moment).total_seconds()
        if wait > MAX_QUEUE_SECONDS:
            raise CrmError(
                f"{wait:.0f} s of calls already queued for this portal",
                outcome=CrmCallOutcome.NETWORK,
                retryable=True,
            )
        guard = (
            rows.filter(next_slot_at__isnull=True)
            if seen is None
            else rows.filter(next_slot_at=seen)
        )
        if guard.update(next_slot_at=slot + interval):
            return wait


@dataclass(frozen=True)
class _Answer:
    outcome: str
    status: int | None
    detail: str
    result: Any = None
    error: CrmError | None = None


class CrmClient:
    """Calls REST methods of one partner's portal. Use outside a transaction: a call sleeps for
    its rate-limit slot and waits for the network."""

    def __init__(self, connection: CrmConnection):
        self.connection = connection
        self.host = host_of(connection.webhook_url)
        self.last_call: CrmCall | None = None

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, deal: Deal | None = None
    ) -> Any:
        """Call ``method`` with ``params``; returns the answer's ``result`` or raises
        ``CrmError``. Every call that went out is logged (``self.last_call``)."""
        allow_local: bool = settings.CRM_ALLOW_LOCAL
        self.last_call = None
        try:
            check_destination(self.connection.webhook_url, allow_local=allow_local)
        except CrmError as error:
            self._log(method, deal, _Answer(error.outcome, None, error.detail, error=error), 0)
            raise
        # An unsaved connection is the one-off check of a URL being connected: no slot, no log.
        wait = reserve_slot(self.connection.pk) if self.connection.pk is not None else 0.0
        clock.sleep(wait)
        started = time.monotonic()
        answer = self._send(method, params or {}, allow_local=allow_local)
        duration_ms = int((time.monotonic() - started) * 1000)
        self._log(method, deal, answer, duration_ms)
        if answer.error is not None:
            logger.info("crm %s %s failed: %s", self.host, method, answer.detail)
            raise answer.error
        return answer.result

    def _send(self, method: str, params: dict[str, Any], *, allow_local: bool) -> _Answer:
        url = f"{self.connection.webhook_url}{method}.json"
        timeout: float = settings.CRM_TIMEOUT_SECONDS
        try:
            with netguard.guarded_client(
                allow_local=allow_local, timeout=timeout, headers={"User-Agent": USER_AGENT}
            ) as http:
                response = http.post(url, json=params)
        except netguard.DestinationRefused as refused:
            error = _blocked(refused)
            return _Answer(error.outcome, None, error.detail, error=error)
        except httpx.TimeoutException:
            return _failure(CrmCallOutcome.TIMEOUT, None, f"no answer within {timeout:g} s", True)
        except httpx.HTTPError as exc:
            # httpx's messages do not carry the URL; the type is enough to read.
            return _failure(CrmCallOutcome.NETWORK, None, _short(type(exc).__name__, exc), True)
        return _read(response)

    def _log(self, method: str, deal: Deal | None, answer: _Answer, duration_ms: int) -> None:
        if self.connection.pk is None:
            return
        self.last_call = CrmCall.objects.create(
            connection=self.connection,
            deal=deal,
            method=method[:64],
            outcome=answer.outcome,
            status=answer.status,
            detail=answer.detail[:DETAIL_MAX_CHARS],
            duration_ms=duration_ms,
            at=clock.now(),
        )


def _short(kind: str, exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{kind}: {text}"[:DETAIL_MAX_CHARS] if text else kind


def _failure(
    outcome: str, status: int | None, detail: str, retryable: bool, code: str = ""
) -> _Answer:
    detail = detail[:DETAIL_MAX_CHARS]
    error = CrmError(detail, outcome=outcome, retryable=retryable, status=status, code=code)
    return _Answer(outcome, status, detail, error=error)


def _read(response: httpx.Response) -> _Answer:
    """Turn an HTTP answer of the portal into a result or a ``CrmError``."""
    status = response.status_code
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and body.get("error"):
        code = str(body.get("error"))[:64]
        description = " ".join(str(body.get("error_description") or "").split())
        detail = f"{code}: {description}" if description else code
        retryable = code in RETRYABLE_CODES or status >= 500 or status == 429
        outcome = CrmCallOutcome.ERROR
        return _failure(outcome, status, detail, retryable, code)
    if not 200 <= status < 300:
        excerpt = " ".join(_TAGS.sub(" ", response.text[:DETAIL_MAX_CHARS]).split())
        detail = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
        return _failure(CrmCallOutcome.HTTP_ERROR, status, detail, status >= 500 or status == 429)
    if not isinstance(body, dict) or "result" not in body:
        return _failure(CrmCallOutcome.HTTP_ERROR, status, "the answer is not REST JSON", True)
    return _Answer(CrmCallOutcome.OK, status, "", result=body["result"])
