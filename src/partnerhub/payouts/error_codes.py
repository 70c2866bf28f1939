"""Error codes of payouts: stable English values of ``ApplicationError.code``; the exceptions
that carry them are in ``payouts.errors``."""

from __future__ import annotations

from enum import StrEnum


class PayoutsErrorCode(StrEnum):
    """Why a conversion of bonuses or a move of a payout was refused."""

    #: A conversion of bonuses was refused on a business rule without a code of its own.
    CONVERSION_REFUSED = "conversion_refused"
    #: A move of a payout or a register is refused in its current state.
    PAYOUT_REFUSED = "payout_refused"
    #: A conversion asked before the partner's contract is signed.
    CONTRACT_NOT_SIGNED = "contract_not_signed"
    #: A conversion of less than the program's minimum.
    BELOW_MINIMUM = "below_minimum"
    #: A conversion of more than the partner's bonus balance.
    ABOVE_BALANCE = "above_balance"
    #: A VAT payer's payout whose closing documents do not go through EDO.
    VAT_PAYER_EDO_ONLY = "vat_payer_edo_only"
    #: The payout is already paid: it can be neither accepted nor rejected.
    ALREADY_PAID = "already_paid"
    #: The payout is already rejected.
    ALREADY_REJECTED = "already_rejected"
    #: Some of the payouts are already in an open register.
    ALREADY_IN_REGISTER = "already_in_register"
