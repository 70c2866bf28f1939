"""Pure rules of the lead marketplace (issue 7; spec leads.md, "Lead-marketplace conditions" in
partners-and-contracts.md; seed bitrix24-implementation-leads.txt). No ORM here: plain data in,
plain data out, so that the rules are tested directly.

- ``evaluate_eligibility``: which marketplace conditions a partner meets and what is missing.
  "Active, not blocked, licence partner contract" = the partner's contract in the leads program
  is signed and its participation (enrolment) in that program is active (suspended = blocked).
  The page counts once staff accepted it (a changed URL goes back to review); the CRM tariff must
  be NFR, Company or the on-premise edition; the app counts as installed when the partner
  accepted the personal-data agreement of the program's current version (a new version must be
  accepted again).
- ``normalise_phone``: E.164 with phonenumbers, Russia as the default region.
- ``mask_phone``, ``mask_email``, ``mask_name``: what a partner sees of an untaken lead.
- ``validate_won_reference``: a won deal needs the client's cloud portal address
  (``name.bitrix24.ru`` and the product's other zones) or the licence key of the on-premise
  edition (three groups of letters and digits: ``XXX-XX-XXXXXXXXXXXX``; our own format check,
  the vendor publishes no checksum).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from django.utils.translation import gettext as _

#: Tariffs of the partner's own CRM that satisfy the condition (CrmTariff values).
ELIGIBLE_TARIFF_CODES = frozenset({"nfr", "company", "on_premise"})
#: Cloud tariffs, declared with a portal address (the on-premise edition with a licence key).
CLOUD_TARIFF_CODES = frozenset({"free", "basic", "standard", "professional", "nfr", "company"})
#: Zones of the cloud product's portals (name.bitrix24.<zone>).
PORTAL_ZONES = (
    "ru",
    "by",
    "kz",
    "ua",
    "com",
    "de",
    "eu",
    "es",
    "fr",
    "it",
    "pl",
    "uk",
    "in",
    "id",
    "vn",
    "jp",
    "cn",
    "tr",
    "com.br",
    "com.tr",
    "co",
    "mx",
)
_PORTAL = re.compile(
    r"(?P<name>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.bitrix24\.(?P<zone>[a-z]{2,3}(?:\.[a-z]{2})?)"
)
_LICENCE_KEY = re.compile(r"[A-Z0-9]{3}-[A-Z0-9]{2}-[A-Z0-9]{10,24}")
WON_KINDS = ("portal", "licence_key")


@dataclass(frozen=True)
class EligibilityFacts:
    """What is known of one partner in one lead marketplace."""

    contract_signed: bool
    enrolment_state: str | None  # EnrolmentState value, None without an enrolment
    page_state: str = "none"  # PageState value
    crm_tariff: str = "none"  # CrmTariff value
    app_installed: bool = False
    agreement_version: str = ""  # the version the partner accepted
    current_agreement_version: str = ""  # the program's current version


@dataclass(frozen=True)
class Condition:
    """One marketplace condition: ``code`` (stable), whether it is met, its label and, when
    unmet, a hint of what to do."""

    code: str
    met: bool
    label: str
    hint: str = ""


@dataclass(frozen=True)
class Eligibility:
    """Every condition in the order the cabinet shows them."""

    conditions: tuple[Condition, ...] = field(default_factory=tuple)

    @property
    def eligible(self) -> bool:
        """True when every condition is met."""
        return all(c.met for c in self.conditions)

    @property
    def missing(self) -> list[Condition]:
        """The unmet conditions."""
        return [c for c in self.conditions if not c.met]


def _page_hint(state: str) -> str:
    if state == "pending":
        return _("Страница на проверке у сотрудников вендора.")
    if state == "rejected":
        return _("Страница отклонена: исправьте её и отправьте адрес снова.")
    return _("Укажите адрес страницы вашего сайта о пакетах внедрения.")


def evaluate_eligibility(facts: EligibilityFacts) -> Eligibility:
    """The conditions of the seed, point 1, each met or not with a hint."""
    agreement_current = bool(facts.current_agreement_version) and (
        facts.agreement_version == facts.current_agreement_version
    )
    if not facts.app_installed:
        app_hint = _("Установите приложение и примите соглашение о персональных данных.")
    elif not agreement_current:
        app_hint = _("Соглашение о персональных данных обновлено: примите новую редакцию.")
    else:
        app_hint = ""
    conditions = (
        Condition(
            code="contract",
            met=facts.contract_signed,
            label=_("Договор партнёрского лицензирования подписан"),
            hint="" if facts.contract_signed else _("Подпишите договор в разделе «Договоры»."),
        ),
        Condition(
            code="participation",
            met=facts.enrolment_state == "active",
            label=_("Участие в программе активно (не приостановлено)"),
            hint=""
            if facts.enrolment_state == "active"
            else (
                _("Участие в программе приостановлено.")
                if facts.enrolment_state == "suspended"
                else _("Подайте заявку на участие в программе.")
            ),
        ),
        Condition(
            code="page",
            met=facts.page_state == "accepted",
            label=_("Страница о пакетах внедрения проверена"),
            hint="" if facts.page_state == "accepted" else _page_hint(facts.page_state),
        ),
        Condition(
            code="crm_tariff",
            met=facts.crm_tariff in ELIGIBLE_TARIFF_CODES,
            label=_("CRM на тарифе NFR, «Компания» или коробочная версия"),
            hint=""
            if facts.crm_tariff in ELIGIBLE_TARIFF_CODES
            else _("Укажите тариф вашей CRM: подходят NFR, «Компания» или коробочная версия."),
        ),
        Condition(
            code="app",
            met=facts.app_installed and agreement_current,
            label=_("Приложение установлено, соглашение о персональных данных принято"),
            hint=app_hint,
        ),
    )
    return Eligibility(conditions=conditions)


def normalise_phone(raw: str) -> str:
    """The phone in E.164 (``8 (916) 123-45-67`` -> ``+79161234567``); Russia by default.

    Raises ``ValueError`` with a Russian message when it is not a valid number.
    """
    text = (raw or "").strip()
    if not text:
        raise ValueError(_("Укажите номер телефона."))
    try:
        number = phonenumbers.parse(text, "RU")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(_("Номер телефона указан неверно.")) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("Номер телефона указан неверно."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str) -> str:
    """Only the country code and the last two digits: ``+79161234567`` -> ``+7 *** ***-**-67``."""
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return ""
    country = "7" if digits.startswith("7") and len(digits) == 11 else digits[:1]
    return f"+{country} *** ***-**-{digits[-2:]}"


def mask_email(email: str) -> str:
    """The first letter of the mailbox and of the domain and the top-level zone:
    ``ivan.petrov@example.ru`` -> ``i***@e***.ru``."""
    value = (email or "").strip()
    if "@" not in value:
        return ""
    local, _sep, domain = value.rpartition("@")
    zone = domain.rsplit(".", 1)[1] if "." in domain else ""
    masked_domain = f"{domain[:1]}***" + (f".{zone}" if zone else "")
    return f"{local[:1]}***@{masked_domain}"


def mask_name(name: str) -> str:
    """The first letter of each word: ``Иван Петров`` -> ``И*** П***``."""
    return " ".join(f"{word[:1]}***" for word in (name or "").split())


def validate_won_reference(kind: str, value: str) -> str:
    """The normalised portal address (``kind="portal"``) or licence key (``"licence_key"``).

    A portal is given with or without ``https://`` and a trailing slash and comes back as
    ``name.bitrix24.zone`` in lower case; a key comes back in upper case. Raises ``ValueError``
    with a Russian message when the format is wrong.
    """
    text = (value or "").strip()
    if kind == "portal":
        if not text:
            raise ValueError(_("Укажите адрес портала клиента."))
        host = re.sub(r"^https?://", "", text.lower()).rstrip("/")
        match = _PORTAL.fullmatch(host)
        if match is None or match["zone"] not in PORTAL_ZONES:
            raise ValueError(_("Адрес портала должен быть вида name.bitrix24.ru."))
        return host
    if kind == "licence_key":
        if not text:
            raise ValueError(_("Укажите лицензионный ключ клиента."))
        key = re.sub(r"\s+", "", text.upper())
        if _LICENCE_KEY.fullmatch(key) is None:
            raise ValueError(
                _("Лицензионный ключ должен быть вида XXX-XX-XXXXXXXXXXXX (латиница и цифры).")
            )
        return key
    raise ValueError(_("Выберите, что купил клиент: облачный портал или коробочную версию."))
