"""Read queries of partners, always scoped to who asks."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from partnerhub.partners import card
from partnerhub.partners.models import (
    CardChange,
    CounterpartyDocument,
    CounterpartyDocumentKind,
    CounterpartyDocumentState,
    DocumentAppliesTo,
    Enrolment,
    Organisation,
    OrgKind,
    Program,
    StatusGrant,
    StatusKind,
)

# --- what a vendor's staff see ------------------------------------------------------------------
#
# A partner belongs to a vendor through its enrolments (in any state) in the vendor's programs;
# a partner enrolled with two vendors is seen by both, each with its own programs' data only.
# A partner that has joined the portal but applied to no program yet is no vendor's partner and
# every vendor's prospect: its card is visible to the staff of every vendor (it holds nothing of
# any vendor's programs), so that one-vendor installations keep seeing new registrations.


def _of_vendor(vendor: Organisation) -> Q:
    """Partner organisations the staff of ``vendor`` may see (see above)."""
    enrolled = Enrolment.objects.filter(organisation=OuterRef("pk"), program__vendor=vendor)
    enrolled_anywhere = Enrolment.objects.filter(organisation=OuterRef("pk"))
    return Q(kind=OrgKind.PARTNER) & (Exists(enrolled) | ~Exists(enrolled_anywhere))


def partners_of_vendor(*, vendor: Organisation, search: str = "") -> QuerySet[Organisation]:
    """The partners of ``vendor`` for its staff, optionally filtered by name, INN or email."""
    qs = Organisation.objects.filter(_of_vendor(vendor)).order_by("short_name", "pk")
    term = search.strip()
    if term:
        qs = qs.filter(
            Q(short_name__icontains=term)
            | Q(full_name__icontains=term)
            | Q(inn__startswith=term)
            | Q(email__icontains=term)
        )
    return qs


def partner_of_vendor(*, vendor: Organisation, pk: int) -> Organisation:
    """A partner of ``vendor`` by id (its staff); 404 for another vendor's partner."""
    org = Organisation.objects.filter(_of_vendor(vendor), pk=pk).first()
    if org is None:
        raise Http404
    return org


def organisation_ids_of_vendor(*, vendor: Organisation) -> QuerySet[Organisation, Any]:
    """The ids (a subquery) of ``vendor`` itself and of its partners: the organisations whose
    audit rows and outbox events its staff may see."""
    return Organisation.objects.filter(Q(pk=vendor.pk) | _of_vendor(vendor)).values("pk")


def programs_of_vendor(*, vendor: Organisation, kind: str | None = None) -> QuerySet[Program]:
    """The programs ``vendor`` runs (of one ``kind`` when given), by name."""
    programs = Program.objects.filter(vendor=vendor)
    if kind is not None:
        programs = programs.filter(kind=kind)
    return programs.order_by("name", "pk")


def program_get(*, vendor: Organisation, pk: int, kind: str | None = None) -> Program:
    """One of ``vendor``'s programs (of ``kind`` when given); 404 for another vendor's."""
    program = programs_of_vendor(vendor=vendor, kind=kind).filter(pk=pk).first()
    if program is None:
        raise Http404
    return program


def partner_get(*, pk: int) -> Organisation:
    """A partner organisation by id, for the system's own rules (notifications); staff pages
    use ``partner_of_vendor``."""
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


def enrolments_of(
    *, organisation: Organisation, vendor: Organisation | None = None
) -> QuerySet[Enrolment]:
    """Enrolments of one organisation (a partner asking about itself); with ``vendor``, only
    those in the vendor's programs (its staff asking)."""
    enrolments = Enrolment.objects.filter(organisation=organisation)
    if vendor is not None:
        enrolments = enrolments.filter(program__vendor=vendor)
    return enrolments.select_related("program", "distributor")


