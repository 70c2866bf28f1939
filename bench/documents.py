"""Benchmark: closing documents as PDF (issue 6 "Benchmark": 1,000 acts, documents per second
and peak memory).

Two measurements, on a throw-away SQLite database and media folder (``VAR_DIR`` in a temporary
directory, migrated first):

* ``issue``: 1,000 payouts of partners without VAT (one act each) through the real service,
  ``documents.services.closing_documents_issue``, one transaction each, as a payout does: the
  numbering upsert, the requisites snapshot, the PDF rendered by ``core.pdf.render_pdf`` (WeasyPrint
  with the bundled DejaVu fonts) and stored with Django's default storage, the audit row and the
  outbox event. Each act's number is checked (А-2026-00001 .. А-2026-01000).
* ``render``: the same acts rendered again from their stored rows
  (``documents.rendering.render_closing_document``), no database writes: the PDF cost alone.

Peak memory is the process's maximum resident set size (``resource.getrusage(RUSAGE_SELF).
ru_maxrss``, KiB on Linux) after each phase, and its growth over the phase; with ``--tracemalloc``
also the Python heap's peak (tracemalloc slows the run: figures are then not comparable).

    python bench/documents.py [--count 1000] [--vat] [--tracemalloc]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds scripts named like standard modules (bench/calendar.py): off the path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from decimal import Decimal  # noqa: E402

ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
SCRATCH = tempfile.TemporaryDirectory(prefix="bench-documents-")
os.environ["VAR_DIR"] = SCRATCH.name
os.environ["DATABASE_URL"] = f"sqlite:///{SCRATCH.name}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from partnerhub.documents.models import ClosingDocument  # noqa: E402
from partnerhub.documents.rendering import render_closing_document  # noqa: E402
from partnerhub.documents.rules import document_number  # noqa: E402
from partnerhub.documents.services import closing_documents_issue  # noqa: E402
from partnerhub.partners.models import Organisation, OrgKind  # noqa: E402

ISSUED_ON = dt.date(2026, 3, 2)
PARTNERS = 50


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_sides(*, vat: bool) -> tuple[Organisation, list[Organisation]]:
    vendor = Organisation.objects.create(
        kind=OrgKind.VENDOR,
        full_name="Общество с ограниченной ответственностью «1С-Битрикс»",
        short_name="ООО «1С-Битрикс»",
        inn="7717586110",
        kpp="771701001",
        ogrn="5077746476209",
        legal_address="236001, г. Калининград, Московский пр-кт, д. 261",
        director_name="Рыжиков Сергей Борисович",
        director_position="Генеральный директор",
    )
    partners = [
        Organisation.objects.create(
            kind=OrgKind.PARTNER,
            full_name=f"Общество с ограниченной ответственностью «Партнёр {n}»",
            short_name=f"ООО «Партнёр {n}»",
            inn=f"77{n:08d}",
            kpp="773601001",
            ogrn="1027700132195",
            legal_address="117997, г. Москва, ул. Вавилова, д. 19",
            vat_payer=vat,
            bik="044525225",
            settlement_account="40702810938000000001",
            correspondent_account="30101810400000000225",
            bank_name="ПАО Сбербанк",
            director_name="Иванов Иван Иванович",
            director_position="Генеральный директор",
        )
        for n in range(PARTNERS)
    ]
    return vendor, partners


def issue_all(count: int, vendor: Organisation, partners: list[Organisation]) -> tuple[int, float]:
    documents = 0
    started = time.perf_counter()
    for i in range(count):
        with transaction.atomic():
            issued = closing_documents_issue(
                vendor=vendor,
                partner=partners[i % len(partners)],
                amount=Decimal(5000 + i * 7) + Decimal("0.35"),
                issued_on=ISSUED_ON,
                basis="Договор № П-17 от 10.02.2026",
                source=f"payout:{i + 1}",
            )
        assert issued[0].number == document_number("act", ISSUED_ON.year, i + 1)
        documents += len(issued)
    return documents, time.perf_counter() - started


def render_all() -> tuple[int, int, float]:
    rows = list(ClosingDocument.objects.order_by("pk"))
    size = 0
    started = time.perf_counter()
    for row in rows:
        size += len(render_closing_document(row))
    return len(rows), size, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="payouts (acts) to issue")
    parser.add_argument("--vat", action="store_true", help="VAT payers: an invoice per act too")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap")
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    call_command("migrate", verbosity=0)
    vendor, partners = make_sides(vat=args.vat)
    what = "acts and invoices" if args.vat else "acts"
    print(
        f"== closing documents on sqlite: {args.count:,} payouts ({what}), {PARTNERS} partners, "
        "WeasyPrint with bundled DejaVu fonts"
    )
    if args.tracemalloc:
        tracemalloc.start()

    before = peak_rss_mib()
    documents, seconds = issue_all(args.count, vendor, partners)
    after_issue = peak_rss_mib()
    stored = sum(row.pdf.size for row in ClosingDocument.objects.only("pdf"))
    print(
        f"issue (service, stored): {documents:,} documents in {seconds:.1f} s = "
        f"{documents / seconds:,.1f} documents/s ({1000 * seconds / documents:.1f} ms each), "
        f"{stored / documents / 1024:.1f} KiB a PDF"
    )
    print(
        f"peak RSS after issue:    {after_issue:,.0f} MiB (+{after_issue - before:,.0f} MiB over "
        "the phase)"
    )

    rendered, size, seconds = render_all()
    after_render = peak_rss_mib()
    print(
        f"render only (from rows): {rendered:,} documents in {seconds:.1f} s = "
        f"{rendered / seconds:,.1f} documents/s ({1000 * seconds / rendered:.1f} ms each), "
        f"{size / rendered / 1024:.1f} KiB a PDF"
    )
    print(
        f"peak RSS after render:   {after_render:,.0f} MiB (+{after_render - after_issue:,.0f} MiB "
        "over the phase)"
    )
    if args.tracemalloc:
        _current, peak = tracemalloc.get_traced_memory()
        print(f"python heap peak:        {peak / 1024 / 1024:,.1f} MiB (tracemalloc)")
    SCRATCH.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
