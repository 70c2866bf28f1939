"""Error codes of payouts (stable, English); messages are for people, in Russian."""

from __future__ import annotations

from partnerhub.core.errors import Conflict, ValidationFailed


class ConversionRefused(ValidationFailed):
    """A conversion of bonuses was refused on a business rule (threshold, balance, contract)."""

    code = "conversion_refused"


class PayoutRefused(Conflict):
    """A move of a payout or a register is refused in its current state."""

    code = "payout_refused"
