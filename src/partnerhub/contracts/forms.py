"""Forms of the contract pages (shape only; the rules live in ``contracts.services``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerhub.contracts.models import Channel, EdoOperator
from partnerhub.core.input import validate_year_range


class PrepareForm(forms.Form):
    """How the application and the closing documents travel; the EDO operator and id."""

    application_channel = forms.ChoiceField(
        label=_("Как вы отправите заявление"), choices=Channel.choices, widget=forms.RadioSelect
    )
    closing_channel = forms.ChoiceField(
        label=_("Как обмениваться закрывающими документами"),
        choices=Channel.choices,
        widget=forms.RadioSelect,
        help_text=_("Плательщики НДС обмениваются закрывающими документами только через ЭДО."),
    )
    edo_operator = forms.ChoiceField(
        label=_("Оператор ЭДО"),
        choices=[("", "—"), *EdoOperator.choices],
        required=False,
    )
    edo_participant_id = forms.CharField(
        label=_("ID участника ЭДО"),
        max_length=60,
        required=False,
        help_text=_("Например, 2BM-7707083893-770701001 (Диадок), 2AL-… (Такском), 2BE-… (СБИС)."),
    )


class SignForm(forms.Form):
    """Sign the contract on a date."""

    signed_on = forms.DateField(
        label=_("Дата подписания"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_year_range],
    )


class ReasonForm(forms.Form):
    """A reason (rejecting, terminating); required."""

    reason = forms.CharField(
        label=_("Причина"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class TerminateForm(ReasonForm):
    """Terminate with a reason, on a date (today when empty)."""

    terminated_on = forms.DateField(
        label=_("Дата расторжения"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_year_range],
    )
