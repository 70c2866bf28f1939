"""Errors of payouts: stable English codes (their values in ``payouts.error_codes``); messages
are for people, in Russian."""

from __future__ import annotations

from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.payouts.error_codes import PayoutsErrorCode


class ConversionRefused(ValidationFailed):
    """A conversion of bonuses was refused on a business rule (threshold, balance, contract)."""

    code = PayoutsErrorCode.CONVERSION_REFUSED


class PayoutRefused(Conflict):
    """A move of a payout or a register is refused in its current state."""

    code = PayoutsErrorCode.PAYOUT_REFUSED
