"""Forms of partner pages: the public application and the card (shape only; the checksum and
completeness rules live in ``partners.card`` and are applied by the services)."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerhub.core import clock
from partnerhub.core.input import validate_year_range
from partnerhub.partners import card
from partnerhub.partners.models import (
    CounterpartyDocumentKind,
    DocumentAppliesTo,
    LegalForm,
    Organisation,
    StatusKind,
)
from partnerhub.partners.selectors import counterparty_document_kinds_for, status_kinds


class JoinForm(forms.Form):
    """The public application to become a partner."""

    legal_form = forms.ChoiceField(
        label=_("Организационная форма"),
        choices=LegalForm.choices,
        initial=LegalForm.UL,
        widget=forms.RadioSelect,
    )
    name = forms.CharField(label=_("Наименование организации"), max_length=200)
    inn = forms.CharField(label=_("ИНН"), max_length=12)
    contact_name = forms.CharField(label=_("Контактное лицо (ФИО)"), max_length=200)
    email = forms.EmailField(label=_("Эл. почта"), max_length=254)
    phone = forms.CharField(label=_("Телефон"), max_length=32)
    password = forms.CharField(
        label=_("Пароль"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class CardForm(forms.ModelForm):
    """Every field of the partner card. Saving goes through ``partners.services.card_update``."""

    website = forms.URLField(label=_("Сайт"), required=False, assume_scheme="https", max_length=200)

    class Meta:
        model = Organisation
        fields = list(card.CARD_FIELDS)
        widgets = {
            "legal_form": forms.RadioSelect,
            "legal_address": forms.TextInput,
            "postal_address": forms.TextInput,
        }

    def _post_clean(self) -> None:
        """Skip model validation: the card rules are checked by the service in one place."""


class DateInput(forms.DateInput):
    """The browser's date picker (sends ISO dates, which every locale parses)."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class StatusGrantForm(forms.Form):
    """Grant a status to a partner for a period (the overlap rule lives in the service)."""

    status = forms.ModelChoiceField(label=_("Статус"), queryset=StatusKind.objects.none())
    valid_from = forms.DateField(
        label=_("Действует с"), widget=DateInput, validators=[validate_year_range]
    )
    valid_until = forms.DateField(
        label=_("Действует по"),
        required=False,
        widget=DateInput,
        validators=[validate_year_range],
        help_text=_("Пусто — бессрочно, до прекращения."),
    )
    note = forms.CharField(label=_("Комментарий"), max_length=500, required=False)

    def __init__(self, *args, vendor: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        status = cast(forms.ModelChoiceField, self.fields["status"])
        status.queryset = status_kinds(vendor=vendor, active_only=True)


class StatusEndForm(forms.Form):
    """End a status early: its last day."""

    on = forms.DateField(
        label=_("Последний день действия"), widget=DateInput, validators=[validate_year_range]
    )
    reason = forms.CharField(label=_("Причина"), max_length=500, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = clock.today()


class StatusKindForm(forms.Form):
    """A new kind of status."""

    code = forms.SlugField(label=_("Код"), max_length=50)
    name = forms.CharField(label=_("Название"), max_length=200)
    description = forms.CharField(
        label=_("Описание"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CounterpartyDocumentUploadForm(forms.Form):
    """One file for one kind of counterparty document. The form checks only the shape; what the
    file is (PDF/JPEG/PNG by content, size) is decided by ``partners.uploads`` in the service,
    so an empty file gets our message too."""

    kind = forms.ModelChoiceField(label=_("Документ"), queryset=CounterpartyDocumentKind.objects)
    file = forms.FileField(
        label=_("Файл (PDF, JPEG или PNG)"),
        required=False,
        allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )

    def __init__(self, *args, organisation: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        kinds = counterparty_document_kinds_for(organisation=organisation)
        field = cast(forms.ModelChoiceField, self.fields["kind"])
        field.queryset = kinds
        if len({kind.vendor_id for kind in kinds}) > 1:
            field.label_from_instance = _kind_with_vendor  # type: ignore[assignment]


def _kind_with_vendor(kind: CounterpartyDocumentKind) -> str:
    """A kind named with the vendor that asks it (a partner of several vendors)."""
    return f"{kind.name} — {kind.vendor.short_name}"


class CounterpartyDocumentReviewForm(forms.Form):
    """Accept an upload or ask for it again (the reason is checked by the state machine)."""

    decision = forms.ChoiceField(
        label=_("Решение"),
        choices=[("accept", _("Принять")), ("ask_again", _("Запросить повторно"))],
    )
    reason = forms.CharField(label=_("Причина"), max_length=1000, required=False)


class CounterpartyDocumentKindForm(forms.Form):
    """A new kind of counterparty document."""

    code = forms.SlugField(label=_("Код"), max_length=50)
    name = forms.CharField(label=_("Название"), max_length=200)
    description = forms.CharField(
        label=_("Пояснение для партнёра"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    applies_to = forms.ChoiceField(
        label=_("Для кого"), choices=DocumentAppliesTo.choices, initial=DocumentAppliesTo.BOTH
    )
    required = forms.BooleanField(label=_("Обязательный"), required=False, initial=True)
    position = forms.IntegerField(label=_("Порядок"), min_value=0, max_value=32767, initial=100)
