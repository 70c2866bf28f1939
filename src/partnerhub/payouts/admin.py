"""Admin of payouts, read only: payouts, registers and their lines are written by the services
(conversion, document states, registers), which keep the ledger and the audit in step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from partnerhub.core.admin.readonly import ReadOnlyAdminMixin
from partnerhub.payouts.models import PaymentRegister, Payout, RegisterItem

if TYPE_CHECKING:
    _PayoutAdmin = admin.ModelAdmin[Payout]
    _RegisterAdmin = admin.ModelAdmin[PaymentRegister]
    _ItemInline = admin.TabularInline[RegisterItem, PaymentRegister]
else:  # the admin classes are not subscriptable at run time
    _PayoutAdmin = _RegisterAdmin = admin.ModelAdmin
    _ItemInline = admin.TabularInline


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdminMixin, _PayoutAdmin):
    list_display = ("pk", "organisation", "amount", "state", "due_on", "created_at")
    list_filter = ("state",)
    search_fields = ("organisation__short_name", "organisation__inn")
    raw_id_fields = ("organisation", "vendor", "program", "created_by", "conversion")


class RegisterItemInline(ReadOnlyAdminMixin, _ItemInline):
    model = RegisterItem
    raw_id_fields = ("payout",)
    extra = 0


@admin.register(PaymentRegister)
class PaymentRegisterAdmin(ReadOnlyAdminMixin, _RegisterAdmin):
    list_display = ("number", "vendor", "state", "created_at", "paid_at")
    list_filter = ("state",)
    inlines = (RegisterItemInline,)
