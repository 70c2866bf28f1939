"""``partnerhub demo_load``: demo data for a first look, loaded once.

A vendor with a user for each staff role, two programs, three partner organisations with users,
made through the same services as real data (so every number passes the card checks). A second
run changes nothing and prints the logins again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from partnerhub.accounts.models import User
from partnerhub.accounts.services import user_create
from partnerhub.core import ledger
from partnerhub.core.audit import system_actor
from partnerhub.partners import services
from partnerhub.partners.models import (
    CardEditMode,
    Organisation,
    OrgKind,
    Program,
    ProgramKind,
    StatusKind,
)

DEMO_PASSWORD = "Partner-demo-2026"
VENDOR_INN = "7728123459"

VENDOR_STAFF = [
    ("admin@vendor.demo", "Анна Админова", "administrator"),
    ("manager@vendor.demo", "Павел Программов", "program_manager"),
    ("accountant@vendor.demo", "Бэлла Бухова", "accountant"),
    ("support@vendor.demo", "Сергей Саппортов", "support"),
]

PARTNERS: list[dict[str, Any]] = [
    {
        "join": {
            "legal_form": "ul",
            "name": "ООО «Альфа Интеграция»",
            "inn": "5027123457",
            "contact_name": "Ольга Владелицына",
            "email": "owner@alfa.demo",
            "phone": "+7 495 111-22-33",
        },
        "card": {
            "full_name": "Общество с ограниченной ответственностью «Альфа Интеграция»",
            "kpp": "502701001",
            "ogrn": "1167746123456",
            "legal_address": "140000, Московская обл., г. Люберцы, ул. Октябрьская, д. 1",
            "postal_address": "140000, Московская обл., г. Люберцы, ул. Октябрьская, д. 1",
            "vat_payer": True,
            "bik": "044525593",
            "settlement_account": "40802810400000000123",
            "correspondent_account": "30101810200000000593",
            "bank_name": "АО «АЛЬФА-БАНК»",
            "director_name": "Владелицына Ольга Петровна",
            "director_position": "Генеральный директор",
            "website": "https://alfa-integration.example",
        },
        "employees": [
            ("sales@alfa.demo", "Максим Продажин", "manager"),
            ("buh@alfa.demo", "Галина Счётова", "accountant"),
        ],
        "enrol": ["referrals", "leads"],
    },
    {
        "join": {
            "legal_form": "ul",
            "name": "ООО «Бета Софт»",
            "inn": "7710123458",
            "contact_name": "Борис Бетов",
            "email": "owner@beta.demo",
            "phone": "+7 812 222-33-44",
        },
        "card": {"kpp": "771001001"},
        "employees": [("dev@beta.demo", "Денис Кодов", "developer")],
        "enrol": ["referrals"],
    },
    {
        "join": {
            "legal_form": "ip",
            "name": "ИП Гамов Г. Г.",
            "inn": "771012345630",
            "contact_name": "Геннадий Гамов",
            "email": "owner@gamma.demo",
            "phone": "+7 903 333-44-55",
        },
        "card": {"ogrn": "318774600123452", "director_name": "Гамов Геннадий Геннадьевич"},
        "employees": [("operator@gamma.demo", "Ирина Операторова", "operator")],
        "enrol": [],
    },
]

STATUS_KINDS = [
    ("franchisee", "Франчайзи (договор коммерческой концессии)"),
    ("csk", "1С:ЦСК — центр сетевой компетенции"),
    ("ck-erp", "ЦК ERP — центр компетенции по ERP"),
    ("ck-corp", "ЦК КОРП — центр компетенции КОРП"),
    ("cso", "ЦСО — центр сертифицированного обучения"),
    ("crm-licence", "Лицензионный партнёр облачной CRM"),
]


class Command(BaseCommand):
    help = "Load demo data once (a vendor, two programs, three partners with users)."

    def handle(self, *args: Any, **options: Any) -> None:
        if Organisation.objects.filter(kind=OrgKind.VENDOR, inn=VENDOR_INN).exists():
            self.stdout.write("Demo data is already loaded.")
        else:
            with system_actor("demo_load"), transaction.atomic():
                self._load()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self._print_logins()

    def _load(self) -> None:
        vendor = Organisation.objects.create(
            kind=OrgKind.VENDOR,
            legal_form="ul",
            short_name="ООО «Вендор Софт»",
            full_name="Общество с ограниченной ответственностью «Вендор Софт»",
            inn=VENDOR_INN,
            kpp="772801001",
            ogrn="1027700123450",
            bik="044525225",
            settlement_account="40702810603800001234",
            correspondent_account="30101810400000000225",
            bank_name="ПАО Сбербанк",
            email="partners@vendor.demo",
            phone="+7 495 000-00-00",
        )
        for email, name, role in VENDOR_STAFF:
            user_create(
                organisation=vendor, email=email, password=DEMO_PASSWORD, role=role, full_name=name
            )
        programs = {
            "referrals": Program.objects.create(
                vendor=vendor,
                code="referrals",
                name="Реферальная программа",
                kind=ProgramKind.REFERRALS,
                auto_approve=True,
                description="Рекомендуйте клиентов и получайте баллы.",
            ),
            "leads": Program.objects.create(
                vendor=vendor,
                code="leads",
                name="Биржа лидов",
                kind=ProgramKind.LEADS,
                card_edit_mode=CardEditMode.DIRECT,
                description="Заявки клиентов на внедрение для партнёров с лицензионным договором.",
            ),
        }
        for code, name in STATUS_KINDS:
            StatusKind.objects.get_or_create(code=code, defaults={"name": name})
        for spec in PARTNERS:
            owner = services.partner_join(**spec["join"], password=DEMO_PASSWORD)
            org = owner.organisation
            assert org is not None
            services.card_update(
                organisation=org, changes=spec["card"], changed_by=owner, source="demo"
            )
            for email, name, role in spec["employees"]:
                user_create(
                    organisation=org, email=email, password=DEMO_PASSWORD, role=role, full_name=name
                )
            for code in spec["enrol"]:
                services.enrolment_apply(organisation=org, program=programs[code])
        self._load_ledger()

    def _load_ledger(self) -> None:
        """A few bonus postings so the ledger pages and ``ledger check`` have something real:
        the vendor's bonus expense against the partner's bonus balance, one of them reversed."""
        alfa = Organisation.objects.get(inn="5027123457")
        expense = ledger.account_get_or_create(
            organisation_id=None,
            purpose="bonus_expense",
            normal_side="debit",
            name="Расходы на бонусы партнёрам",
        )
        bonuses = ledger.account_get_or_create(
            organisation_id=alfa.pk,
            purpose="bonus_rub",
            normal_side="credit",
            name="Бонусный баланс",
        )
        postings = [("demo-bonus-1", Decimal("12500.00")), ("demo-bonus-2", Decimal("3400.50"))]
        for ref, amount in postings:
            ledger.post(
                kind="bonus_accrual",
                lines=[ledger.Line(expense, debit=amount), ledger.Line(bonuses, credit=amount)],
                idempotency_ref=ref,
                snapshot={"rule": "demo", "rate": "10%"},
            )
        wrong = ledger.post(
            kind="bonus_accrual",
            lines=[
                ledger.Line(expense, debit=Decimal("999.00")),
                ledger.Line(bonuses, credit=Decimal("999.00")),
            ],
            idempotency_ref="demo-bonus-3",
            memo="Начислено по ошибке",
        )
        ledger.reverse(original=wrong, idempotency_ref="demo-bonus-3-reversal", memo="Исправление")

    def _print_logins(self) -> None:
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        users = User.objects.filter(email__endswith=".demo").select_related("organisation")
        for user in users.order_by("organisation__kind", "organisation__short_name", "email"):
            org = user.organisation.short_name if user.organisation else "-"
            self.stdout.write(f"  {user.email:<26} {user.role:<16} {org}")
        self.stdout.write("")
