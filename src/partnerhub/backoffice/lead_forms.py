"""Forms of the back office's lead marketplace pages (issue 7, part 2): the shape of the input;
the business rules (phone, email, region, caps) are the services'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerhub.core.input import validate_year_range
from partnerhub.leads import selectors as lead_selectors
from partnerhub.leads.models import (
    CompanySize,
    LeadProgramSettings,
    LeadSource,
    LeadState,
    Need,
    Region,
)
from partnerhub.leads.services.settings import EDITABLE_FIELDS
from partnerhub.partners.models import Program


class DateInput(forms.DateInput):
    """A date picker (the browser's own)."""

    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class LeadFilterForm(forms.Form):
    """Filters of the leads list (all optional; a bad value is ignored by the view)."""

    state = forms.ChoiceField(
        label=_("Состояние"), required=False, choices=[("", _("Любое")), *LeadState.choices]
    )
    source = forms.ChoiceField(
        label=_("Источник"), required=False, choices=[("", _("Любой")), *LeadSource.choices]
    )
    region = forms.ModelChoiceField(
        label=_("Регион"),
        required=False,
        queryset=Region.objects.order_by("name"),
        to_field_name="code",
        empty_label=_("Любой"),
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
    search = forms.CharField(label=_("Компания или внешний номер"), required=False, max_length=100)


class LeadForm(forms.Form):
    """A lead entered by staff (from a call or a letter)."""

    company_name = forms.CharField(label=_("Компания"), max_length=300)
    region = forms.ModelChoiceField(
        label=_("Регион"),
        queryset=lead_selectors.active_regions(),
        to_field_name="code",
        empty_label=_("— выберите регион —"),
    )
    company_size = forms.ChoiceField(
        label=_("Размер компании"), choices=[("", "—"), *CompanySize.choices]
    )
    need = forms.ChoiceField(label=_("Что нужно"), choices=[("", "—"), *Need.choices])
    description = forms.CharField(
        label=_("Описание задачи"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    contact_name = forms.CharField(label=_("Контактное лицо"), max_length=200)
    contact_phone = forms.CharField(
        label=_("Телефон"),
        required=False,
        max_length=40,
        help_text=_("Телефон или эл. почта — хотя бы одно."),
    )
    contact_email = forms.CharField(label=_("Эл. почта"), required=False, max_length=254)
    external_id = forms.CharField(
        label=_("Внешний номер"),
        required=False,
        max_length=100,
        help_text=_("Номер обращения во внешней системе, если есть: повтор не создаст дубль."),
    )


class LeadImportForm(forms.Form):
    """The file to import (CSV or XLSX; the service checks the content and the limits)."""

    file = forms.FileField(
        label=_("Файл CSV или XLSX"),
        help_text=_(
            "Первая строка — заголовки: Компания, Регион, Размер, Потребность, Описание, "
            "Контактное лицо, Телефон, Email, Внешний номер."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )


class WithdrawForm(forms.Form):
    """Why a lead is taken off the marketplace."""

    reason = forms.CharField(
        label=_("Причина снятия"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class AccessReviewForm(forms.Form):
    """The staff's check of a partner's page about implementation packages."""

    decision = forms.ChoiceField(
        label=_("Решение"),
        choices=[("accept", _("Принять")), ("reject", _("Отклонить"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Причина отклонения"),
        required=False,
        max_length=500,
        help_text=_("Обязательна при отклонении: партнёр увидит её в кабинете."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("decision") == "reject" and not cleaned.get("reason", "").strip():
            self.add_error("reason", _("Укажите причину отклонения."))
        return cleaned


class LeadSettingsForm(forms.ModelForm):
    """The marketplace's rules (the model's labels and help texts)."""

    class Meta:
        model = LeadProgramSettings
        fields = EDITABLE_FIELDS
        widgets = {"agreement_text": forms.Textarea(attrs={"rows": 8})}


def program_choices(programs: list[Program]) -> list[tuple[str, str]]:
    """(code, name) of the vendor's lead marketplaces, for the program switcher."""
    return [(program.code, program.name) for program in programs]
