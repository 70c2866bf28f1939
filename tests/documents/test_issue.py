"""Issuing the closing documents of a payout: which documents, VAT, numbers, snapshots, errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.documents.models import ClosingDocument, DocumentCounter
from partnerhub.documents.rendering import document_context
from partnerhub.documents.selectors import closing_documents_of
from partnerhub.documents.services import closing_documents_issue
from tests.documents.factories import (
    PARTNER_INN,
    issue,
    partner_with_card,
    rendered,
    vendor_with_card,
)
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendor():
    return vendor_with_card()


def numbers(documents):
    return [document.number for document in documents]


# --- which documents ------------------------------------------------------------------------


def test_a_partner_without_vat_gets_an_act_only(vendor):
    documents = issue(vendor=vendor, partner=partner_with_card(vat_payer=False))
    assert [d.kind for d in documents] == ["act"]
    act = documents[0]
    assert act.vat_rate is None
    assert act.vat_amount == Decimal("0.00")
    assert act.amount == act.amount_without_vat == Decimal("6000.00")


def test_a_vat_payer_gets_an_act_and_an_invoice_with_22_percent_in_2026(vendor):
    documents = issue(vendor=vendor, partner=partner_with_card(), on=dt.date(2026, 1, 1))
    assert [d.kind for d in documents] == ["act", "invoice"]
    for document in documents:
        assert document.vat_rate == Decimal("22")
        assert document.vat_amount == Decimal("1081.97")
        assert document.amount_without_vat == Decimal("4918.03")
    assert documents[1].related_number == documents[0].number


def test_a_document_dated_31_december_2025_has_20_percent(vendor):
    act, _invoice = issue(vendor=vendor, partner=partner_with_card(), on=dt.date(2025, 12, 31))
    assert act.vat_rate == Decimal("20")
    assert act.vat_amount == Decimal("1000.00")


def test_the_act_names_the_service_and_the_basis_given(vendor):
    (act,) = issue(vendor=vendor, partner=partner_with_card(vat_payer=False))
    assert act.service == (
        "Вознаграждение по партнёрской программе ООО «1С-Битрикс» за привлечение клиентов"
    )
    assert act.basis == "Договор № П-17 от 10.02.2026"
    assert act.source == "payout:1"


# --- numbering ------------------------------------------------------------------------------


def test_numbers_follow_one_another_per_vendor(vendor):
    partner = partner_with_card(vat_payer=False)
    first = issue(vendor=vendor, partner=partner, source="payout:1")
    second = issue(vendor=vendor, partner=partner, source="payout:2")
    assert numbers(first + second) == ["А-2026-00001", "А-2026-00002"]


def test_acts_and_invoices_have_separate_series(vendor):
    first = issue(vendor=vendor, partner=partner_with_card(vat_payer=False), source="payout:1")
    second = issue(vendor=vendor, partner=partner_with_card(inn="7728123459"), source="payout:2")
    assert numbers(first + second) == ["А-2026-00001", "А-2026-00002", "СФ-2026-00001"]


def test_numbering_starts_again_in_a_new_year(vendor):
    partner = partner_with_card(vat_payer=False)
    issue(vendor=vendor, partner=partner, on=dt.date(2026, 12, 30), source="payout:1")
    december = issue(vendor=vendor, partner=partner, on=dt.date(2026, 12, 31), source="payout:2")
    january = issue(vendor=vendor, partner=partner, on=dt.date(2027, 1, 11), source="payout:3")
    assert numbers(december + january) == ["А-2026-00002", "А-2027-00001"]


def test_each_vendor_has_its_own_series(vendor):
    other_vendor = vendor_with_card(short_name="ООО «Другой вендор»", inn="7702070139")
    partner = partner_with_card(vat_payer=False)
    issue(vendor=vendor, partner=partner, source="payout:1")
    issue(vendor=vendor, partner=partner, source="payout:2")
    theirs = issue(vendor=other_vendor, partner=partner, source="payout:3")
    assert numbers(theirs) == ["А-2026-00001"]


def test_a_rolled_back_issue_gives_its_number_back(vendor):
    partner = partner_with_card()
    issue(vendor=vendor, partner=partner, source="payout:1")
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = issue(vendor=vendor, partner=partner, source="payout:2")
        assert numbers(rolled_back) == ["А-2026-00002", "СФ-2026-00002"]
        raise RuntimeError("the payout failed after its documents were issued")
    assert not ClosingDocument.objects.filter(source="payout:2").exists()
    again = issue(vendor=vendor, partner=partner, source="payout:3")
    assert numbers(again) == ["А-2026-00002", "СФ-2026-00002"]


def test_the_database_refuses_a_second_document_with_the_same_number(vendor):
    (act,) = issue(vendor=vendor, partner=partner_with_card(vat_payer=False))
    duplicate = ClosingDocument.objects.get(pk=act.pk)
    duplicate.pk = None
    duplicate.source = "payout:99"
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


# --- snapshots and words --------------------------------------------------------------------


def test_a_later_card_change_does_not_change_an_issued_document(vendor):
    partner = partner_with_card()
    act, _invoice = issue(vendor=vendor, partner=partner)
    partner.full_name = "Общество с ограниченной ответственностью «Альфа-Новая»"
    partner.kpp = "773601002"
    partner.save()
    vendor.legal_address = "Новый адрес"
    vendor.save()
    act.refresh_from_db()
    assert act.seller["name"] == "Общество с ограниченной ответственностью «Альфа»"
    assert act.seller["kpp"] == "773601001"
    assert act.seller["inn"] == PARTNER_INN
    assert act.buyer["legal_address"] == "236001, г. Калининград, Московский пр-кт, д. 261"
    assert document_context(act)["seller"]["inn_kpp"] == "7707083893/773601001"


def test_the_amount_is_written_in_words(vendor):
    act, invoice = issue(vendor=vendor, partner=partner_with_card(), amount="6000.00")
    context = document_context(invoice)
    assert context["amount_in_words"] == "Шесть тысяч рублей 00 копеек"
    assert context["vat_in_words"] == "Одна тысяча восемьдесят один рубль 97 копеек"
    assert document_context(act)["amount"] == "6\u00a0000,00"


# --- what is recorded -----------------------------------------------------------------------


def test_issuing_is_audited_and_announced(vendor):
    partner = partner_with_card()
    act, invoice = issue(vendor=vendor, partner=partner)
    audited = AuditEvent.objects.filter(action="documents.closing_document.issued")
    assert sorted(e.after["number"] for e in audited) == ["А-2026-00001", "СФ-2026-00001"]
    assert {e.organisation_id for e in audited} == {partner.pk}
    events = OutboxEvent.objects.filter(event_type="documents.closing_document.issued")
    assert sorted(e.payload["document_id"] for e in events) == sorted([act.pk, invoice.pk])


def test_the_pdf_is_stored_without_personal_data_in_its_path(vendor):
    act, _invoice = rendered(issue(vendor=vendor, partner=partner_with_card()))
    assert act.pdf.name.startswith(f"closing-documents/{vendor.pk}/2026/")
    assert PARTNER_INN not in act.pdf.name
    assert act.pdf.size > 1000


def test_the_documents_of_a_source_come_act_first(vendor):
    issue(vendor=vendor, partner=partner_with_card(), source="payout:7")
    issue(vendor=vendor, partner=partner_with_card(inn="7728123459"), source="payout:8")
    assert [d.number for d in closing_documents_of(source="payout:7")] == [
        "А-2026-00001",
        "СФ-2026-00001",
    ]


# --- refusals -------------------------------------------------------------------------------


def refused_fields(**kwargs):
    with pytest.raises(ValidationFailed) as refused:
        closing_documents_issue(**kwargs)
    return refused.value.fields


def base_kwargs(vendor, partner, **overrides):
    return {
        "vendor": vendor,
        "partner": partner,
        "amount": Decimal("6000.00"),
        "issued_on": dt.date(2026, 3, 2),
        "basis": "Договор № П-17",
        "source": "payout:1",
        **overrides,
    }


def test_a_zero_amount_is_refused_and_nothing_is_issued(vendor):
    fields = refused_fields(**base_kwargs(vendor, partner_with_card(), amount=Decimal("0")))
    assert "amount" in fields
    assert not ClosingDocument.objects.exists()
    assert not DocumentCounter.objects.exists()


def test_an_amount_with_fractions_of_a_kopeck_is_refused(vendor):
    fields = refused_fields(**base_kwargs(vendor, partner_with_card(), amount=Decimal("6000.005")))
    assert "amount" in fields


def test_a_float_amount_is_refused(vendor):
    fields = refused_fields(**base_kwargs(vendor, partner_with_card(), amount=6000.0))
    assert "amount" in fields


def test_a_partner_without_inn_gets_no_documents(vendor):
    partner = OrganisationFactory(inn="", short_name="ООО «Без ИНН»")
    fields = refused_fields(**base_kwargs(vendor, partner))
    assert "partner" in fields
    assert not ClosingDocument.objects.exists()


def test_the_vendor_side_must_be_the_vendor(vendor):
    fields = refused_fields(**base_kwargs(partner_with_card(inn="7728123459"), partner_with_card()))
    assert "vendor" in fields


def test_a_source_is_required(vendor):
    fields = refused_fields(**base_kwargs(vendor, partner_with_card(), source="  "))
    assert "source" in fields


def test_a_source_gets_its_documents_once(vendor):
    partner = partner_with_card()
    issue(vendor=vendor, partner=partner, source="payout:1")
    with pytest.raises(Conflict):
        issue(vendor=vendor, partner=partner, source="payout:1")
    assert ClosingDocument.objects.count() == 2
    assert DocumentCounter.objects.get(kind="act").last_sequence == 1


def test_documents_issued_from_an_english_page_are_still_in_russian(vendor):
    with translation.override("en"):
        (act,) = issue(vendor=vendor, partner=partner_with_card(vat_payer=False))
    assert act.service.startswith("Вознаграждение по партнёрской программе")
