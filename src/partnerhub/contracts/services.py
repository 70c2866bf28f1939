"""Write use cases of contracts: start, prepare the application, send it, review, sign, reject,
terminate (spec: partners-and-contracts, "Contract (referral program)").

Each function is one transaction; on a refusal nothing is stored. State moves go through
``core.transitions.transition`` with ``CONTRACT_MACHINE`` (audit row + outbox event
``contracts.contract.<state>``, a conditional update so that a racing request gets
``stale_state``). Sending renders the application to join as PDF from the card and keeps it, with
the requisites it was made from, as the document staff review later, even if the card changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.models import User
from partnerhub.contracts import selectors
from partnerhub.contracts.edo import edo_id_error, normalise_edo_id
from partnerhub.contracts.error_codes import ContractsErrorCode
from partnerhub.contracts.models import Channel, Contract, ContractState, EdoOperator
from partnerhub.core import audit, clock
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.pdf import render_pdf
from partnerhub.core.transitions import transition
from partnerhub.partners import card
from partnerhub.partners import selectors as partner_selectors
from partnerhub.partners.models import Enrolment, Organisation, OrgKind, Program

APPLICATION_TEMPLATE = "contracts/application.html"


# --- pure rules -------------------------------------------------------------------------------


def channel_errors(
    *,
    vat_payer: bool,
    application_channel: str,
    closing_channel: str,
    edo_operator: str,
    edo_participant_id: str,
    inn: str = "",
) -> dict[str, list[str | Promise]]:
    """Field errors of the chosen channels (empty when they are acceptable).

    A VAT payer sends closing documents through EDO only; its application may go on paper. The
    operator and the participant id are needed when either channel is EDO.
    """
    found: dict[str, list[str | Promise]] = {}
    if application_channel not in Channel.values:
        found["application_channel"] = [str(_("Выберите способ отправки заявления."))]
    if closing_channel not in Channel.values:
        found["closing_channel"] = [str(_("Выберите способ обмена закрывающими документами."))]
    elif vat_payer and closing_channel == Channel.PAPER:
        found["closing_channel"] = [
            str(
                _(
                    "Плательщики НДС обмениваются закрывающими документами только через ЭДО "
                    "(заявление можно отправить на бумаге)."
                )
            )
        ]
    if Channel.EDO in (application_channel, closing_channel):
        if edo_operator not in EdoOperator.values:
            found["edo_operator"] = [str(_("Выберите оператора ЭДО."))]
        else:
            problem = edo_id_error(edo_operator, edo_participant_id, inn=inn)
            if problem:
                found["edo_participant_id"] = [problem]
    return found


def application_number(contract: Contract, attempt: int) -> str:
    """The number of the ``attempt``-th application of ``contract``: ``<contract id>-<attempt>``
    (the contract id zero-padded to six digits), unique and stable."""
    return f"{contract.pk:06d}-{attempt}"


def requisites_of(organisation: Organisation) -> dict[str, Any]:
    """The card fields the application prints, as plain JSON-able data."""
    return partner_selectors.requisites_of(organisation=organisation)


def application_snapshot(
    contract: Contract, *, organisation: Organisation, number: str, on: dt.date
) -> dict[str, Any]:
    """Everything the application prints, as plain data (kept when the application is sent)."""
    vendor = contract.program.vendor
    return {
        "number": number,
        "date": on.isoformat(),
        "program": contract.program.name,
        "vendor": {
            "full_name": vendor.full_name or vendor.short_name,
            "short_name": vendor.short_name,
            "inn": vendor.inn,
            "kpp": vendor.kpp,
        },
        "partner": requisites_of(organisation),
        "application_channel": contract.application_channel,
        "closing_channel": contract.closing_channel,
        "edo_operator": contract.edo_operator,
        "edo_participant_id": contract.edo_participant_id,
        "postal_address": settings.CONTRACT_POSTAL_ADDRESS,
    }


def application_context(snapshot: Mapping[str, Any], *, draft: bool) -> dict[str, Any]:
    """The template context of the application from its snapshot (labels resolved)."""
    partner = dict(snapshot["partner"])
    return {
        **snapshot,
        "partner": partner,
        "is_ip": partner.get("legal_form") == card.IP,
        "date": dt.date.fromisoformat(snapshot["date"]),
        "application_channel_label": Channel(snapshot["application_channel"]).label,
        "closing_channel_label": Channel(snapshot["closing_channel"]).label,
        "edo_operator_label": (
            EdoOperator(snapshot["edo_operator"]).label if snapshot["edo_operator"] else ""
        ),
        "draft": draft,
    }


# --- reads that render ------------------------------------------------------------------------


def application_preview_pdf(*, contract: Contract, on: dt.date | None = None) -> bytes:
    """The application as it would be sent now (from today's card), marked as a draft."""
    number = application_number(contract, contract.attempts + 1)
    snapshot = application_snapshot(
        contract, organisation=contract.organisation, number=number, on=on or clock.today()
    )
    with translation.override("ru"):  # a Russian legal document, whatever the page language
        return render_pdf(APPLICATION_TEMPLATE, application_context(snapshot, draft=True))


# --- use cases --------------------------------------------------------------------------------


def contract_start(*, organisation: Organisation, program: Program, by: Any = None) -> Contract:
    """Start the partner's contract in ``program`` (a draft); an existing one is returned."""
    if organisation.kind != OrgKind.PARTNER:
        raise ValidationFailed(_("Договор заключают только партнёры."))
    existing = selectors.contract_of(organisation=organisation, program=program)
    if existing is not None:
        return existing
    if not selectors.participates(organisation=organisation, program=program):
        raise Conflict(
            _("Сначала подключитесь к программе «%(program)s».") % {"program": program.name},
            code=ContractsErrorCode.NOT_ENROLLED,
        )
    enrolment = Enrolment.objects.filter(organisation=organisation, program=program).first()
    vat_payer = organisation.vat_payer
    try:
        with transaction.atomic():
            contract = Contract.objects.create(
                organisation=organisation,
                program=program,
                enrolment=enrolment,
                closing_channel=Channel.EDO if vat_payer else Channel.PAPER,
                state_changed_at=clock.now(),
            )
            audit.record(
                action="contracts.contract.created",
                obj=contract,
                after={"state": contract.state, "program": program.pk},
                actor=by,
            )
    except IntegrityError:  # a parallel request started it first
        existing = selectors.contract_of(organisation=organisation, program=program)
        assert existing is not None
        return existing
    return contract


def contract_prepare(
    *,
    contract: Contract,
    application_channel: str,
    closing_channel: str,
    edo_operator: str = "",
    edo_participant_id: str = "",
    by: Any = None,
) -> Contract:
    """Record how documents travel (the partner prepares its application).

    Allowed while the application has not gone (draft) or after a rejection. The EDO operator and
    id are kept only when a channel is EDO.
    """
    edo_participant_id = normalise_edo_id(edo_participant_id)
    with transaction.atomic():
        locked = (
            Contract.objects.select_for_update().select_related("organisation").get(pk=contract.pk)
        )
        if not locked.is_editable:
            raise Conflict(
                _("Заявление уже отправлено: изменить его нельзя."),
                code=ContractsErrorCode.CONTRACT_NOT_EDITABLE,
            )
        organisation = locked.organisation
        problems = channel_errors(
            vat_payer=organisation.vat_payer,
            application_channel=application_channel,
            closing_channel=closing_channel,
            edo_operator=edo_operator,
            edo_participant_id=edo_participant_id,
            inn=organisation.inn,
        )
        if problems:
            raise ValidationFailed(_("Проверьте выделенные поля."), fields=problems)
        uses_edo = Channel.EDO in (application_channel, closing_channel)
        after = {
            "application_channel": application_channel,
            "closing_channel": closing_channel,
            "edo_operator": edo_operator if uses_edo else "",
            "edo_participant_id": edo_participant_id if uses_edo else "",
        }
        before = {name: getattr(locked, name) for name in after}
        if before == after:
            return locked
        for name, value in after.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*after, "updated_at"])
        audit.record(
            action="contracts.contract.prepared", obj=locked, before=before, after=after, actor=by
        )
    return locked


