"""Writes of deals: taking a lead, moving and closing the deal, revealing its contacts (issue 7,
parts 4 and 5; spec leads.md, "Taking a lead" and "Working the deal"; seed, points 2-5). The
deal's data and events are ``deal_data``.

Concurrency (house rule 8). A take is one transaction of two conditional UPDATEs and an INSERT:

1. ``UPDATE marketplace_access SET open_deals = open_deals + 1 WHERE id = ? AND open_deals < cap``
   (the partner's cap on open deals, default 3);
2. ``UPDATE lead SET take_count = take_count + 1 WHERE id = ? AND state = 'open' AND
   expires_at > now [AND take_count < partners_per_lead_cap]`` (the optional cap per lead);
3. ``INSERT`` the deal (unique (lead, organisation): the same partner never takes twice).

If any step finds nothing to update, the transaction rolls back with the reason. On PostgreSQL
the row locks are taken in one order everywhere (the access row, then the lead row, then the
deal), so parallel takes and closes never deadlock; on SQLite writers run one at a time
(``transaction_mode="IMMEDIATE"``). The eligibility check before is a read, the caps are not.

Closing (won or lost) moves the deal with a conditional UPDATE on its open stage and lowers
``open_deals`` in the same transaction, so ``open_deals`` always equals the partner's open deals.

Stage moves use the one table ``DEAL_MACHINE`` but not ``core.transitions.transition``: the
event ``leads.deal.<stage>`` carries ``{"deal_id", "stage", "source"}``, where ``source`` "crm"
marks a change that came from the partner's CRM (so that it is not pushed back there), which
``transition``'s payload has no room for. The audit row and the conditional update are the same.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from partnerhub.core import audit, outbox
from partnerhub.core.clock import now as clock_now
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.leads import rules, selectors
from partnerhub.leads.errors import (
    DealClosed,
    LeadAlreadyTaken,
    LeadCapReached,
    LeadNotOpen,
    NotEligible,
    OpenDealCapReached,
)
from partnerhub.leads.models import (
    CLOSED_STAGES,
    DEAL_MACHINE,
    OPEN_STAGES,
    ContactReveal,
    Deal,
    DealStage,
    Lead,
    LeadState,
    LostReason,
    MarketplaceAccess,
    RevealChannel,
    WonKind,
)
from partnerhub.leads.services.leads import user_of
from partnerhub.partners.models import Organisation

__all__ = [
    "CONTACT_FIELDS",
    "deal_close_lost",
    "deal_close_won",
    "deal_contacts_reveal",
    "deal_stage_change",
    "lead_take",
]

#: The lead's personal data a reveal shows.
CONTACT_FIELDS = ("contact_name", "contact_phone", "contact_email")
_SOURCES = ("portal", "crm", "api", "staff")


def _actor_label(by: Any) -> str:
    who = audit.actor_of(by) if by is not None else audit.current_actor()
    return (who.label or str(who.kind))[:200]


def _lock_access(organisation_id: int, program_id: int) -> None:
    """Lock the partner's access row first (PostgreSQL): every take and close takes the access
    row before the lead and the deal, so they never wait on each other in a cycle."""
    if connection.vendor == "postgresql":
        list(
            MarketplaceAccess.objects.select_for_update()
            .filter(organisation_id=organisation_id, program_id=program_id)
            .values_list("pk", flat=True)
        )


# --- take ---------------------------------------------------------------------------------------


def lead_take(
    *,
    lead: Lead,
    organisation: Organisation,
    by: Any = None,
    now: dt.datetime | None = None,
    ip: str | None = None,
    reveal_channel: str = RevealChannel.TAKE,
) -> Deal:
    """Take ``lead`` for ``organisation``: a new deal in the pipeline "Implementation requests"
    with the client's contacts revealed to this partner (a ``ContactReveal``, channel "take",
    or ``reveal_channel``: the API answers the take with the contacts, channel "api").

    Refused with ``LeadAlreadyTaken``, ``LeadNotOpen`` (expired or withdrawn), ``NotEligible``
    (the unmet conditions), ``OpenDealCapReached`` or ``LeadCapReached``; nothing is written
    then. Emits ``leads.deal.taken`` with ``{"deal_id", "lead_id"}``.

    Issue 17: one statement of reads (``selectors.take_facts``), then the transaction without
    savepoints of its own: the two conditional UPDATEs, the deal, the reveal, the audit row and
    the outbox event. A refusal found inside the transaction leaves it without an exception (the
    counter raised by then is put back in the same transaction) and is raised once it has
    ended, so that a caller's transaction stays usable; the one error that cannot be handled so,
    a parallel take of the same lead by the same partner between the read and the insert (the
    unique deal), rolls the caller's transaction back and is answered "already taken".
    """
    moment = now or clock_now()
    known = selectors.take_facts(organisation=organisation, lead=lead)
    if known.already_taken:
        raise LeadAlreadyTaken(_("Вы уже взяли эту заявку в работу."))
    if lead.state != LeadState.OPEN or lead.expires_at <= moment:
        raise LeadNotOpen(_("Заявка больше не доступна: срок истёк или её сняли."))
    eligibility = rules.evaluate_eligibility(known.facts)
    if not eligibility.eligible:
        raise NotEligible(selectors.not_eligible_refusal(eligibility))
    try:
        with transaction.atomic(savepoint=False):
            outcome = _take_in_transaction(
                lead=lead,
                organisation=organisation,
                known=known,
                by=by,
                moment=moment,
                ip=ip,
                reveal_channel=reveal_channel,
            )
    except IntegrityError:
        raise LeadAlreadyTaken(_("Вы уже взяли эту заявку в работу.")) from None
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _take_in_transaction(
    *,
    lead: Lead,
    organisation: Organisation,
    known: selectors.TakeFacts,
    by: Any,
    moment: dt.datetime,
    ip: str | None,
    reveal_channel: str,
) -> Deal | OpenDealCapReached | LeadNotOpen | LeadCapReached:
    """The take's writes, or the refusal to raise once the transaction has ended."""
    access_id = known.access_id
    cap = known.open_deal_cap
    grabbed = MarketplaceAccess.objects.filter(pk=access_id, open_deals__lt=cap).update(
        open_deals=F("open_deals") + 1
    )
    if grabbed != 1:
        held = MarketplaceAccess.objects.values_list("open_deals", flat=True).get(pk=access_id)
        return OpenDealCapReached(selectors.cap_refusal(open_deals=held, cap=cap))
    takeable = Lead.objects.filter(pk=lead.pk, state=LeadState.OPEN, expires_at__gt=moment)
    per_lead_cap = known.partners_per_lead_cap
    if per_lead_cap is not None:
        takeable = takeable.filter(take_count__lt=per_lead_cap)
    counted = takeable.update(
        take_count=F("take_count") + 1,
        first_taken_at=Coalesce(F("first_taken_at"), Value(moment, output_field=DateTimeField())),
    )
    if counted != 1:
        # Put the partner's counter back (its row is ours until the end of the transaction).
        MarketplaceAccess.objects.filter(pk=access_id).update(open_deals=F("open_deals") - 1)
        fresh = Lead.objects.only("state", "expires_at").get(pk=lead.pk)
        if fresh.state != LeadState.OPEN or fresh.expires_at <= moment:
            return LeadNotOpen(_("Заявка больше не доступна: срок истёк или её сняли."))
        return LeadCapReached(_("Заявку уже взяли в работу столько партнёров, сколько разрешено."))
    deal = Deal.objects.create(
        lead_id=lead.pk,
        organisation=organisation,
        program=lead.program,
        stage=DealStage.NEW,
        is_open=True,
        taken_by=user_of(by),
        taken_at=moment,
        company_name=lead.company_name,
    )
    deal.lead = lead
    _reveal(deal=deal, by=by, channel=reveal_channel, ip=ip, at=moment)
    audit.record(
        action="leads.deal.taken",
        obj=deal,
        after={"lead_id": lead.pk, "stage": DealStage.NEW},
        actor=by,
    )
    outbox.emit(
        "leads.deal.taken",
        {"deal_id": deal.pk, "lead_id": lead.pk},
        organisation_id=organisation.pk,
        vendor_id=audit.vendor_of(lead),
    )
    return deal


