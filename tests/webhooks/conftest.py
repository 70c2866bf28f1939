"""Fixtures of the webhook tests: a real HTTP receiver on 127.0.0.1 (pytest-httpserver, one
thread per request so that a slow answer does not hold up the next request), webhooks allowed
to call it, and a short timeout."""

from __future__ import annotations

import pytest

from tests.http_servers import HTTPServer


@pytest.fixture
def receiver():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    """The receiver is http on 127.0.0.1, which production refuses (``transport``)."""
    settings.WEBHOOK_ALLOW_LOCAL = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
