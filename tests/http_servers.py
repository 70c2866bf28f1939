"""Local fake HTTP servers of third parties (the partner's CRM, webhook receivers) for tests.

``HTTPServer`` is pytest-httpserver's server with a short shutdown poll: the library serves with
``socketserver``'s default poll of 0.5 s, so each ``stop()`` waited up to half a second (about
40 s of every suite run went to stopping servers).
"""

from __future__ import annotations

from pytest_httpserver import HTTPServer as _LibraryHTTPServer

#: How often the serving thread looks whether it should stop (seconds).
SHUTDOWN_POLL_SECONDS = 0.02


class HTTPServer(_LibraryHTTPServer):
    """pytest-httpserver's server that stops within ``SHUTDOWN_POLL_SECONDS``."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=SHUTDOWN_POLL_SECONDS)