# --- reveal -------------------------------------------------------------------------------------


def _reveal(
    *, deal: Deal, by: Any, channel: str, ip: str | None, at: dt.datetime | None = None
) -> dict[str, str]:
    lead = deal.lead
    contacts = {name: getattr(lead, name) for name in CONTACT_FIELDS}
    ContactReveal.objects.create(
        lead=lead,
        deal=deal,
        organisation_id=deal.organisation_id,
        user=user_of(by),
        actor_label=_actor_label(by),
        fields=[name for name, value in contacts.items() if value],
        channel=channel,
        at=at or clock_now(),
        ip=ip or None,
    )
    return contacts


def deal_contacts_reveal(
    *, deal: Deal, by: Any, channel: str, ip: str | None = None
) -> dict[str, str]:
    """The client's contacts of the deal's lead (``contact_name``, ``contact_phone``,
    ``contact_email``); every call writes a ``ContactReveal`` (who, which fields, when, where)."""
    if channel not in RevealChannel.values:
        raise ValueError(f"unknown reveal channel {channel!r}")
    return _reveal(deal=deal, by=by, channel=channel, ip=ip)


# --- stage moves --------------------------------------------------------------------------------


def _source_checked(source: str) -> str:
    if source not in _SOURCES:
        raise ValueError(f"unknown source {source!r}")
    return source


