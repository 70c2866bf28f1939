"""Write use cases of partner statuses granted by vendor staff (spec "Statuses", issue 6).

Each function is one transaction with an audit row and an outbox event; refusals store nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerhub.accounts.models import User
from partnerhub.core import audit, clock, outbox
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.partners.models import (
    CounterpartyDocumentKind,
    Organisation,
    OrgKind,
    StatusGrant,
    StatusKind,
)


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
    vendor: Organisation | None = None,
) -> StatusGrant:
    """Grant ``status`` to a partner for the days ``valid_from``..``valid_until`` (both included;
    no end: until ended). Refuses an end before the start, a period that overlaps another
    grant of the same kind for the partner and, with ``vendor`` (its staff granting), a kind of
    another vendor's catalogue. Audited; emits ``partners.status.granted``.

    The partner's row is locked while the overlap is checked, so two staff members granting at
    the same moment are serialised (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's IMMEDIATE
    transactions hold the write lock from the start).
    """
    errors: dict[str, list[Any]] = {}
    if organisation.kind != OrgKind.PARTNER:
        errors["organisation"] = [_("Статусы присваиваются только партнёрам.")]
    if (
        status is None
        or not status.is_active
        or (vendor is not None and status.vendor_id != vendor.pk)
    ):
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
            vendor_id=status.vendor_id,
        )
        outbox.emit(
            "partners.status.granted",
            {"id": grant.pk, **_grant_snapshot(grant)},
            organisation_id=organisation.pk,
            vendor_id=status.vendor_id,
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
            raise Conflict(_("Статус уже изменён другим запросом."), code=CoreErrorCode.STALE_STATE)
        grant.refresh_from_db()
        audit.record(
            action="partners.status.ended",
            obj=grant,
            before={"valid_until": before.isoformat() if before else None},
            after={"valid_until": on.isoformat(), "reason": reason},
            actor=by,
            vendor_id=grant.status.vendor_id,
        )
        outbox.emit(
            "partners.status.ended",
            {"id": grant.pk, **_grant_snapshot(grant), "reason": reason},
            organisation_id=grant.organisation_id,
            vendor_id=grant.status.vendor_id,
        )
    return grant


def status_kind_create(
    *, vendor: Organisation, code: str, name: str, description: str = "", by: User | None = None
) -> StatusKind:
    """Add a kind of status ``vendor`` grants (beyond the seeded ones); the code is unique in
    the vendor's catalogue."""
    return _kind_create(
        StatusKind,
        action="partners.status_kind.created",
        by=by,
        vendor=vendor,
        code=code,
        name=name,
        description=description,
    )


def _kind_create(
    model: type[StatusKind] | type[CounterpartyDocumentKind],
    *,
    action: str,
    by: User | None,
    vendor: Organisation,
    **values: Any,
) -> Any:
    code = str(values.get("code") or "").strip().lower()
    name = str(values.get("name") or "").strip()
    errors: dict[str, list[Any]] = {}
    if vendor.kind != OrgKind.VENDOR:
        errors["vendor"] = [_("Виды статусов и документов заводятся только для вендора.")]
    if not code:
        errors["code"] = [_("Обязательное поле.")]
    elif not code.replace("-", "").replace("_", "").isalnum() or not code.isascii():
        errors["code"] = [_("Код — латинские буквы, цифры, дефис и подчёркивание.")]
    if not name:
        errors["name"] = [_("Обязательное поле.")]
    if errors:
        raise ValidationFailed(_("Проверьте выделенные поля."), fields=errors)
    values = {**values, "vendor": vendor, "code": code, "name": name}
    try:
        with transaction.atomic():
            kind = model.objects.create(**values)
            audit.record(action=action, obj=kind, after={"code": code, "name": name}, actor=by)
    except IntegrityError as exc:
        message = _("Вид с таким кодом уже есть.")
        raise ValidationFailed(message, fields={"code": [message]}) from exc
    return kind
