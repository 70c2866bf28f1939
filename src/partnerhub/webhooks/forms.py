"""Forms of the webhook pages: the shape of the input; the rules (which URLs, which patterns)
live in ``services`` and come back as field errors."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerhub.core.errors import ValidationFailed
from partnerhub.webhooks import services


class EndpointForm(forms.Form):
    """A new endpoint: its URL and the event types it wants."""

    url = forms.URLField(
        label=_("Адрес"),
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://crm.example.ru/hooks/partnerhub"}),
        error_messages={
            "required": _("Укажите адрес, на который отправлять события."),
            "invalid": _("Адрес указан неверно, например https://crm.example.ru/hooks."),
        },
    )
    event_types = forms.CharField(
        label=_("Типы событий"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "partners.enrolment.*"}),
        help_text=_(
            "По одному в строке или через запятую; звёздочка — любое окончание. "
            "Пусто — все события организации."
        ),
    )

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            return services.clean_url(url)
        except ValidationFailed as exc:
            raise forms.ValidationError(str(exc.message)) from exc

    def clean_event_types(self) -> list[str]:
        raw: str = self.cleaned_data.get("event_types") or ""
        try:
            return services.clean_event_types(re.split(r"[\s,;]+", raw))
        except ValidationFailed as exc:
            raise forms.ValidationError(str(exc.message)) from exc
