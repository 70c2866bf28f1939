"""Write use cases of partners: joining, the card, enrolments in programs.

Spec: partners-and-contracts. Each function is one transaction and validates with the card rules
of ``partners.card``; on a refusal nothing is stored. Joining, card changes and enrolment moves
write an audit row in the same transaction (``core.audit``); enrolments move by the table
``partners.models.ENROLMENT_MACHINE`` through ``core.transitions.transition``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.models import User
from partnerhub.accounts.roles import Role
from partnerhub.accounts.services import email_is_taken, normalise_email, user_create
from partnerhub.core import audit, outbox
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.text import clean_name
from partnerhub.core.transitions import transition
from partnerhub.partners import card
from partnerhub.partners.error_codes import PartnersErrorCode
from partnerhub.partners.models import (
    CardChange,
    Enrolment,
    EnrolmentState,
    LegalForm,
    Organisation,
    OrgKind,
    Program,
)

INN_TAKEN = _("Партнёр с таким ИНН уже зарегистрирован.")


def _raise_field_errors(errors: Mapping[str, list[Any]]) -> None:
    if errors:
        fields = {name: [m for exc in excs for m in exc.messages] for name, excs in errors.items()}
        raise ValidationFailed(_("Проверьте выделенные поля."), fields=fields)


def _inn_taken(inn: str, *, exclude_pk: int | None = None) -> bool:
    qs = Organisation.objects.filter(kind=OrgKind.PARTNER, inn=inn)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def partner_join(
    *,
    legal_form: str,
    name: str,
    inn: str,
    contact_name: str,
    email: str,
    phone: str,
    password: str,
) -> User:
    """Register a partner organisation and its owner from the public application form.

    The owner can log in at once; the rest of the card is filled in the cabinet.
    """
    data = card.normalise(
        {"legal_form": legal_form, "short_name": name, "inn": inn, "email": email, "phone": phone}
    )
    errors = card.field_errors(data)
    contact_name = clean_name(contact_name)
    required = {
        "short_name": data["short_name"],
        "inn": inn,
        "phone": phone,
        "contact_name": contact_name,
    }
    for field, value in required.items():
        if not str(value or "").strip():
            errors.setdefault(field, []).append(_required())
    if legal_form not in LegalForm.values:
        errors.setdefault("legal_form", []).append(_required())
    _raise_field_errors(errors)
    email = normalise_email(email)
    if email_is_taken(email):
        raise ValidationFailed(
            _("Пользователь с такой эл. почтой уже зарегистрирован."),
            fields={"email": [_("Пользователь с такой эл. почтой уже зарегистрирован.")]},
        )
    if _inn_taken(data["inn"]):
        raise ValidationFailed(INN_TAKEN, fields={"inn": [INN_TAKEN]})
    try:
        with transaction.atomic():
            organisation = Organisation.objects.create(
                kind=OrgKind.PARTNER,
                legal_form=data["legal_form"],
                short_name=data["short_name"],
                full_name=data["short_name"],
                inn=data["inn"],
                email=data["email"],
                phone=data["phone"],
            )
            owner = user_create(
                organisation=organisation,
                email=email,
                password=password,
                role=Role.OWNER,
                full_name=contact_name,
                phone=data["phone"],
            )
            audit.record(
                action="partner.joined",
                obj=organisation,
                organisation_id=organisation.pk,
                actor=owner,
                after={
                    "legal_form": organisation.legal_form,
                    "short_name": organisation.short_name,
                    "inn": organisation.inn,
                    "owner": owner.email,
                },
            )
            return owner
    except IntegrityError as exc:  # a parallel join with the same INN won the race
        raise ValidationFailed(INN_TAKEN, fields={"inn": [INN_TAKEN]}) from exc


def _required() -> Any:
    return ValidationError(_("Обязательное поле."), code=CoreErrorCode.REQUIRED)


def card_values(organisation: Organisation) -> dict[str, Any]:
    """The card of ``organisation`` as a plain mapping of its fields."""
    return {name: getattr(organisation, name) for name in card.CARD_FIELDS}


def card_update(
    *,
    organisation: Organisation,
    changes: Mapping[str, Any],
    changed_by: User | None,
    actor_label: str = "",
    source: str,
    now: datetime | None = None,
) -> list[CardChange]:
    """Apply changes to a partner card, validating the whole card after the change.

    Writes one ``CardChange`` per field whose value differs. Unknown fields are refused.
    """
    now = now or timezone.now()
    unknown = sorted(set(changes) - set(card.CARD_FIELDS))
    if unknown:
        raise ValidationFailed(
            _("Неизвестные поля карточки."),
            fields={name: [_("Такого поля в карточке нет.")] for name in unknown},
        )
    incoming = card.normalise(changes)
    if "short_name" in incoming and not incoming["short_name"]:
        raise ValidationFailed(
            _("Проверьте выделенные поля."), fields={"short_name": [_("Обязательное поле.")]}
        )
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        before = card_values(locked)
        after = {**before, **incoming}
        if after["legal_form"] == card.IP and "kpp" not in incoming:
            after["kpp"] = ""
        _raise_field_errors(card.field_errors(after))
        if after["inn"] != before["inn"] and _inn_taken(after["inn"], exclude_pk=locked.pk):
            raise ValidationFailed(INN_TAKEN, fields={"inn": [INN_TAKEN]})
        changed = [name for name in card.CARD_FIELDS if after[name] != before[name]]
        if not changed:
            return []
        for name in changed:
            setattr(locked, name, after[name])
        locked.save(update_fields=[*changed, "updated_at"])
        label = actor_label or (changed_by.email if changed_by else "")
        rows = CardChange.objects.bulk_create(
            CardChange(
                organisation=locked,
                field=name,
                old_value=_as_text(before[name]),
                new_value=_as_text(after[name]),
                changed_by=changed_by,
                actor_label=label,
                source=source,
                changed_at=now,
            )
            for name in changed
        )
        audit.record(
            action="partner.card.updated",
            obj=locked,
            organisation_id=locked.pk,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
            actor=changed_by,
        )
    for name in changed:
        setattr(organisation, name, after[name])
    return rows


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "да" if value else "нет"
    return "" if value is None else str(value)


def enrolment_apply(
    *, organisation: Organisation, program: Program, now: datetime | None = None
) -> Enrolment:
    """A partner applies to a program; programs with ``auto_approve`` activate at once.

    A rejected application may be filed again; an existing live enrolment is a conflict.
    """
    now = now or timezone.now()
    if organisation.kind != OrgKind.PARTNER:
        raise ValidationFailed(_("В программах участвуют только партнёры."))
    if not program.is_active:
        raise Conflict(
            _("Программа сейчас не принимает заявки."), code=PartnersErrorCode.PROGRAM_CLOSED
        )
    state = EnrolmentState.ACTIVE if program.auto_approve else EnrolmentState.APPLIED
    with transaction.atomic():
        existing = Enrolment.objects.filter(organisation=organisation, program=program).first()
        if existing is not None:
            if existing.state != EnrolmentState.REJECTED:
                raise Conflict(
                    _("Вы уже участвуете в этой программе или заявка подана."),
                    code=PartnersErrorCode.ALREADY_ENROLLED,
                )
            return enrolment_transition(enrolment=existing, to=state, reason="", now=now)
        try:
            with transaction.atomic():
                enrolment = Enrolment.objects.create(
                    organisation=organisation,
                    program=program,
                    state=state,
                    terms=dict(program.default_terms),
                    applied_at=now,
                    state_changed_at=now,
                )
        except IntegrityError as exc:
            raise Conflict(
                _("Заявка уже подана."), code=PartnersErrorCode.ALREADY_ENROLLED
            ) from exc
        audit.record(action="partners.enrolment.created", obj=enrolment, after={"state": state})
        if state == EnrolmentState.ACTIVE:  # auto-approved: the same event as an approval
            outbox.emit(
                "partners.enrolment.active",
                {"id": enrolment.pk, "from": EnrolmentState.APPLIED, "to": state, "reason": ""},
                organisation_id=organisation.pk,
                vendor_id=program.vendor_id,
            )
        return enrolment


def enrolment_transition(
    *,
    enrolment: Enrolment,
    to: str,
    reason: str = "",
    by: User | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """Move an enrolment to state ``to`` by ``ENROLMENT_MACHINE`` (conditional update: a racing
    request that already moved it gets a ``stale_state`` conflict), with an audit row and the
    outbox event ``partners.enrolment.<to>``."""
    now = now or timezone.now()
    return transition(
        enrolment,
        to=to,
        by=by,
        reason=reason,
        extra={"state_reason": reason.strip(), "state_changed_at": now},
    )
