"""Error codes of the lead marketplace (issue 7; spec leads.md): stable English codes, Russian
messages for people. Bad input raises ``core.errors.ValidationFailed`` naming the field."""

from __future__ import annotations

from partnerhub.core.errors import ApplicationError, Conflict


class NotEligible(ApplicationError):
    """The partner does not meet the marketplace conditions (contract, page, tariff, app)."""

    code = "not_eligible"
    http_status = 403


class OpenDealCapReached(Conflict):
    """The partner already holds as many open deals as the program allows."""

    code = "open_deal_cap"


class LeadCapReached(Conflict):
    """As many partners as the program allows have already taken this lead."""

    code = "lead_cap"


class LeadAlreadyTaken(Conflict):
    """This partner has already taken this lead (it has a deal on it)."""

    code = "already_taken"


class LeadNotOpen(Conflict):
    """The lead has expired or was withdrawn: nobody may take it."""

    code = "lead_not_open"


class DealClosed(Conflict):
    """The deal is won or lost: it no longer changes."""

    code = "deal_closed"


class TooManyLeadRequests(ApplicationError):
    """The site form's address sent as many leads this hour as the setting allows."""

    code = "too_many_requests"
    http_status = 429
