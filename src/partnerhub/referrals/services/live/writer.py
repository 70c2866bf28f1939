"""Writing states back after a batch: standing columns, state blobs, client rows, rejections,
checkpoints, history, ledger postings for bonus entries and outbox notices, gathered and
written in a few statements (``Writer``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from partnerhub.core import ledger, outbox
from partnerhub.core.clock import now
from partnerhub.core.models.ledger import Side
from partnerhub.partners.models import Program
from partnerhub.referrals.engine import ONE_US, Engine
from partnerhub.referrals.engine.results import STANDING_FIGURES, BonusEntry, LevelChange
from partnerhub.referrals.models.events import (
    EventRejection,
    HistoryItem,
    PartnerState,
    ReferralClient,
    RejectionStage,
    StateCheckpoint,
)
from partnerhub.referrals.services import history
from partnerhub.referrals.services.bulk import delete_rows, insert_rows, json_text, update_rows
from partnerhub.referrals.services.live.store import (
    BLOB_EVERY,
    BONUS_PURPOSE,
    EXPENSE_PURPOSE,
    EXPIRY_NOTICE,
    LiveState,
    cache_put,
    state_dump,
    to_us,
)


@dataclass
class _Notice:
    ref: str
    event_type: str
    payload: dict[str, Any]
    organisation_id: int


STATE_COLUMNS = (
    "last_us",
    "last_id",
    "horizon_us",
    "due_us",
    "notify_us",
    "expiry_notified_us",
    "generation",
    "registered",
    *STANDING_FIGURES,
    "updated_at",
)


CLIENT_COLUMNS = ("partner", "reason", "active_at", "payments", "paid")


class Writer:
    """Everything a batch writes besides the events, gathered and written in a few statements
    at the end: state rows, client rows, rejections, checkpoints, ledger postings, notices."""

    def __init__(self, program: Program, organisations: dict[str, int]) -> None:
        self.program = program
        self.organisations = organisations
        self.postings: list[ledger.Posting] = []
        self.notices: list[_Notice] = []
        self.checkpoints: list[StateCheckpoint] = []
        self.new_rows: list[PartnerState] = []
        self.updates: list[tuple[Any, ...]] = []
        self.updates_with_state: list[tuple[Any, ...]] = []
        self.clients: list[tuple[Any, ...]] = []
        self.rejections: list[EventRejection] = []
        self.cleared_rejections: list[str] = []
        self.cached: list[tuple[tuple[int, str], LiveState]] = []
        self.history_clears: list[tuple[str, int, bool]] = []
        self.checkpoint_clears: list[tuple[int, str, int]] = []  # checkpoints after a time
        self.history_rows: list[tuple[str, str, int, str, dict[str, Any]]] = []
        self._accounts: dict[int | None, Any] = {}

    # ledger -------------------------------------------------------------------------------

    def _account(self, organisation_id: int | None) -> Any:
        if organisation_id not in self._accounts:
            if organisation_id is None:
                self._accounts[None] = ledger.account_get_or_create(
                    organisation_id=None, purpose=EXPENSE_PURPOSE, normal_side=Side.DEBIT
                )
            else:
                self._accounts[organisation_id] = ledger.account_get_or_create(
                    organisation_id=organisation_id, purpose=BONUS_PURPOSE, normal_side=Side.CREDIT
                )
        return self._accounts[organisation_id]

    def _post(self, code: str, ref: str, amount: Decimal, entry: BonusEntry | None) -> str:
        organisation_id = self.organisations[code]
        expense, bonus = self._account(None), self._account(organisation_id)
        value = abs(amount)
        if amount > 0:
            lines = [ledger.Line(expense, debit=value), ledger.Line(bonus, credit=value)]
        else:
            lines = [ledger.Line(bonus, debit=value), ledger.Line(expense, credit=value)]
        ledger_ref = f"referrals:{self.program.pk}:{code}:{ref}"
        moment = now()
        self.postings.append(
            ledger.Posting(
                kind=f"referral_{entry.kind}" if entry is not None else "referral_correction",
                lines=lines,
                idempotency_ref=ledger_ref,
                cause=("referrals.partner", f"{self.program.pk}:{code}"),
                snapshot=_snapshot(entry) if entry is not None else {"correction": ref},
                occurred_at=min(entry.at, moment) if entry is not None else moment,
                memo=entry.kind if entry is not None else "",
            )
        )
        return ledger_ref

    def _ledger_sync(
        self, code: str, live: LiveState, bonuses: list[BonusEntry], since: int | None
    ) -> bool:
        """Post what the ledger lacks for the bonus entries just made (after a recomputation
        from ``since``, also take back what it no longer makes); True on a correction."""
        if code not in self.organisations:
            return False
        corrected = False
        wanted = {entry.ref: entry for entry in bonuses}
        organisation_id = self.organisations[code]
        if since is not None:
            for ref, (amount, at_us) in list(live.posted.items()):
                if at_us >= since and ref not in wanted and amount:
                    live.corrections += 1
                    self._post(code, f"{ref}:fix{live.corrections}", -amount, None)
                    live.posted[ref] = (Decimal("0.00"), at_us)
                    corrected = True
        for ref, entry in wanted.items():
            previous = live.posted.get(ref)
            at_us = to_us(entry.at)
            if previous is None:
                ledger_ref = self._post(code, ref, entry.amount, entry)
                live.posted[ref] = (entry.amount, at_us)
                if entry.kind in ("activation", "reward"):
                    kind = "bonus.activation" if entry.kind == "activation" else "reward.accrued"
                    self.notices.append(
                        _Notice(
                            ledger_ref,
                            f"referrals.{kind}",
                            _bonus_payload(self.program, code, entry),
                            organisation_id,
                        )
                    )
            elif previous[0] != entry.amount:
                live.corrections += 1
                self._post(code, f"{ref}:fix{live.corrections}", entry.amount - previous[0], None)
                live.posted[ref] = (entry.amount, at_us)
                corrected = True
        return corrected

    def _level_notices(self, code: str, live: LiveState, changes: list[LevelChange]) -> bool:
        """Outbox events for level changes not told yet; True when there were any."""
        organisation_id = self.organisations.get(code)
        told = False
        for change in changes:
            key = (to_us(change.at), change.old, change.new)
            if key in live.notified_levels:
                continue
            live.notified_levels.add(key)
            told = True
            if organisation_id is not None:
                outbox.emit(
                    "referrals.level.up" if change.new > change.old else "referrals.level.down",
                    {
                        "program_id": self.program.pk,
                        "code": code,
                        "old": change.old,
                        "new": change.new,
                        "at": change.at.isoformat(),
                    },
                    organisation_id=organisation_id,
                    vendor_id=self.program.vendor_id,
                )
        return told

    # states ---------------------------------------------------------------------------------

    def add(
        self,
        code: str,
        row: PartnerState | None,
        live: LiveState,
        checkpoints: list[StateCheckpoint],
        touched: set[Any] | None,
        *,
        persist: bool,
        restart: tuple[int, bool] | None = None,
    ) -> None:
        engine = live.engine
        drained = history.Drained()
        partner_state = engine.partners.get(code)
        if partner_state is not None:
            history.drain(partner_state, drained)
        if restart is not None:
            self.history_clears.append((code, restart[0], restart[1]))
        self.history_rows.extend(drained.rows)
        full_restart = restart[0] if restart is not None and not restart[1] else None
        corrected = self._ledger_sync(code, live, drained.bonuses, full_restart)
        levels = self._level_notices(code, live, drained.levels)
        persist = persist or corrected or levels or row is None or live.unsaved >= BLOB_EVERY
        self.checkpoints.extend(checkpoints)
        partner = engine.partners.get(code)
        standing = Engine.standing_of(partner) if partner is not None else None
        ops = connection.ops
        values: dict[str, Any] = {
            "last_us": engine.last_key[0],
            "last_id": engine.last_key[1],
            "horizon_us": engine.horizon_us,
            "due_us": engine.next_due_us(),
            "notify_us": _notify_due(live, row),
            "expiry_notified_us": row.expiry_notified_us if row is not None else 0,
            "generation": live.generation,
            "registered": standing is not None,
            "level": standing.level if standing else 0,
            "active_points": standing.active_points if standing else 0,
            "points_total": standing.points_total if standing else 0,
            "bonus_accrued": standing.bonus_accrued if standing else Decimal("0.00"),
            "clients": standing.clients if standing else 0,
            "active_clients": standing.active_clients if standing else 0,
            "next_review": standing.next_review if standing else None,
            "updated_at": now(),
        }
        if persist:
            live.unsaved = 0
        if live.memory is not None:  # the checkpoints the memory encoded (all it owes, on save)
            encoded = live.memory.take_owed() if persist else live.memory.take_ready()
            self.checkpoints.extend(
                StateCheckpoint(program=self.program, partner=code, at_us=at_us, state=blob)
                for at_us, blob in encoded
            )
        self._rejections(code, live, full=restart is not None and not restart[1])
        if row is None:
            self.new_rows.append(
                PartnerState(program=self.program, partner=code, state=state_dump(live), **values)
            )
        else:
            params = [
                ops.adapt_datetimefield_value(values[c])
                if c in ("next_review", "updated_at")
                else values[c]
                for c in STATE_COLUMNS
            ]
            if persist:
                self.updates_with_state.append((*params, state_dump(live), row.pk))
            else:
                self.updates.append((*params, row.pk))
        self._clients(live, touched)
        self.cached.append(((self.program.pk, code), live))

    def _clients(self, live: LiveState, touched: set[Any] | None) -> None:
        """Client rows of the touched clients that changed since this process wrote them."""
        clients = live.engine.clients
        ids = clients if touched is None else [c for c in touched if c and c in clients]
        written = live.written_clients
        if written is None or touched is None:
            written = live.written_clients = {}
        for client_id in ids:
            state = clients[client_id]
            values = (
                state.partner or "",
                state.reason or "",
                state.active_at,
                state.payments,
                state.paid,
            )
            if written.get(client_id) == values:
                continue
            written[client_id] = values
            self.clients.append((*values, self.program.pk, client_id))

    def _rejections(self, code: str, live: LiveState, *, full: bool) -> None:
        rejected = live.engine.rejected
        if full:
            self.cleared_rejections.append(code)
            live.rejections_saved = 0
        new = rejected[live.rejections_saved :]
        live.rejections_saved = len(rejected)
        self.rejections.extend(
            EventRejection(
                program=self.program,
                stage=RejectionStage.ENGINE,
                partner=code,
                event_id=r.event_id or "",
                reason=r.reason[:300],
                source="",
            )
            for r in new
        )

    def flush(self) -> None:
        pk = self.program.pk
        for reviews_only in (False, True):
            history.clear_many(
                self.program,
                [
                    (code, since)
                    for code, since, only in self.history_clears
                    if only is reviews_only
                ],
                reviews_only=reviews_only,
            )
        delete_rows(
            StateCheckpoint,
            self.checkpoint_clears,
            equal=["program_id", "partner"],
            bound="at_us",
            inclusive=False,
        )
        insert_rows(
            HistoryItem,
            ["program_id", "partner", "kind", "at_us", "event_id", "data"],
            [
                (pk, code, kind, at_us, event_id, json_text(data))
                for code, kind, at_us, event_id, data in self.history_rows
            ],
        )
        update_rows(PartnerState, ["id"], STATE_COLUMNS, self.updates)
        update_rows(PartnerState, ["id"], [*STATE_COLUMNS, "state"], self.updates_with_state)
        adapt = connection.ops.adapt_datetimefield_value
        update_rows(
            ReferralClient,
            ["program_id", "client"],
            CLIENT_COLUMNS,
            [(p, r, adapt(a), n, paid, *key) for p, r, a, n, paid, *key in self.clients],
        )
        PartnerState.objects.bulk_create(self.new_rows)
        insert_rows(
            StateCheckpoint,
            ["program_id", "partner", "at_us", "state"],
            [(c.program_id, c.partner, c.at_us, bytes(c.state)) for c in self.checkpoints],
            conflict=["program_id", "partner", "at_us"],
        )
        if self.cleared_rejections:
            EventRejection.objects.filter(
                program=self.program,
                stage=RejectionStage.ENGINE,
                partner__in=self.cleared_rejections,
            ).delete()
        EventRejection.objects.bulk_create(self.rejections, batch_size=500)
        written = ledger.post_many(self.postings)
        for notice in self.notices:
            if notice.ref in written:
                outbox.emit(
                    notice.event_type,
                    notice.payload,
                    organisation_id=notice.organisation_id,
                    vendor_id=self.program.vendor_id,
                )
        cached = list(self.cached)

        def remember() -> None:
            for key, live in cached:
                cache_put(key, live)

        transaction.on_commit(remember)


def _bonus_payload(program: Program, code: str, entry: BonusEntry) -> dict[str, Any]:
    return {
        "program_id": program.pk,
        "code": code,
        "client": entry.client,
        "amount": str(entry.amount),
        "rate": str(entry.rate) if entry.rate is not None else None,
    }


def _snapshot(entry: BonusEntry) -> dict[str, Any]:
    return {
        "rule": entry.kind,
        "event": entry.event_id,
        "config_version": entry.config_version,
        "client": entry.client,
        "payment": entry.payment,
        "rate": str(entry.rate) if entry.rate is not None else None,
        "base": str(entry.base) if entry.base is not None else None,
        "amount": str(entry.amount),
    }


def _notify_due(live: LiveState, row: PartnerState | None) -> int | None:
    """When the next "points expire soon" notice is due (µs)."""
    notified = row.expiry_notified_us if row is not None else 0
    earliest = None
    for partner in live.engine.partners.values():
        for expires_us, _seq, grant in partner.heap:
            if grant.revoked_at is None and grant.points > 0 and expires_us > notified:
                earliest = expires_us if earliest is None else min(earliest, expires_us)
    if earliest is None:
        return None
    return earliest - EXPIRY_NOTICE // ONE_US
