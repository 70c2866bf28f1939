"""The pages show where a document's PDF stands (issue 16, item 4): «Документ готовится» with no
download link while pending (the list refreshes itself by htmx), «Не удалось сформировать» when
the render failed (staff get a button to render again); the download URL of a document that is
not ready answers 409 with a page saying so, in Russian and in English."""

from __future__ import annotations

import pytest
from django.urls import reverse

from partnerhub.core.models.audit import AuditEvent
from partnerhub.documents.models import ClosingDocument, PdfStatus
from partnerhub.payouts import selectors as payout_selectors
from tests.documents.factories import failed, issue, ready_without_rendering
from tests.payouts.factories import convert, partner_ready

pytestmark = pytest.mark.django_db

POLLING = 'hx-trigger="every 5s"'


@pytest.fixture
def acts(world):
    """Three acts of partner A (no VAT): ready, pending, failed."""
    documents = [
        issue(vendor=world.vendor, partner=world.partner_a, source=f"payout:{n}")[0]
        for n in range(3)
    ]
    ready_without_rendering(documents[:1])
    failed(documents[2:])
    return [ClosingDocument.objects.get(pk=document.pk) for document in documents]


def download(name: str, document: ClosingDocument) -> str:
    return reverse(name, kwargs={"pk": document.pk})


def test_the_partner_list_shows_each_state_and_links_only_the_ready_pdf(world, login_as, acts):
    ready, pending, broken = acts
    body = login_as("a:accountant").get(reverse("cabinet:closing_documents")).content.decode()
    assert download("cabinet:closing_document_download", ready) in body
    assert download("cabinet:closing_document_download", pending) not in body
    assert download("cabinet:closing_document_download", broken) not in body
    assert body.count("Документ готовится") == 1
    assert body.count("Не удалось сформировать") == 1
    assert "Сформировать заново" not in body  # the partner cannot retry
    assert POLLING in body  # a pending document: the table refreshes itself


def test_the_list_stops_polling_when_nothing_is_pending(world, login_as, acts):
    ready_without_rendering([acts[1]])
    body = login_as("a:owner").get(reverse("cabinet:closing_documents")).content.decode()
    assert "Документ готовится" not in body
    assert POLLING not in body


def test_the_partner_list_in_english(world, login_as, acts):
    client = login_as("a:owner")
    client.cookies["django_language"] = "en"
    body = client.get(reverse("cabinet:closing_documents")).content.decode()
    assert "Being prepared" in body
    assert "Could not be generated" in body
    assert "Документ готовится" not in body


def test_the_download_of_a_pending_document_says_it_is_being_prepared(world, login_as, acts):
    response = login_as("a:owner").get(download("cabinet:closing_document_download", acts[1]))
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "Документ готовится" in body
    assert reverse("cabinet:closing_documents") in body


def test_the_download_of_a_failed_document_says_so_in_english(world, login_as, acts):
    client = login_as("vendor:accountant")
    client.cookies["django_language"] = "en"
    response = client.get(download("backoffice:closing_document_download", acts[2]))
    assert response.status_code == 409
    assert "Could not be generated" in response.content.decode()


def test_staff_see_a_retry_button_on_a_failed_document_and_it_is_enqueued(
    world, login_as, acts, django_capture_on_commit_callbacks
):
    client = login_as("vendor:program_manager")
    page = reverse("backoffice:closing_documents")
    body = client.get(page).content.decode()
    retry = reverse("backoffice:closing_document_render_retry", kwargs={"pk": acts[2].pk})
    assert body.count('class="retry-render"') == 1
    assert f'action="{retry}"' in body

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(retry, {"next": page + "?kind=act"})

    assert response.status_code == 302
    assert response["Location"] == page + "?kind=act"
    assert len(callbacks) == 1  # the render is enqueued once the retry commits
    assert ClosingDocument.objects.get(pk=acts[2].pk).pdf_status == PdfStatus.PENDING
    assert AuditEvent.objects.filter(action="documents.closing_document.render_retried").exists()


def test_the_retry_goes_back_only_to_a_page_of_this_site(world, login_as, acts):
    retry = reverse("backoffice:closing_document_render_retry", kwargs={"pk": acts[2].pk})
    response = login_as("vendor:accountant").post(retry, {"next": "https://evil.example/"})
    assert response["Location"] == reverse("backoffice:closing_documents")


def test_a_retry_of_a_ready_document_is_refused_with_a_message(world, login_as, acts):
    retry = reverse("backoffice:closing_document_render_retry", kwargs={"pk": acts[0].pk})
    response = login_as("vendor:accountant").post(retry, follow=True)
    assert "не нужно формировать заново" in response.content.decode()
    assert ClosingDocument.objects.get(pk=acts[0].pk).pdf_status == PdfStatus.READY


def test_another_vendors_staff_cannot_retry(world, login_as, acts):
    retry = reverse("backoffice:closing_document_render_retry", kwargs={"pk": acts[2].pk})
    assert login_as("vendor2:accountant").post(retry).status_code == 404
    assert ClosingDocument.objects.get(pk=acts[2].pk).pdf_status == PdfStatus.FAILED


def test_the_payout_pages_show_the_state_of_their_documents(world, login_as):
    # Given a payout whose act is still being prepared
    payout = convert(partner_ready(world))
    (act,) = payout_selectors.documents_of(payout=payout)
    cabinet = reverse("cabinet:payout_detail", args=[payout.pk])

    # Then the partner sees the act's number with «Документ готовится» and no link
    body = login_as("a:owner").get(cabinet).content.decode()
    assert act.number in body
    assert "Документ готовится" in body
    assert download("cabinet:closing_document_download", act) not in body

    # and once the render failed, the vendor's accountant gets the retry button
    failed([act])
    staff = login_as("vendor:accountant")
    body = staff.get(reverse("backoffice:payout_detail", args=[payout.pk])).content.decode()
    assert "Не удалось сформировать" in body
    assert reverse("backoffice:closing_document_render_retry", kwargs={"pk": act.pk}) in body
    assert download("backoffice:closing_document_download", act) not in body
