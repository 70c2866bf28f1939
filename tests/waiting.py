"""Waiting for a state, never for a length of time (issue 16, item 6).

A test that runs real processes or threads waits until what it needs has happened (a server
answers, a row changed, a worker has taken five requests) with ``wait_until``; the timeout is
only a generous bound so that a broken build fails instead of hanging, and no assertion depends
on how long anything took. Moments that the code under test computes are driven with the clock
(``core.clock``, frozen with time-machine), not measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

#: Long enough for a loaded two-core machine running the suite on several workers.
WAIT_TIMEOUT = 60.0
#: The same for a browser test's page actions and ``expect`` (Playwright counts milliseconds;
#: every worker runs its own Chromium).
BROWSER_WAIT_MS = 30_000

_T = TypeVar("_T")


def wait_until(
    condition: Callable[[], _T],
    *,
    what: str,
    timeout: float = WAIT_TIMEOUT,
    interval: float = 0.02,
    details: Callable[[], str] = lambda: "",
) -> _T:
    """Call ``condition`` until it returns something true and return that; fail the test,
    naming ``what`` and adding ``details()`` (a server's log...), if ``timeout`` seconds pass
    first. ``interval`` is the pause between two calls (a retry's pace)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting until {what}\n{details()}")
        time.sleep(interval)