def enrolments_pending(*, vendor: Organisation) -> QuerySet[Enrolment]:
    """Applications to ``vendor``'s programs waiting for its decision, oldest first."""
    return (
        Enrolment.objects.filter(state="applied", program__vendor=vendor)
        .select_related("organisation", "program")
        .order_by("applied_at")
    )


def enrolment_get(*, pk: int, vendor: Organisation | None = None) -> Enrolment:
    """An enrolment by id; with ``vendor`` (its staff asking), only one in the vendor's
    programs (another vendor's is 404). Without, for the system's own rules."""
    enrolments = Enrolment.objects.select_related("organisation", "program").filter(pk=pk)
    if vendor is not None:
        enrolments = enrolments.filter(program__vendor=vendor)
    enrolment = enrolments.first()
    if enrolment is None:
        raise Http404
    return enrolment


def program_get_open(*, pk: int) -> Program:
    """A program a partner may apply to."""
    program = Program.objects.filter(pk=pk, is_active=True).first()
    if program is None:
        raise Http404
    return program


def statuses_of(
    *, organisation: Organisation, vendor: Organisation | None = None
) -> QuerySet[StatusGrant]:
    """Statuses granted to ``organisation`` (the partner asking about itself: by every vendor);
    with ``vendor`` (its staff asking), only those of the vendor's kinds."""
    grants = StatusGrant.objects.filter(organisation=organisation)
    if vendor is not None:
        grants = grants.filter(status__vendor=vendor)
    return grants.select_related("status")


# --- statuses (spec "Statuses") ----------------------------------------------------------------


def _in_force_on(on: datetime.date) -> Q:
    return Q(valid_from__lte=on) & (Q(valid_until__isnull=True) | Q(valid_until__gte=on))


def statuses_in_force(*, organisation: Organisation, on: datetime.date) -> list[StatusGrant]:
    """Grants of ``organisation`` that cover the day ``on`` (both ends included), by kind name."""
    return list(
        StatusGrant.objects.filter(_in_force_on(on), organisation=organisation)
        .select_related("status")
        .order_by("status__name", "valid_from")
    )


def has_status(*, organisation: Organisation, code: str, on: datetime.date) -> bool:
    """True when ``organisation`` holds the status of kind ``code`` on the day ``on``."""
    return StatusGrant.objects.filter(
        _in_force_on(on), organisation=organisation, status__code=code
    ).exists()


def status_history(
    *, organisation: Organisation, vendor: Organisation | None = None
) -> QuerySet[StatusGrant]:
    """Every grant of ``organisation``, current and past, newest period first; with ``vendor``
    (its staff asking), only grants of the vendor's kinds: a partner of two vendors holds each
    vendor's statuses apart."""
    return (
        statuses_of(organisation=organisation, vendor=vendor)
        .select_related("status", "granted_by", "ended_by")
        .order_by("-valid_from", "-pk")
    )


@dataclass(frozen=True)
class StatusOverview:
    """The statuses of a partner split for a page: in force today, coming, ended."""

    current: list[StatusGrant]
    upcoming: list[StatusGrant]
    past: list[StatusGrant]


def status_overview(
    *, organisation: Organisation, on: datetime.date, vendor: Organisation | None = None
) -> StatusOverview:
    """``status_history`` (of ``vendor``'s kinds when given) split around the day ``on`` (one
    query)."""
    current: list[StatusGrant] = []
    upcoming: list[StatusGrant] = []
    past: list[StatusGrant] = []
    for grant in status_history(organisation=organisation, vendor=vendor):
        if grant.in_force_on(on):
            current.append(grant)
        elif grant.valid_from > on:
            upcoming.append(grant)
        else:
            past.append(grant)
    return StatusOverview(current=current, upcoming=upcoming, past=past)


