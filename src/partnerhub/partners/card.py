"""Rules of the partner card: which fields each legal form needs, their checks, completeness.

Pure functions of plain data (no database), used by the services for every write (cabinet, API,
back office) and by the pages for the completeness gauge. Spec: partners-and-contracts, "The
partner card".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.translation import gettext_lazy as _

from partnerhub.core import validators as v
from partnerhub.core.text import clean_name
from partnerhub.partners.error_codes import PartnersErrorCode

UL = "ul"
IP = "ip"

#: Every card field in the order the card shows them.
CARD_FIELDS: tuple[str, ...] = (
    "legal_form",
    "full_name",
    "short_name",
    "inn",
    "kpp",
    "ogrn",
    "legal_address",
    "postal_address",
    "vat_payer",
    "bik",
    "settlement_account",
    "correspondent_account",
    "bank_name",
    "director_name",
    "director_position",
    "email",
    "phone",
    "website",
)

#: What a document prints of a side (the application to join, acts, invoices): the card less
#: the website.
REQUISITE_FIELDS: tuple[str, ...] = tuple(name for name in CARD_FIELDS if name != "website")

_COMMON_REQUIRED = (
    "full_name",
    "short_name",
    "inn",
    "ogrn",
    "legal_address",
    "postal_address",
    "bik",
    "settlement_account",
    "correspondent_account",
    "bank_name",
    "director_name",
    "email",
    "phone",
)
#: Fields a complete card must have, by legal form (ИП has no KPP and no director's position).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    UL: (*_COMMON_REQUIRED, "kpp", "director_position"),
    IP: _COMMON_REQUIRED,
}

_PHONE_DIGITS = (10, 15)


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return "" if value is None else str(value).strip()


def _check_phone(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    allowed = set("0123456789+()- ")
    if set(value) - allowed or not _PHONE_DIGITS[0] <= len(digits) <= _PHONE_DIGITS[1]:
        raise ValidationError(
            _("Телефон должен содержать от 10 до 15 цифр, например +7 495 123-45-67."),
            code=PartnersErrorCode.PHONE_FORMAT,
        )
    return value


def _check_email(value: str) -> str:
    EmailValidator(message=_("Введите правильный адрес эл. почты."))(value)
    return value.lower()


def _check_url(value: str) -> str:
    URLValidator(schemes=["http", "https"], message=_("Введите адрес сайта вида https://..."))(
        value
    )
    return value


def field_errors(data: Mapping[str, Any]) -> dict[str, list[ValidationError]]:
    """Errors of the filled fields of a card (empty fields are not errors here).

    ``data`` holds the whole card after the change, so that checks across fields (accounts
    against the BIK, INN length against the legal form) see the values they depend on.
    """
    errors: dict[str, list[ValidationError]] = {}
    legal_form = _text(data, "legal_form") or UL

    def check(name: str, fn: Callable[[str], object]) -> None:
        value = _text(data, name)
        if not value:
            return
        try:
            fn(value)
        except ValidationError as exc:
            errors.setdefault(name, []).append(exc)

    if legal_form not in REQUIRED_FIELDS:
        errors["legal_form"] = [
            ValidationError(
                _("Выберите юридическое лицо или ИП."), code=PartnersErrorCode.LEGAL_FORM
            )
        ]
        return errors
    check("inn", lambda value: v.validate_inn(value, legal_form=legal_form))
    if legal_form == UL:
        check("kpp", v.validate_kpp)
        check("ogrn", v.validate_ogrn)
    else:
        if _text(data, "kpp"):
            errors["kpp"] = [
                ValidationError(
                    _("КПП указывается только для юридических лиц, у ИП его нет."),
                    code=PartnersErrorCode.KPP_NOT_FOR_IP,
                )
            ]
        check("ogrn", v.validate_ogrnip)
    check("bik", v.validate_bik)
    bik = _text(data, "bik")
    check("settlement_account", lambda value: v.validate_settlement_account(value, bik=bik))
    check("correspondent_account", lambda value: v.validate_correspondent_account(value, bik=bik))
    check("email", _check_email)
    check("phone", _check_phone)
    check("website", _check_url)
    return errors


@dataclass(frozen=True)
class Completeness:
    """How complete a card is: what is missing, what is invalid, and the share filled."""

    required: tuple[str, ...]
    missing: tuple[str, ...]
    invalid: tuple[str, ...]

    @property
    def is_complete(self) -> bool:
        """Complete when every required field is filled and every filled field is valid."""
        return not self.missing and not self.invalid

    @property
    def percent(self) -> int:
        """Share of required fields that are filled and valid, 0-100 rounded down."""
        if not self.required:
            return 100
        bad = set(self.missing) | set(self.invalid)
        good = sum(1 for name in self.required if name not in bad)
        return good * 100 // len(self.required)


def completeness(data: Mapping[str, Any]) -> Completeness:
    """Completeness of a card given as a mapping of its fields."""
    legal_form = _text(data, "legal_form") or UL
    required = REQUIRED_FIELDS.get(legal_form, REQUIRED_FIELDS[UL])
    missing = tuple(name for name in required if not _text(data, name))
    errors = field_errors(data)
    invalid = tuple(name for name in CARD_FIELDS if name in errors)
    return Completeness(required=required, missing=missing, invalid=invalid)


def normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """Trimmed text values without bidi controls and invisible characters (``clean_name``: staff
    read names, addresses and bank details); email in lower case; the vat flag as a bool."""
    result: dict[str, Any] = {}
    for name, value in data.items():
        if name == "vat_payer":
            result[name] = bool(value)
        elif name == "email":
            result[name] = _text(data, name).lower()
        else:
            result[name] = clean_name(data.get(name))
    return result
