"""Read queries of contracts, scoped to who asks (spec: partners-and-contracts, "Contract").

Other apps ask ``contract_signed`` (may the partner convert bonuses?) and
``closing_documents_channel`` (how do its acts and invoices travel?).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.http import Http404

from partnerhub.contracts.models import Contract, ContractState
from partnerhub.partners.models import EnrolmentState, Organisation, Program, ProgramKind
from partnerhub.referrals.selectors.links import referral_partner_of
from partnerhub.referrals.selectors.standing import partner_of

__all__ = [
    "QUEUE_STATES",
    "ProgramContract",
    "closing_documents_channel",
    "contract_get",
    "contract_get_for_partner",
    "contract_of",
    "contract_signed",
    "contract_state_counts",
    "contracts_for_staff",
    "contracts_of_partner",
    "participates",
    "programs_for_contract",
    "signed_organisation_ids",
]

#: The back office's default queue: applications waiting for staff.
QUEUE_STATES = (ContractState.SENT, ContractState.UNDER_REVIEW)
#: States in which a contract was concluded (its terms, such as the channel, bind both sides).
CONCLUDED_STATES = (ContractState.SIGNED, ContractState.TERMINATED)


def contract_of(*, organisation: Organisation, program: Program) -> Contract | None:
    """The contract of ``organisation`` in ``program``, or None when none was started."""
    return (
        Contract.objects.filter(organisation=organisation, program=program)
        .select_related("program", "program__vendor", "organisation")
        .first()
    )


def contract_signed(*, organisation: Organisation, program: Program) -> bool:
    """True when the partner's contract in ``program`` is signed (and not terminated): only a
    signed contract allows conversion of bonuses."""
    return Contract.objects.filter(
        organisation=organisation, program=program, state=ContractState.SIGNED
    ).exists()


#: The state of a signed contract (for callers that read contracts in their own SQL).
SIGNED_STATE = str(ContractState.SIGNED)


def contract_table() -> str:
    """The contracts' table name (for callers that read contracts in their own SQL)."""
    return Contract._meta.db_table


def signed_organisation_ids(*, program: Program, organisation_ids: Iterable[int]) -> set[int]:
    """Which of ``organisation_ids`` hold a signed contract in ``program`` (one query; the bulk
    form of ``contract_signed`` for lists)."""
    return set(
        Contract.objects.filter(
            program=program, organisation_id__in=list(organisation_ids), state=ContractState.SIGNED
        ).values_list("organisation_id", flat=True)
    )


def closing_documents_channel(*, organisation: Organisation, program: Program) -> str | None:
    """How closing documents travel under the partner's contract: "paper" or "edo".

    None without a concluded contract (never signed). A terminated contract keeps its channel:
    the documents of payouts made before the termination still travel the agreed way.
    """
    return (
        Contract.objects.filter(
            organisation=organisation, program=program, state__in=CONCLUDED_STATES
        )
        .values_list("closing_channel", flat=True)
        .first()
    )


def contracts_of_partner(*, organisation: Organisation) -> QuerySet[Contract]:
    """The partner's own contracts."""
    return Contract.objects.filter(organisation=organisation).select_related(
        "program", "program__vendor"
    )


def contract_get_for_partner(*, organisation: Organisation, pk: int) -> Contract:
    """One of the partner's own contracts; another partner's is a 404."""
    contract = contracts_of_partner(organisation=organisation).filter(pk=pk).first()
    if contract is None:
        raise Http404
    return contract


def contract_get(*, pk: int, vendor: Organisation | None = None) -> Contract:
    """A contract by id; with ``vendor`` (its staff asking), only a contract in one of the
    vendor's programs (another vendor's is 404). Without, for the system's own rules."""
    contracts = Contract.objects.select_related("organisation", "program", "program__vendor")
    if vendor is not None:
        contracts = contracts.filter(program__vendor=vendor)
    contract = contracts.filter(pk=pk).first()
    if contract is None:
        raise Http404
    return contract


def contracts_for_staff(
    *, vendor: Organisation, states: Iterable[str] = QUEUE_STATES
) -> QuerySet[Contract]:
    """Contracts in ``vendor``'s programs in ``states`` for its back office, the longest
    waiting first."""
    return (
        Contract.objects.filter(state__in=list(states), program__vendor=vendor)
        .select_related("organisation", "program")
        .order_by("state_changed_at", "pk")
    )


def contract_state_counts(*, vendor: Organisation) -> dict[str, int]:
    """How many contracts in ``vendor``'s programs are in each state."""
    rows = (
        Contract.objects.filter(program__vendor=vendor)
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(ContractState.values, 0)
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


@dataclass(frozen=True)
class ProgramContract:
    """A program the partner takes part in, with its contract when one was started."""

    program: Program
    contract: Contract | None


def programs_for_contract(*, organisation: Organisation) -> list[ProgramContract]:
    """Programs in which the partner may conclude a contract, with their contracts.

    The referral programs the partner is registered in (or enrolled in, active), and every
    program in which it already has a contract.
    """
    programs: dict[int, Program] = {}
    contracts = {c.program_id: c for c in contracts_of_partner(organisation=organisation)}
    for contract in contracts.values():
        programs[contract.program_id] = contract.program
    for program in Program.objects.filter(
        kind=ProgramKind.REFERRALS,
        enrolments__organisation=organisation,
        enrolments__state=EnrolmentState.ACTIVE,
    ).select_related("vendor"):
        programs[program.pk] = program
    referral_partner = referral_partner_of(organisation)
    if referral_partner is not None:
        programs[referral_partner.program_id] = referral_partner.program
    ordered = sorted(programs.values(), key=lambda p: (p.name, p.pk))
    return [ProgramContract(program=p, contract=contracts.get(p.pk)) for p in ordered]


def participates(*, organisation: Organisation, program: Program) -> bool:
    """True when the partner takes part in ``program``: an active enrolment, or (referral
    programs) a registration as a referral partner."""
    if program.enrolments.filter(organisation=organisation, state=EnrolmentState.ACTIVE).exists():
        return True
    if program.kind == ProgramKind.REFERRALS:
        return partner_of(program=program, organisation=organisation) is not None
    return False
