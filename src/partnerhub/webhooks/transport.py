"""The HTTP side of webhooks: where a request may go, and one POST with a timeout.

Standard library only (``urllib.request``; httpx/requests are not dependencies). Choices made
here, since the request goes from our server to an address a partner typed:

- **Destinations.** Unless ``WEBHOOK_ALLOW_LOCAL`` is on (development, tests), only ``https``
  URLs whose host resolves to public addresses are called: no loopback, private, link-local or
  reserved addresses, so an endpoint cannot make our server probe its own network. The host is
  checked when the endpoint is saved (syntax) and again before every request (DNS). The second
  check resolves the name once more than the connection does, so a DNS answer that changes in
  between is not caught; a network egress policy is the complete answer.
- **No redirects.** A 3xx answer is a failure like any other non-2xx: following it would turn
  the POST into a GET and could lead anywhere.
- **No proxies from the environment** (settings are read once in ``config.settings``).
- ``timeout`` bounds the connection and each read, not the whole exchange.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from partnerhub.webhooks.models import AttemptOutcome

#: How much of an error answer is kept in the delivery log.
EXCERPT_BYTES = 300
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


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


def is_local_name(host: str) -> bool:
    """True for names that only make sense inside a network (``localhost``, ``*.local``...)."""
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(LOCAL_SUFFIXES)


def non_public_address(host: str) -> str | None:
    """The address itself when ``host`` is an IP literal that is not public, else None."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return None if address.is_global else str(address)


def check_destination(url: str, *, allow_local: bool) -> None:
    """Refuse (``TransportError`` BLOCKED) a request our policy does not allow."""
    if allow_local:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https":
        raise TransportError(AttemptOutcome.BLOCKED, "only https endpoints are called")
    if not host or is_local_name(host) or non_public_address(host):
        raise TransportError(AttemptOutcome.BLOCKED, f"{host or 'no host'} is not a public host")
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise TransportError(AttemptOutcome.CONNECTION_ERROR, f"cannot resolve {host}") from exc
    for info in infos:
        address = str(info[4][0])
        if non_public_address(address):
            raise TransportError(
                AttemptOutcome.BLOCKED, f"{host} resolves to a non-public address {address}"
            )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turn every redirect into an error answer (``HTTPError``)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Response:
    """POST ``body``; a 2xx answer returns, anything else raises ``TransportError``."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - the scheme is checked when the endpoint is saved
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Response(status=response.status)
    except urllib.error.HTTPError as exc:
        excerpt = _excerpt(exc)
        detail = f"HTTP {exc.code}" + (f": {excerpt}" if excerpt else "")
        raise TransportError(AttemptOutcome.HTTP_ERROR, detail, status=exc.code) from exc
    except TimeoutError as exc:
        raise _timeout(timeout) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _timeout(timeout) from exc
        raise TransportError(AttemptOutcome.CONNECTION_ERROR, str(exc.reason)) from exc
    except (http.client.HTTPException, OSError) as exc:
        detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
        raise TransportError(AttemptOutcome.CONNECTION_ERROR, detail) from exc


def _timeout(timeout: float) -> TransportError:
    return TransportError(AttemptOutcome.TIMEOUT, f"no answer within {timeout:g} s")


def _excerpt(error: urllib.error.HTTPError) -> str:
    """The start of an error answer's body, on one line ("" when it cannot be read)."""
    try:
        raw = error.read(EXCERPT_BYTES)
    except (OSError, http.client.HTTPException):
        return ""
    return " ".join(raw.decode("utf-8", "replace").split())
