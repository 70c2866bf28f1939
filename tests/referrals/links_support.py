"""Helpers of the tests of partner codes, referral links and promo codes (helper B's tests)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from partnerhub.partners.models import Organisation, Program, ProgramKind
from partnerhub.referrals.engine.config import DEFAULT, ProgramConfig
from partnerhub.referrals.models import ReferralPartner
from partnerhub.referrals.selectors import links as link_selectors
from partnerhub.referrals.services import intake
from partnerhub.referrals.services.partners import referral_partner_register
from tests.factories import ProgramFactory

MSK = dt.timezone(dt.timedelta(hours=3))


def record_portal_events(monkeypatch: Any) -> list[dict[str, Any]]:
    """Keep every portal event the services record (and store it through the real intake)."""
    events: list[dict[str, Any]] = []
    real = intake.portal_event_record

    def recording(*, program: Program, type: str, at: dt.datetime, fields: dict[str, Any]) -> None:
        events.append({"program": program, "type": type, "at": at, "fields": dict(fields)})
        real(program=program, type=type, at=at, fields=fields)

    monkeypatch.setattr(intake, "portal_event_record", recording)
    return events


def use_config(monkeypatch: Any, **changes: Any) -> ProgramConfig:
    """Make every program use the default configuration with ``changes``."""
    config = dataclasses.replace(DEFAULT, **changes)
    monkeypatch.setattr(link_selectors, "program_config", lambda program, at=None: config)
    return config


def referral_program(vendor: Organisation, **kwargs: Any) -> Program:
    kwargs.setdefault("name", "Реферальная программа")
    return ProgramFactory(vendor=vendor, kind=ProgramKind.REFERRALS, **kwargs)


def register(
    program: Program, organisation: Organisation, at: dt.datetime | None = None
) -> ReferralPartner:
    return referral_partner_register(
        program=program,
        organisation=organisation,
        at=at or dt.datetime(2026, 3, 2, 10, 0, tzinfo=MSK),
    )
