"""Writes of leads: creation from every source, withdrawal, expiry (issue 7, part 2; spec
leads.md, "Leads").

``lead_create`` is the one entry of every source (the site form, the API, the file import and
staff): it validates every field and names the bad one in ``ValidationFailed.fields``; the phone
is normalised to E.164 (Russia by default), the email validated, the region taken from the active
list. A lead with an external id is created once per (program, source, external id): creating it
again returns the first one (the unique constraint settles a race). A lead expires
``lead_lifetime_days`` after publication (``leads_expire``, hourly task); staff may withdraw it
with a reason. Both moves go through ``core.transitions`` (audit row, event
``leads.lead.<state>``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from partnerhub.core import audit, outbox
from partnerhub.core.audit import system_actor
from partnerhub.core.clock import now as clock_now
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.text import clean_name
from partnerhub.core.transitions import transition
from partnerhub.leads import rules, selectors
from partnerhub.leads.error_codes import LeadsErrorCode
from partnerhub.leads.errors import TooManyLeadRequests
from partnerhub.leads.models import CompanySize, Lead, LeadSource, LeadState, Need, Region
from partnerhub.partners.models import Program, ProgramKind

__all__ = ["lead_create", "lead_withdraw", "leads_expire", "site_lead_submit"]

#: Field lengths of ``Lead`` (checked before the database would).
_MAX = {"company_name": 300, "contact_name": 200, "external_id": 100, "description": 5000}


def user_of(by: Any) -> Any:
    """The user to store in a foreign key: a real user, never an API-token principal."""
    return by if getattr(by, "pk", None) and not hasattr(by, "token") else None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _region_checked(region: Any, errors: dict[str, list[str | Promise]]) -> Region | None:
    if isinstance(region, Region):
        if region.is_active:
            return region
        errors["region"] = [_("Этот регион больше не используется.")]
        return None
    code = _text(region)
    if not code:
        errors["region"] = [_("Выберите регион.")]
        return None
    found = Region.objects.filter(code=code, is_active=True).first()
    if found is None:
        errors["region"] = [_("Нет такого региона в списке.")]
    return found


def _program_checked(program: Any, errors: dict[str, list[str | Promise]]) -> Program | None:
    if not isinstance(program, Program) or program.kind != ProgramKind.LEADS:
        errors["program"] = [_("Это не программа биржи заявок.")]
        return None
    return program


def lead_create(
    *,
    program: Program,
    company_name: str,
    region: Region | str,
    company_size: str,
    need: str,
    description: str = "",
    contact_name: str,
    contact_phone: str = "",
    contact_email: str = "",
    source: str,
    external_id: str = "",
    source_ip: str | None = None,
    consent_at: dt.datetime | None = None,
    created_by: Any = None,
    now: dt.datetime | None = None,
) -> Lead:
    """Publish a lead on the marketplace of ``program``.

    Raises ``ValidationFailed`` naming every bad field (nothing is written). With an
    ``external_id`` the same (program, source, external id) returns the lead created first.
    Emits ``leads.lead.published`` with ``{"lead_id"}``.
    """
    errors: dict[str, list[str | Promise]] = {}
    program_ok = _program_checked(program, errors)
    values = {
        "company_name": clean_name(company_name),
        "contact_name": clean_name(contact_name),
        "description": _text(description),
        "external_id": _text(external_id),
    }
    if not values["company_name"]:
        errors["company_name"] = [_("Укажите название компании.")]
    if not values["contact_name"]:
        errors["contact_name"] = [_("Укажите контактное лицо.")]
    for name, limit in _MAX.items():
        if len(values[name]) > limit and name not in errors:
            errors[name] = [_("Не длиннее %(limit)s символов.") % {"limit": limit}]
    if company_size not in CompanySize.values:
        errors["company_size"] = [_("Выберите размер компании из списка.")]
    if need not in Need.values:
        errors["need"] = [_("Выберите, что нужно клиенту, из списка.")]
    if source not in LeadSource.values:
        errors["source"] = [_("Неизвестный источник заявки.")]
    region_ok = _region_checked(region, errors)
    phone = _text(contact_phone)
    email = _text(contact_email).lower()
    if phone:
        try:
            phone = rules.normalise_phone(phone)
        except ValueError as exc:
            errors["contact_phone"] = [str(exc)]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["contact_email"] = [_("Адрес эл. почты указан неверно.")]
        if len(email) > 254:
            errors["contact_email"] = [_("Адрес эл. почты слишком длинный.")]
    if not phone and not email and "contact_phone" not in errors:
        errors["contact_phone"] = [_("Укажите телефон или эл. почту.")]
    ip = _text(source_ip) or None
    if ip is not None:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            errors["source_ip"] = [_("Неверный IP-адрес.")]
    if errors:
        raise ValidationFailed(_("Проверьте поля заявки."), fields=errors)
    assert program_ok is not None and region_ok is not None
    if values["external_id"]:
        existing = _by_external_id(program_ok, source, values["external_id"])
        if existing is not None:
            return existing
    moment = now or clock_now()
    lifetime = selectors.lead_settings_for(program_ok).lead_lifetime_days
    try:
        with transaction.atomic():
            lead = Lead.objects.create(
                program=program_ok,
                region=region_ok,
                company_size=company_size,
                need=need,
                contact_phone=phone,
                contact_email=email,
                source=source,
                source_ip=ip,
                consent_at=consent_at,
                published_at=moment,
                expires_at=moment + dt.timedelta(days=lifetime),
                created_by=user_of(created_by),
                created_at=moment,
                **values,
            )
            audit.record(
                action="leads.lead.created",
                obj=lead,
                after={"source": source, "external_id": values["external_id"]},
                actor=created_by,
            )
            outbox.emit(
                "leads.lead.published", {"lead_id": lead.pk}, vendor_id=audit.vendor_of(lead)
            )
    except IntegrityError:
        existing = _by_external_id(program_ok, source, values["external_id"])
        if existing is None:
            raise
        return existing
    return lead


def _by_external_id(program: Program, source: str, external_id: str) -> Lead | None:
    if not external_id:
        return None
    return Lead.objects.filter(program=program, source=source, external_id=external_id).first()


def lead_withdraw(*, lead: Lead, reason: str, by: Any) -> Lead:
    """Take an open lead off the marketplace (staff); the reason is required. Deals already
    made on it stay with their partners."""
    reason = _text(reason)
    if not reason:
        raise ValidationFailed(
            _("Укажите причину снятия заявки."), fields={"reason": [_("Обязательное поле.")]}
        )
    if lead.state != LeadState.OPEN:
        raise Conflict(_("Заявка уже не открыта."), code=LeadsErrorCode.LEAD_NOT_OPEN)
    return transition(
        lead, to=LeadState.WITHDRAWN, by=by, reason=reason, extra={"state_reason": reason[:500]}
    )


def leads_expire(*, now: dt.datetime | None = None) -> int:
    """Move every open lead whose time is up to "expired"; returns how many moved. Safe to run
    twice (a lead another run moved first is skipped)."""
    moment = now or clock_now()
    due = Lead.objects.filter(state=LeadState.OPEN, expires_at__lte=moment).order_by("pk")
    moved = 0
    with system_actor("leads.expire"):
        for lead in list(due):
            try:
                transition(lead, to=LeadState.EXPIRED)
            except Conflict:
                continue
            moved += 1
    return moved


#: The class of PostgreSQL advisory locks that serialise the site form's requests of one address.
SITE_FORM_LOCK_CLASS = 0x4C46  # "LF"


def site_lead_submit(
    *, program: Program, ip: str | None, fields: dict[str, Any], now: dt.datetime | None = None
) -> Lead:
    """A client's request from the vendor's site form: a lead of source "site" with the moment
    of the client's personal-data consent and its address.

    At most ``settings.LEAD_FORM_PER_IP_PER_HOUR`` leads an address an hour, exactly, even when
    a bot posts in parallel: the count and the insert run in one transaction serialised per
    address (an advisory lock on PostgreSQL; SQLite runs one writer at a time). Past the limit,
    ``TooManyLeadRequests``; bad fields, ``ValidationFailed`` as ``lead_create`` names them.
    """
    moment = now or clock_now()
    with transaction.atomic():
        if ip:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                        [SITE_FORM_LOCK_CLASS, ip],
                    )
            sent = Lead.objects.filter(
                source=LeadSource.SITE, source_ip=ip, created_at__gte=moment - dt.timedelta(hours=1)
            ).count()
            if sent >= settings.LEAD_FORM_PER_IP_PER_HOUR:
                raise TooManyLeadRequests(
                    _("Слишком много заявок с вашего адреса. Попробуйте через час.")
                )
        return lead_create(
            program=program,
            source=LeadSource.SITE,
            source_ip=ip,
            consent_at=moment,
            now=moment,
            **fields,
        )
