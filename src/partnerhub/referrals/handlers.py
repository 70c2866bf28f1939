"""Outbox handlers of the referral program: enrolments in a referral program register, block and
unblock its partners (spec: referrals.md, "Joining").

``partners.enrolment.active``: the partner is registered (once; the registration time is the
moment the enrolment became active, however late the handler runs) and unblocked if it was
blocked. ``partners.enrolment.suspended`` / ``terminated``: the partner is blocked.

Handlers may run late, twice or out of order, so each one brings the partner in line with the
enrolment's *current* state rather than with the event's: a suspension handled before the
activation still ends blocked. Only enrolments in programs of kind ``referrals`` get a delivery.
Registered when the app is ready (``apps``).
"""

from __future__ import annotations

from partnerhub.core.audit import system_actor
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.core.outbox import handler
from partnerhub.partners.models import Enrolment, EnrolmentState, ProgramKind
from partnerhub.referrals.models import ReferralPartner
from partnerhub.referrals.services import partners as services

ENROLMENT = "referrals.enrolment"
_STATES = {EnrolmentState.ACTIVE, EnrolmentState.SUSPENDED, EnrolmentState.TERMINATED}


def _enrolment(event: OutboxEvent) -> Enrolment | None:
    pk = event.payload.get("id")
    if not isinstance(pk, int):
        return None
    return (
        Enrolment.objects.select_related("program", "organisation")
        .filter(pk=pk, program__kind=ProgramKind.REFERRALS)
        .first()
    )


def enrolment_targets(event: OutboxEvent) -> list[str]:
    """One delivery for an activation, suspension or termination in a referral program."""
    if event.event_type.rsplit(".", 1)[-1] not in _STATES:
        return []
    return [""] if _enrolment(event) is not None else []


@handler("partners.enrolment.*", name=ENROLMENT, targets=enrolment_targets)
def enrolment_changed(event: OutboxEvent, target: str) -> None:
    """Register the partner on activation; block or unblock it to match its enrolment."""
    enrolment = _enrolment(event)
    if enrolment is None:
        return
    with system_actor(ENROLMENT):
        partner = ReferralPartner.objects.filter(
            program=enrolment.program, organisation=enrolment.organisation
        ).first()
        if partner is None and event.event_type.endswith(".active"):
            active_now = enrolment.state == EnrolmentState.ACTIVE
            partner = services.referral_partner_register(
                program=enrolment.program,
                organisation=enrolment.organisation,
                # state_changed_at is the activation only while the enrolment is still active
                at=enrolment.state_changed_at if active_now else event.created_at,
            )
        if partner is None:
            return
        at = enrolment.state_changed_at  # when the enrolment entered its current state
        if enrolment.state == EnrolmentState.ACTIVE:
            services.referral_partner_unblock(partner=partner, at=at)
        else:
            services.referral_partner_block(partner=partner, at=at, reason=enrolment.state_reason)