def status_grant_get(*, pk: int, vendor: Organisation | None = None) -> StatusGrant:
    """A grant by id; with ``vendor`` (its staff asking), only a grant of one of the vendor's
    kinds to one of its partners (404 otherwise)."""
    grants = StatusGrant.objects.select_related("status", "organisation").filter(pk=pk)
    if vendor is not None:
        grants = grants.filter(
            status__vendor=vendor,
            organisation__in=Organisation.objects.filter(_of_vendor(vendor)),
        )
    grant = grants.first()
    if grant is None:
        raise Http404
    return grant


def status_kinds(*, vendor: Organisation, active_only: bool = False) -> QuerySet[StatusKind]:
    """Kinds of status in ``vendor``'s catalogue (its staff); ``active_only`` for the grant
    form."""
    qs = StatusKind.objects.filter(vendor=vendor).order_by("name", "pk")
    return qs.filter(is_active=True) if active_only else qs


# --- counterparty documents (spec "Contract", step 1) ------------------------------------------
#
# Each vendor asks its own kinds. A partner is asked the kinds of the vendors it is enrolled with
# (in any state), each vendor's apart; a partner enrolled nowhere is every vendor's prospect
# (as for the partner list above) and sees the kinds of every vendor.


def _kinds_asked_of(organisation: Organisation, vendor: Organisation | None) -> Q:
    """Kinds of ``vendor`` (its staff asking) or of the vendors of ``organisation``."""
    if vendor is not None:
        return Q(vendor=vendor)
    enrolments = Enrolment.objects.filter(organisation=organisation)
    return Q(vendor__in=enrolments.values("program__vendor")) | Q(~Exists(enrolments))


def counterparty_document_kinds_for(
    *, organisation: Organisation, vendor: Organisation | None = None
) -> QuerySet[CounterpartyDocumentKind]:
    """Kinds asked of ``organisation`` (active, for its legal form): by ``vendor`` when given,
    else by each of its vendors; by vendor, then in page order."""
    return (
        CounterpartyDocumentKind.objects.filter(
            _kinds_asked_of(organisation, vendor),
            Q(applies_to=DocumentAppliesTo.BOTH) | Q(applies_to=organisation.legal_form),
            is_active=True,
        )
        .select_related("vendor")
        .order_by("vendor__short_name", "vendor_id", "position", "name")
    )


def counterparty_document_kinds(*, vendor: Organisation) -> QuerySet[CounterpartyDocumentKind]:
    """Every kind of ``vendor``'s catalogue, for its staff."""
    return CounterpartyDocumentKind.objects.filter(vendor=vendor).order_by("position", "name")


def _current_uploads(organisation: Organisation) -> QuerySet[CounterpartyDocument]:
    return CounterpartyDocument.objects.filter(organisation=organisation).exclude(
        state=CounterpartyDocumentState.SUPERSEDED
    )


def _required_kinds_satisfied(
    organisation: Organisation, states: tuple[str, ...], vendor: Organisation | None
) -> bool:
    required = set(
        counterparty_document_kinds_for(organisation=organisation, vendor=vendor)
        .filter(required=True)
        .values_list("pk", flat=True)
    )
    covered = set(
        _current_uploads(organisation)
        .filter(kind_id__in=required, state__in=states)
        .values_list("kind_id", flat=True)
    )
    return required <= covered


def counterparty_documents_uploaded(
    *, organisation: Organisation, vendor: Organisation | None = None
) -> bool:
    """True when every required kind (of ``vendor`` when given, else of every vendor of the
    partner) has a current upload that was not asked again (under review or accepted)."""
    return _required_kinds_satisfied(
        organisation,
        (CounterpartyDocumentState.UNDER_REVIEW, CounterpartyDocumentState.ACCEPTED),
        vendor,
    )


def counterparty_documents_accepted(
    *, organisation: Organisation, vendor: Organisation | None = None
) -> bool:
    """True when every required kind (of ``vendor`` when given, else of every vendor of the
    partner) has a current upload accepted by the vendor's staff."""
    return _required_kinds_satisfied(organisation, (CounterpartyDocumentState.ACCEPTED,), vendor)


