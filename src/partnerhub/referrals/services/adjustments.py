"""Manual adjustments of a partner's points or bonuses by vendor staff: events like any other
(``points.adjusted`` / ``bonus.adjusted``), with an audit row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from partnerhub.core import audit
from partnerhub.core.clock import now
from partnerhub.core.errors import ValidationFailed
from partnerhub.partners.models import Program
from partnerhub.referrals.models.events import EventSource, PartnerState
from partnerhub.referrals.models.partner import ReferralPartner
from partnerhub.referrals.services.intake import portal_event_record


def adjustment_record(
    *,
    program: Program,
    code: str,
    reason: str,
    actor: Any,
    points: int | None = None,
    amount: Decimal | None = None,
) -> None:
    """A manual adjustment of a partner's points or bonuses by vendor staff (mandatory reason).

    It enters the event stream like any event (``points.adjusted`` / ``bonus.adjusted``, source
    back office), so replay and verification see it; bonuses reach the ledger as a transaction;
    an audit row names who did it.
    """
    errors: dict[str, list[Any]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Укажите причину корректировки.")]
    if (points is None) == (amount is None):
        errors["points"] = [_("Укажите либо баллы, либо бонусы.")]
    elif points == 0 or (amount is not None and amount == 0):
        errors["points" if points is not None else "amount"] = [_("Значение не может быть нулём.")]
    if not PartnerState.objects.filter(program=program, partner=code, registered=True).exists():
        errors["partner"] = [_("Партнёр с таким кодом не найден.")]
    if errors:
        raise ValidationFailed(_("Проверьте выделенные поля."), fields=errors)
    fields: dict[str, Any] = {"partner": code, "reason": reason[:200]}
    if points is not None:
        kind, fields["points"] = "points.adjusted", points
    else:
        assert amount is not None
        kind, fields["amount"] = "bonus.adjusted", f"{amount:.2f}"
    with transaction.atomic():
        event = portal_event_record(
            program=program, type=kind, at=now(), fields=fields, source=EventSource.BACKOFFICE
        )
        partner = ReferralPartner.objects.filter(program=program, code=code).first()
        audit.record(
            action=f"referrals.{kind}",
            obj=partner if partner is not None else program,
            organisation_id=partner.organisation_id if partner is not None else None,
            actor=actor,
            after={"event": event.id, **fields},
        )
