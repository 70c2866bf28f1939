"""The one guard for outgoing HTTP to an address a user typed (CRM portals, webhooks, vendor key
generators): issue 14, "SSRF closed".

Every such request goes through ``guarded_client()``, an ``httpx.Client`` that

- calls ``https`` only, unless ``allow_local`` (a boolean setting of the caller: local
  development, tests) lets plain http and local addresses through;
- resolves the host once **when it connects**, refuses the connection unless every A/AAAA record
  is public, and connects to one of those validated addresses. The URL keeps the host name, so
  the ``Host`` header, TLS SNI and the certificate check are done on the name; a DNS answer that
  changes between a check and the connection (DNS rebinding) is therefore caught, since the
  address checked is the address connected to;
- never follows a redirect (a 3xx comes back as the answer, which callers treat as a failure)
  and takes no proxy from the environment (``trust_env=False``).

``check_url()`` is the same rule at save time (syntax, literal addresses, and the host's current
DNS answer) so that a form can name the field; the connection-time check covers the rest.

Public means: not loopback, private, link-local, CGNAT, multicast, reserved, unspecified,
documentation or benchmarking ranges, IPv6 unique-local or site-local, Teredo; an IPv6 address
that embeds an IPv4 one (IPv4-mapped, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) is judged by
the embedded address; the local-use NAT64 prefix ``64:ff9b:1::/48`` and IPv4-compatible
``::a.b.c.d`` are refused whole. The lists are our own rather than ``ipaddress.is_global``,
whose answers differ between Python patch releases (3.11.7 calls 224.0.0.1 and
``64:ff9b:1::1`` global). Host names must have a dot and no local suffix (``localhost``,
``*.local``, ``*.internal``...): a single label resolves through the server's search domains.
IPv4 written in decimal, octal or hex (``2130706433``, ``0x7f.1``) is read the way the resolver
reads it, then judged.

httpx 0.28 has no parameter for httpcore's network backend (encode/httpx#3749 adds one), so
``GuardedTransport`` builds httpx's own transport and replaces its connection pool by one with
the guarded backend; a test connects through it, so a change of httpx that broke this fails.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable, Iterator, Mapping
from typing import Final

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import ApplicationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOCAL_NAMES: Final = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
LOCAL_SUFFIXES: Final = (
    ".localhost",
    ".local",
    ".localdomain",
    ".internal",
    ".intranet",
    ".lan",
    ".home",
    ".corp",
    ".arpa",
)

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
#: IPv4 ranges that are never called, with the reason shown in the staff log.
REFUSED_V4: Final[tuple[tuple[ipaddress.IPv4Network, str], ...]] = (
    (_V4("0.0.0.0/8"), "unspecified"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "CGNAT"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "reserved (IETF)"),
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "6to4 relay"),
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "benchmarking"),
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved"),
)
#: IPv6 is called only inside global unicast 2000::/3, minus these.
GLOBAL_UNICAST_V6: Final = _V6("2000::/3")
REFUSED_V6: Final[tuple[tuple[ipaddress.IPv6Network, str], ...]] = (
    (_V6("2001::/32"), "Teredo"),
    (_V6("2001::/23"), "reserved (IETF)"),
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("3fff::/20"), "documentation"),
)
NAT64_V6: Final = _V6("64:ff9b::/96")
NAT64_LOCAL_V6: Final = _V6("64:ff9b:1::/48")
SIX_TO_FOUR_V6: Final = _V6("2002::/16")
_NAMED_V6: Final[tuple[tuple[ipaddress.IPv6Network, str], ...]] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (NAT64_LOCAL_V6, "local-use NAT64"),
    (_V6("::/96"), "IPv4-compatible"),
    (_V6("fc00::/7"), "unique-local"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local"),
    (_V6("ff00::/8"), "multicast"),
)

#: A host written as numbers the resolver reads as IPv4 (``2130706433``, ``0x7f.1``, ``017.1``).
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))+$")


class DestinationRefused(ApplicationError):
    """The address is not one we call. ``reason`` is stable (``scheme``, ``malformed``,
    ``local_name``, ``address``, ``unresolvable``); ``detail`` is English for the staff log."""

    code = CoreErrorCode.DESTINATION_REFUSED

    def __init__(self, reason: str, detail: str) -> None:
        message = (
            _("Адрес должен начинаться с https://.")
            if reason == "scheme"
            else _("Адрес должен быть доступен из интернета.")
        )
        super().__init__(message)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not public (a short English phrase), or None when it is."""
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_refusal(address)
    embedded = _embedded_v4(address)
    if embedded is not None:
        inner = _v4_refusal(embedded)
        return None if inner is None else f"embeds {embedded} ({inner})"
    for v6_network, why in _NAMED_V6:
        if address in v6_network:
            return why
    if address not in GLOBAL_UNICAST_V6:
        return "reserved"
    for v6_network, why in REFUSED_V6:
        if address in v6_network:
            return why
    return None


def _v4_refusal(address: ipaddress.IPv4Address) -> str | None:
    for network, why in REFUSED_V4:
        if address in network:
            return why
    return None


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: IPv4-mapped, NAT64 well-known prefix, 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64_V6:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in SIX_TO_FOUR_V6:
        return address.sixtofour
    return None


def host_literal(host: str) -> IPAddress | None:
    """The IP address ``host`` spells (any IPv4 spelling the resolver accepts), or None for a
    name. ``DestinationRefused`` for a host that looks numeric but is no address."""
    host = host.strip("[]")
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise DestinationRefused("malformed", f"{host!r} is not an IPv6 address") from None
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise DestinationRefused("malformed", f"{host!r} is not an IPv4 address") from None
    return None


