"""HTML to PDF (WeasyPrint) with the DejaVu fonts bundled under ``static/fonts``.

Documents (the application to join, acts, invoices) are rendered from Django templates. The
fonts come with the project, declared by ``@font-face`` under a family name of our own, so that
Cyrillic renders the same on any machine, whatever fonts it has (or lacks) installed.
"""

from __future__ import annotations

import atexit
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string

__all__ = ["FONT_DIR", "FONT_FAMILY", "html_to_pdf", "render_pdf"]

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
#: The family documents use; only the bundled files are behind it.
FONT_FAMILY = "PH DejaVu Sans"
_FACES = (
    ("DejaVuSans.ttf", "normal", "normal"),
    ("DejaVuSans-Bold.ttf", "bold", "normal"),
    ("DejaVuSans-Oblique.ttf", "normal", "italic"),
    ("DejaVuSans-BoldOblique.ttf", "bold", "italic"),
)


def _font_css() -> str:
    faces = [
        f'@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{(FONT_DIR / name).as_uri()}"); '
        f"font-weight: {weight}; font-style: {style}; }}"
        for name, weight, style in _FACES
    ]
    return "\n".join([*faces, f'html {{ font-family: "{FONT_FAMILY}"; }}'])


@lru_cache(maxsize=1)
def _fonts() -> tuple[Any, Any]:
    """The font configuration and the stylesheet declaring the bundled fonts (made once)."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    config = FontConfiguration()
    return config, CSS(string=_font_css(), font_config=config)


# freed while the interpreter is still whole (WeasyPrint's finaliser needs its modules)
atexit.register(_fonts.cache_clear)


def html_to_pdf(html: str) -> bytes:
    """The PDF of an HTML document (its own ``<style>`` applies; fonts are the bundled ones)."""
    from weasyprint import HTML

    config, fonts = _fonts()
    pdf = HTML(string=html, base_url=str(FONT_DIR)).write_pdf(
        stylesheets=[fonts], font_config=config
    )
    assert pdf is not None  # write_pdf without a target returns the bytes
    return bytes(pdf)


def render_pdf(template_name: str, context: Mapping[str, Any]) -> bytes:
    """Render a Django template to HTML, then to PDF."""
    return html_to_pdf(render_to_string(template_name, dict(context)))
