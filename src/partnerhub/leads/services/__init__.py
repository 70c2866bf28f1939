"""Writes of the lead marketplace (issue 7; spec leads.md). ``from partnerhub.leads import
services`` then ``services.lead_take(...)``: every public function is re-exported here.

- ``leads``: lead creation from every source, withdrawal, expiry;
- ``access``: the partner's marketplace conditions and the staff's check of its page;
- ``imports``: CSV/XLSX files of leads, row by row;
- ``settings``: the marketplace's rules (caps, lifetimes, the personal-data agreement);
- ``deal_data``: the deal's company data, main contact, services and events;
- ``deals``: taking a lead (both caps under concurrency), working and closing the deal, reveals.
"""

from __future__ import annotations

from partnerhub.leads.services.access import (
    marketplace_app_install,
    marketplace_crm_declare,
    marketplace_digest_set,
    marketplace_page_review,
    marketplace_page_submit,
)
from partnerhub.leads.services.deal_data import DEAL_EDITABLE_FIELDS, deal_event_add, deal_update
from partnerhub.leads.services.deals import (
    CONTACT_FIELDS,
    deal_close_lost,
    deal_close_won,
    deal_contacts_reveal,
    deal_stage_change,
    lead_take,
)
from partnerhub.leads.services.imports import ImportRefused, ImportReport, leads_import
from partnerhub.leads.services.leads import (
    lead_create,
    lead_withdraw,
    leads_expire,
    site_lead_submit,
)
from partnerhub.leads.services.settings import lead_settings_update

__all__ = [
    "CONTACT_FIELDS",
    "DEAL_EDITABLE_FIELDS",
    "ImportRefused",
    "ImportReport",
    "deal_close_lost",
    "deal_close_won",
    "deal_contacts_reveal",
    "deal_event_add",
    "deal_stage_change",
    "deal_update",
    "lead_create",
    "lead_settings_update",
    "lead_take",
    "lead_withdraw",
    "leads_expire",
    "leads_import",
    "marketplace_app_install",
    "marketplace_crm_declare",
    "marketplace_digest_set",
    "marketplace_page_review",
    "marketplace_page_submit",
    "site_lead_submit",
]