def check_host(host: str) -> IPAddress | None:
    """Refuse a host that is not public by its spelling alone (no DNS); returns its address when
    the host is an IP literal."""
    host = host.lower().rstrip(".")
    if not host:
        raise DestinationRefused("malformed", "no host")
    literal = host_literal(host)
    if literal is not None:
        why = address_refusal(literal)
        if why is not None:
            raise DestinationRefused("address", f"{literal} is {why}")
        return literal
    if host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES) or "." not in host:
        raise DestinationRefused("local_name", f"{host} is a local name")
    if not _HOST_NAME.match(host):
        raise DestinationRefused("malformed", f"{host!r} is not a host name")
    last = host.rsplit(".", 1)[-1]
    if last.isdigit() or last.startswith("0x"):
        raise DestinationRefused("malformed", f"{host!r} is not a host name")
    return None


def resolve_public(host: str, port: int) -> list[str]:
    """Resolve ``host`` once; every address must be public (``DestinationRefused`` naming the
    first that is not). ``OSError`` when the name does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{host} has no address")
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%", 1)[0])
        why = address_refusal(address)
        if why is not None:
            raise DestinationRefused("address", f"{host} resolves to {address} ({why})")
    return addresses


def _parse(url: str | httpx.URL) -> httpx.URL:
    try:
        return url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise DestinationRefused("malformed", "not a URL") from exc


def check_syntax(url: str | httpx.URL, *, allow_local: bool) -> httpx.URL:
    """The URL's scheme, credentials, port and host by spelling (no DNS)."""
    parsed = _parse(url)
    if parsed.scheme not in ({"http", "https"} if allow_local else {"https"}):
        raise DestinationRefused("scheme", f"scheme {parsed.scheme or 'none'} is not called")
    if parsed.userinfo:
        raise DestinationRefused("malformed", "credentials in the URL")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise DestinationRefused("malformed", f"port {parsed.port}")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise DestinationRefused("malformed", "no host")
    if not allow_local:
        check_host(host)
    return parsed


def check_url(url: str, *, allow_local: bool, resolve: bool = True) -> None:
    """Refuse (``DestinationRefused``) a URL we would not call: the save-time check of a form.

    With ``resolve`` the host's current DNS answer is checked too (``unresolvable`` when it has
    none); the connection repeats the address check on the address it connects to.
    """
    parsed = check_syntax(url, allow_local=allow_local)
    if allow_local or not resolve:
        return
    host = parsed.raw_host.decode("ascii").rstrip(".")
    if host_literal(host) is not None:
        return
    try:
        resolve_public(host, parsed.port or 443)
    except OSError as exc:
        raise DestinationRefused("unresolvable", f"cannot resolve {host}") from exc


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend that connects only to validated public addresses."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        literal = check_host(host)
        try:
            addresses = [str(literal)] if literal is not None else resolve_public(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise DestinationRefused("address", "unix sockets are not called")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class ResponseTooLarge(httpx.ReadError):
    """The answer is longer than ``OUTBOUND_RESPONSE_MAX_BYTES``: reading stopped there."""


class _LimitedStream(httpx.SyncByteStream):
    """A response body that stops (``ResponseTooLarge``) once it passes ``limit`` bytes."""

    def __init__(self, inner: httpx.SyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            received += len(chunk)
            if received > self._limit:
                raise ResponseTooLarge(f"the answer is longer than {self._limit} bytes")
            yield chunk

    def close(self) -> None:
        self._inner.close()


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The certificate-checking TLS context of every outgoing call, built once a process.

    Loading the CA bundle costs about 30 ms of CPU; a client per call (webhooks, the partner's
    CRM) built two contexts per call before. A context is safe to share between threads; a
    changed CA bundle is read at the next start."""
    return httpx.create_ssl_context(verify=True, trust_env=False)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the URL checked before each request and, unless ``allow_local``,
    the connection made through ``GuardedBackend``. No proxy, no environment."""

    def __init__(self, *, allow_local: bool, verify: ssl.SSLContext | bool = True) -> None:
        context = (
            default_ssl_context()
            if verify is True
            else verify
            if isinstance(verify, ssl.SSLContext)
            else httpx.create_ssl_context(verify=verify, trust_env=False)
        )
        super().__init__(verify=context, trust_env=False)
        self.allow_local = allow_local
        if not allow_local:
            # httpx's defaults (100 connections, 20 kept alive for 5 s), our backend.
            self._pool = httpcore.ConnectionPool(
                ssl_context=context,
                max_connections=100,
                max_keepalive_connections=20,
                keepalive_expiry=5.0,
                network_backend=GuardedBackend(),
            )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_syntax(request.url, allow_local=self.allow_local)
        response = super().handle_request(request)
        limit = int(settings.OUTBOUND_RESPONSE_MAX_BYTES)
        declared = response.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            response.close()
            raise ResponseTooLarge(f"the answer declares {declared} bytes, over {limit}")
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_LimitedStream(stream, limit),
            extensions=response.extensions,
            request=request,
        )


def guarded_client(
    *,
    allow_local: bool,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """The client for every request to a user-given address: guarded transport, ``timeout`` on
    the connection and each read, redirects not followed, nothing from the environment."""
    return httpx.Client(
        transport=GuardedTransport(allow_local=allow_local, verify=verify),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers=dict(headers or {}),
    )
