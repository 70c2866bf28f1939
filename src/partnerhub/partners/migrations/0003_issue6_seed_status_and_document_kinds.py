"""Seed the status kinds of the spec ("Statuses") and the counterparty documents of the seed
("копии документов для проверки вашей компании как контрагента"). Reversible: going back removes
the seeded kinds that nothing refers to."""

from django.db import migrations

STATUS_KINDS = [
    ("franchisee", "Франчайзи (договор коммерческой концессии)"),
    ("csk", "1С:ЦСК (сетевой центр компетенции)"),
    ("ck-erp", "ЦК ERP (центр компетенции по ERP)"),
    ("ck-corp", "ЦК КОРП (центр компетенции КОРП)"),
    ("cso", "ЦСО (центр сертифицированного обучения)"),
    ("cloud-crm-licence", "Лицензионный партнёр облачной CRM"),
]

# (code, name, description, applies_to, required, position)
DOCUMENT_KINDS = [
    (
        "registration-certificate",
        "Свидетельство о регистрации (ОГРН/ОГРНИП)",
        "Скан или фото свидетельства о государственной регистрации юридического лица или "
        "индивидуального предпринимателя (лист записи ЕГРЮЛ/ЕГРИП).",
        "both",
        True,
        10,
    ),
    (
        "registry-extract",
        "Выписка из ЕГРЮЛ/ЕГРИП",
        "Выписка из государственного реестра, полученная не ранее чем за 30 дней.",
        "both",
        True,
        20,
    ),
    (
        "other",
        "Другие документы",
        "Любые документы, которые помогут проверить вашу компанию.",
        "both",
        False,
        90,
    ),
]


def seed(apps, schema_editor):
    StatusKind = apps.get_model("partners", "StatusKind")
    Kind = apps.get_model("partners", "CounterpartyDocumentKind")
    for code, name in STATUS_KINDS:
        StatusKind.objects.get_or_create(code=code, defaults={"name": name})
    for code, name, description, applies_to, required, position in DOCUMENT_KINDS:
        Kind.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "description": description,
                "applies_to": applies_to,
                "required": required,
                "position": position,
            },
        )


def unseed(apps, schema_editor):
    StatusKind = apps.get_model("partners", "StatusKind")
    Kind = apps.get_model("partners", "CounterpartyDocumentKind")
    StatusKind.objects.filter(code__in=[c for c, _ in STATUS_KINDS], grants__isnull=True).delete()
    Kind.objects.filter(code__in=[k[0] for k in DOCUMENT_KINDS], uploads__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("partners", "0002_issue6_statuses_and_counterparty_documents")]

    operations = [migrations.RunPython(seed, unseed)]
