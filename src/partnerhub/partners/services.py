"""Write use cases of partners: joining, the card, enrolments in programs.

Spec: partners-and-contracts. Each function is one transaction and validates with the card rules
of ``partners.card``; on a refusal nothing is stored. Joining, card changes and enrolment moves
write an audit row in the same transaction (``core.audit``); enrolments move by the table
``partners.models.ENROLMENT_MACHINE`` through ``core.transitions.transition``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import datetime
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.models import User
from partnerhub.accounts.roles import Role
from partnerhub.accounts.services import email_is_taken, normalise_email, user_create
from partnerhub.core import audit, clock, outbox
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.transitions import transition
from partnerhub.partners import card, uploads
from partnerhub.partners.models import (
    CardChange,
    CounterpartyDocument,
    CounterpartyDocumentKind,
    CounterpartyDocumentState,
    DocumentAppliesTo,
    Enrolment,
    EnrolmentState,
    LegalForm,
    Organisation,
    OrgKind,
    Program,
    StatusGrant,
    StatusKind,
    counterparty_document_path,
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
    required = {"short_name": name, "inn": inn, "phone": phone, "contact_name": contact_name}
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
    from django.core.exceptions import ValidationError

    return ValidationError(_("Обязательное поле."), code="required")


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
        raise Conflict(_("Программа сейчас не принимает заявки."), code="program_closed")
    state = EnrolmentState.ACTIVE if program.auto_approve else EnrolmentState.APPLIED
    with transaction.atomic():
        existing = Enrolment.objects.filter(organisation=organisation, program=program).first()
        if existing is not None:
            if existing.state != EnrolmentState.REJECTED:
                raise Conflict(
                    _("Вы уже участвуете в этой программе или заявка подана."),
                    code="already_enrolled",
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
            raise Conflict(_("Заявка уже подана."), code="already_enrolled") from exc
        audit.record(action="partners.enrolment.created", obj=enrolment, after={"state": state})
        if state == EnrolmentState.ACTIVE:  # auto-approved: the same event as an approval
            outbox.emit(
                "partners.enrolment.active",
                {"id": enrolment.pk, "from": EnrolmentState.APPLIED, "to": state, "reason": ""},
                organisation_id=organisation.pk,
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


# --- statuses (spec "Statuses") ----------------------------------------------------------------


def _day(value: dt.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"


def _period(grant: StatusGrant) -> str:
    if grant.valid_until is None:
        return str(_("с %(start)s, бессрочно") % {"start": _day(grant.valid_from)})
    return str(
        _("с %(start)s по %(end)s")
        % {"start": _day(grant.valid_from), "end": _day(grant.valid_until)}
    )


def _grant_snapshot(grant: StatusGrant) -> dict[str, Any]:
    return {
        "status": grant.status.code,
        "valid_from": grant.valid_from.isoformat(),
        "valid_until": grant.valid_until.isoformat() if grant.valid_until else None,
    }


def _overlapping(
    *,
    organisation: Organisation,
    status: StatusKind,
    valid_from: dt.date,
    valid_until: dt.date | None,
) -> StatusGrant | None:
    qs = StatusGrant.objects.filter(organisation=organisation, status=status).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=valid_from)
    )
    if valid_until is not None:
        qs = qs.filter(valid_from__lte=valid_until)
    return qs.order_by("valid_from").first()


def status_grant(
    *,
    organisation: Organisation,
    status: StatusKind,
    valid_from: dt.date,
    valid_until: dt.date | None = None,
    note: str = "",
    by: User | None = None,
) -> StatusGrant:
    """Grant ``status`` to a partner for the days ``valid_from``..``valid_until`` (both included;
    no end: until ended). Refuses an end before the start and a period that overlaps another
    grant of the same kind for the partner. Audited; emits ``partners.status.granted``.

    The partner's row is locked while the overlap is checked, so two staff members granting at
    the same moment are serialised (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's IMMEDIATE
    transactions hold the write lock from the start).
    """
    errors: dict[str, list[Any]] = {}
    if organisation.kind != OrgKind.PARTNER:
        errors["organisation"] = [_("Статусы присваиваются только партнёрам.")]
    if status is None or not status.is_active:
        errors["status"] = [_("Выберите вид статуса из списка.")]
    if valid_from is None:
        errors["valid_from"] = [_("Обязательное поле.")]
    elif valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = [_("Дата окончания раньше даты начала.")]
    if errors:
        raise ValidationFailed(_("Проверьте выделенные поля."), fields=errors)
    with transaction.atomic():
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        clash = _overlapping(
            organisation=organisation,
            status=status,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        if clash is not None:
            message = _(
                "Статус «%(status)s» уже присвоен на пересекающийся период (%(period)s)."
            ) % {"status": status.name, "period": _period(clash)}
            raise ValidationFailed(message, fields={"valid_from": [message]})
        grant = StatusGrant.objects.create(
            organisation=organisation,
            status=status,
            valid_from=valid_from,
            valid_until=valid_until,
            note=note.strip(),
            granted_by=by,
            granted_at=clock.now(),
        )
        audit.record(
            action="partners.status.granted",
            obj=grant,
            before=None,
            after={**_grant_snapshot(grant), "note": grant.note},
            actor=by,
        )
        outbox.emit(
            "partners.status.granted",
            {"id": grant.pk, **_grant_snapshot(grant)},
            organisation_id=organisation.pk,
        )
    return grant


def status_end(
    *,
    grant: StatusGrant,
    on: dt.date,
    reason: str = "",
    by: User | None = None,
) -> StatusGrant:
    """End a grant early: its last day becomes ``on`` (not before its first day, and earlier
    than the end it had). A racing change of the same grant is refused (conditional update).
    Audited; emits ``partners.status.ended``."""
    before = grant.valid_until
    if on is None:
        raise ValidationFailed(
            _("Проверьте выделенные поля."), fields={"on": [_("Обязательное поле.")]}
        )
    if on < grant.valid_from:
        message = _(
            "Статус начинает действовать %(start)s: последний день не может быть раньше."
        ) % {"start": _day(grant.valid_from)}
        raise ValidationFailed(message, fields={"on": [message]})
    if before is not None and on >= before:
        message = _("Статус и так действует только по %(end)s.") % {"end": _day(before)}
        raise ValidationFailed(message, fields={"on": [message]})
    reason = reason.strip()
    moment = clock.now()
    with transaction.atomic():
        updated = StatusGrant.objects.filter(pk=grant.pk, valid_until=before).update(
            valid_until=on, ended_at=moment, ended_by=by, end_reason=reason
        )
        if updated != 1:
            raise Conflict(_("Статус уже изменён другим запросом."), code="stale_state")
        grant.refresh_from_db()
        audit.record(
            action="partners.status.ended",
            obj=grant,
            before={"valid_until": before.isoformat() if before else None},
            after={"valid_until": on.isoformat(), "reason": reason},
            actor=by,
        )
        outbox.emit(
            "partners.status.ended",
            {"id": grant.pk, **_grant_snapshot(grant), "reason": reason},
            organisation_id=grant.organisation_id,
        )
    return grant


def status_kind_create(
    *, code: str, name: str, description: str = "", by: User | None = None
) -> StatusKind:
    """Add a kind of status the vendor grants (beyond the seeded ones)."""
    return _kind_create(
        StatusKind,
        action="partners.status_kind.created",
        by=by,
        code=code,
        name=name,
        description=description,
    )


def _kind_create(model: type, *, action: str, by: User | None, **values: Any) -> Any:
    code = str(values.get("code") or "").strip().lower()
    name = str(values.get("name") or "").strip()
    errors: dict[str, list[Any]] = {}
    if not code:
        errors["code"] = [_("Обязательное поле.")]
    elif not code.replace("-", "").replace("_", "").isalnum() or not code.isascii():
        errors["code"] = [_("Код — латинские буквы, цифры, дефис и подчёркивание.")]
    if not name:
        errors["name"] = [_("Обязательное поле.")]
    if errors:
        raise ValidationFailed(_("Проверьте выделенные поля."), fields=errors)
    values = {**values, "code": code, "name": name}
    try:
        with transaction.atomic():
            kind = model.objects.create(**values)
            audit.record(action=action, obj=kind, after={"code": code, "name": name}, actor=by)
    except IntegrityError as exc:
        message = _("Вид с таким кодом уже есть.")
        raise ValidationFailed(message, fields={"code": [message]}) from exc
    return kind


# --- counterparty documents (spec "Contract", step 1) ------------------------------------------


def counterparty_document_kind_create(
    *,
    code: str,
    name: str,
    description: str = "",
    applies_to: str = DocumentAppliesTo.BOTH,
    required: bool = True,
    position: int = 100,
    by: User | None = None,
) -> CounterpartyDocumentKind:
    """Add a kind of document the vendor asks of partners for the counterparty check."""
    if applies_to not in DocumentAppliesTo.values:
        raise ValidationFailed(
            _("Проверьте выделенные поля."), fields={"applies_to": [_("Выберите из списка.")]}
        )
    return _kind_create(
        CounterpartyDocumentKind,
        action="partners.counterparty_document_kind.created",
        by=by,
        code=code,
        name=name,
        description=description.strip(),
        applies_to=applies_to,
        required=required,
        position=position,
    )


def counterparty_document_upload(
    *,
    organisation: Organisation,
    kind: CounterpartyDocumentKind,
    upload: IO[bytes] | None,
    name: str,
    by: User | None = None,
) -> CounterpartyDocument:
    """A partner uploads a file for a kind of counterparty document.

    The file must be a PDF, JPEG or PNG by content (``partners.uploads.sniff``; errors name the
    field ``file``). It is stored under a random name; a current upload of the kind is
    superseded (history kept) and the new one waits for review. On any refusal nothing is
    stored: neither the row nor the file.
    """
    if not kind.is_active or not kind.applies_to_form(organisation.legal_form):
        message = _("Этот документ у вас не запрашивается.")
        raise ValidationFailed(message, fields={"kind": [message]})
    sniffed = uploads.sniff(upload, name=name, field="file")
    stored_name = default_storage.save(
        counterparty_document_path(organisation.pk, sniffed.extension),
        ContentFile(sniffed.content),
    )
    try:
        with transaction.atomic():
            current = (
                CounterpartyDocument.objects.filter(organisation=organisation, kind=kind)
                .exclude(state=CounterpartyDocumentState.SUPERSEDED)
                .first()
            )
            if current is not None:
                transition(current, to=CounterpartyDocumentState.SUPERSEDED, by=by)
            document = CounterpartyDocument.objects.create(
                organisation=organisation,
                kind=kind,
                file=stored_name,
                original_name=sniffed.original_name,
                content_type=sniffed.content_type,
                size=sniffed.size,
                sha256=sniffed.sha256,
                uploaded_by=by,
                uploaded_at=clock.now(),
            )
            audit.record(
                action="partners.counterparty_document.uploaded",
                obj=document,
                after={
                    "kind": kind.code,
                    "name": document.original_name,
                    "content_type": document.content_type,
                    "size": document.size,
                    "sha256": document.sha256,
                    "replaces": current.pk if current is not None else None,
                },
                actor=by,
            )
            outbox.emit(
                "partners.counterparty_document.uploaded",
                {"id": document.pk, "kind": kind.code},
                organisation_id=organisation.pk,
            )
    except IntegrityError as exc:  # a parallel upload of the same kind won
        default_storage.delete(stored_name)
        raise Conflict(
            _("Документ этого вида только что загружен другим запросом. Обновите страницу."),
            code="stale_state",
        ) from exc
    except BaseException:
        default_storage.delete(stored_name)
        raise
    return document


def counterparty_document_review(
    *,
    document: CounterpartyDocument,
    accept: bool,
    reason: str = "",
    by: User | None = None,
) -> CounterpartyDocument:
    """Staff accept an upload or ask for it again (a reason is required and sent to the partner).
    Goes through ``COUNTERPARTY_DOCUMENT_MACHINE``: a superseded upload or one reviewed by a
    racing request is refused."""
    to = CounterpartyDocumentState.ACCEPTED if accept else CounterpartyDocumentState.ASKED_AGAIN
    return transition(
        document,
        to=to,
        by=by,
        reason=reason,
        extra={
            "review_reason": reason.strip() if not accept else "",
            "reviewed_by": by,
            "reviewed_at": clock.now(),
        },
    )
