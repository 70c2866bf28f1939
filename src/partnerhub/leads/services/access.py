"""Writes of a partner's access to a lead marketplace: the conditions it declares and the staff's
check of its page (issue 7, part 1; "Lead-marketplace conditions" in partners-and-contracts.md;
seed, point 1).

- Page: the partner submits the URL of its page about implementation packages -> pending; staff
  accept it or reject it with a reason. A changed URL goes back to pending.
- Tariff: the partner declares the tariff of its own CRM with the portal address (cloud) or the
  licence key (on-premise); eligible tariffs are ``ELIGIBLE_TARIFFS``.
- App: the partner "installs the app" in the cabinet by accepting the personal-data agreement of
  ``LeadProgramSettings.agreement_version``; the version and the time are kept, and a new
  version must be accepted again (the condition is unmet until then).
- Digest: opt in to new leads of chosen regions.

Each function returns the ``MarketplaceAccess`` and writes an audit row in its transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from partnerhub.core import audit, outbox
from partnerhub.core.clock import now as clock_now
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.leads import rules, selectors
from partnerhub.leads.error_codes import LeadsErrorCode
from partnerhub.leads.models import CrmTariff, MarketplaceAccess, PageState, Region
from partnerhub.leads.services.leads import user_of
from partnerhub.partners.models import Organisation, Program, ProgramKind

__all__ = [
    "marketplace_app_install",
    "marketplace_crm_declare",
    "marketplace_digest_set",
    "marketplace_page_review",
    "marketplace_page_submit",
]

_URL = URLValidator(schemes=["http", "https"])


def _access(organisation: Organisation, program: Program) -> MarketplaceAccess:
    if program.kind != ProgramKind.LEADS:
        raise ValidationFailed(
            _("Это не программа биржи заявок."),
            fields={"program": [_("Выберите программу биржи заявок.")]},
        )
    return selectors.marketplace_access_of(organisation=organisation, program=program)


def marketplace_page_submit(
    *, organisation: Organisation, program: Program, url: str, by: Any
) -> MarketplaceAccess:
    """Record the URL of the partner's page about implementation packages; a new or changed URL
    (or one submitted again after a rejection) waits for the staff's check."""
    value = (url or "").strip()
    try:
        if not value:
            raise ValidationError("empty")
        _URL(value)
    except ValidationError:
        raise ValidationFailed(
            _("Укажите адрес страницы."),
            fields={"page_url": [_("Введите адрес страницы, начиная с https://.")]},
        ) from None
    if len(value) > 500:
        raise ValidationFailed(
            _("Адрес слишком длинный."), fields={"page_url": [_("Не длиннее 500 символов.")]}
        )
    access = _access(organisation, program)
    if value == access.page_url and access.page_state in (PageState.PENDING, PageState.ACCEPTED):
        return access
    with transaction.atomic():
        before = {"page_url": access.page_url, "page_state": access.page_state}
        MarketplaceAccess.objects.filter(pk=access.pk).update(
            page_url=value, page_state=PageState.PENDING, page_reason=""
        )
        access.refresh_from_db()
        audit.record(
            action="leads.access.page_submitted",
            obj=access,
            before=before,
            after={"page_url": value, "page_state": PageState.PENDING},
            actor=by,
        )
        outbox.emit(
            "leads.page.pending",
            {"access_id": access.pk, "page_url": value},
            organisation_id=organisation.pk,
            vendor_id=audit.vendor_of(access),
        )
    return access


def marketplace_page_review(
    *, access: MarketplaceAccess, accept: bool, reason: str = "", by: Any
) -> MarketplaceAccess:
    """Staff accept a pending page or reject it with a reason (the partner sees the reason).

    Refused (``Conflict`` ``page_not_pending``) when the page is not waiting for a check, e.g.
    another member of staff was first."""
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ValidationFailed(
            _("Укажите причину отклонения."), fields={"reason": [_("Обязательное поле.")]}
        )
    state = PageState.ACCEPTED if accept else PageState.REJECTED
    with transaction.atomic():
        updated = MarketplaceAccess.objects.filter(
            pk=access.pk, page_state=PageState.PENDING, page_url=access.page_url
        ).update(
            page_state=state,
            page_reason="" if accept else reason[:500],
            page_checked_at=clock_now(),
            page_checked_by=user_of(by),
        )
        if updated != 1:
            raise Conflict(
                _("Страница не ждёт проверки: возможно, её уже проверили или адрес изменился."),
                code=LeadsErrorCode.PAGE_NOT_PENDING,
            )
        access.refresh_from_db()
        audit.record(
            action=f"leads.access.page_{state}",
            obj=access,
            before={"page_state": PageState.PENDING},
            after={"page_state": state, "reason": reason},
            actor=by,
        )
        outbox.emit(
            f"leads.page.{state}",
            {"access_id": access.pk, "reason": reason},
            organisation_id=access.organisation_id,
            vendor_id=audit.vendor_of(access),
        )
    return access


