"""factory_boy factories shared by the tests. Numbers are valid requisites (checked by the
validators' own tests)."""

from __future__ import annotations

import factory

from partnerhub.accounts.models import User
from partnerhub.partners.models import Organisation, OrgKind, Program, ProgramKind
from partnerhub.partners.services.catalogues import vendor_catalogues_seed

PASSWORD = "Test-pass-2026!"

#: Valid 10-digit INNs of legal entities for distinct organisations.
VALID_INNS = [
    "7707083893",  # Sberbank
    "7728123459",
    "5027123457",
    "7710123458",
    "7736050003",  # Gazprom
    "7702070139",  # VTB
]


def sequence_inn(n: int) -> str:
    """The n-th valid 10-digit INN of a series no fixed INN above belongs to ("96..."), so
    factory-made organisations never collide with each other or with the world's partners."""
    head = f"96{n:07d}"
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(int(d) * w for d, w in zip(head, weights, strict=True)) % 11 % 10
    return f"{head}{check}"


#: A complete, valid card of a legal entity (without INN, which factories vary).
COMPLETE_UL_CARD = {
    "legal_form": "ul",
    "full_name": "Общество с ограниченной ответственностью «Тест»",
    "short_name": "ООО «Тест»",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "legal_address": "117997, г. Москва, ул. Вавилова, д. 19",
    "postal_address": "117997, г. Москва, ул. Вавилова, д. 19",
    "vat_payer": True,
    "bik": "044525225",
    "settlement_account": "40702810938000000001",
    "correspondent_account": "30101810400000000225",
    "bank_name": "ПАО Сбербанк",
    "director_name": "Иванов Иван Иванович",
    "director_position": "Генеральный директор",
    "email": "office@test.example",
    "phone": "+7 495 500-55-50",
    "website": "https://test.example",
}


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    kind = OrgKind.PARTNER
    legal_form = "ul"
    short_name = factory.Sequence(lambda n: f"ООО «Партнёр {n}»")
    inn = factory.Sequence(lambda n: sequence_inn(n))


class VendorFactory(OrganisationFactory):
    """A vendor with its own catalogues of status and document kinds (as a vendor created in
    the admin or by demo_load starts); ``catalogues=False`` for one with empty catalogues."""

    class Meta:
        skip_postgeneration_save = True

    kind = OrgKind.VENDOR
    short_name = "ООО «Вендор»"
    inn = ""

    @factory.post_generation
    def catalogues(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if create and extracted is not False:
            vendor_catalogues_seed(vendor=self)


class UserFactory(factory.django.DjangoModelFactory):
    """A user with the password ``PASSWORD``, hashed before the one INSERT (no second save)."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Sequence(lambda n: f"Пользователь {n}")
    organisation = factory.SubFactory(OrganisationFactory)
    role = "owner"
    password = factory.django.Password(PASSWORD)


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    vendor = factory.SubFactory(VendorFactory)
    code = factory.Sequence(lambda n: f"program-{n}")
    name = factory.Sequence(lambda n: f"Программа {n}")
    kind = ProgramKind.REFERRALS