def _move(
    *,
    deal: Deal,
    to: str,
    by: Any,
    source: str,
    extra: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> Deal:
    """Move ``deal`` to stage ``to`` with a conditional update on the stage it holds now."""
    current, is_open = Deal.objects.values_list("stage", "is_open").get(pk=deal.pk)
    if not is_open:
        raise DealClosed(_("Сделка закрыта: её стадия больше не меняется."))
    if not DEAL_MACHINE.allows(current, to):
        raise Conflict(_("Сделка уже на этой стадии."), code=CoreErrorCode.TRANSITION_NOT_ALLOWED)
    closing = to in CLOSED_STAGES
    with transaction.atomic():
        if closing:
            _lock_access(deal.organisation_id, deal.program_id)
        updated = Deal.objects.filter(pk=deal.pk, stage=current, is_open=True).update(
            stage=to, **(extra or {})
        )
        if updated != 1:
            if not Deal.objects.filter(pk=deal.pk, is_open=True).exists():
                raise DealClosed(_("Сделка закрыта: её стадия больше не меняется."))
            raise Conflict(
                _("Стадия уже изменена другим запросом."), code=CoreErrorCode.STALE_STATE
            )
        if closing:
            MarketplaceAccess.objects.filter(
                organisation_id=deal.organisation_id,
                program_id=deal.program_id,
                open_deals__gt=0,
            ).update(open_deals=F("open_deals") - 1)
        audit.record(
            action=f"leads.deal.{to}",
            obj=deal,
            before={"stage": current},
            after={"stage": to, "source": source, **(details or {})},
            actor=by,
        )
        outbox.emit(
            f"leads.deal.{to}",
            {"deal_id": deal.pk, "stage": to, "source": source},
            organisation_id=deal.organisation_id,
            vendor_id=audit.vendor_of(deal),
        )
    deal.refresh_from_db()
    return deal


def deal_stage_change(*, deal: Deal, stage: str, by: Any = None, source: str = "portal") -> Deal:
    """Move an open deal to another open stage (won and lost have their own functions, which
    ask for what closing needs). The stage it already holds is a no-op."""
    _source_checked(source)
    if stage not in OPEN_STAGES:
        raise ValidationFailed(
            _("Выберите стадию из списка."),
            fields={"stage": [_("Для закрытия сделки укажите результат: выиграна или проиграна.")]},
        )
    fresh_stage, is_open = Deal.objects.values_list("stage", "is_open").get(pk=deal.pk)
    if is_open and fresh_stage == stage:
        deal.refresh_from_db()
        return deal
    return _move(deal=deal, to=stage, by=by, source=source)


def deal_close_won(
    *, deal: Deal, won_kind: str, won_reference: str, by: Any = None, source: str = "portal"
) -> Deal:
    """Close the deal as won: the client's portal address (cloud) or licence key (on-premise)
    is required and checked for format (seed, point 4: without it the deal is not won)."""
    _source_checked(source)
    if won_kind not in WonKind.values:
        raise ValidationFailed(
            _("Укажите, что купил клиент."),
            fields={"won_kind": [_("Выберите: облачный портал или коробочная версия.")]},
        )
    try:
        reference = rules.validate_won_reference(won_kind, won_reference)
    except ValueError as exc:
        raise ValidationFailed(str(exc), fields={"won_reference": [str(exc)]}) from None
    return _move(
        deal=deal,
        to=DealStage.WON,
        by=by,
        source=source,
        extra={
            "is_open": False,
            "closed_at": clock_now(),
            "won_kind": won_kind,
            "won_reference": reference,
        },
        details={"won_kind": won_kind, "won_reference": reference},
    )


def deal_close_lost(
    *, deal: Deal, reason: str, comment: str = "", by: Any = None, source: str = "portal"
) -> Deal:
    """Close the deal as lost with a reason from the list (``LostReason``); "other" needs a
    comment. A free text instead of a code is kept as "other" with that text."""
    _source_checked(source)
    reason = (reason or "").strip()
    comment = (comment or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Укажите причину проигрыша."), fields={"reason": [_("Обязательное поле.")]}
        )
    if reason not in LostReason.values:
        reason, comment = LostReason.OTHER, (f"{reason}. {comment}" if comment else reason)
    if reason == LostReason.OTHER and not comment:
        raise ValidationFailed(
            _("Опишите причину проигрыша."), fields={"comment": [_("Обязательное поле.")]}
        )
    if len(comment) > 500:
        raise ValidationFailed(
            _("Комментарий слишком длинный."), fields={"comment": [_("Не длиннее 500 символов.")]}
        )
    return _move(
        deal=deal,
        to=DealStage.LOST,
        by=by,
        source=source,
        extra={
            "is_open": False,
            "closed_at": clock_now(),
            "lost_reason": reason,
            "lost_comment": comment,
        },
        details={"reason": reason, "comment": comment},
    )
