"""Models of the referral program (one module a concern)."""

from partnerhub.referrals.models.config import ConfigVersion
from partnerhub.referrals.models.events import (
    EventPartition,
    EventRejection,
    EventSource,
    HistoryItem,
    HistoryKind,
    PartnerState,
    PendingEvent,
    ReferralClient,
    RejectionStage,
    StateCheckpoint,
    StoredEvent,
    WaitingEvent,
    WaitsFor,
)
from partnerhub.referrals.models.links import PromoCode, ReferralClick
from partnerhub.referrals.models.partner import ReferralPartner

__all__ = [
    "ConfigVersion",
    "EventPartition",
    "EventRejection",
    "EventSource",
    "HistoryItem",
    "HistoryKind",
    "PartnerState",
    "PendingEvent",
    "PromoCode",
    "ReferralClick",
    "ReferralClient",
    "ReferralPartner",
    "RejectionStage",
    "StateCheckpoint",
    "StoredEvent",
    "WaitingEvent",
    "WaitsFor",
]
