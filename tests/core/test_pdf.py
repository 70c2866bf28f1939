"""HTML to PDF with the bundled fonts: Cyrillic text reaches the PDF's text layer."""

from __future__ import annotations

import subprocess

import pytest

from partnerhub.core.pdf import FONT_FAMILY, html_to_pdf

needs_poppler = pytest.mark.needs_tools("pdftotext", "pdffonts")


@needs_poppler
def test_cyrillic_text_is_in_the_text_layer_in_the_bundled_font(tmp_path):
    pdf = html_to_pdf("<h1>Акт № 1</h1><p>Сумма прописью: шесть тысяч рублей 00 копеек</p>")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Акт № 1" in text
    assert "шесть тысяч рублей" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    embedded = [line.split()[0] for line in fonts.splitlines()[2:]]
    # every font is the bundled one (a subset named after our family), never a system fallback
    family = FONT_FAMILY.replace(" ", "-")
    assert embedded and all(name.split("+")[1].startswith(family) for name in embedded)