def send_refusals(contract: Contract) -> dict[str, list[str | Promise]]:
    """Why the application of ``contract`` cannot be sent now, by subject (empty: it can)."""
    organisation = contract.organisation
    refusals: dict[str, list[str | Promise]] = {}
    completeness = partner_selectors.card_completeness(organisation=organisation)
    if not completeness.is_complete:
        refusals["card"] = [
            str(
                _(
                    "Карточка организации заполнена не полностью (%(percent)s %%): заполните "
                    "реквизиты — заявление заполняется из карточки."
                )
                % {"percent": completeness.percent}
            )
        ]
    if not partner_selectors.counterparty_documents_uploaded(
        organisation=organisation, vendor=contract.program.vendor
    ):
        refusals["documents"] = [
            str(
                _(
                    "Загружены не все документы для проверки контрагента: загрузите их в "
                    "разделе «Документы»."
                )
            )
        ]
    channel = channel_errors(
        vat_payer=organisation.vat_payer,
        application_channel=contract.application_channel,
        closing_channel=contract.closing_channel,
        edo_operator=contract.edo_operator,
        edo_participant_id=contract.edo_participant_id,
        inn=organisation.inn,
    )
    refusals.update(channel)
    return refusals


def contract_send(*, contract: Contract, by: Any = None) -> Contract:
    """Send the application to join (draft or rejected -> sent).

    Needs the card complete, the counterparty documents uploaded and valid channels; each
    missing condition is its own message. The PDF and the requisites it shows are kept.
    """
    contract = selectors.contract_get(pk=contract.pk)
    if not contract.is_editable:
        raise Conflict(
            _("В состоянии «%(state)s» заявление не отправляется.")
            % {"state": contract.get_state_display()},
            code=CoreErrorCode.TRANSITION_NOT_ALLOWED,
        )
    refusals = send_refusals(contract)
    if refusals:
        raise ValidationFailed(
            _("Заявление нельзя отправить: %(reasons)s")
            % {"reasons": " ".join(str(m) for ms in refusals.values() for m in ms)},
            fields=refusals,
        )
    now = clock.now()
    attempt = contract.attempts + 1
    number = application_number(contract, attempt)
    snapshot = application_snapshot(
        contract, organisation=contract.organisation, number=number, on=clock.local_date(now)
    )
    with translation.override("ru"):  # a Russian legal document, whatever the page language
        pdf = render_pdf(APPLICATION_TEMPLATE, application_context(snapshot, draft=False))
    with transaction.atomic():
        contract = transition(
            contract,
            to=ContractState.SENT,
            by=by,
            extra={
                "attempts": attempt,
                "application_number": number,
                "application_snapshot": snapshot,
                "sent_at": now,
                "state_reason": "",
                "state_changed_at": now,
                "state_changed_by": _user_or_none(by),
            },
        )
        contract.application_pdf.save(f"application-{number}.pdf", ContentFile(pdf), save=False)
        Contract.objects.filter(pk=contract.pk).update(
            application_pdf=contract.application_pdf.name
        )
    return contract


