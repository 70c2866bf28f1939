"""Read queries of partners, always scoped to who asks."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from partnerhub.partners import card
from partnerhub.partners.models import (
    CardChange,
    Enrolment,
    Organisation,
    OrgKind,
    Program,
    StatusGrant,
)


def partners_list(*, search: str = "") -> QuerySet[Organisation]:
    """Partner organisations for the vendor's staff, optionally filtered by name, INN or email."""
    qs = Organisation.objects.filter(kind=OrgKind.PARTNER).order_by("short_name", "pk")
    term = search.strip()
    if term:
        qs = qs.filter(
            Q(short_name__icontains=term)
            | Q(full_name__icontains=term)
            | Q(inn__startswith=term)
            | Q(email__icontains=term)
        )
    return qs


def partner_get(*, pk: int) -> Organisation:
    """A partner organisation by id (vendor staff); 404 when there is none."""
    org = Organisation.objects.filter(kind=OrgKind.PARTNER, pk=pk).first()
    if org is None:
        raise Http404
    return org


def card_history(*, organisation: Organisation) -> QuerySet[CardChange]:
    """Changes of the card of ``organisation``, newest first."""
    return CardChange.objects.filter(organisation=organisation).select_related("changed_by")


def card_completeness(*, organisation: Organisation) -> card.Completeness:
    """Completeness of the card of ``organisation``."""
    return card.completeness({name: getattr(organisation, name) for name in card.CARD_FIELDS})


def programs_with_enrolment(
    *, organisation: Organisation
) -> list[tuple[Program, Enrolment | None]]:
    """Every program open to partners or already joined, with this partner's enrolment."""
    enrolments = {e.program_id: e for e in Enrolment.objects.filter(organisation=organisation)}
    programs = Program.objects.filter(Q(is_active=True) | Q(pk__in=list(enrolments)))
    return [(program, enrolments.get(program.pk)) for program in programs.order_by("name")]


def enrolments_of(*, organisation: Organisation) -> QuerySet[Enrolment]:
    """Enrolments of one organisation."""
    return Enrolment.objects.filter(organisation=organisation).select_related(
        "program", "distributor"
    )


def enrolments_pending() -> QuerySet[Enrolment]:
    """Applications waiting for the vendor's decision, oldest first."""
    return (
        Enrolment.objects.filter(state="applied")
        .select_related("organisation", "program")
        .order_by("applied_at")
    )


def enrolment_get(*, pk: int) -> Enrolment:
    """An enrolment by id (vendor staff)."""
    enrolment = Enrolment.objects.select_related("organisation", "program").filter(pk=pk).first()
    if enrolment is None:
        raise Http404
    return enrolment


def program_get_open(*, pk: int) -> Program:
    """A program a partner may apply to."""
    program = Program.objects.filter(pk=pk, is_active=True).first()
    if program is None:
        raise Http404
    return program


def statuses_of(*, organisation: Organisation) -> QuerySet[StatusGrant]:
    """Statuses granted to ``organisation``."""
    return StatusGrant.objects.filter(organisation=organisation).select_related("status")
