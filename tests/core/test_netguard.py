"""The one guard of outgoing requests to user-given addresses (issue 14, break 1): every
non-public address class refused at save time and at connection time, whatever its spelling;
public addresses accepted; DNS checked on the address actually connected to (rebinding), with
the Host header, SNI and certificate check on the name; redirects and proxies not followed.

The resolver (``socket.getaddrinfo``) is a third party: tests fake its answers for test names
and let every other lookup through. Servers are real: pytest-httpserver (plain and TLS) and a
bare listening socket that tells whether anything connected at all."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpcore
import httpx
import pytest
from werkzeug import Response

from partnerhub.core import netguard
from partnerhub.core.netguard import DestinationRefused, GuardedBackend, check_url, guarded_client
from tests.http_servers import HTTPServer

PUBLIC_V4 = "93.184.216.34"

REFUSED_HOSTS = [
    "10.0.0.1",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.1",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.9.10",
    "0.0.0.0",
    "0",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.254",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:10.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[::7f00:1]",
    "[64:ff9b::a00:1]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b:1::a00:1]",
    "[2002:7f00:1::]",
    "[2002:a00:1::1]",
    "[2002:c0a8:101::1]",
    "[2001::1]",
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
    "[2001:db8::1]",
    "[3fff::1]",
    "[fc00::1]",
    "[fd12:3456:789a::1]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "[fec0::1]",
    "[ff02::1]",
    "[100::1]",
    "localhost",
    "LOCALHOST.",
    "foo.localhost",
    "printer.local",
    "db.internal",
    "router.lan",
    "nas.home.arpa",
    "redis",
    "2130706433",
    "0x7f000001",
    "017700000001",
    "0x7f.1",
    "127.1",
    "0177.1",
    "0xa.0.0.1",
    "3232235777",
]
PUBLIC_HOSTS = [
    PUBLIC_V4,
    "8.8.8.8",
    "[2606:4700:4700::1111]",
    "[2a00:1450:4010:c05::65]",
    "[::ffff:8.8.8.8]",
    "[64:ff9b::808:808]",
    "[2002:808:808::1]",
]


class FakeDns:
    """Fake DNS answers: ``dns[name] = [answer, ...]``, one answer per lookup (the last one
    repeats); ``calls[name]`` counts the lookups. Names not listed are looked up for real."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.calls: dict[str, int] = {}

    def __setitem__(self, name: str, answers: list[list[str]]) -> None:
        self.answers[name] = answers


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in fake.answers:
            return real(host, port, *args, **kwargs)
        fake.calls[name] = fake.calls.get(name, 0) + 1
        answers = fake.answers[name]
        answer = answers[min(fake.calls[name], len(answers)) - 1]
        return [_addrinfo(address, int(port or 0)) for address in answer]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return fake


def _addrinfo(address: str, port: int) -> tuple:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A bare TCP listener on 127.0.0.1: ``accept()`` tells whether anything connected."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.3)
    yield sock
    sock.close()


def nothing_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except TimeoutError:
        return True
    conn.close()
    return False


# --- save time: spelling and DNS ------------------------------------------------------------


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_every_non_public_address_class_and_spelling_is_refused_at_save_time(host):
    with pytest.raises(DestinationRefused) as refused:
        check_url(f"https://{host}/rest/1/token/", allow_local=False)

    assert refused.value.reason in {"address", "local_name"}
    assert refused.value.code == "destination_refused"


@pytest.mark.parametrize("host", PUBLIC_HOSTS)
def test_a_public_address_is_accepted(host):
    check_url(f"https://{host}/rest/1/token/", allow_local=False)


@pytest.mark.parametrize(
    "url",
    ["http://portal.example.com/", "ftp://portal.example.com/", "file:///etc/passwd", "//x.com/"],
)
def test_only_https_is_called_unless_local_is_allowed(url):
    with pytest.raises(DestinationRefused) as refused:
        check_url(url, allow_local=False, resolve=False)

    assert refused.value.reason == "scheme"


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw@portal.example.com/",
        "https://08.1.1.1/",
        "https://0177.0.0.1/",
        "https://1.2.3.4.5/",
        "https://portal.example.123/",
        "https://exa mple.com/",
        "https:///path",
    ],
)
def test_malformed_hosts_and_credentials_are_refused(url):
    """``0177.0.0.1``: httpx itself refuses a dotted quad with leading zeros."""
    with pytest.raises(DestinationRefused) as refused:
        check_url(url, allow_local=False, resolve=False)

    assert refused.value.reason == "malformed"


