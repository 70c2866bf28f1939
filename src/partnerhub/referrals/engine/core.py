"""The referral rule engine: standing as a fold over the events in (``at``, ``id``) order.

Spec: referrals.md (attribution, active client, points, levels, reviews, bonuses, refunds).
``Engine`` keeps the state of every partner, client, payment and promo code and applies events
strictly in time order; before an event at time t it first brings the partner up to t: the
reviews due at or before t (reviews come before events at equal times) and the expiry of grants
whose end is at or before t. ``Engine.result(as_of)`` brings every partner to ``as_of`` and
returns the standings with their history.

Partners are independent once clients are attributed (a client belongs to at most one partner,
fixed at its registration), so the same engine runs over all events (replay) or over one
partner's share of them (the live standing: ``referrals.services.live``); ``candidate_of``
tells which partner an event concerns.

Decisions where the spec is silent (also in the docs):
- A refund takes the payment's points out of ``points_total`` as well as out of the active
  points (``points_total`` counts points granted and not taken back).
- A second ``client.registered`` for a known client is rejected ("client already registered"):
  the first registration decides the attribution for good.
- A link code of a registered partner decides alone (blocked or self-referral: unattributed);
  the promo code counts only when there is no link code or it names no registered partner. So
  every client depends on one partner's events only, which lets the live standing keep one
  engine state per partner.
- Rejected by the engine (in time order): events for unknown partners, clients or payments, a
  second refund of a payment, payments with a number of months the points table does not have.
- An event is judged by the configuration version in force at its time; a grant keeps the
  lifetime of the version that made it; a review uses the version in force at the review.
- Blocking a partner stops new attributions only; clients already attributed keep earning.
- ``points.adjusted`` grants (or, negative, withdraws) points for the usual lifetime;
  ``bonus.adjusted`` adds (or takes) bonuses. Both come from staff in the back office.

Pure module: no Django, no database.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from partnerhub.referrals.engine.config import ConfigSet, ProgramConfig
from partnerhub.referrals.engine.events import EPOCH, ONE_US, Event
from partnerhub.referrals.engine.months import Zone, add_months_to_date, zone
from partnerhub.referrals.engine.results import (
    BonusEntry,
    ClientRecord,
    Grant,
    LevelChange,
    PartnerResult,
    Rejection,
    Result,
    Review,
    Standing,
)

__all__ = ["Engine", "promo_key", "promo_owner"]

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


def promo_key(code: str) -> str:
    """Promo codes are unique and compared case-insensitively."""
    return code.casefold()


def promo_owner(
    creations: Iterable[tuple[int, str, str]], registered: Mapping[str, tuple[int, str]]
) -> str | None:
    """The partner a promo code belongs to, as the engine decides it: its first creation in
    time order ((µs, event id), ``creations``: (µs, id, partner)) by a partner registered before
    it (``registered``: each partner's first registration, (µs, id)); a creation by a partner
    not registered yet is refused and leaves the code free. None: nobody owns it (yet)."""
    valid = [
        (us, event_id, partner)
        for us, event_id, partner in creations
        if partner in registered and registered[partner] < (us, event_id)
    ]
    return min(valid)[2] if valid else None


def _us(moment: dt.datetime) -> int:
    return (moment - EPOCH) // ONE_US


class _Slots:
    """Copying of slotted classes as a plain tuple of their slots (``copy`` looks the slot
    names up for every object otherwise). Stored states are data (``engine.state``), not
    pickle."""

    __slots__: tuple[str, ...] = ()

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in type(self).__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(type(self).__slots__, state, strict=True):
            setattr(self, name, value)


class _Partner(_Slots):
    __slots__ = (
        "accrued",
        "active",
        "active_clients",
        "blocked",
        "bonuses",
        "clients",
        "code",
        "grants",
        "heap",
        "inn",
        "level",
        "levels",
        "next_review",
        "next_review_us",
        "points_total",
        "reg_at",
        "reg_us",
        "review_months",
        "reviews",
        "revocations",
        "seq",
    )

    def __init__(self, code: str, at: dt.datetime, us: int, inn: str | None) -> None:
        self.code = code
        self.reg_at = at
        self.reg_us = us
        self.inn = inn
        self.blocked = False
        self.level = 0
        self.active = 0
        self.points_total = 0
        self.accrued = ZERO
        self.clients = 0
        self.active_clients = 0
        self.grants: list[Grant] = []
        self.heap: list[tuple[int, int, Grant]] = []
        self.seq = 0
        self.bonuses: list[BonusEntry] = []
        self.levels: list[LevelChange] = []
        self.reviews: list[Review] = []
        self.revocations: list[Grant] = []
        self.review_months = 0
        self.next_review = at
        self.next_review_us = us


class _Client(_Slots):
    __slots__ = (
        "active_at",
        "candidate",
        "first_paid",
        "id",
        "last_active_day",
        "lines",
        "paid",
        "partner",
        "payments",
        "reason",
        "reg_at",
        "reg_day",
        "reg_us",
        "reward_until",
    )

    def __init__(self, client_id: str, at: dt.datetime, us: int) -> None:
        self.id = client_id
        self.reg_at = at
        self.reg_us = us
        self.partner: str | None = None
        self.candidate: str | None = None
        self.reason: str | None = None
        self.active_at: dt.datetime | None = None
        self.lines: set[str] = set()
        self.first_paid = False
        self.payments = 0
        self.paid = ZERO
        self.reg_day = at.date()
        self.last_active_day = at.date()
        self.reward_until = us


class _Payment(_Slots):
    __slots__ = ("client", "grant", "refunded", "reward", "us")

    def __init__(self, client: _Client, us: int) -> None:
        self.client = client
        self.us = us
        self.grant: Grant | None = None
        self.reward = ZERO
        self.refunded = False


class _Promo(_Slots):
    __slots__ = ("code", "deactivated_us", "partner", "until_us", "valid_us")

    def __init__(self, code: str, partner: str, valid_us: int, until_us: int) -> None:
        self.code = code
        self.partner = partner
        self.valid_us = valid_us
        self.until_us = until_us
        self.deactivated_us: int | None = None


class Engine:
    """The state of a program (or of one partner's share of it), fed events in time order.

    ``apply`` takes events already sorted by (``us``, ``id``) and later than anything applied
    before; ``result`` brings everybody to ``as_of`` and reports. ``next_review_us`` tells the
    live layer when a partner's next review falls, so that it can keep a checkpoint of the
    state before it.
    """

    #: Copy on write (``snapshot``): whether this engine may change every client and payment
    #: object it holds in place (an engine nobody copied), else the ids of those it made or
    #: copied since (the others are shared with a copy of it and are copied before a change).
    _owns_all = True
    _own_clients: set[str]
    _own_payments: set[str]

    def __init__(self, configs: ConfigSet | None = None) -> None:
        self.configs = configs or ConfigSet()
        self.partners: dict[str, _Partner] = {}
        self.clients: dict[str, _Client] = {}
        self.payments: dict[str, _Payment] = {}
        self.promos: dict[str, _Promo] = {}
        self.rejected: list[Rejection] = []
        self.last_key: tuple[int, str] = (-(2**62), "")
        self.horizon_us = -(2**62)

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _STATE}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    def snapshot(self) -> Engine:
        """A copy of the state, without the history lists (grants, bonuses, level changes,
        reviews, revocations made so far): what ``engine_from_data(engine_to_data(self,
        history=False))`` gives, many times faster, for the live layer's checkpoints kept in
        memory. The partners and promo codes (a partition has one partner, a few codes) are
        copied; the clients and payments (thousands for a large partner) are shared, copy on
        write: from now on neither engine changes a shared one in place, each copies it first
        (``_client_own``, ``_payment_own``), so a copy costs in proportion to what changes
        after it, not to the state. Values never changed in place are shared too: times,
        amounts, strings, frozen records, and grants (a refund puts a new grant in place of
        the one it takes back, ``_revoked``)."""
        new = Engine.__new__(Engine)
        new.configs = self.configs
        new.last_key = self.last_key
        new.horizon_us = self.horizon_us
        new.rejected = list(self.rejected)
        new_partner = _Partner.__new__
        partners: dict[str, _Partner] = {}
        for code, p in self.partners.items():
            q = new_partner(_Partner)
            q.code, q.reg_at, q.reg_us, q.inn = p.code, p.reg_at, p.reg_us, p.inn
            q.blocked, q.level, q.active, q.points_total = (
                p.blocked,
                p.level,
                p.active,
                p.points_total,
            )
            q.accrued, q.clients, q.active_clients = p.accrued, p.clients, p.active_clients
            q.heap = list(p.heap)  # grants are never changed (a refund replaces them)
            q.seq, q.review_months = p.seq, p.review_months
            q.next_review, q.next_review_us = p.next_review, p.next_review_us
            q.grants, q.bonuses, q.levels, q.reviews, q.revocations = [], [], [], [], []
            partners[code] = q
        new.partners = partners
        new.clients = dict(self.clients)
        new.payments = dict(self.payments)
        for engine in (self, new):  # everything is shared now
            engine._owns_all = False
            engine._own_clients = set()
            engine._own_payments = set()
        new_promo = _Promo.__new__
        promos: dict[str, _Promo] = {}
        for key, pr in self.promos.items():
            other = new_promo(_Promo)
            other.code, other.partner, other.valid_us = pr.code, pr.partner, pr.valid_us
            other.until_us, other.deactivated_us = pr.until_us, pr.deactivated_us
            promos[key] = other
        new.promos = promos
        return new

    def _client_own(self, client: _Client) -> _Client:
        """``client`` as this engine may change it: itself, or a copy put in its place when
        it is shared with a copy of the engine (``snapshot``). A payment keeps pointing to the
        client object it was made with: it reads only what never changes (id, partner)."""
        if self._owns_all or client.id in self._own_clients:
            return client
        copy = _Client.__new__(_Client)
        copy.id, copy.reg_at, copy.reg_us, copy.partner = (
            client.id,
            client.reg_at,
            client.reg_us,
            client.partner,
        )
        copy.candidate, copy.reason, copy.active_at = (
            client.candidate,
            client.reason,
            client.active_at,
        )
        copy.lines = set(client.lines)
        copy.first_paid, copy.payments, copy.paid = client.first_paid, client.payments, client.paid
        copy.reg_day, copy.last_active_day, copy.reward_until = (
            client.reg_day,
            client.last_active_day,
            client.reward_until,
        )
        self.clients[client.id] = copy
        self._own_clients.add(client.id)
        return copy

    def _payment_own(self, payment_id: str, payment: _Payment) -> _Payment:
        """``payment`` as this engine may change it (see ``_client_own``)."""
        if self._owns_all or payment_id in self._own_payments:
            return payment
        copy = _Payment.__new__(_Payment)
        copy.client, copy.us, copy.grant = payment.client, payment.us, payment.grant
        copy.reward, copy.refunded = payment.reward, payment.refunded
        self.payments[payment_id] = copy
        self._own_payments.add(payment_id)
        return copy

    # --- feeding -------------------------------------------------------------------------

    def apply(self, events: Iterable[Event]) -> None:
        """Apply events in time order (each later than the last one applied)."""
        handlers = self._handlers()
        rejected = self.rejected
        last_us, last_id = self.last_key
        horizon = self.horizon_us
        for event in events:
            us = event.us
            if us < horizon or us < last_us or (us == last_us and event.id <= last_id):
                raise ValueError(f"event {event.id} comes before what was applied already")
            last_us, last_id = us, event.id
            reason = handlers[event.type](event)
            if reason is not None:
                rejected.append(Rejection(event.index, event.id, reason))
        self.last_key = (last_us, last_id)

    def late_noop(self, event: Event) -> bool:
        """Whether an event older than the last one applied would change nothing at its place
        in time: an activity report of a client registered and activated before it (the
        activity handler ignores such a report). The live intake then need not recompute
        from a checkpoint for it; a replay in time order passes over it the same way."""
        if event.type != "client.activity":
            return False
        client = self.clients.get(event.data["client"])
        return (
            client is not None
            and client.active_at is not None
            and client.reg_us < event.us
            and _us(client.active_at) < event.us
        )

    def _handlers(self) -> dict[str, Callable[[Event], str | None]]:
        return {
            "partner.registered": self._partner_registered,
            "client.registered": self._client_registered,
            "client.activity": self._client_activity,
            "payment": self._payment,
            "payment.refunded": self._payment_refunded,
            "promo_code.created": self._promo_created,
            "promo_code.deactivated": self._promo_deactivated,
            "partner.blocked": self._partner_blocked,
            "partner.unblocked": self._partner_blocked,
            "points.adjusted": self._points_adjusted,
            "bonus.adjusted": self._bonus_adjusted,
        }

    def _tz(self, config: ProgramConfig) -> Zone:
        return zone(config.timezone)

    def _config(self, us: int) -> ProgramConfig:
        versions = self.configs.versions
        if len(versions) == 1:
            return versions[0]
        return self.configs.at_ts(us / 1_000_000)

    # --- time passing: reviews and expiries -----------------------------------------------

    def _schedule_review(self, partner: _Partner, config: ProgramConfig) -> None:
        partner.review_months += config.review_period_months
        tz = self._tz(config)
        partner.next_review_us, wall = tz.add_months(partner.reg_us, partner.review_months)
        partner.next_review = tz.aware(wall)

    def _expire(self, partner: _Partner, us: int) -> None:
        heap = partner.heap
        while heap and heap[0][0] <= us:
            _, _, grant = heapq.heappop(heap)
            if grant.revoked_at is None:
                partner.active -= grant.points

    def advance(self, partner: _Partner, us: int) -> None:
        """Bring ``partner`` to time ``us``: due reviews (in order), then expiries."""
        heap = partner.heap
        if partner.next_review_us > us and (not heap or heap[0][0] > us):
            return  # nothing due (most events): no review, no expiry
        while partner.next_review_us <= us:
            review_us = partner.next_review_us
            self._expire(partner, review_us)
            config = self._config(review_us)
            before = partner.level
            after = min(before, config.level_for(partner.active))
            partner.reviews.append(
                Review(partner.next_review, partner.active, before, after, config.version)
            )
            if after != before:
                partner.level = after
                partner.levels.append(
                    LevelChange(
                        partner.next_review,
                        before,
                        after,
                        "review",
                        None,
                        config.version,
                        partner.active,
                    )
                )
            self._schedule_review(partner, config)
        self._expire(partner, us)

    def _promote(self, partner: _Partner, event: Event, config: ProgramConfig) -> None:
        reached = config.level_for(partner.active)
        if reached > partner.level:
            partner.levels.append(
                LevelChange(
                    event.at,
                    partner.level,
                    reached,
                    "promotion",
                    event.id,
                    config.version,
                    partner.active,
                )
            )
            partner.level = reached

    def _grant(
        self,
        partner: _Partner,
        event: Event,
        config: ProgramConfig,
        points: int,
        cause: str,
        client: str | None,
        payment: str | None = None,
    ) -> Grant:
        tz = self._tz(config)
        expires_us, wall = tz.add_months(event.us, config.points_lifetime_months)
        grant = Grant(
            event.id, event.at, points, tz.aware(wall), cause, client, config.version, payment
        )
        partner.grants.append(grant)
        partner.seq += 1
        heapq.heappush(partner.heap, (expires_us, partner.seq, grant))
        partner.active += points
        partner.points_total += points
        return grant

    def _bonus(
        self,
        partner: _Partner,
        event: Event,
        config: ProgramConfig,
        *,
        ref: str,
        amount: Decimal,
        kind: str,
        client: str | None,
        payment: str | None = None,
        rate: Decimal | None = None,
        base: Decimal | None = None,
    ) -> None:
        partner.bonuses.append(
            BonusEntry(
                ref, event.id, event.at, amount, kind, client, config.version, payment, rate, base
            )
        )
        partner.accrued += amount

    def _known_partner(self, code: str, us: int) -> _Partner | None:
        partner = self.partners.get(code)
        if partner is not None:
            self.advance(partner, us)
        return partner

    # --- the events -------------------------------------------------------------------------

    def _partner_registered(self, event: Event) -> str | None:
        code = event.data["partner"]
        if code in self.partners:
            return "partner already registered"
        partner = _Partner(code, event.at, event.us, event.data.get("inn"))
        self._schedule_review(partner, self._config(event.us))
        self.partners[code] = partner
        return None

    def _partner_blocked(self, event: Event) -> str | None:
        partner = self._known_partner(event.data["partner"], event.us)
        if partner is None:
            return "unknown partner"
        partner.blocked = event.type == "partner.blocked"
        return None

    def _promo_created(self, event: Event) -> str | None:
        data = event.data
        if self._known_partner(data["partner"], event.us) is None:
            return "unknown partner"
        key = promo_key(data["code"])
        if key in self.promos:
            return "promo code already exists"
        self.promos[key] = _Promo(data["code"], data["partner"], event.value[0], event.value[1])
        return None

    def _promo_deactivated(self, event: Event) -> str | None:
        promo = self.promos.get(promo_key(event.data["code"]))
        if promo is None:
            return "unknown promo code"
        if promo.deactivated_us is None:
            promo.deactivated_us = event.us
        return None

    def _attribute(self, event: Event) -> tuple[str | None, str | None, str | None]:
        """(partner, reason, candidate) for a new client."""
        data = event.data
        inn = data.get("inn")
        link = data.get("referral_code")
        first_reason: str | None = None
        candidate: str | None = None
        if link:
            partner = self.partners.get(link)
            if partner is not None:  # a known link code decides alone
                refusal = self._refusal(partner, inn)
                return (partner.code if refusal is None else None), refusal, partner.code
            first_reason = "unknown referral code"
        promo_code = data.get("promo_code")
        if promo_code:
            promo = self.promos.get(promo_key(promo_code))
            if promo is None:
                reason = "unknown promo code"
            else:
                candidate = candidate or promo.partner
                if promo.deactivated_us is not None and promo.deactivated_us <= event.us:
                    reason = "promo code deactivated"
                elif not promo.valid_us <= event.us < promo.until_us:
                    reason = "promo code not valid at registration"
                else:
                    partner = self.partners[promo.partner]
                    refusal = self._refusal(partner, inn)
                    if refusal is None:
                        return partner.code, None, candidate
                    reason = refusal
            return None, first_reason or reason, candidate
        return None, first_reason or "no code", candidate

    @staticmethod
    def _refusal(partner: _Partner, inn: str | None) -> str | None:
        if partner.blocked:
            return "partner blocked"
        if inn and partner.inn and inn == partner.inn:
            return "self-referral"
        return None

    def _client_registered(self, event: Event) -> str | None:
        client_id = event.data["client"]
        if client_id in self.clients:
            return "client already registered"
        client = _Client(client_id, event.at, event.us)
        client.partner, client.reason, client.candidate = self._attribute(event)
        config = self._config(event.us)
        tz = self._tz(config)
        client.reg_day = tz.wall(event.us).date()
        client.last_active_day = add_months_to_date(client.reg_day, config.activation_window_months)
        client.reward_until = tz.add_months(event.us, config.reward_window_months)[0]
        self.clients[client_id] = client
        if not self._owns_all:
            self._own_clients.add(client_id)
        if client.partner is not None:
            partner = self.partners[client.partner]
            self.advance(partner, event.us)
            partner.clients += 1
        return None

    def _client_activity(self, event: Event) -> str | None:
        client = self.clients.get(event.data["client"])
        if client is None:
            return "activity for unknown client"
        if client.partner is None or client.active_at is not None:
            return None
        config = self._config(event.us)
        if event.data["users"] <= config.activation_users_over:
            return None
        day = self._tz(config).wall(event.us).date()
        if not client.reg_day < day <= client.last_active_day:
            return None
        partner = self.partners[client.partner]
        self.advance(partner, event.us)
        client = self._client_own(client)
        client.active_at = event.at
        partner.active_clients += 1
        if config.activation_points:
            self._grant(partner, event, config, config.activation_points, "activation", client.id)
        if config.activation_bonus:
            self._bonus(
                partner,
                event,
                config,
                ref=f"activation:{client.id}",
                amount=config.activation_bonus,
                kind="activation",
                client=client.id,
            )
        self._promote(partner, event, config)
        return None

    def _payment(self, event: Event) -> str | None:
        data = event.data
        client = self.clients.get(data["client"])
        if client is None:
            return "payment for unknown client"
        if event.id in self.payments:
            return "payment already recorded"
        config = self._config(event.us)
        product = data["product"]
        line = config.product_lines.get(product)
        months = data.get("months")
        if line is not None:
            row = config.points.get(product, {})
            if months is None:
                return "missing field: months"
            if months not in row:
                allowed = ", ".join(str(m) for m in sorted(row))
                return f"months must be one of {allowed} for {product}"
        client = self._client_own(client)
        payment = _Payment(client, event.us)
        self.payments[event.id] = payment
        if not self._owns_all:
            self._own_payments.add(event.id)
        client.payments += 1
        client.paid += event.value
        if line is None or client.partner is None:
            if line is not None:
                self._mark_paid(client, line, config)
            return None
        partner = self.partners[client.partner]
        self.advance(partner, event.us)
        level_before = partner.level
        first_in_line = line not in client.lines
        first_reward = self._mark_paid(client, line, config)
        if line in config.reward_lines and level_before > 0 and event.us < client.reward_until:
            level = config.level(level_before)
            rate = level.first_rate if first_reward else level.later_rate
            amount = (event.value * rate / HUNDRED).quantize(CENT, ROUND_HALF_UP)
            if amount:
                payment.reward = amount
                self._bonus(
                    partner,
                    event,
                    config,
                    ref=f"reward:{event.id}",
                    amount=amount,
                    kind="reward",
                    client=client.id,
                    payment=event.id,
                    rate=rate,
                    base=event.value,
                )
        if first_in_line and months is not None:
            points = config.points[product][months]
            if points:
                payment.grant = self._grant(
                    partner, event, config, points, "payment", client.id, event.id
                )
                self._promote(partner, event, config)
        return None

    @staticmethod
    def _mark_paid(client: _Client, line: str, config: ProgramConfig) -> bool:
        """Record a payment in ``line``; True when it is the client's first rewardable one."""
        client.lines.add(line)
        if line in config.reward_lines and not client.first_paid:
            client.first_paid = True
            return True
        return False

    def _payment_refunded(self, event: Event) -> str | None:
        payment_id = event.data["payment"]
        payment = self.payments.get(payment_id)
        if payment is None:
            return "refund of unknown payment"
        if payment.refunded:
            return "payment already refunded"
        payment = self._payment_own(payment_id, payment)
        payment.refunded = True
        client = payment.client
        if client.partner is None:
            return None
        partner = self.partners[client.partner]
        self.advance(partner, event.us)
        config = self._config(event.us)
        grant = payment.grant
        if grant is not None:
            revoked = _revoked(partner, payment, grant, event)
            partner.revocations.append(revoked)
            if (grant.expires_at - EPOCH) // ONE_US > event.us:
                partner.active -= grant.points
            partner.points_total -= grant.points
        if payment.reward:
            self._bonus(
                partner,
                event,
                config,
                ref=f"refund:{payment_id}",
                amount=-payment.reward,
                kind="refund",
                client=client.id,
                payment=payment_id,
            )
        return None

    def _points_adjusted(self, event: Event) -> str | None:
        partner = self._known_partner(event.data["partner"], event.us)
        if partner is None:
            return "unknown partner"
        config = self._config(event.us)
        self._grant(partner, event, config, event.data["points"], "adjustment", None)
        self._promote(partner, event, config)
        return None

    def _bonus_adjusted(self, event: Event) -> str | None:
        partner = self._known_partner(event.data["partner"], event.us)
        if partner is None:
            return "unknown partner"
        self._bonus(
            partner,
            event,
            self._config(event.us),
            ref=f"adjustment:{event.id}",
            amount=event.value,
            kind="adjustment",
            client=None,
        )
        return None

    def next_review_us(self) -> int | None:
        """The earliest pending review of any partner (µs), None without partners."""
        return min((p.next_review_us for p in self.partners.values()), default=None)

    def next_due_us(self) -> int | None:
        """The earliest pending review or grant expiry of any partner (µs)."""
        times = [p.next_review_us for p in self.partners.values()]
        times += [p.heap[0][0] for p in self.partners.values() if p.heap]
        return min(times, default=None)

    # --- reporting --------------------------------------------------------------------------

    def advance_all(self, us: int) -> None:
        """Bring every partner registered by ``us`` to ``us``; later events must come after."""
        for partner in self.partners.values():
            if partner.reg_us <= us:
                self.advance(partner, us)
        self.horizon_us = max(self.horizon_us, us)

    def result(self, as_of: dt.datetime, *, history: bool = True, clients: bool = True) -> Result:
        """Standings of every partner as of ``as_of`` (with their history and the clients
        unless told not to)."""
        us = _us(as_of)
        self.advance_all(us)
        partners: dict[str, PartnerResult] = {}
        for code, partner in self.partners.items():
            if partner.reg_us > us:
                continue
            standing = self.standing_of(partner)
            if history:
                partners[code] = PartnerResult(
                    standing,
                    list(partner.grants),
                    list(partner.bonuses),
                    list(partner.levels),
                    list(partner.reviews),
                )
            else:
                partners[code] = PartnerResult(standing)
        records = {
            c.id: ClientRecord(
                c.id, c.partner, c.reason, c.reg_at, c.candidate, c.active_at, c.payments, c.paid
            )
            for c in (self.clients.values() if clients else ())
        }
        return Result(as_of, partners, records, list(self.rejected))

    @staticmethod
    def standing_of(partner: _Partner) -> Standing:
        """The partner's standing at the time it was last brought to."""
        return Standing(
            partner=partner.code,
            level=partner.level,
            active_points=partner.active,
            points_total=partner.points_total,
            bonus_accrued=partner.accrued,
            bonus_balance=partner.accrued,
            clients=partner.clients,
            active_clients=partner.active_clients,
            next_review=partner.next_review.astimezone(partner.reg_at.tzinfo),
            registered_at=partner.reg_at,
        )


def _revoked(partner: _Partner, payment: _Payment, grant: Grant, event: Event) -> Grant:
    """The grant taken back by a refund: a new object put where the old one was (the payment,
    the expiry heap, the partner's list of grants), never the old one changed, so that the
    copies of the engine (``Engine.snapshot``) can share grants."""
    revoked = Grant(
        grant.event_id,
        grant.at,
        grant.points,
        grant.expires_at,
        grant.cause,
        grant.client,
        grant.config_version,
        grant.payment,
        event.at,
        event.id,
    )
    payment.grant = revoked
    heap = partner.heap
    for number, (expires_us, seq, held) in enumerate(heap):
        if held is grant:  # same keys: the heap's order holds
            heap[number] = (expires_us, seq, revoked)
            break
    grants = partner.grants
    for number in range(len(grants) - 1, -1, -1):
        if grants[number] is grant:
            grants[number] = revoked
            break
    return revoked


_STATE = (
    "configs",
    "partners",
    "clients",
    "payments",
    "promos",
    "rejected",
    "last_key",
    "horizon_us",
)
