"""Error codes of the lead marketplace (issue 7; spec leads.md): stable English values of
``ApplicationError.code``; the exceptions that carry them are in ``leads.errors``."""

from __future__ import annotations

from enum import StrEnum


class LeadsErrorCode(StrEnum):
    """Why the marketplace refused a request."""

    #: The partner does not meet the marketplace conditions (contract, page, tariff, app).
    NOT_ELIGIBLE = "not_eligible"
    #: The partner already holds as many open deals as the program allows.
    OPEN_DEAL_CAP = "open_deal_cap"
    #: As many partners as the program allows have already taken this lead.
    LEAD_CAP = "lead_cap"
    #: This partner has already taken this lead (it has a deal on it).
    ALREADY_TAKEN = "already_taken"
    #: The lead has expired or was withdrawn: nobody may take it.
    LEAD_NOT_OPEN = "lead_not_open"
    #: The deal is won or lost: it no longer changes.
    DEAL_CLOSED = "deal_closed"
    #: The site form's address sent as many leads this hour as the setting allows.
    TOO_MANY_REQUESTS = "too_many_requests"
    #: The import file as a whole cannot be imported; nothing was stored.
    IMPORT_REFUSED = "import_refused"
    #: The staff checked a partner's page that no longer waits for a check.
    PAGE_NOT_PENDING = "page_not_pending"
