"""The live standing: the engine's state per partner, kept up to date as events arrive.

Issue "Referral program" parts 3-5, 9, 10. Each partner code has one ``PartnerState``: the
state of an ``engine.Engine`` fed with that partner's events only (its partition, see
``services.intake``) and the standing columns pages list by. New events later than everything
applied continue the saved state (incremental); a late event restores the checkpoint taken just
before the last review at or before it (``StateCheckpoint``) and replays the partner's stored
events from there, so only that partner is recomputed, from the point the event affects.

Bonuses reach the ledger (``core.ledger``) here: every bonus entry of the engine (activation,
reward, refund, adjustment) becomes a transaction between the vendor's ``bonus_expense`` and
the partner's ``bonus_rub`` account, with the rule snapshot; when a recomputation changes or
drops an entry, a correction transaction posts the difference (the ledger is append-only). The
state keeps a mirror of what was posted, so no query is needed to diff. Partners without an
organisation (known only from event files) have no ledger account: their balance is what the
engine accrued.

Notifications (outbox): ``referrals.level.up`` / ``referrals.level.down``,
``referrals.bonus.activation``, ``referrals.reward.accrued`` for new history entries of
portal partners, and ``referrals.points.expiring`` from the periodic catch-up
(``partitions_catch_up``) 14 days before points expire.

The package, by job: ``store`` (the state rows, blobs, checkpoints and the in-process cache),
``memory`` (engine copies kept in memory), ``feed`` (feeding a partner's engine, the current
state), ``writer`` (writing states, client rows, ledger postings and notices back),
``apply`` (applying new and late events), ``partitions`` (clients moving between partners,
events waiting for what they name), ``pending`` (events left for the worker), ``catch_up``
(time passing with no events), ``read`` (the standing at any time) and ``verify`` (live against
replay, recomputation). Staff adjustments enter as events (``services.adjustments``).

States are stored as versioned data (``engine.state``: JSON, issue 14 part 7), never as code:
a state this release cannot read (an older format, damaged or forged bytes) is treated as absent
and rebuilt from the latest readable checkpoint and the stored events.
"""

from partnerhub.referrals.services.live.apply import partition_recompute, partitions_apply
from partnerhub.referrals.services.live.catch_up import partitions_catch_up
from partnerhub.referrals.services.live.partitions import (
    Released,
    client_first_registration,
    clients_move,
    partner_registrations,
    repartition_moves,
    waiting_release,
    waiting_sweep,
)
from partnerhub.referrals.services.live.pending import (
    pending_add,
    pending_apply,
    pending_count,
    pending_room,
)
from partnerhub.referrals.services.live.read import standing_at
from partnerhub.referrals.services.live.store import BONUS_PURPOSE, cache_clear, program_lock, to_us
from partnerhub.referrals.services.live.verify import Mismatch, recompute, verify

__all__ = [
    "BONUS_PURPOSE",
    "Mismatch",
    "Released",
    "cache_clear",
    "client_first_registration",
    "clients_move",
    "partition_recompute",
    "partitions_apply",
    "partitions_catch_up",
    "partner_registrations",
    "pending_add",
    "pending_apply",
    "pending_count",
    "pending_room",
    "program_lock",
    "recompute",
    "repartition_moves",
    "standing_at",
    "to_us",
    "verify",
    "waiting_release",
    "waiting_sweep",
]