def test_a_name_that_resolves_to_a_private_address_is_refused(dns):
    dns["portal.example.com"] = [["10.1.2.3"]]

    with pytest.raises(DestinationRefused) as refused:
        check_url("https://portal.example.com/rest/1/t/", allow_local=False)

    assert refused.value.reason == "address"
    assert "10.1.2.3" in refused.value.detail


def test_one_private_record_among_public_ones_is_enough_to_refuse(dns):
    dns["portal.example.com"] = [[PUBLIC_V4, "2606:4700:4700::1111", "::ffff:127.0.0.1"]]

    with pytest.raises(DestinationRefused):
        check_url("https://portal.example.com/", allow_local=False)


def test_a_name_that_resolves_to_public_addresses_only_is_accepted(dns):
    dns["portal.example.com"] = [[PUBLIC_V4, "2606:4700:4700::1111"]]

    check_url("https://portal.example.com/", allow_local=False)


def test_a_name_that_does_not_resolve_is_refused_as_unresolvable(dns):
    dns["portal.example.com"] = [[]]

    with pytest.raises(DestinationRefused) as refused:
        check_url("https://portal.example.com/", allow_local=False)

    assert refused.value.reason == "unresolvable"


def test_allowing_local_addresses_lets_http_and_loopback_through():
    check_url("http://127.0.0.1:8000/rest/1/t/", allow_local=True)
    check_url("http://localhost/hook", allow_local=True)


# --- connection time ------------------------------------------------------------------------


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_the_connection_itself_refuses_every_non_public_address(host):
    with pytest.raises(DestinationRefused):
        GuardedBackend().connect_tcp(host.strip("[]"), 443, timeout=1.0)


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost", "2130706433", "0x7f.1"])
def test_the_guarded_client_never_connects_to_a_loopback_listener(listener, host):
    port = listener.getsockname()[1]

    with guarded_client(allow_local=False, timeout=1.0) as client:
        for scheme in ("https", "http"):
            with pytest.raises(DestinationRefused):
                client.get(f"{scheme}://{host}:{port}/rest/1/t/profile.json")

    assert nothing_connected(listener)


def test_dns_rebinding_is_refused_when_connecting(dns, listener):
    """The name answers a public address when the form checks it and 127.0.0.1 when the
    request connects: the address connected to is the one checked, so nothing connects."""
    port = listener.getsockname()[1]
    dns["rebind.example.com"] = [[PUBLIC_V4], ["127.0.0.1"]]
    url = f"https://rebind.example.com:{port}/rest/1/t/"
    check_url(url, allow_local=False)

    with (
        guarded_client(allow_local=False, timeout=1.0) as client,
        pytest.raises(DestinationRefused) as refused,
    ):
        client.post(url + "profile.json", json={})

    assert "127.0.0.1" in refused.value.detail
    assert dns.calls["rebind.example.com"] == 2
    assert nothing_connected(listener)


