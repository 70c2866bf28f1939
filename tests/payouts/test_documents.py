"""The closing documents of a conversion (issue 6, part 5, issued by the documents app): the act
of a 6,000 payout renders to PDF pages with the Cyrillic text of both sides and the amount."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from partnerhub.documents.services import closing_document_pdf
from partnerhub.payouts import selectors
from tests.documents.factories import rendered
from tests.payouts.factories import convert, partner_ready

pytestmark = [pytest.mark.django_db, pytest.mark.needs_tools("pdftoppm", "pdftotext")]


def test_the_act_and_invoice_of_a_6000_payout_render_with_cyrillic_text(world, tmp_path: Path):
    payout = convert(partner_ready(world, balance=Decimal("12000.00"), vat_payer=True), "6000.00")

    for document in rendered(selectors.documents_of(payout=payout)):
        pdf = tmp_path / f"{document.kind}.pdf"
        pdf.write_bytes(closing_document_pdf(document))
        subprocess.run(["pdftoppm", "-png", str(pdf), str(tmp_path / document.kind)], check=True)
        pages = sorted(tmp_path.glob(f"{document.kind}-*.png"))
        assert pages and all(page.stat().st_size > 0 for page in pages)
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert "Альфа" in text
        assert "1С-Битрикс" in text
        assert document.number in text
        assert "6 000,00" in text.replace("\xa0", " ")
