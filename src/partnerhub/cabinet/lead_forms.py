"""Forms of the partner's lead marketplace pages (issue 7; spec leads.md, "Lead-marketplace
conditions" in partners-and-contracts.md).

They check the shape of the input only; the business rules (eligibility, the caps, the format of
a portal address or licence key, a reason for a lost deal) are the services' and come back into
these forms through ``core.forms.add_service_errors``. Field names are the services' keyword
names, so a ``ValidationFailed.fields`` key lands under its field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerhub.core.input import validate_year_range
from partnerhub.core.money import MoneyFormField
from partnerhub.leads import selectors as lead_selectors
from partnerhub.leads.models import (
    OPEN_STAGES,
    CompanySize,
    CrmTariff,
    DealEventKind,
    DealStage,
    LostReason,
    Need,
    Region,
    WonKind,
)

#: What a ``datetime-local`` input sends (Django reads it in the current time zone, Moscow).
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


#: The label of "no filter" in a choice.
ALL = _("Все")


def _with_blank(choices: list[tuple[str, Any]], label: Any = ALL) -> list[tuple[str, Any]]:
    return [("", label), *choices]


def _active_regions() -> Any:
    return lead_selectors.active_regions()


class DateInput(forms.DateInput):
    """A native date picker that round-trips ISO dates."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeLocalInput(forms.DateTimeInput):
    """A native date-and-time picker."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


# --- the marketplace ------------------------------------------------------------------------


class LeadFilterForm(forms.Form):
    """Filters of the marketplace list (a GET form; every field optional)."""

    region = forms.ModelChoiceField(
        label=_("Регион"), queryset=Region.objects.none(), required=False, empty_label=_("Все")
    )
    company_size = forms.ChoiceField(
        label=_("Размер компании"), choices=_with_blank(CompanySize.choices), required=False
    )
    need = forms.ChoiceField(
        label=_("Что нужно"), choices=_with_blank(Need.choices), required=False
    )
    published_from = forms.DateField(
        label=_("Опубликована с"),
        required=False,
        widget=DateInput,
        validators=[validate_year_range],
    )
    published_to = forms.DateField(
        label=_("по"), required=False, widget=DateInput, validators=[validate_year_range]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = _active_regions()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("published_from"), cleaned.get("published_to")
        if start and end and start > end:
            self.add_error("published_to", _("Конец периода раньше его начала."))
        return cleaned

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``selectors.marketplace_leads`` (empty values left out)."""
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value not in ("", None)}


# --- the conditions -------------------------------------------------------------------------


class PageForm(forms.Form):
    """The page on the partner's own site about its implementation packages."""

    page_url = forms.URLField(
        label=_("Адрес страницы о пакетах внедрения"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Страница на вашем сайте с описанием пакетов внедрения; её проверит вендор."),
    )


class CrmForm(forms.Form):
    """The partner's own CRM: its tariff and portal address (or licence key, on-premise)."""

    tariff = forms.ChoiceField(
        label=_("Тариф CRM"),
        choices=[c for c in CrmTariff.choices if c[0] != CrmTariff.NONE],
        help_text=_("Подходят NFR, «Компания» и коробочная версия."),
    )
    portal = forms.CharField(
        label=_("Адрес портала или лицензионный ключ"),
        max_length=200,
        help_text=_("Например, company.bitrix24.ru; для коробочной версии — лицензионный ключ."),
    )


class AppInstallForm(forms.Form):
    """Installing the marketplace app: accepting the personal-data agreement of this version."""

    #: The version the partner read (the service refuses it when the agreement changed since).
    version = forms.CharField(widget=forms.HiddenInput, max_length=32)
    accept = forms.BooleanField(
        label=_("Я прочитал(а) соглашение о работе с персональными данными и принимаю его"),
        error_messages={"required": _("Чтобы установить приложение, примите соглашение.")},
    )


class DigestForm(forms.Form):
    """The digest of new leads in the partner's regions."""

    opt_in = forms.BooleanField(label=_("Присылать новые заявки моих регионов"), required=False)
    regions = forms.ModelMultipleChoiceField(
        label=_("Мои регионы"),
        queryset=Region.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["regions"].queryset = _active_regions()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("opt_in") and not cleaned.get("regions"):
            self.add_error("regions", _("Выберите хотя бы один регион для рассылки."))
        return cleaned


# --- the deal -------------------------------------------------------------------------------


class DealEditForm(forms.Form):
    """Company data, the main contact, the services offered and the amount of a deal."""

    company_name = forms.CharField(label=_("Компания"), max_length=300)
    company_inn = forms.CharField(label=_("ИНН"), max_length=12, required=False)
    company_website = forms.CharField(label=_("Сайт"), max_length=300, required=False)
    company_employees = forms.IntegerField(label=_("Сотрудников"), min_value=1, required=False)
    contact_name = forms.CharField(label=_("Основное контактное лицо"), max_length=200)
    contact_position = forms.CharField(label=_("Должность"), max_length=200, required=False)
    contact_phone = forms.CharField(label=_("Телефон"), max_length=32, required=False)
    contact_email = forms.EmailField(label=_("Эл. почта"), required=False)
    services = forms.CharField(
        label=_("Состав услуг"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    amount = MoneyFormField(label=_("Сумма сделки, ₽"), required=False)


class DealEventForm(forms.Form):
    """A call, meeting or note with the time it happened."""

    kind = forms.ChoiceField(label=_("Событие"), choices=DealEventKind.choices)
    happened_at = forms.DateTimeField(
        label=_("Когда"),
        widget=DateTimeLocalInput,
        input_formats=[DATETIME_LOCAL],
        validators=[validate_year_range],
    )
    text = forms.CharField(
        label=_("Содержание"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class DealStageForm(forms.Form):
    """Move an open deal to another open stage (won and lost have their own forms)."""

    stage = forms.ChoiceField(
        label=_("Стадия"), choices=[c for c in DealStage.choices if c[0] in OPEN_STAGES]
    )


class DealWinForm(forms.Form):
    """Close as won: what the client bought and its portal address or licence key."""

    won_kind = forms.ChoiceField(
        label=_("Что купил клиент"),
        choices=WonKind.choices,
        initial=WonKind.PORTAL,
        widget=forms.RadioSelect,
    )
    won_reference = forms.CharField(
        label=_("Адрес портала или лицензионный ключ"),
        max_length=200,
        help_text=_("Например, company.bitrix24.ru; без него сделка не считается выигранной."),
        error_messages={
            "required": _("Укажите адрес портала клиента или номер его лицензионного ключа.")
        },
    )


class DealLoseForm(forms.Form):
    """Close as lost: a reason from the list, or "other" with a text."""

    reason = forms.ChoiceField(
        label=_("Причина"),
        choices=_with_blank(LostReason.choices, "—"),
        error_messages={"required": _("Укажите причину проигрыша.")},
    )
    comment = forms.CharField(
        label=_("Комментарий"),
        max_length=500,
        required=False,
        help_text=_("Обязателен, если выбрано «Другое»."),
    )
