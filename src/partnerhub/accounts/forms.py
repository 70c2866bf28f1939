"""Forms of identity pages: login, invitation acceptance, inviting an employee (shape only;
the rules live in ``accounts.services``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.roles import PARTNER_ROLES, Role


class LoginForm(forms.Form):
    """Email and password."""

    email = forms.EmailField(label=_("Эл. почта"), max_length=254)
    password = forms.CharField(label=_("Пароль"), strip=False, widget=forms.PasswordInput)


class InvitationAcceptForm(forms.Form):
    """The invited employee's name and password."""

    full_name = forms.CharField(label=_("ФИО"), max_length=200)
    password = forms.CharField(
        label=_("Пароль"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class InviteForm(forms.Form):
    """Invite an employee of a partner organisation."""

    email = forms.EmailField(label=_("Эл. почта"), max_length=254)
    role = forms.ChoiceField(
        label=_("Роль"), choices=[(r, Role(r).label) for r in PARTNER_ROLES], initial=Role.MANAGER
    )
