"""Forms of identity pages: login, invitation acceptance, inviting an employee (shape only;
the rules live in ``accounts.services``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.template import loader
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.roles import PARTNER_ROLES, Role
from partnerhub.core.mail import queue_mail


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


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's password reset form, but the mail leaves through the background worker."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        text = loader.render_to_string(email_template_name, context)
        html = (
            loader.render_to_string(html_email_template_name, context)
            if html_email_template_name
            else None
        )
        queue_mail(subject=subject, text=text, html=html, to=[to_email], from_email=from_email)
