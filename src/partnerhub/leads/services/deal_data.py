"""Writes of a deal's data and events: the partner keeps the deal current (issue 7, part 5;
spec leads.md "Working the deal"; seed, point 4: events, company data, the main contact, the
services offered). A closed deal is read-only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from partnerhub.core import audit
from partnerhub.core.clock import now as clock_now
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.input import InputRefused, parse_amount
from partnerhub.core.text import clean_name
from partnerhub.core.validators import validate_inn
from partnerhub.leads import rules
from partnerhub.leads.errors import DealClosed
from partnerhub.leads.models import Deal, DealEvent, DealEventKind
from partnerhub.leads.services.leads import user_of

__all__ = ["DEAL_EDITABLE_FIELDS", "EVENT_HORIZON", "deal_event_add", "deal_update"]

#: What the partner keeps current on a deal (company data, main contact, services, amount).
DEAL_EDITABLE_FIELDS = (
    "company_name",
    "company_inn",
    "company_website",
    "company_employees",
    "contact_name",
    "contact_position",
    "contact_phone",
    "contact_email",
    "services",
    "amount",
)
_TEXT_LIMITS = {
    "company_name": 300,
    "company_website": 300,
    "contact_name": 200,
    "contact_position": 200,
    "services": 10000,
}
#: Names staff and partners read: without bidi controls and invisible characters.
_NAME_FIELDS = frozenset({"company_name", "contact_name", "contact_position"})


def _text_of(name: str, raw: Any) -> str:
    if name in _NAME_FIELDS:
        return clean_name(raw)
    return "" if raw is None else str(raw).strip()


def _field_value(name: str, raw: Any, errors: dict[str, list[str | Promise]]) -> Any:
    if name == "amount":
        if raw in (None, ""):
            return None
        try:  # range-checked before quantizing: "1e30", 1e308, NaN are refused, not a 500
            return parse_amount(raw)
        except InputRefused as exc:
            errors[name] = [exc.reason]
            return None
    if name == "company_employees":
        if raw in (None, ""):
            return None
        try:
            number = int(raw)
        except (TypeError, ValueError):
            errors[name] = [_("Введите число сотрудников.")]
            return None
        if number < 0 or number > 10_000_000:
            errors[name] = [_("Введите число сотрудников.")]
            return None
        return number
    text = _text_of(name, raw)
    if not text:
        return ""
    if name == "company_inn":
        try:
            return validate_inn(text)
        except ValidationError as exc:
            errors[name] = list(exc.messages)
            return ""
    if name == "contact_phone":
        try:
            return rules.normalise_phone(text)
        except ValueError as exc:
            errors[name] = [str(exc)]
            return ""
    if name == "contact_email":
        try:
            validate_email(text)
        except ValidationError:
            errors[name] = [_("Адрес эл. почты указан неверно.")]
        return text.lower()
    limit = _TEXT_LIMITS.get(name)
    if limit is not None and len(text) > limit:
        errors[name] = [_("Не длиннее %(limit)s символов.") % {"limit": limit}]
    return text


def deal_update(*, deal: Deal, by: Any, **fields: Any) -> Deal:
    """Update the deal's company data, main contact, services and amount (``DEAL_EDITABLE_FIELDS``;
    any other name is refused). Every bad field is named; a closed deal is refused."""
    errors: dict[str, list[str | Promise]] = {}
    for name in fields:
        if name not in DEAL_EDITABLE_FIELDS:
            errors[name] = [_("Это поле сделки не меняется.")]
    values = {
        name: _field_value(name, raw, errors)
        for name, raw in fields.items()
        if name in DEAL_EDITABLE_FIELDS
    }
    if errors:
        raise ValidationFailed(_("Проверьте поля сделки."), fields=errors)
    with transaction.atomic():
        fresh = Deal.objects.select_for_update().get(pk=deal.pk)
        if not fresh.is_open:
            raise DealClosed(_("Сделка закрыта: её данные больше не меняются."))
        before = {name: _plain(getattr(fresh, name)) for name in values}
        Deal.objects.filter(pk=deal.pk).update(**values)
        changed_before, changed_after = audit.diff(
            before, {name: _plain(value) for name, value in values.items()}
        )
        if changed_after:
            audit.record(
                action="leads.deal.updated",
                obj=fresh,
                before=changed_before,
                after=changed_after,
                actor=by,
            )
    deal.refresh_from_db()
    return deal


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


#: How far ahead an event may be planned (a meeting next month, not a typo in the year).
EVENT_HORIZON = dt.timedelta(days=366)


def deal_event_add(
    *, deal: Deal, kind: str, happened_at: dt.datetime, text: str, by: Any
) -> DealEvent:
    """Record a call, meeting or note on an open deal with the time it happened (not before
    the take, at most a year ahead: a planned meeting); keeps the deal's first and last event
    times (the reports' "time to first event", stuck deals)."""
    errors: dict[str, list[str | Promise]] = {}
    if kind not in DealEventKind.values:
        errors["kind"] = [_("Выберите вид события: звонок, встреча или заметка.")]
    if not isinstance(happened_at, dt.datetime) or happened_at.tzinfo is None:
        errors["happened_at"] = [_("Укажите дату и время события.")]
    elif happened_at < deal.taken_at.replace(second=0, microsecond=0):
        # Contacts open only with the take: nothing could happen with the client before it.
        # Forms give minutes, so a call logged in the minute of the take is that minute.
        errors["happened_at"] = [_("Событие не может быть раньше, чем заявка взята в работу.")]
    elif happened_at > clock_now() + EVENT_HORIZON:
        errors["happened_at"] = [_("Событие не может быть позже, чем через год.")]
    body = (text or "").strip()
    if not body:
        errors["text"] = [_("Опишите событие.")]
    elif len(body) > 10000:
        errors["text"] = [_("Не длиннее 10000 символов.")]
    if errors:
        raise ValidationFailed(_("Проверьте поля события."), fields=errors)
    with transaction.atomic():
        if not Deal.objects.filter(pk=deal.pk, is_open=True).exists():
            raise DealClosed(_("Сделка закрыта: события больше не добавляются."))
        event = DealEvent.objects.create(
            deal=deal, kind=kind, happened_at=happened_at, text=body, author=user_of(by)
        )
        moment = Value(happened_at, output_field=DateTimeField())
        Deal.objects.filter(pk=deal.pk).update(
            first_event_at=Case(
                When(
                    Q(first_event_at__isnull=True) | Q(first_event_at__gt=happened_at), then=moment
                ),
                default=F("first_event_at"),
            ),
            last_event_at=Case(
                When(Q(last_event_at__isnull=True) | Q(last_event_at__lt=happened_at), then=moment),
                default=F("last_event_at"),
            ),
        )
        audit.record(
            action="leads.deal.event_added",
            obj=deal,
            after={"event_id": event.pk, "kind": kind, "happened_at": happened_at.isoformat()},
            actor=by,
        )
    deal.refresh_from_db()
    return event
