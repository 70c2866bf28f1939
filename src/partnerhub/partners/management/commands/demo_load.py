"""``partnerhub demo_load``: demo data for a first look, loaded once.

A vendor with a user for each staff role, two programs, three partner organisations with users
(the two in the referral program with their partner codes; «Альфа» with clients, bonuses, a
status and a signed contract, ready to convert), made through the same services as real data
(so every number passes the card checks). A second run changes nothing and prints the
logins again.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from partnerhub.accounts.models import User
from partnerhub.accounts.services import user_create
from partnerhub.contracts import services as contract_services
from partnerhub.core.audit import system_actor
from partnerhub.core.clock import now, today
from partnerhub.core.pdf import html_to_pdf
from partnerhub.leads import selectors as lead_selectors
from partnerhub.leads import services as lead_services
from partnerhub.partners import selectors, services
from partnerhub.partners.models import (
    CardEditMode,
    Enrolment,
    EnrolmentState,
    Organisation,
    OrgKind,
    Program,
    ProgramKind,
    StatusKind,
)
from partnerhub.referrals.models import EventSource, ReferralPartner
from partnerhub.referrals.services import intake
from partnerhub.referrals.services.partners import referral_partner_register

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


#: Open leads of the demo marketplace: (company, region code, size, need, description, contact
#: person, phone, email, source).
DEMO_LEADS = [
    (
        "ООО «Строймонтаж»",
        "77",
        "small",
        "crm",
        "Нужна CRM для отдела продаж из 12 человек.",
        "Анна Смирнова",
        "+7 916 123-45-67",
        "a.smirnova@stroymontazh.example",
        "site",
    ),
    (
        "АО «Северный порт»",
        "78",
        "large",
        "integration",
        "Интеграция портала с 1С:ERP.",
        "Олег Ветров",
        "+7 921 555-12-34",
        "vetrov@sevport.example",
        "api",
    ),
    (
        "ИП Кузнецова Е. В.",
        "50",
        "micro",
        "sites",
        "Интернет-магазин и онлайн-чат.",
        "Елена Кузнецова",
        "+7 903 777-88-99",
        "",
        "site",
    ),
    (
        "ООО «Вектор»",
        "16",
        "medium",
        "tasks",
        "Задачи и проекты для проектного офиса.",
        "Ринат Галиев",
        "+7 843 200-10-10",
        "galiev@vector.example",
        "staff",
    ),
    (
        "ООО «Медицина плюс»",
        "66",
        "small",
        "contact_center",
        "Открытые линии для клиник.",
        "Ирина Белова",
        "+7 343 300-20-20",
        "belova@medplus.example",
        "site",
    ),
    (
        "ООО «Агротех»",
        "23",
        "medium",
        "crm",
        "CRM для дилерской сети.",
        "Павел Орлов",
        "",
        "orlov@agrotech.example",
        "import",
    ),
    (
        "ЗАО «Логистик»",
        "54",
        "large",
        "communications",
        "Корпоративный портал на 400 человек.",
        "Сергей Ким",
        "+7 383 400-30-30",
        "kim@logistic.example",
        "api",
    ),
    (
        "ООО «Пекарня №1»",
        "52",
        "micro",
        "crm",
        "Учёт заказов и доставки.",
        "Мария Хлебова",
        "+7 831 500-40-40",
        "",
        "site",
    ),
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
        services.vendor_catalogues_seed(vendor=vendor)
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
                name="Заявки на внедрение",
                kind=ProgramKind.LEADS,
                card_edit_mode=CardEditMode.DIRECT,
                description="Заявки клиентов на внедрение для партнёров с лицензионным договором.",
            ),
        }
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
        self._load_referral_partners()
        self._load_referral_events()
        self._load_contract(programs["referrals"])
        self._load_leads(programs["leads"])

    def _load_referral_partners(self) -> None:
        """Partners active in the referral program get their partner code. Their registration is
        dated 60 days back so that the demo has a history (for enrolments activated later, the
        outbox handler registers at the moment of activation)."""
        active = Enrolment.objects.filter(
            program__kind=ProgramKind.REFERRALS, state=EnrolmentState.ACTIVE
        ).select_related("program", "organisation")
        for enrolment in active.order_by("pk"):
            referral_partner_register(
                program=enrolment.program,
                organisation=enrolment.organisation,
                at=now() - dt.timedelta(days=60),
            )

    def _load_referral_events(self) -> None:
        """Clients of «Альфа» in the referral program, as the vendor's product would report
        them (through the same intake as the API): 16 active clients and two first purchases
        give level 2, bonuses in the ledger, and one unattributed client for the back office."""
        partner = ReferralPartner.objects.filter(organisation__inn="5027123457").first()
        if partner is None:
            return
        start = now() - dt.timedelta(days=40)

        def when(days: float) -> str:
            return (start + dt.timedelta(days=days)).isoformat()

        code = partner.code
        events: list[dict[str, object]] = []
        for n in range(16):
            portal = f"client{n + 1}.bitrix24.ru"
            events.append(
                {
                    "id": f"demo-c{n}",
                    "type": "client.registered",
                    "at": when(n / 4),
                    "client": portal,
                    "referral_code": code,
                }
            )
            events.append(
                {
                    "id": f"demo-a{n}",
                    "type": "client.activity",
                    "at": when(n / 4 + 2),
                    "client": portal,
                    "users": 5 + n,
                }
            )
        events += [
            {
                "id": "demo-pay1",
                "type": "payment",
                "at": when(10),
                "client": "client1.bitrix24.ru",
                "product": "tariff.company",
                "months": 6,
                "amount": "19990.00",
            },
            {
                "id": "demo-pay2",
                "type": "payment",
                "at": when(20),
                "client": "client2.bitrix24.ru",
                "product": "users.12",
                "months": 12,
                "amount": "8990.00",
            },
            {
                "id": "demo-c-none",
                "type": "client.registered",
                "at": when(21),
                "client": "direct.bitrix24.ru",
            },
        ]
        intake.events_ingest(program=partner.program, objs=events, source=EventSource.FILE)

    def _load_contract(self, program: Program) -> None:
        """«Альфа» (about 9,000 bonuses from the events above) holds the ЦК ERP status, had its
        counterparty documents accepted and its contract signed by EDO, so its owner can convert
        bonuses at once; the program manager, the reviewer, decided."""
        alfa = Organisation.objects.get(inn="5027123457")
        manager = User.objects.get(email="manager@vendor.demo")
        owner = User.objects.get(email="owner@alfa.demo")
        services.status_grant(
            organisation=alfa,
            status=StatusKind.objects.get(vendor=program.vendor, code="ck-erp"),
            valid_from=today() - dt.timedelta(days=90),
            by=manager,
        )
        for kind in selectors.counterparty_document_kinds_for(
            organisation=alfa, vendor=program.vendor
        ).filter(required=True):
            scan = html_to_pdf(f"<h1>{kind.name}</h1><p>{alfa.full_name}, ИНН {alfa.inn}</p>")
            document = services.counterparty_document_upload(
                organisation=alfa,
                kind=kind,
                upload=io.BytesIO(scan),
                name=f"{kind.code}.pdf",
                by=owner,
            )
            services.counterparty_document_review(document=document, accept=True, by=manager)
        self._sign_contract_by_edo(alfa, program, owner=owner, manager=manager)

    def _sign_contract_by_edo(
        self, organisation: Organisation, program: Program, *, owner: User, manager: User
    ) -> None:
        """The partner's owner sends the application by EDO (Diadoc); the manager signs it."""
        contract = contract_services.contract_start(
            organisation=organisation, program=program, by=owner
        )
        contract = contract_services.contract_prepare(
            contract=contract,
            application_channel="edo",
            closing_channel="edo",
            edo_operator="diadoc",
            edo_participant_id=f"2BM-{organisation.inn}-{organisation.kpp}",
            by=owner,
        )
        contract = contract_services.contract_send(contract=contract, by=owner)
        contract = contract_services.contract_review_start(contract=contract, by=manager)
        contract_services.contract_sign(contract=contract, signed_on=today(), by=manager)

    def _load_leads(self, program: Program) -> None:
        """The lead marketplace: a dozen open leads across regions; «Альфа» meets every
        condition (active enrolment, signed contract, page checked by staff, tariff «Компания»,
        app installed with the agreement accepted) and works one deal with a call in it."""
        alfa = Organisation.objects.get(inn="5027123457")
        manager = User.objects.get(email="manager@vendor.demo")
        owner = User.objects.get(email="owner@alfa.demo")
        enrolment = Enrolment.objects.get(organisation=alfa, program=program)
        services.enrolment_transition(enrolment=enrolment, to=EnrolmentState.ACTIVE, reason="")
        self._sign_contract_by_edo(alfa, program, owner=owner, manager=manager)
        settings = lead_selectors.lead_settings_for(program)
        access = lead_services.marketplace_page_submit(
            organisation=alfa,
            program=program,
            url="https://alfa-integration.example/vnedrenie",
            by=owner,
        )
        lead_services.marketplace_page_review(access=access, accept=True, by=manager)
        lead_services.marketplace_crm_declare(
            organisation=alfa,
            program=program,
            tariff="company",
            portal="alfa.bitrix24.ru",
            by=owner,
        )
        lead_services.marketplace_app_install(
            organisation=alfa,
            program=program,
            agreement_version=settings.agreement_version,
            by=owner,
        )
        lead_services.marketplace_digest_set(
            organisation=alfa, program=program, opt_in=True, regions=["77", "50"], by=owner
        )
        leads = [
            lead_services.lead_create(
                program=program,
                company_name=company,
                region=region,
                company_size=size,
                need=need,
                description=description,
                contact_name=person,
                contact_phone=phone,
                contact_email=email,
                source=source,
                external_id=f"demo-{number}",
                now=now() - dt.timedelta(hours=6 * number),
            )
            for number, (
                company,
                region,
                size,
                need,
                description,
                person,
                phone,
                email,
                source,
            ) in enumerate(DEMO_LEADS, start=1)
        ]
        deal = lead_services.lead_take(
            lead=leads[0], organisation=alfa, by=owner, now=now() - dt.timedelta(hours=3)
        )
        lead_services.deal_event_add(
            deal=deal,
            kind="call",
            happened_at=now() - dt.timedelta(hours=1),
            text="Созвонились, договорились о демонстрации CRM во вторник.",
            by=owner,
        )
        lead_services.deal_stage_change(deal=deal, stage="contacted", by=owner)

    def _print_logins(self) -> None:
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        users = User.objects.filter(email__endswith=".demo").select_related("organisation")
        for user in users.order_by("organisation__kind", "organisation__short_name", "email"):
            org = user.organisation.short_name if user.organisation else "-"
            self.stdout.write(f"  {user.email:<26} {user.role:<16} {org}")
        self.stdout.write("")