def marketplace_crm_declare(
    *, organisation: Organisation, program: Program, tariff: str, portal: str, by: Any
) -> MarketplaceAccess:
    """Declare the partner's own CRM: its tariff and the portal address (cloud tariffs) or the
    licence key (on-premise). Both are checked for format; "none" clears the portal."""
    if tariff not in CrmTariff.values:
        raise ValidationFailed(
            _("Выберите тариф CRM."), fields={"tariff": [_("Выберите тариф из списка.")]}
        )
    reference = ""
    if tariff != CrmTariff.NONE:
        kind = "licence_key" if tariff == CrmTariff.ON_PREMISE else "portal"
        try:
            reference = rules.validate_won_reference(kind, portal)
        except ValueError as exc:
            raise ValidationFailed(str(exc), fields={"portal": [str(exc)]}) from None
    access = _access(organisation, program)
    with transaction.atomic():
        before = {"crm_tariff": access.crm_tariff, "crm_portal": access.crm_portal}
        MarketplaceAccess.objects.filter(pk=access.pk).update(
            crm_tariff=tariff, crm_portal=reference
        )
        access.refresh_from_db()
        audit.record(
            action="leads.access.crm_declared",
            obj=access,
            before=before,
            after={"crm_tariff": tariff, "crm_portal": reference},
            actor=by,
        )
    return access


def marketplace_app_install(
    *,
    organisation: Organisation,
    program: Program,
    agreement_version: str,
    by: Any,
    now: dt.datetime | None = None,
) -> MarketplaceAccess:
    """Install the marketplace app: accept the personal-data agreement of the program's current
    version (kept with the time and the user). A version other than the current one (a page
    opened before the agreement changed) is refused, naming the field ``agreement_version``."""
    current = selectors.lead_settings_for(program).agreement_version
    if (agreement_version or "").strip() != current:
        raise ValidationFailed(
            _("Соглашение обновлено: прочитайте действующую редакцию и примите её."),
            fields={"agreement_version": [_("Действующая редакция: %(v)s.") % {"v": current}]},
        )
    moment = now or clock_now()
    access = _access(organisation, program)
    with transaction.atomic():
        before = {
            "agreement_version": access.agreement_version,
            "app_installed": access.app_installed_at is not None,
        }
        MarketplaceAccess.objects.filter(pk=access.pk).update(
            app_installed_at=access.app_installed_at or moment,
            agreement_version=current,
            agreement_accepted_at=moment,
            agreement_accepted_by=user_of(by),
        )
        access.refresh_from_db()
        audit.record(
            action="leads.access.agreement_accepted",
            obj=access,
            before=before,
            after={"agreement_version": current, "accepted_at": moment.isoformat()},
            actor=by,
        )
    return access


def marketplace_digest_set(
    *,
    organisation: Organisation,
    program: Program,
    opt_in: bool,
    regions: Iterable[Region | str],
    by: Any,
) -> MarketplaceAccess:
    """Subscribe to (or leave) the digest of new leads in the chosen regions (instances or
    codes). Opting in needs at least one region."""
    chosen: list[Region] = []
    codes = []
    for region in regions or []:
        if isinstance(region, Region):
            chosen.append(region)
        else:
            codes.append(str(region).strip())
    if codes:
        found = list(Region.objects.filter(code__in=codes, is_active=True))
        if len(found) != len(set(codes)):
            raise ValidationFailed(
                _("Проверьте регионы."), fields={"regions": [_("Нет такого региона в списке.")]}
            )
        chosen.extend(found)
    if opt_in and not chosen:
        raise ValidationFailed(
            _("Выберите регионы."), fields={"regions": [_("Выберите хотя бы один регион.")]}
        )
    access = _access(organisation, program)
    with transaction.atomic():
        MarketplaceAccess.objects.filter(pk=access.pk).update(digest_opt_in=bool(opt_in))
        access.regions.set(chosen)
        access.refresh_from_db()
        audit.record(
            action="leads.access.digest_set",
            obj=access,
            after={"opt_in": bool(opt_in), "regions": sorted(r.code for r in chosen)},
            actor=by,
        )
    return access
