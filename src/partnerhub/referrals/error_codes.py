"""Error codes of the referral program: stable English values of ``ApplicationError.code``."""

from __future__ import annotations

from enum import StrEnum


class ReferralsErrorCode(StrEnum):
    """Why a referral use case was refused."""

    #: The referral partner is blocked: no new promo codes, no conversion of bonuses.
    PARTNER_BLOCKED = "partner_blocked"
