"""Cabinet and back-office pages of closing documents: lists (rendered, filtered, bounded in
queries) and PDF downloads (own only for partners)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from partnerhub.core.money import NBSP
from tests.documents.factories import issue, ready_without_rendering

pytestmark = pytest.mark.django_db

LIST_QUERIES = 8  # 6 today (session, user, notifications, count, page, years); N+1 would add 6+


@pytest.fixture
def documents_of_a(world):
    world.partner_a.vat_payer = True
    world.partner_a.kpp = "773601001"
    world.partner_a.save()
    issued = []
    for n, day in enumerate([dt.date(2025, 12, 30), dt.date(2026, 3, 2), dt.date(2026, 4, 1)]):
        issued += issue(vendor=world.vendor, partner=world.partner_a, on=day, source=f"payout:{n}")
    return ready_without_rendering(issued)


@pytest.fixture
def documents_of_b(world):
    return ready_without_rendering(
        issue(vendor=world.vendor, partner=world.partner_b, source="payout:b")
    )


def test_the_partner_lists_its_acts_and_invoices(world, login_as, documents_of_a):
    response = login_as("a:accountant").get(reverse("cabinet:closing_documents"))
    assert response.status_code == 200
    body = response.content.decode()
    for number in ("А-2025-00001", "СФ-2025-00001", "А-2026-00002", "СФ-2026-00002"):
        assert number in body
    assert f"6{NBSP}000,00" in body
    assert "22\u00a0%" in body and "20\u00a0%" in body
    assert reverse("cabinet:closing_document_download", kwargs={"pk": documents_of_a[0].pk}) in body


def test_the_partner_filters_by_year_and_kind(world, login_as, documents_of_a):
    url = reverse("cabinet:closing_documents")
    body = login_as("a:owner").get(url, {"year": "2026", "kind": "invoice"}).content.decode()
    assert "СФ-2026-00001" in body and "СФ-2026-00002" in body
    assert "А-2026-00001" not in body
    assert "СФ-2025-00001" not in body


def test_the_partner_list_never_shows_another_partners_documents(
    world, login_as, documents_of_a, documents_of_b
):
    body = login_as("b:owner").get(reverse("cabinet:closing_documents")).content.decode()
    b_act = documents_of_b[0]
    assert b_act.number in body
    assert "ООО «Альфа»" not in body
    for document in documents_of_a:
        url = reverse("cabinet:closing_document_download", kwargs={"pk": document.pk})
        assert url not in body


def test_the_partner_list_needs_a_bounded_number_of_queries(
    world, login_as, documents_of_a, django_assert_max_num_queries
):
    client = login_as("a:owner")
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(reverse("cabinet:closing_documents"))
    assert response.content.decode().count("Скачать PDF") == 6


def test_the_partner_downloads_its_act_as_pdf(world, login_as, documents_of_a):
    act = documents_of_a[0]
    response = login_as("a:owner").get(
        reverse("cabinet:closing_document_download", kwargs={"pk": act.pk})
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="act-A-2025-00001.pdf"'
    assert response.content.startswith(b"%PDF")
    assert response.content == act.pdf.open("rb").read()


def test_another_partner_gets_404_for_the_act(world, login_as, documents_of_a):
    url = reverse("cabinet:closing_document_download", kwargs={"pk": documents_of_a[0].pk})
    assert login_as("b:owner").get(url).status_code == 404
    assert login_as("a:owner").get(url).status_code == 200


def test_staff_list_every_partners_documents(
    world, login_as, documents_of_a, documents_of_b, django_assert_max_num_queries
):
    client = login_as("vendor:accountant")
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(reverse("backoffice:closing_documents"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "ООО «Альфа»" in body and "ООО «Бета»" in body
    assert body.count("Скачать PDF") == 7  # A: three acts, three invoices; B (no VAT): one act


def test_staff_filter_by_year_and_kind(world, login_as, documents_of_a, documents_of_b):
    url = reverse("backoffice:closing_documents")
    body = login_as("vendor:program_manager").get(url, {"year": "2025"}).content.decode()
    assert "А-2025-00001" in body and "СФ-2025-00001" in body
    assert "А-2026-00001" not in body
    body = login_as("vendor:program_manager").get(url, {"kind": "act"}).content.decode()
    assert "А-2026-00003" in body  # B's act
    assert "СФ-" not in body


def test_staff_filter_by_partner(world, login_as, documents_of_a, documents_of_b):
    url = reverse("backoffice:closing_documents")
    body = login_as("vendor:administrator").get(url, {"partner": world.partner_b.pk}).content
    assert "ООО «Бета»" in body.decode() and "ООО «Альфа»" not in body.decode()


def test_staff_download_any_partners_document(world, login_as, documents_of_a):
    invoice = documents_of_a[1]
    response = login_as("vendor:accountant").get(
        reverse("backoffice:closing_document_download", kwargs={"pk": invoice.pk})
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="invoice-SF-2025-00001.pdf"'
    assert response.content.startswith(b"%PDF")


def test_the_admin_lists_documents_read_only(world, login_as, documents_of_a):
    client = login_as("vendor:administrator")
    response = client.get(reverse("admin:documents_closingdocument_changelist"))
    assert response.status_code == 200
    assert "А-2026-00001" in response.content.decode()
    add = client.get(reverse("admin:documents_closingdocument_add"))
    assert add.status_code == 403
