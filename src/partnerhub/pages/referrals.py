"""Referral page helpers: how the partner's pages and the staff's pages name bonus and grant
kinds."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

#: What a bonus entry is for.
BONUS_KINDS = {
    "activation": _("За активного клиента"),
    "reward": _("Вознаграждение с оплаты"),
    "refund": _("Возврат оплаты"),
    "adjustment": _("Ручная корректировка"),
    "conversion": _("Вывод бонусов"),
    "conversion_returned": _("Возврат бонусов: выплата отклонена"),
}

#: Why points were granted.
GRANT_CAUSES = {
    "activation": _("Активный клиент"),
    "payment": _("Оплата"),
    "adjustment": _("Ручная корректировка"),
}
