"""Helpers of the browser test of contracts and payouts (issue 6): the partner's card as the
owner types it, the staff's browser contexts, logging in through the login page, a small PDF."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.factories import PASSWORD
from tests.waiting import BROWSER_WAIT_MS

#: Partner A's INN and the KPP of its card; the Diadoc id is built on them.
PARTNER_INN = "7707083893"
PARTNER_KPP = "773601001"
DIADOC_ID = f"2BM-{PARTNER_INN}-{PARTNER_KPP}"

#: Every field of a legal entity's card (valid checksummed numbers), not a VAT payer.
VALID_CARD = {
    "full_name": "Общество с ограниченной ответственностью «Василёк»",
    "short_name": "ООО «Василёк»",
    "inn": PARTNER_INN,
    "kpp": PARTNER_KPP,
    "ogrn": "1027700132195",
    "legal_address": "117997, г. Москва, ул. Вавилова, д. 19",
    "postal_address": "117997, г. Москва, ул. Вавилова, д. 19",
    "bik": "044525225",
    "settlement_account": "40702810938000000001",
    "correspondent_account": "30101810400000000225",
    "bank_name": "ПАО Сбербанк",
    "director_name": "Иванов Иван Иванович",
    "director_position": "Генеральный директор",
    "email": "office@vasilek.example",
    "phone": "+7 495 500-55-50",
    "website": "https://vasilek.example",
}


def log_in(page: Page, base_url: str, email: str, next_path: str) -> None:
    """Log in on the login page and land on ``next_path``."""
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.fill("#id_email", email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    expect(page).to_have_url(f"{base_url}{next_path}")


@contextlib.contextmanager
def in_browser(browser: Browser) -> Iterator[Page]:
    """Another person's page: a browser context of its own (no shared cookies)."""
    context = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(BROWSER_WAIT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def pdf_file(directory: Path, name: str) -> Path:
    """A small, well-formed one-page PDF (what a scanner gives, minus the image)."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path = directory / name
    path.write_bytes(body)
    return path