def contract_review_start(*, contract: Contract, by: Any = None) -> Contract:
    """Staff take a sent application under review."""
    return _move(contract, to=ContractState.UNDER_REVIEW, by=by)


def contract_sign(*, contract: Contract, signed_on: dt.date, by: Any = None) -> Contract:
    """Staff sign the contract on ``signed_on`` (not in the future, not before it was sent)."""
    today = clock.today()
    if signed_on > today:
        raise ValidationFailed(
            _("Дата подписания не может быть в будущем."),
            fields={"signed_on": [_("Дата подписания не может быть в будущем.")]},
        )
    if contract.sent_at is not None and signed_on < clock.local_date(contract.sent_at):
        raise ValidationFailed(
            _("Дата подписания раньше отправки заявления."),
            fields={"signed_on": [_("Дата подписания раньше отправки заявления.")]},
        )
    return _move(contract, to=ContractState.SIGNED, by=by, extra={"signed_on": signed_on})


def contract_reject(*, contract: Contract, reason: str, by: Any = None) -> Contract:
    """Staff reject the application with a reason; the partner fixes it and sends it again."""
    return _move(contract, to=ContractState.REJECTED, by=by, reason=reason)


def contract_terminate(
    *, contract: Contract, reason: str, terminated_on: dt.date | None = None, by: Any = None
) -> Contract:
    """Staff terminate a signed contract with a reason (today unless a date is given)."""
    on = terminated_on or clock.today()
    if contract.signed_on is not None and on < contract.signed_on:
        raise ValidationFailed(
            _("Дата расторжения раньше даты подписания."),
            fields={"terminated_on": [_("Дата расторжения раньше даты подписания.")]},
        )
    return _move(
        contract, to=ContractState.TERMINATED, by=by, reason=reason, extra={"terminated_on": on}
    )


def _move(
    contract: Contract,
    *,
    to: str,
    by: Any,
    reason: str = "",
    extra: Mapping[str, Any] | None = None,
) -> Contract:
    return transition(
        contract,
        to=to,
        by=by,
        reason=reason,
        extra={
            "state_reason": reason.strip(),
            "state_changed_at": clock.now(),
            "state_changed_by": _user_or_none(by),
            **dict(extra or {}),
        },
    )


def _user_or_none(by: Any) -> Any:
    """The acting user for the ``state_changed_by`` column (None for tasks and tokens)."""
    return by if isinstance(by, User) else None
