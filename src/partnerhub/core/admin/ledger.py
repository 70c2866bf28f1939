"""Read-only admin of the ledger (issue "Ledger"): accounts, transactions with their entries.

Nothing can be added, changed or deleted here: postings go through ``core.ledger.post()`` and
corrections are reversals, so the admin only shows what the services wrote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from partnerhub.core.admin.readonly import ReadOnlyAdminMixin
from partnerhub.core.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction

if TYPE_CHECKING:  # the admin classes are generic for the type checker only
    _AccountAdmin = admin.ModelAdmin[LedgerAccount]
    _TransactionAdmin = admin.ModelAdmin[LedgerTransaction]
    _EntryAdmin = admin.ModelAdmin[LedgerEntry]
    _EntryInline = admin.TabularInline[LedgerEntry, LedgerTransaction]
else:
    _AccountAdmin = _TransactionAdmin = _EntryAdmin = admin.ModelAdmin
    _EntryInline = admin.TabularInline


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdminMixin, _AccountAdmin):
    list_display = [
        "id",
        "organisation_id",
        "purpose",
        "currency",
        "name",
        "normal_side",
        "balance",
        "min_balance",
        "max_balance",
    ]
    list_filter = ["purpose", "currency", "normal_side"]
    search_fields = ["=organisation_id", "purpose", "name"]


class LedgerEntryInline(ReadOnlyAdminMixin, _EntryInline):
    model = LedgerEntry
    fields = ["account", "side", "amount"]
    readonly_fields = ["account", "side", "amount"]
    extra = 0


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdminMixin, _TransactionAdmin):
    list_display = [
        "id",
        "kind",
        "idempotency_ref",
        "cause_type",
        "cause_id",
        "occurred_at",
        "posted_at",
        "reverses",
    ]
    list_filter = ["kind", "cause_type"]
    search_fields = ["=idempotency_ref", "=cause_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["reverses"]
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, _EntryAdmin):
    list_display = ["id", "transaction", "account", "side", "amount"]
    list_filter = ["side"]
    search_fields = ["=transaction__idempotency_ref"]
    list_select_related = ["transaction", "account"]
    raw_id_fields = ["transaction", "account"]
