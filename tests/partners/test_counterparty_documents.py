"""Counterparty documents (spec partners-and-contracts, "Contract" step 1; seed: "предоставить
нам копии документов для проверки вашей компании как контрагента"): the partner uploads a PDF,
JPEG or PNG per kind the vendor lists, the type decided by the file's bytes; staff accept or ask
again with a reason; files are served only through views that check access."""

from __future__ import annotations

import threading

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse

from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.notifications.models import Notification
from partnerhub.partners import selectors, services
from partnerhub.partners.models import (
    CounterpartyDocument,
    CounterpartyDocumentKind,
    CounterpartyDocumentState,
)
from tests.partners.issue6_factories import (
    EXTRACT,
    OTHER,
    REGISTRATION,
    document_kind,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    upload,
    upload_file,
)
from tests.smtp import bodies

UNDER_REVIEW = CounterpartyDocumentState.UNDER_REVIEW
ACCEPTED = CounterpartyDocumentState.ACCEPTED
ASKED_AGAIN = CounterpartyDocumentState.ASKED_AGAIN
SUPERSEDED = CounterpartyDocumentState.SUPERSEDED


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploads go to a fresh storage directory per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def accept(document, by=None):
    return services.counterparty_document_review(document=document, accept=True, by=by)


def ask_again(document, reason="Скан нечитаемый", by=None):
    return services.counterparty_document_review(
        document=document, accept=False, reason=reason, by=by
    )


# --- the kinds --------------------------------------------------------------------------------


def test_the_kinds_of_the_seed_are_listed_and_other_documents_are_optional(world):
    kinds = {k.code: k for k in CounterpartyDocumentKind.objects.filter(vendor=world.vendor)}

    assert kinds[REGISTRATION].name == "Свидетельство о регистрации (ОГРН/ОГРНИП)"
    assert kinds[EXTRACT].name == "Выписка из ЕГРЮЛ/ЕГРИП"
    assert kinds[OTHER].name == "Другие документы"
    assert kinds[REGISTRATION].required and kinds[EXTRACT].required
    assert not kinds[OTHER].required


def test_a_kind_for_individual_entrepreneurs_only_is_not_asked_of_a_legal_entity(world):
    services.counterparty_document_kind_create(
        vendor=world.vendor, code="passport", name="Паспорт ИП", applies_to="ip", required=True
    )

    asked = selectors.counterparty_document_kinds_for(organisation=world.partner_a)

    assert "passport" not in {k.code for k in asked}
    with pytest.raises(ValidationFailed) as refused:
        upload(world.partner_a, code="passport")
    assert "kind" in refused.value.fields


# --- accepted uploads -------------------------------------------------------------------------


def test_a_pdf_is_stored_under_a_random_name_with_its_original_name_kept(world, media):
    document = upload(world.partner_a, name="Свидетельство ОГРН.pdf", by=world.user("a:accountant"))

    assert document.state == UNDER_REVIEW
    assert document.original_name == "Свидетельство ОГРН.pdf"
    assert document.content_type == "application/pdf"
    assert document.size == len(pdf_bytes())
    assert "ОГРН" not in document.file.name and "Свидетельство" not in document.file.name
    assert document.file.name.startswith(f"counterparty/{world.partner_a.pk}/")
    assert document.file.name.endswith(".pdf")
    assert (media / document.file.name).read_bytes() == pdf_bytes()
    row = AuditEvent.objects.get(action="partners.counterparty_document.uploaded")
    assert row.actor_user_id == world.user("a:accountant").pk
    assert row.after["name"] == "Свидетельство ОГРН.pdf"


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("scan.png", png_bytes(), "image/png"),
        ("scan.JPG", jpeg_bytes(), "image/jpeg"),
        ("scan.jpeg", jpeg_bytes(), "image/jpeg"),
    ],
)
def test_jpeg_and_png_are_accepted_by_their_content(world, name, content, content_type):
    document = upload(world.partner_a, name=name, content=content)

    assert document.content_type == content_type


