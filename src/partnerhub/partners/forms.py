"""Forms of partner pages: the public application and the card (shape only; the checksum and
completeness rules live in ``partners.card`` and are applied by the services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerhub.partners import card
from partnerhub.partners.models import LegalForm, Organisation


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
