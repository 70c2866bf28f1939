"""A vendor's own catalogues of status kinds and counterparty document kinds (issue 14: vendors
do not share them). A new vendor starts with the kinds of the spec ("Statuses") and of the seed
("копии документов для проверки вашей компании как контрагента"); its staff add more on the
back office's pages. The lists repeat migration 0003's, which stays frozen as migrations do.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from partnerhub.core.errors import ValidationFailed
from partnerhub.partners.error_codes import PartnersErrorCode
from partnerhub.partners.models import (
    CounterpartyDocumentKind,
    DocumentAppliesTo,
    Organisation,
    OrgKind,
    StatusKind,
)

#: (code, name) of the status kinds every vendor starts with.
DEFAULT_STATUS_KINDS: tuple[tuple[str, str], ...] = (
    ("franchisee", "Франчайзи (договор коммерческой концессии)"),
    ("csk", "1С:ЦСК (сетевой центр компетенции)"),
    ("ck-erp", "ЦК ERP (центр компетенции по ERP)"),
    ("ck-corp", "ЦК КОРП (центр компетенции КОРП)"),
    ("cso", "ЦСО (центр сертифицированного обучения)"),
    ("cloud-crm-licence", "Лицензионный партнёр облачной CRM"),
)

#: (code, name, description, applies_to, required, position) of the counterparty documents
#: every vendor starts with.
DEFAULT_DOCUMENT_KINDS: tuple[tuple[str, str, str, str, bool, int], ...] = (
    (
        "registration-certificate",
        "Свидетельство о регистрации (ОГРН/ОГРНИП)",
        "Скан или фото свидетельства о государственной регистрации юридического лица или "
        "индивидуального предпринимателя (лист записи ЕГРЮЛ/ЕГРИП).",
        DocumentAppliesTo.BOTH,
        True,
        10,
    ),
    (
        "registry-extract",
        "Выписка из ЕГРЮЛ/ЕГРИП",
        "Выписка из государственного реестра, полученная не ранее чем за 30 дней.",
        DocumentAppliesTo.BOTH,
        True,
        20,
    ),
    (
        "other",
        "Другие документы",
        "Любые документы, которые помогут проверить вашу компанию.",
        DocumentAppliesTo.BOTH,
        False,
        90,
    ),
)


def vendor_catalogues_seed(*, vendor: Organisation) -> None:
    """Give ``vendor`` the default kinds it does not have yet (by code; safe to run twice)."""
    if vendor.kind != OrgKind.VENDOR:
        raise ValidationFailed(
            _("Виды статусов и документов заводятся только для вендора."),
            code=PartnersErrorCode.NOT_A_VENDOR,
        )
    with transaction.atomic():
        # two reads and two bulk inserts, not a get_or_create a kind: vendors are seeded in
        # bulk (demo data, every test's two vendors)
        have_status = set(StatusKind.objects.filter(vendor=vendor).values_list("code", flat=True))
        StatusKind.objects.bulk_create(
            StatusKind(vendor=vendor, code=code, name=name)
            for code, name in DEFAULT_STATUS_KINDS
            if code not in have_status
        )
        have_document = set(
            CounterpartyDocumentKind.objects.filter(vendor=vendor).values_list("code", flat=True)
        )
        CounterpartyDocumentKind.objects.bulk_create(
            CounterpartyDocumentKind(
                vendor=vendor,
                code=code,
                name=name,
                description=description,
                applies_to=applies_to,
                required=required,
                position=position,
            )
            for code, name, description, applies_to, required, position in DEFAULT_DOCUMENT_KINDS
            if code not in have_document
        )
