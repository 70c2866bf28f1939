"""Forms of the payout pages: the shape of the input; the business rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerhub.core.money import MoneyFormField


class ConversionForm(forms.Form):
    """The amount to convert (roubles, up to two decimals) and, at the confirmation step, the
    key that makes a repeated submission return the first payout."""

    amount = MoneyFormField(
        label=_("Сумма конвертации, ₽"),
        help_text=_("От минимальной суммы до всего баланса; 1 бонус = 1 рубль."),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class RejectForm(forms.Form):
    """Why the documents are rejected (the partner reads it)."""

    reason = forms.CharField(
        label=_("Причина отклонения"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class RegisterForm(forms.Form):
    """The accepted payouts to put into a new register."""

    payouts = forms.TypedMultipleChoiceField(
        label=_("Выплаты"), coerce=int, choices=(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: object, choices: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["payouts"].choices = choices  # type: ignore[attr-defined]
