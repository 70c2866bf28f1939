"""Fixtures of the browser tests: Debian's Chromium driven by Playwright's sync API.

The machine has no network, so Playwright never downloads a browser: it launches
``/usr/bin/chromium`` and the tests are skipped when that binary is missing. Pages talk to
pytest-django's ``live_server`` (another thread, hence ``transactional_db``). On a failure a
screenshot of the page is saved under ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.waiting import BROWSER_WAIT_MS

# Playwright's sync API keeps an asyncio event loop in the main thread, so Django would refuse
# ORM calls made by the test body (SynchronousOnlyOperation). Django's documented escape hatch:
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether it failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the whole session."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: the browser tests need Debian's chromium package")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, live_server, request) -> Iterator[object]:
    """A fresh browser context (no cookies) and page; a screenshot is kept if the test fails."""
    context = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(BROWSER_WAIT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
            with contextlib.suppress(Exception):  # never hide the real failure
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        context.close()
