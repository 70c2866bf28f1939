"""Concurrent issues take distinct consecutive numbers, and a rolled-back one leaves no gap.

Each thread's PDFs are rendered after its transaction commits (Huey runs the task in the
thread, immediate mode), while the other threads issue: no write lock is held while rendering.

Runs on PostgreSQL (the counter row's lock orders the issues) and on SQLite (IMMEDIATE
transactions: one writer at a time). Each thread has its own connection and closes it.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from partnerhub.documents.models import ClosingDocument
from partnerhub.documents.services import closing_documents_issue
from tests.documents.factories import partner_with_card, vendor_with_card

WORKERS = 10


class PayoutFailed(Exception):
    """The payout transaction failing after its documents were issued."""


@pytest.mark.django_db(transaction=True)
def test_parallel_issues_get_consecutive_numbers_without_gaps():
    # Given a vendor and a VAT-paying partner
    vendor = vendor_with_card()
    partner = partner_with_card()
    barrier = threading.Barrier(WORKERS)
    results: list[str] = []

    def payout(i: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            with transaction.atomic():
                closing_documents_issue(
                    vendor=vendor,
                    partner=partner,
                    amount=Decimal("6000.00") + i,
                    issued_on=dt.date(2026, 3, 2),
                    basis="Договор № П-17",
                    source=f"payout:{i}",
                )
                if i == 3:
                    raise PayoutFailed
            results.append("issued")
        except PayoutFailed:
            results.append("rolled back")
        except Exception as exc:  # any other outcome fails the assertion below, by name
            results.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    # When ten payouts issue their documents at the same moment and one of them rolls back
    threads = [threading.Thread(target=payout, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then the nine others hold acts 1..9 and invoices 1..9, each number once
    assert sorted(results) == ["issued"] * (WORKERS - 1) + ["rolled back"]
    for kind in ("act", "invoice"):
        sequences = ClosingDocument.objects.filter(kind=kind).values_list("sequence", flat=True)
        assert sorted(sequences) == list(range(1, WORKERS))
    assert not ClosingDocument.objects.filter(source="payout:3").exists()
    # and act and invoice of one payout may have different numbers, but each payout has both
    for i in set(range(WORKERS)) - {3}:
        assert ClosingDocument.objects.filter(source=f"payout:{i}").count() == 2
    # and every document was rendered once its payout committed
    assert set(ClosingDocument.objects.values_list("pdf_status", flat=True)) == {"ready"}