@dataclass(frozen=True)
class CounterpartyDocumentRow:
    """One kind asked of a partner with its current upload (None: nothing uploaded yet) and the
    earlier uploads of the kind, newest first."""

    kind: CounterpartyDocumentKind
    current: CounterpartyDocument | None
    earlier: list[CounterpartyDocument]

    @property
    def missing(self) -> bool:
        return self.kind.required and (
            self.current is None or self.current.state == CounterpartyDocumentState.ASKED_AGAIN
        )


def counterparty_documents_of(
    *, organisation: Organisation, vendor: Organisation | None = None
) -> list[CounterpartyDocumentRow]:
    """The kinds asked of ``organisation`` with its uploads (two queries): of ``vendor`` (its
    staff asking), else of each vendor of the partner, by vendor. Kinds no longer asked but
    with uploads are listed too, so that nothing uploaded disappears from the page."""
    uploads_qs = CounterpartyDocument.objects.filter(organisation=organisation)
    if vendor is not None:
        uploads_qs = uploads_qs.filter(kind__vendor=vendor)
    uploads = list(
        uploads_qs.select_related("uploaded_by", "reviewed_by").order_by("-uploaded_at", "-pk")
    )
    uploaded_kinds = {u.kind_id for u in uploads}
    kinds = (
        CounterpartyDocumentKind.objects.filter(
            Q(
                _kinds_asked_of(organisation, vendor),
                is_active=True,
                applies_to__in=(DocumentAppliesTo.BOTH, organisation.legal_form),
            )
            | Q(pk__in=uploaded_kinds)
        )
        .select_related("vendor")
        .order_by("vendor__short_name", "vendor_id", "position", "name")
    )
    rows = []
    for kind in kinds:
        of_kind = [u for u in uploads if u.kind_id == kind.pk]
        current = next((u for u in of_kind if u.is_current), None)
        rows.append(
            CounterpartyDocumentRow(
                kind=kind, current=current, earlier=[u for u in of_kind if u is not current]
            )
        )
    return rows


def counterparty_document_of_partner(
    *, organisation: Organisation, pk: int
) -> CounterpartyDocument:
    """An upload of ``organisation`` (a partner's user); another partner's upload is 404."""
    document = (
        CounterpartyDocument.objects.select_related("kind")
        .filter(organisation=organisation, pk=pk)
        .first()
    )
    if document is None:
        raise Http404
    return document


def counterparty_document_get(
    *, pk: int, vendor: Organisation | None = None
) -> CounterpartyDocument:
    """An upload by id; with ``vendor`` (its staff asking), only an upload of one of the
    vendor's partners for a kind of the vendor's catalogue (404 otherwise)."""
    documents = CounterpartyDocument.objects.select_related("kind", "organisation").filter(pk=pk)
    if vendor is not None:
        documents = documents.filter(
            kind__vendor=vendor,
            organisation__in=Organisation.objects.filter(_of_vendor(vendor)),
        )
    document = documents.first()
    if document is None:
        raise Http404
    return document


def counterparty_documents_under_review(*, vendor: Organisation) -> QuerySet[CounterpartyDocument]:
    """The staff's queue: current uploads of ``vendor``'s partners for kinds of its catalogue
    waiting for review, oldest first."""
    return (
        CounterpartyDocument.objects.filter(
            state=CounterpartyDocumentState.UNDER_REVIEW,
            kind__vendor=vendor,
            organisation__in=Organisation.objects.filter(_of_vendor(vendor)),
        )
        .select_related("organisation", "kind", "uploaded_by")
        .order_by("uploaded_at", "pk")
    )


def requisites_of(*, organisation: Organisation) -> dict[str, Any]:
    """The organisation's requisites as a document prints them (``card.REQUISITE_FIELDS``), as
    plain JSON-able data for a document to keep."""
    return {name: getattr(organisation, name) for name in card.REQUISITE_FIELDS}
