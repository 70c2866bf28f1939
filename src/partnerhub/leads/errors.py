"""Errors of the lead marketplace (issue 7; spec leads.md): stable English codes (their values in
``leads.error_codes``), Russian messages for people. Bad input raises
``core.errors.ValidationFailed`` naming the field."""

from __future__ import annotations

from partnerhub.core.errors import ApplicationError, Conflict
from partnerhub.leads.error_codes import LeadsErrorCode


class NotEligible(ApplicationError):
    """The partner does not meet the marketplace conditions (contract, page, tariff, app)."""

    code = LeadsErrorCode.NOT_ELIGIBLE
    http_status = 403


class OpenDealCapReached(Conflict):
    """The partner already holds as many open deals as the program allows."""

    code = LeadsErrorCode.OPEN_DEAL_CAP


class LeadCapReached(Conflict):
    """As many partners as the program allows have already taken this lead."""

    code = LeadsErrorCode.LEAD_CAP


class LeadAlreadyTaken(Conflict):
    """This partner has already taken this lead (it has a deal on it)."""

    code = LeadsErrorCode.ALREADY_TAKEN


class LeadNotOpen(Conflict):
    """The lead has expired or was withdrawn: nobody may take it."""

    code = LeadsErrorCode.LEAD_NOT_OPEN


class DealClosed(Conflict):
    """The deal is won or lost: it no longer changes."""

    code = LeadsErrorCode.DEAL_CLOSED


class TooManyLeadRequests(ApplicationError):
    """The site form's address sent as many leads this hour as the setting allows."""

    code = LeadsErrorCode.TOO_MANY_REQUESTS
    http_status = 429
