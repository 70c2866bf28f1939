"""Writes of a lead marketplace's rules (LeadProgramSettings) from the back office (issue 7;
spec leads.md: "a program setting; default 3", "the vendor may cap how many partners take one
lead", "leads expire after a configurable time").

``lead_settings_update`` changes the caps, the lead lifetime, the warning and stale days, the
personal-data agreement (version and text) and whether the site form takes requests; one
transaction, an audit row with the values before and after. A new agreement version means every
partner accepts it again before taking leads (the eligibility check compares versions).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from partnerhub.core import audit
from partnerhub.core.errors import ValidationFailed
from partnerhub.leads.models import LeadProgramSettings
from partnerhub.partners.models import Program, ProgramKind

__all__ = ["EDITABLE_FIELDS", "lead_settings_update"]

EDITABLE_FIELDS = (
    "open_deal_cap",
    "partners_per_lead_cap",
    "lead_lifetime_days",
    "expiry_warning_days",
    "stale_deal_days",
    "agreement_version",
    "agreement_text",
    "site_form_enabled",
)
#: Upper bounds that keep a typo (3000 instead of 30) from doing harm.
_MAX_DAYS = 365
_MAX_CAP = 1000


def lead_settings_update(*, program: Program, by: Any, **fields: Any) -> LeadProgramSettings:
    """Change the given settings of ``program`` (a program of kind "leads"); the others stay.

    Raises ``ValidationFailed`` naming each bad field; nothing is changed then.
    """
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValueError(f"not editable: {', '.join(unknown)}")
    if program.kind != ProgramKind.LEADS:
        raise ValidationFailed(_("Это не программа биржи заявок."))
    with transaction.atomic():
        current, _created = LeadProgramSettings.objects.select_for_update().get_or_create(
            program=program
        )
        before = {name: getattr(current, name) for name in EDITABLE_FIELDS}
        after = {**before, **_cleaned(fields)}
        _validate(after)
        if after == before:
            return current
        for name, value in after.items():
            setattr(current, name, value)
        current.save(update_fields=list(EDITABLE_FIELDS))
        audit.record(
            action="leads.settings.updated",
            obj=current,
            organisation_id=program.vendor_id,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
            actor=by,
        )
    return current


def _cleaned(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    for name in ("agreement_version", "agreement_text"):
        if name in cleaned:
            cleaned[name] = str(cleaned[name] or "").strip()
    if "site_form_enabled" in cleaned:
        cleaned["site_form_enabled"] = bool(cleaned["site_form_enabled"])
    if cleaned.get("partners_per_lead_cap") in ("", 0):
        cleaned["partners_per_lead_cap"] = None
    return cleaned


def _validate(values: dict[str, Any]) -> None:
    errors: dict[str, list[Any]] = {}

    def whole(name: str, low: int, high: int) -> int | None:
        value = values[name]
        if value is None and name == "partners_per_lead_cap":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = [_("Целое число от %(low)d до %(high)d.") % {"low": low, "high": high}]
            return None
        return value

    whole("open_deal_cap", 1, _MAX_CAP)
    whole("partners_per_lead_cap", 1, _MAX_CAP)
    lifetime = whole("lead_lifetime_days", 1, _MAX_DAYS)
    warning = whole("expiry_warning_days", 0, _MAX_DAYS)
    whole("stale_deal_days", 1, _MAX_DAYS)
    if lifetime is not None and warning is not None and warning >= lifetime:
        errors["expiry_warning_days"] = [
            _("Предупреждать нужно раньше, чем заявка истечёт: меньше %(days)d дн.")
            % {"days": lifetime}
        ]
    version = values["agreement_version"]
    if not version:
        errors["agreement_version"] = [_("Укажите версию соглашения.")]
    elif len(version) > 32:
        errors["agreement_version"] = [_("Не длиннее 32 символов.")]
    if errors:
        raise ValidationFailed(_("Проверьте настройки биржи заявок."), fields=errors)
