"""The HTTP side of webhooks: one POST with a timeout, through the one guard of outgoing
requests (``core.netguard``), since the request goes from our server to an address a partner
typed:

- **Destinations.** Unless ``WEBHOOK_ALLOW_LOCAL`` is on (development, tests), only ``https``,
  and the connection is made only to a public address the host resolves to at that moment
  (DNS rebinding does not pass); the endpoint is checked when it is saved too.
- **No redirects.** A 3xx answer is a failure like any other non-2xx: following it would turn
  the POST into a GET and could lead anywhere.
- **No proxies from the environment** (settings are read once in ``config.settings``).
- ``timeout`` bounds the connection and each read, not the whole exchange.

``TransportError.detail`` says what happened for the staff log (the receiver's status and the
start of its answer); the partner's pages show the outcome only.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from partnerhub.core import netguard
from partnerhub.webhooks.models import AttemptOutcome

#: How much of an error answer is kept in the delivery log.
EXCERPT_BYTES = 300


@dataclass(frozen=True)
class Response:
    """A 2xx answer."""

    status: int


class TransportError(Exception):
    """The request failed: ``outcome`` is an ``AttemptOutcome``, ``detail`` says what happened."""

    def __init__(self, outcome: str, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.status = status


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_local: bool
) -> Response:
    """POST ``body``; a 2xx answer returns, anything else raises ``TransportError``."""
    try:
        with (
            netguard.guarded_client(allow_local=allow_local, timeout=timeout) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            if 200 <= response.status_code < 300:
                return Response(status=response.status_code)
            excerpt = _excerpt(response)
    except netguard.DestinationRefused as exc:
        raise TransportError(AttemptOutcome.BLOCKED, exc.detail) from exc
    except httpx.TimeoutException as exc:
        raise TransportError(AttemptOutcome.TIMEOUT, f"no answer within {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
        raise TransportError(AttemptOutcome.CONNECTION_ERROR, detail) from exc
    status = response.status_code
    detail = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    raise TransportError(AttemptOutcome.HTTP_ERROR, detail, status=status)


def _excerpt(response: httpx.Response) -> str:
    """The start of an error answer's body, on one line ("" when it cannot be read)."""
    raw = b""
    try:
        for chunk in response.iter_bytes():
            raw += chunk
            if len(raw) >= EXCERPT_BYTES:
                break
    except httpx.HTTPError:
        return ""
    return " ".join(raw[:EXCERPT_BYTES].decode("utf-8", "replace").split())
