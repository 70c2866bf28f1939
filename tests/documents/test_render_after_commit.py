"""The PDF of a closing document is rendered by the worker after the issue commits (issue 16,
item 4): the number and the row first, no transaction open while WeasyPrint runs; a failed
render is recorded and retried by Huey, then by staff; the sweep picks up documents left
pending; a ready document is never rendered twice."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from huey.contrib.djhuey import HUEY

from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.documents import pdf_render, tasks
from partnerhub.documents.errors import DocumentNotReady, RenderRetryRefused
from partnerhub.documents.models import ClosingDocument, PdfStatus
from partnerhub.documents.services import (
    closing_document_pdf,
    closing_document_render_retry,
    closing_documents_issue,
)
from tests.documents.factories import (
    failed,
    issue,
    partner_with_card,
    ready_without_rendering,
    vendor_with_card,
)
from tests.factories import UserFactory

FAKE_PDF = b"%PDF-1.4 rendered by a fake WeasyPrint"


def issue_committed(vendor, partner, *, source: str) -> list[ClosingDocument]:
    """Issue in a transaction of its own that commits (as the payout's does)."""
    with transaction.atomic():
        return closing_documents_issue(
            vendor=vendor,
            partner=partner,
            amount=Decimal("6000.00"),
            issued_on=dt.date(2026, 3, 2),
            basis="Договор № П-17",
            source=source,
        )


def stored_files() -> list[Path]:
    return sorted(Path(settings.MEDIA_ROOT, "closing-documents").rglob("*.pdf"))


def run_scheduled_renders() -> int:
    """Run the retries Huey has scheduled (immediate mode keeps them in memory), as the
    consumer would once their delay has passed."""
    far = dt.datetime(2100, 1, 1)
    ran = 0
    for task in HUEY.read_schedule(far):
        HUEY.execute(task, timestamp=task.eta)  # the moment it comes due
        ran += 1
    return ran


@pytest.fixture
def huey_clean():
    HUEY.flush()
    yield
    HUEY.flush()


@pytest.mark.django_db(transaction=True)
def test_the_row_is_committed_before_the_render_and_no_transaction_is_open_while_rendering(
    monkeypatch, huey_clean
):
    # Given a render that looks at the database from another connection while it runs
    seen: list[tuple[bool, int, str]] = []

    def fake_render(document):
        counted: list[int] = []

        def count() -> None:
            try:
                counted.append(ClosingDocument.objects.filter(number=document.number).count())
            finally:
                connection.close()

        reader = threading.Thread(target=count)
        reader.start()
        reader.join(timeout=30)
        seen.append((connection.in_atomic_block, counted[0], document.number))
        return FAKE_PDF

    monkeypatch.setattr(pdf_render, "render_closing_document", fake_render)
    vendor, partner = vendor_with_card(), partner_with_card()

    # When a VAT payer's payout issues its act and invoice and commits
    act, invoice = issue_committed(vendor, partner, source="payout:1")

    # Then each render ran after the commit (another connection sees the numbered row) and
    # outside any transaction, and both documents are ready with the rendered file
    assert seen == [(False, 1, "А-2026-00001"), (False, 1, "СФ-2026-00001")]
    for document in (act, invoice):
        document.refresh_from_db()
        assert document.pdf_status == PdfStatus.READY
        assert document.pdf_attempts == 1
        assert document.pdf_rendered_at is not None
        assert closing_document_pdf(document) == FAKE_PDF
    # and what sends documents on hears of each once its file exists
    ready = OutboxEvent.objects.filter(event_type="documents.closing_document.ready")
    assert sorted(event.payload["number"] for event in ready) == ["А-2026-00001", "СФ-2026-00001"]


@pytest.mark.django_db(transaction=True)
def test_a_failed_render_keeps_the_numbered_row_failed_and_numbers_stay_gapless(
    monkeypatch, huey_clean
):
    # Given a render that fails (the disk is full)
    def broken(document):
        raise OSError("No space left on device")

    monkeypatch.setattr(pdf_render, "render_closing_document", broken)
    vendor, partner = vendor_with_card(), partner_with_card(vat_payer=False)

    # When a payout issues its act and commits
    (act,) = issue_committed(vendor, partner, source="payout:1")

    # Then the act keeps its number, failed, with the error; Huey has a retry scheduled
    act.refresh_from_db()
    assert act.number == "А-2026-00001"
    assert act.pdf_status == PdfStatus.FAILED
    assert act.pdf_error == "OSError: No space left on device"
    assert not OutboxEvent.objects.filter(event_type="documents.closing_document.ready")
    assert act.pdf_attempts == 1
    assert not act.pdf
    assert HUEY.scheduled_count() == 1
    with pytest.raises(DocumentNotReady) as refused:
        closing_document_pdf(act)
    assert refused.value.code == "document_render_failed"

    # and the next payout takes the next number (no gap, no number given twice)
    monkeypatch.setattr(pdf_render, "render_closing_document", lambda document: FAKE_PDF)
    (second,) = issue_committed(vendor, partner, source="payout:2")
    second.refresh_from_db()
    assert second.number == "А-2026-00002"
    assert second.pdf_status == PdfStatus.READY


@pytest.mark.django_db(transaction=True)
def test_huey_retries_a_failed_render_three_times_then_it_stays_failed(monkeypatch, huey_clean):
    calls: list[str] = []

    def broken(document):
        calls.append(document.number)
        raise OSError("No space left on device")

    monkeypatch.setattr(pdf_render, "render_closing_document", broken)
    (act,) = issue_committed(vendor_with_card(), partner_with_card(vat_payer=False), source="p:1")

    # When every retry Huey schedules comes due and fails again
    retries = 0
    while ran := run_scheduled_renders():
        retries += ran

    # Then it was tried 1 + 3 times and stays failed, with nothing more scheduled
    assert retries == tasks.RENDER_RETRIES == 3
    assert calls == ["А-2026-00001"] * 4
    act.refresh_from_db()
    assert (act.pdf_status, act.pdf_attempts) == (PdfStatus.FAILED, 4)
    assert HUEY.scheduled_count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_retry_that_succeeds_makes_the_document_ready(monkeypatch, huey_clean):
    outcomes = [OSError("font cache locked"), FAKE_PDF]

    def flaky(document):
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(pdf_render, "render_closing_document", flaky)
    (act,) = issue_committed(vendor_with_card(), partner_with_card(vat_payer=False), source="p:1")
    act.refresh_from_db()
    assert act.pdf_status == PdfStatus.FAILED

    assert run_scheduled_renders() == 1

    act.refresh_from_db()
    assert (act.pdf_status, act.pdf_error, act.pdf_attempts) == (PdfStatus.READY, "", 2)
    assert closing_document_pdf(act) == FAKE_PDF


@pytest.mark.django_db
def test_a_ready_document_is_not_rendered_again(monkeypatch):
    calls: list[int] = []

    def counting(document):
        calls.append(document.pk)
        return FAKE_PDF

    monkeypatch.setattr(pdf_render, "render_closing_document", counting)
    (act,) = issue(vendor=vendor_with_card(), partner=partner_with_card(vat_payer=False))

    first = pdf_render.closing_document_render(document_id=act.pk)
    second = pdf_render.closing_document_render(document_id=act.pk)

    assert first is not None and first.pdf_status == PdfStatus.READY
    assert second is None
    assert calls == [act.pk]
    act.refresh_from_db()
    assert act.pdf_attempts == 1


@pytest.mark.django_db
def test_two_renders_racing_leave_one_file(monkeypatch, settings, tmp_path):
    # Given a render during which another worker renders the same document and finishes first
    settings.MEDIA_ROOT = str(tmp_path)
    (act,) = issue(vendor=vendor_with_card(), partner=partner_with_card(vat_payer=False))
    nested: list[ClosingDocument | None] = []

    def overtaken(document):
        if not nested:
            nested.append(None)
            nested.append(pdf_render.closing_document_render(document_id=document.pk))
        return FAKE_PDF

    monkeypatch.setattr(pdf_render, "render_closing_document", overtaken)

    # When the first render finishes last
    pdf_render.closing_document_render(document_id=act.pk)

    # Then the document keeps the winner's file and the loser's file is deleted
    act.refresh_from_db()
    assert nested[1] is not None
    assert act.pdf.name == nested[1].pdf.name
    assert stored_files() == [Path(tmp_path, act.pdf.name)]
    assert OutboxEvent.objects.filter(event_type="documents.closing_document.ready").count() == 1


@pytest.mark.django_db
def test_staff_retry_a_failed_document_and_it_renders_after_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(pdf_render, "render_closing_document", lambda document: FAKE_PDF)
    documents = issue(vendor=vendor_with_card(), partner=partner_with_card(vat_payer=False))
    failed(documents)
    act = ClosingDocument.objects.get(pk=documents[0].pk)
    accountant = UserFactory(organisation=act.vendor, role="accountant")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        closing_document_render_retry(document=act, actor=accountant)

    # the render, enqueued on commit; then, from the render, the "ready" event's delivery
    assert len(callbacks) == 2
    act.refresh_from_db()
    assert act.pdf_status == PdfStatus.READY
    assert OutboxEvent.objects.filter(event_type="documents.closing_document.ready").count() == 1
    audit = AuditEvent.objects.get(action="documents.closing_document.render_retried")
    assert audit.actor_user_id == accountant.pk
    assert audit.before == {"pdf_status": "failed", "pdf_error": "OSError: disk full"}
    assert audit.after == {"pdf_status": "pending"}


@pytest.mark.django_db
def test_a_retry_of_a_document_not_failed_is_refused():
    documents = issue(vendor=vendor_with_card(), partner=partner_with_card(vat_payer=False))
    (ready,) = ready_without_rendering(documents)
    with pytest.raises(RenderRetryRefused):
        closing_document_render_retry(document=ready, actor=None)
    pending = issue(vendor=ready.vendor, partner=ready.partner, source="payout:2")[0]
    with pytest.raises(RenderRetryRefused):
        closing_document_render_retry(document=pending, actor=None)
    assert not AuditEvent.objects.filter(action="documents.closing_document.render_retried")


@pytest.mark.django_db
def test_the_sweep_renders_documents_left_pending_and_gives_up_on_ones_that_never_finish(
    monkeypatch, huey_clean
):
    # Given three pending acts: issued a minute ago, half an hour ago, and half an hour ago but
    # started five times (the worker died mid-render each time)
    monkeypatch.setattr(pdf_render, "render_closing_document", lambda document: FAKE_PDF)
    vendor, partner = vendor_with_card(), partner_with_card(vat_payer=False)
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
    fresh, lost, stuck = (
        issue(vendor=vendor, partner=partner, source=f"payout:{n}")[0] for n in range(3)
    )
    ClosingDocument.objects.filter(pk=fresh.pk).update(created_at=now - dt.timedelta(minutes=1))
    ClosingDocument.objects.filter(pk__in=[lost.pk, stuck.pk]).update(
        created_at=now - dt.timedelta(minutes=30)
    )
    ClosingDocument.objects.filter(pk=stuck.pk).update(pdf_attempts=pdf_render.SWEEP_MAX_ATTEMPTS)

    # When the sweep runs
    ids = pdf_render.closing_documents_stale(now=now)
    for document_id in ids:
        tasks.closing_document_render(document_id)

    # Then the lost one is rendered, the fresh one waits for its own task, the stuck one failed
    assert ids == [lost.pk]
    states = dict(ClosingDocument.objects.values_list("pk", "pdf_status"))
    assert states == {fresh.pk: "pending", lost.pk: "ready", stuck.pk: "failed"}