# --- refused uploads: a clear message naming the field, nothing stored --------------------------

REFUSED = [
    pytest.param("setup.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200, "Исполняемые", id="exe-named-pdf"),
    pytest.param("run.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 50, "Исполняемые", id="elf"),
    pytest.param("install.png", b"#!/bin/sh\nrm -rf /\n", "Скрипты", id="shell-script"),
    pytest.param("docs.pdf", b"PK\x03\x04" + b"\x00" * 100, "Архивы", id="zip"),
    pytest.param("ustav.docx", b"PK\x03\x04" + b"\x00" * 100, "сохраните как PDF", id="docx"),
    pytest.param("scan.pdf", b"", "пустой", id="empty"),
    pytest.param("scan.png", pdf_bytes(), "не совпадает", id="pdf-named-png"),
    pytest.param("scan.pdf", png_bytes(), "не совпадает", id="png-named-pdf"),
    pytest.param("scan", pdf_bytes(), "не совпадает", id="no-extension"),
    pytest.param("note.pdf", "Это не PDF".encode(), "не PDF, JPEG или PNG", id="text"),
    pytest.param("cut.png", png_bytes()[:40], "повреждено", id="truncated-png"),
    pytest.param("cut.pdf", pdf_bytes()[:60], "повреждён", id="pdf-without-eof"),
    pytest.param("page.html", b"<html><script>alert(1)</script>", "не PDF", id="html"),
]


@pytest.mark.parametrize(("name", "content", "message"), REFUSED)
def test_a_file_that_is_not_a_document_is_refused_and_nothing_is_stored(
    world, media, name, content, message
):
    with pytest.raises(ValidationFailed) as refused:
        upload(world.partner_a, name=name, content=content)

    assert list(refused.value.fields) == ["file"]
    assert message in str(refused.value.fields["file"][0])
    assert CounterpartyDocument.objects.count() == 0
    assert stored_files(media) == []
    assert not AuditEvent.objects.filter(action__startswith="partners.counterparty").exists()


def test_a_file_over_the_size_limit_is_refused(world, media, settings):
    settings.COUNTERPARTY_DOCUMENT_MAX_BYTES = 1024
    content = pdf_bytes("x" * 2000)

    with pytest.raises(ValidationFailed) as refused:
        upload(world.partner_a, content=content)

    assert "Файл больше допустимых 1,0" in str(refused.value.fields["file"][0])
    assert CounterpartyDocument.objects.count() == 0
    assert stored_files(media) == []


def test_the_default_size_limit_is_ten_megabytes(settings):
    assert settings.COUNTERPARTY_DOCUMENT_MAX_BYTES == 10 * 1024 * 1024


def test_the_browser_content_type_is_not_believed(world, login_as, media):
    script = upload_file("report.pdf", b"#!/usr/bin/env python\nprint(1)\n", "application/pdf")

    response = login_as("a:owner").post(
        reverse("cabinet:counterparty_document_upload"),
        {"kind": document_kind().pk, "file": script},
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field="file"' in body and "Скрипты не принимаются" in body
    assert CounterpartyDocument.objects.count() == 0
    assert stored_files(media) == []


def test_a_form_without_a_file_names_the_file_field(world, login_as):
    response = login_as("a:owner").post(
        reverse("cabinet:counterparty_document_upload"), {"kind": document_kind().pk}
    )

    assert response.status_code == 400
    assert 'data-field="file"' in response.content.decode()


# --- replacing --------------------------------------------------------------------------------


def test_a_new_upload_replaces_the_current_one_and_keeps_the_history(world, media):
    first = upload(world.partner_a, name="old.pdf")
    ask_again(first)

    second = upload(world.partner_a, name="new.pdf")

    first.refresh_from_db()
    assert first.state == SUPERSEDED
    assert second.state == UNDER_REVIEW
    rows = {
        r.kind.code: r for r in selectors.counterparty_documents_of(organisation=world.partner_a)
    }
    assert rows[REGISTRATION].current == second
    assert rows[REGISTRATION].earlier == [first]
    assert len(stored_files(media)) == 2


def test_a_superseded_upload_can_no_longer_be_reviewed(world):
    first = upload(world.partner_a, name="old.pdf")
    upload(world.partner_a, name="new.pdf")
    first.refresh_from_db()

    with pytest.raises(Conflict):
        accept(first)

    first.refresh_from_db()
    assert first.state == SUPERSEDED


# --- the selectors the contract uses ------------------------------------------------------------


def test_nothing_uploaded_means_neither_uploaded_nor_accepted(world):
    assert not selectors.counterparty_documents_uploaded(organisation=world.partner_a)
    assert not selectors.counterparty_documents_accepted(organisation=world.partner_a)


def test_both_required_kinds_uploaded_counts_as_uploaded_without_the_optional_one(world):
    upload(world.partner_a, code=REGISTRATION)
    assert not selectors.counterparty_documents_uploaded(organisation=world.partner_a)

    upload(world.partner_a, code=EXTRACT)

    assert selectors.counterparty_documents_uploaded(organisation=world.partner_a)
    assert not selectors.counterparty_documents_accepted(organisation=world.partner_a)
    assert not selectors.counterparty_documents_uploaded(organisation=world.partner_b)


def test_a_document_asked_again_is_no_longer_counted_as_uploaded(world):
    upload(world.partner_a, code=REGISTRATION)
    extract = upload(world.partner_a, code=EXTRACT)

    ask_again(extract, reason="Выписка старше 30 дней")

    assert not selectors.counterparty_documents_uploaded(organisation=world.partner_a)


def test_all_required_kinds_accepted_counts_as_accepted(world):
    registration = upload(world.partner_a, code=REGISTRATION)
    extract = upload(world.partner_a, code=EXTRACT)

    accept(registration)
    assert not selectors.counterparty_documents_accepted(organisation=world.partner_a)
    accept(extract)

    assert selectors.counterparty_documents_accepted(organisation=world.partner_a)
    assert selectors.counterparty_documents_uploaded(organisation=world.partner_a)


# --- review -----------------------------------------------------------------------------------


def test_asking_again_needs_a_reason_and_changes_nothing_without_it(world):
    document = upload(world.partner_a)

    with pytest.raises(ValidationFailed) as refused:
        ask_again(document, reason="  ")

    assert "reason" in refused.value.fields
    document.refresh_from_db()
    assert document.state == UNDER_REVIEW


def test_the_review_records_who_and_when_and_is_audited(world):
    staff = world.user("vendor:program_manager")
    document = upload(world.partner_a)

    ask_again(document, reason="Нет печати", by=staff)

    document.refresh_from_db()
    assert document.state == ASKED_AGAIN
    assert document.review_reason == "Нет печати"
    assert document.reviewed_by == staff and document.reviewed_at is not None
    row = AuditEvent.objects.get(action="partners.counterparty_document.asked_again")
    assert row.before == {"state": "under_review"}
    assert row.after == {"state": "asked_again", "reason": "Нет печати"}


def test_an_accepted_document_may_be_asked_again_later(world):
    document = accept(upload(world.partner_a))

    ask_again(document, reason="Свидетельство заменено листом записи")

    document.refresh_from_db()
    assert document.state == ASKED_AGAIN


def test_the_partner_is_notified_and_emailed_with_the_reason(
    world, smtp, django_capture_on_commit_callbacks
):
    document = upload(world.partner_a, code=EXTRACT, name="vypiska.pdf")

    with django_capture_on_commit_callbacks(execute=True):
        ask_again(document, reason="Выписка старше 30 дней")

    notifications = Notification.objects.filter(kind="partners.counterparty_document.asked_again")
    assert sorted(n.user.email for n in notifications) == [
        "accountant@a.example",
        "owner@a.example",
    ]
    assert notifications[0].title == "Загрузите документ заново: Выписка из ЕГРЮЛ/ЕГРИП"
    assert "Выписка старше 30 дней" in notifications[0].body
    assert notifications[0].url == "/cabinet/counterparty-documents/"
    text, html = bodies(smtp.to("owner@a.example")[0])
    assert "Выписка старше 30 дней" in text and "Выписка старше 30 дней" in html


def test_a_program_manager_asks_again_from_the_queue(world, login_as):
    document = upload(world.partner_a)
    url = reverse("backoffice:counterparty_document_review", kwargs={"pk": document.pk})

    response = login_as("vendor:program_manager").post(
        url, {"decision": "ask_again", "reason": "Обрезан край", "next": "queue"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:counterparty_documents")
    document.refresh_from_db()
    assert (document.state, document.review_reason) == (ASKED_AGAIN, "Обрезан край")


def test_asking_again_from_the_page_without_a_reason_shows_a_message(world, login_as):
    document = upload(world.partner_a)
    client = login_as("vendor:administrator")
    url = reverse("backoffice:counterparty_document_review", kwargs={"pk": document.pk})

    response = client.post(url, {"decision": "ask_again", "reason": ""}, follow=True)

    assert "Укажите причину." in response.content.decode()
    document.refresh_from_db()
    assert document.state == UNDER_REVIEW


# --- downloads --------------------------------------------------------------------------------


def test_the_partner_downloads_its_own_file_as_an_attachment_of_the_sniffed_type(world, login_as):
    document = upload(world.partner_a, name="Выписка.png", content=png_bytes(), code=EXTRACT)

    response = login_as("a:manager").get(
        reverse("cabinet:counterparty_document_download", kwargs={"pk": document.pk})
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "%D0%92%D1%8B%D0%BF%D0%B8%D1%81%D0%BA%D0%B0.png" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == png_bytes()


def test_partner_b_gets_404_for_a_document_of_partner_a(world, login_as):
    document = upload(world.partner_a)

    response = login_as("b:owner").get(
        reverse("cabinet:counterparty_document_download", kwargs={"pk": document.pk})
    )

    assert response.status_code == 404


def test_the_vendor_accountant_downloads_any_partner_file_and_support_may_not(world, login_as):
    document = upload(world.partner_a)
    url = reverse("backoffice:counterparty_document_download", kwargs={"pk": document.pk})

    assert login_as("vendor:accountant").get(url).status_code == 200
    assert login_as("vendor:support").get(url).status_code == 403


def test_the_stored_file_is_not_reachable_under_a_media_url(world, client, settings):
    document = upload(world.partner_a)

    response = client.get(
        f"/{settings.MEDIA_URL.strip('/')}/{document.file.name}".replace("//", "/")
    )

    assert response.status_code in {302, 404}
    assert default_storage.exists(document.file.name)


# --- pages ------------------------------------------------------------------------------------


def test_the_cabinet_page_lists_each_kind_with_its_state(world, login_as):
    upload(world.partner_a, code=REGISTRATION, name="ogrn.pdf")
    ask_again(upload(world.partner_a, code=EXTRACT, name="egrul.pdf"), reason="Нет подписи ФНС")

    response = login_as("a:owner").get(reverse("cabinet:counterparty_documents"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "ogrn.pdf" in body and 'data-state="under_review"' in body
    assert "egrul.pdf" in body and "Нет подписи ФНС" in body
    assert "Другие документы" in body and "Не загружен" in body
    assert 'enctype="multipart/form-data"' in body


def test_a_manager_sees_the_documents_but_not_the_upload_form(world, login_as):
    body = login_as("a:manager").get(reverse("cabinet:counterparty_documents")).content.decode()

    assert "Свидетельство о регистрации" in body
    assert "Загрузить документ" not in body


def test_an_owner_uploads_through_the_page(world, login_as):
    file = upload_file("ogrn.jpg", jpeg_bytes(), "image/jpeg")

    response = login_as("a:owner").post(
        reverse("cabinet:counterparty_document_upload"),
        {"kind": document_kind(REGISTRATION).pk, "file": file},
    )

    assert response.status_code == 302
    document = CounterpartyDocument.objects.get(organisation=world.partner_a)
    assert (document.original_name, document.uploaded_by) == ("ogrn.jpg", world.user("a:owner"))


def test_the_back_office_queue_lists_uploads_under_review_across_partners(
    world, login_as, django_assert_max_num_queries
):
    for n in range(4):
        upload(
            world.partner_a, code=[REGISTRATION, EXTRACT, OTHER, REGISTRATION][n], name=f"a{n}.pdf"
        )
        upload(world.partner_b, code=[REGISTRATION, EXTRACT, OTHER, EXTRACT][n], name=f"b{n}.pdf")
    accept(CounterpartyDocument.objects.get(original_name="a1.pdf"))
    client = login_as("vendor:accountant")

    with django_assert_max_num_queries(8):
        response = client.get(reverse("backoffice:counterparty_documents"))

    body = response.content.decode()
    assert response.status_code == 200
    # a0 and b1 were replaced by a3 and b3, a1 is accepted: a2, a3, b0, b2, b3 wait for review
    assert body.count('id="document-') == 5
    assert "a1.pdf" not in body and "a0.pdf" not in body and "b1.pdf" not in body
    assert "ООО «Альфа»" in body and "ООО «Бета»" in body
    assert "Запросить повторно" not in body  # the accountant reads only


def test_the_back_office_partner_page_shows_the_documents_with_review_actions(world, login_as):
    upload(world.partner_a, name="ogrn.pdf")
    url = reverse("backoffice:partner_detail", kwargs={"pk": world.partner_a.pk})

    manager_page = login_as("vendor:program_manager").get(url).content.decode()
    support_page = login_as("vendor:support").get(url).content.decode()

    assert "ogrn.pdf" in manager_page and "Запросить повторно" in manager_page
    assert "ogrn.pdf" not in support_page


def test_staff_add_a_kind_of_document(world, login_as):
    response = login_as("vendor:program_manager").post(
        reverse("backoffice:counterparty_document_kind_add"),
        {"code": "bank-letter", "name": "Справка из банка", "applies_to": "both", "position": 50},
    )

    assert response.status_code == 302
    kind = CounterpartyDocumentKind.objects.get(code="bank-letter")
    assert not kind.required  # an unticked checkbox
    page = login_as("a:owner").get(reverse("cabinet:counterparty_documents")).content.decode()
    assert "Справка из банка" in page


def test_partner_b_sees_only_its_own_documents_page(world, login_as):
    upload(world.partner_a, name="alfa-ogrn.pdf")

    body = login_as("b:owner").get(reverse("cabinet:counterparty_documents")).content.decode()

    assert "alfa-ogrn.pdf" not in body
    assert "ООО «Альфа»" not in body and "ООО «Бета»" in body


@pytest.mark.django_db(transaction=True)
def test_parallel_uploads_of_one_kind_leave_one_current_file_and_no_orphans(media):
    from tests.factories import OrganisationFactory

    partner = OrganisationFactory()
    kind = document_kind(REGISTRATION)
    results: list[str] = []
    barrier = threading.Barrier(6)

    def send(n: int) -> None:
        try:
            barrier.wait()
            services.counterparty_document_upload(
                organisation=partner,
                kind=kind,
                upload=upload_file(f"scan{n}.pdf", pdf_bytes(str(n))),
                name=f"scan{n}.pdf",
            )
            results.append("stored")
        except Conflict:
            results.append("conflict")
        except Exception as exc:  # any other outcome fails the assertion below, by name
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) <= {"stored", "conflict"} and "stored" in results
    uploads = CounterpartyDocument.objects.filter(organisation=partner)
    assert uploads.count() == results.count("stored")
    assert uploads.exclude(state=SUPERSEDED).count() == 1
    assert sorted(p.name for p in stored_files(media)) == sorted(
        u.file.name.rsplit("/", 1)[-1] for u in uploads
    )
