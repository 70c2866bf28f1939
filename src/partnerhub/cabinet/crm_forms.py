"""Form of the cabinet's CRM page (issue 7, part 6): the shape of the input only; which
addresses are accepted is decided by ``leads.crm.services`` and comes back as field errors."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CrmConnectForm(forms.Form):
    """The incoming-webhook URL of the partner's portal."""

    webhook_url = forms.CharField(
        label=_("Адрес входящего вебхука"),
        max_length=500,
        widget=forms.URLInput(
            attrs={"placeholder": "https://name.bitrix24.ru/rest/1/abcdef0123456789/", "size": 60}
        ),
        help_text=_(
            "В портале: «Разработчикам» → «Другое» → «Входящий вебхук», права: CRM. "
            "Скопируйте адрес вебхука целиком."
        ),
        error_messages={"required": _("Укажите адрес входящего вебхука вашего портала.")},
    )
