"""Image bombs as counterparty documents (issue 14, break 5): a 40000×40000 PNG of ~200 KB was a
500 (Pillow's DecompressionBombError escaped ``partners.uploads``); it is now a field error and
nothing is stored."""

from __future__ import annotations

import functools
import struct
import zlib

import pytest
from django.urls import reverse
from PIL import Image

from partnerhub.core.errors import ValidationFailed
from partnerhub.partners import uploads
from partnerhub.partners.models import CounterpartyDocument
from tests.partners.issue6_factories import REGISTRATION, document_kind, upload, upload_file


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def png_declaring(width: int, height: int) -> bytes:
    """A valid 1-bit grayscale PNG of ``width``×``height`` white-free pixels: all zeros compress
    to almost nothing, so the file is small and the picture huge."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_the_40000_square_png_is_small():
    content = png_declaring(40_000, 40_000)
    assert len(content) < 250_000  # ~194 KB, like the probe's file


def test_a_40000_by_40000_png_is_a_field_error_and_nothing_is_stored(world, media):
    with pytest.raises(ValidationFailed) as refused:
        upload(world.partner_a, name="scan.png", content=png_declaring(40_000, 40_000))

    assert list(refused.value.fields) == ["file"]
    assert "Изображение слишком большое" in str(refused.value.fields["file"][0])
    assert "89 млн точек" in str(refused.value.fields["file"][0])
    assert CounterpartyDocument.objects.count() == 0
    assert stored_files(media) == []


def test_a_png_just_over_the_limit_is_refused_too(world, media):
    """Between the limit and twice it Pillow only warns; the upload is refused all the same."""
    side = 10_000  # 100 million pixels, over Image.MAX_IMAGE_PIXELS (89.5 million)
    assert Image.MAX_IMAGE_PIXELS < side * side < 2 * Image.MAX_IMAGE_PIXELS
    with pytest.raises(ValidationFailed) as refused:
        uploads.sniff(upload_file("scan.png", png_declaring(side, side)), name="scan.png")
    assert "Изображение слишком большое" in str(refused.value.fields["file"][0])


def test_a_big_but_reasonable_scan_passes(world):
    sniffed = uploads.sniff(upload_file("a4.png", png_declaring(4_960, 7_016)), name="a4.png")
    assert sniffed.content_type == uploads.PNG


def test_the_page_shows_the_error_on_the_file_field(world, login_as, media):
    response = login_as("a:owner").post(
        reverse("cabinet:counterparty_document_upload"),
        {
            "kind": document_kind(REGISTRATION).pk,
            "file": upload_file("scan.png", png_declaring(40_000, 40_000), "image/png"),
        },
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field="file"' in body and "Изображение слишком большое" in body
    assert CounterpartyDocument.objects.count() == 0
    assert stored_files(media) == []


def test_a_nul_in_the_uploaded_file_name_is_dropped_from_the_kept_name(world, media):
    document = upload(world.partner_a, name="ogrn\x00.pdf")
    assert document.original_name == "ogrn.pdf"
