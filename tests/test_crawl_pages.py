"""No 500 from any page's GET parameters (issue 14, "What to build" 2): a crawler over every GET
page of the URL authorisation table (``tests/test_url_authorisation.URL_TABLE``, with the areas'
tables and its objects of partner A).

For each page and each actor that may open it (expected 200), the page's own parameters are
found by reading it: the names of the inputs and selects of its GET forms, plus the usual ``q``,
``page``, ``status``, ``date`` ones. Each parameter then gets NUL, an overlong value (10,000
characters), bytes that are not UTF-8 (``%ff``), an encoded lone surrogate (``%ED%A0%80``),
``-1``, ``1e309``, ``0001-01-01``, ``null``, a number too big for any column, an impossible date,
a superscript digit and a repeated parameter; each path id gets the same treatment where the URL
pattern allows it.
Every answer must be below 500. The first actor of a page sends each value in every parameter at
once, then rotations (parameter i gets value i + k), so that every parameter meets every value
beside other values; the other actors send two rotations (the role changes what the view reads,
not how it parses). Path values go in as the first actor.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from tests import test_url_authorisation as authorisation
from tests.test_url_authorisation import OK, URL_TABLE, client_for

#: The table's fixture of partner A's objects the URLs point at.
a_objects = authorisation.a_objects

#: Parameters many list pages read, tried on every page.
COMMON_PARAMETERS = ("q", "page", "status", "date", "program", "sort", "from", "to")

#: (label, the value as it goes into the query string, already percent-encoded)
VALUES: tuple[tuple[str, str], ...] = (
    ("nul", "%00"),
    ("overlong", "x" * 10_000),
    ("long number", "9" * 5_000),
    ("not utf-8", "%ff"),
    ("lone surrogate", "%ED%A0%80"),
    ("negative", "-1"),
    ("1e309", "1e309"),
    ("year 1", "0001-01-01"),
    ("null", "null"),
    ("huge int", "99999999999999999999999"),
    ("impossible date", "2026-13-45"),
    ("superscript digit", "%C2%B2"),  # "²".isdigit() is True, int("²") raises
)

#: Path values: what a client can put where an id or a code goes.
PATH_VALUES: tuple[str, ...] = (
    "%00",
    "x" * 10_000,
    "%ff",
    "%ED%A0%80",
    "-1",
    "0",
    "99999999999999999999999",
    "9223372036854775808",
    "null",
)


def _page_entries() -> list[Any]:
    params = []
    for name, entry in URL_TABLE.items():
        if entry.api or name.startswith("admin:") or "GET" not in entry.expect:
            continue
        actors = [actor for actor, status in entry.expect["GET"].items() if status == OK]
        if actors:
            params.append(pytest.param(name, actors, id=name))
    return params


PAGES = _page_entries()


class GetFormFields(HTMLParser):
    """Names of the fields of a page's GET forms (the filter forms)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self._in_get_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self._in_get_form = (attributes.get("method") or "get").lower() == "get"
        elif tag in {"input", "select", "textarea"} and self._in_get_form:
            name = attributes.get("name")
            if name and name != "csrfmiddlewaretoken":
                self.names.add(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_get_form = False


def parameters_of(client: Client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code < 500, f"GET {url}: {response.status_code}"
    names = set(COMMON_PARAMETERS)
    if response.get("Content-Type", "").startswith("text/html"):
        parser = GetFormFields()
        parser.feed(response.content.decode(errors="replace"))
        names |= parser.names
    return sorted(names)


def _query(names: list[str], value: str) -> str:
    return "&".join(f"{quote(name)}={value}" for name in names)


def _get(client: Client, url: str, where: str, problems: list[str]) -> None:
    response = client.get(url)
    if response.status_code >= 500:
        problems.append(f"{where}: GET {url[:200]} -> {response.status_code}")


def _malformed_paths(url: str, kwargs: dict[str, Any]) -> list[str]:
    """``url`` with each path argument replaced by each of PATH_VALUES (segment by segment)."""
    segments = url.split("/")
    urls = []
    for value in kwargs.values():
        text = quote(str(value), safe="")
        for index, segment in enumerate(segments):
            if segment == text:
                for bad in PATH_VALUES:
                    urls.append("/".join([*segments[:index], bad, *segments[index + 1 :]]))
    return urls


def _rotations(names: list[str], count: int) -> list[str]:
    """``count`` queries giving parameter i the value i + k (k = 0, 1...): over len(VALUES)
    rotations every parameter meets every value, each time beside other values."""
    return [
        "&".join(
            f"{quote(name)}={VALUES[(i + k) % len(VALUES)][1]}" for i, name in enumerate(names)
        )
        for k in range(count)
    ]


@pytest.mark.parametrize(("name", "actors"), PAGES)
def test_no_server_error_from_malformed_page_parameters(world, a_objects, name, actors):
    entry = URL_TABLE[name]
    kwargs = entry.kwargs(a_objects) if entry.kwargs else {}
    url = reverse(name, kwargs=kwargs or None)
    problems: list[str] = []
    for position, actor in enumerate(actors):
        client = client_for(world, actor)
        names = parameters_of(client, url)
        where = f"{name} as {actor}"
        queries = _rotations(names, len(VALUES) if position == 0 else 2)
        if position == 0:
            queries += [_query(names, value) for _label, value in VALUES]
            queries.append("&".join(f"{n}=1&{n}=2" for n in names))
        for query in queries:
            _get(client, f"{url}?{query}", where, problems)
        if position == 0:
            for bad_url in _malformed_paths(url, kwargs):
                _get(client, bad_url, where, problems)
    assert not problems, "\n".join(problems)


def test_the_crawl_covers_the_pages_of_the_table():
    names = {param.values[0] for param in PAGES}
    assert {"backoffice:partners", "backoffice:outbox", "cabinet:deals"} <= names
    assert len(PAGES) >= 40