def test_a_name_that_does_not_resolve_when_connecting_is_a_connection_error(dns):
    dns["gone.example.com"] = [[]]

    with (
        guarded_client(allow_local=False, timeout=1.0) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.get("https://gone.example.com/")


@pytest.fixture(scope="module")
def portal_tls(tmp_path_factory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate of portal.example.com: (server context, client context)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=portal.example.com",
            "-addext", "subjectAltName=DNS:portal.example.com",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


@pytest.fixture
def tls_server(portal_tls) -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=portal_tls[0])
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def loopback_counts_as_public(monkeypatch):
    """Only to reach the local TLS server as if it were a public host."""
    public = tuple(entry for entry in netguard.REFUSED_V4 if entry[1] != "loopback")
    monkeypatch.setattr(netguard, "REFUSED_V4", public)


def test_the_request_goes_to_the_validated_address_with_the_name_in_host_sni_and_certificate(
    dns, tls_server, portal_tls, loopback_counts_as_public
):
    dns["portal.example.com"] = [["127.0.0.1"]]
    tls_server.expect_request("/rest/1/t/profile.json").respond_with_json({"result": 1})
    url = f"https://portal.example.com:{tls_server.port}/rest/1/t/profile.json"

    with guarded_client(allow_local=False, timeout=2.0, verify=portal_tls[1]) as client:
        response = client.post(url, json={})

    assert response.json() == {"result": 1}
    [(request, _)] = tls_server.log
    assert request.headers["Host"] == f"portal.example.com:{tls_server.port}"
    assert dns.calls["portal.example.com"] == 1


def test_the_certificate_is_checked_against_the_name_not_the_address(
    dns, tls_server, portal_tls, loopback_counts_as_public
):
    dns["other.example.com"] = [["127.0.0.1"]]

    with (
        guarded_client(allow_local=False, timeout=2.0, verify=portal_tls[1]) as client,
        pytest.raises(httpx.ConnectError, match="certificate"),
    ):
        client.get(f"https://other.example.com:{tls_server.port}/")

    assert tls_server.log == []


# --- redirects, proxies ---------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_a_redirect_is_not_followed(server):
    server.expect_request("/hook").respond_with_response(
        Response("", status=302, headers={"Location": server.url_for("/internal")})
    )
    server.expect_request("/internal").respond_with_data("secret")

    with guarded_client(allow_local=True, timeout=1.0) as client:
        response = client.post(server.url_for("/hook"))

    assert response.status_code == 302
    assert [request.path for request, _ in server.log] == ["/hook"]


def test_an_answer_longer_than_the_limit_is_not_read_whole(server, settings):
    """A hostile portal's endless answer stops at OUTBOUND_RESPONSE_MAX_BYTES, whether it
    declares its length or streams it (chunked)."""
    settings.OUTBOUND_RESPONSE_MAX_BYTES = 4096
    big = b"x" * 10_000
    server.expect_request("/declared").respond_with_data(big)
    server.expect_request("/chunked").respond_with_response(
        Response(iter([big[:3000], big[3000:]]), direct_passthrough=True)
    )
    server.expect_request("/small").respond_with_data(b"y" * 4096)

    with guarded_client(allow_local=True, timeout=1.0) as client:
        for path in ("/declared", "/chunked"):
            with pytest.raises(netguard.ResponseTooLarge):
                client.post(server.url_for(path))
        assert client.post(server.url_for("/small")).content == b"y" * 4096


def test_no_proxy_is_taken_from_the_environment(server, listener, monkeypatch):
    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server.expect_request("/hook").respond_with_data("ok")

    with guarded_client(allow_local=True, timeout=1.0) as client:
        assert client.post(server.url_for("/hook")).status_code == 200

    assert nothing_connected(listener)


def test_unix_sockets_are_never_connected():
    with pytest.raises(DestinationRefused):
        GuardedBackend().connect_unix_socket("/run/postgresql/.s.PGSQL.5432")


def test_the_backend_is_the_one_httpcore_connects_through():
    """httpx 0.28 takes no network backend: the transport swaps its pool (see the module). If a
    new httpx stopped using the swapped pool, this fails."""
    transport = netguard.GuardedTransport(allow_local=False)

    pool = transport._pool

    assert isinstance(pool, httpcore.ConnectionPool)
    assert isinstance(pool._network_backend, GuardedBackend)


# --- one guard ------------------------------------------------------------------------------

SOURCE = Path(__file__).resolve().parents[2] / "src" / "partnerhub"
_HTTP_CLIENTS = re.compile(
    r"httpx\.(Client|AsyncClient|HTTPTransport|post|get|request|stream)\b"
    r"|import requests|from requests|urllib\.request|http\.client|urlopen|aiohttp"
)


def test_no_module_but_the_guard_makes_its_own_http_client():
    """Every outgoing request goes through ``guarded_client`` (house style: no outgoing HTTP to
    a user-given address without the one SSRF guard)."""
    offenders = [
        f"{path.relative_to(SOURCE)}:{number}"
        for path in SOURCE.rglob("*.py")
        if path.name != "netguard.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _HTTP_CLIENTS.search(line)
    ]

    assert offenders == []


def test_every_outgoing_call_checks_certificates_with_one_context_built_once():
    context = netguard.default_ssl_context()

    assert context is netguard.default_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
