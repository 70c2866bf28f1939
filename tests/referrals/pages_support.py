"""Helpers of the tests of the referral pages (cabinet, back office, browser): a referral
program, a partner registered through the portal and events sent through the real intake."""

from __future__ import annotations

import datetime as dt
from typing import Any

from partnerhub.partners.models import Organisation, Program, ProgramKind
from partnerhub.referrals.models import ReferralPartner
from partnerhub.referrals.services import intake
from partnerhub.referrals.services.partners import referral_partner_register
from tests.factories import ProgramFactory

MSK = dt.timezone(dt.timedelta(hours=3))
#: Partner A joins the program at this moment; the pages are looked at ten days later.
T0 = dt.datetime(2026, 1, 10, 9, 0, tzinfo=MSK)
NOW = T0 + dt.timedelta(days=10)


def at(days: float, start: dt.datetime = T0) -> str:
    return (start + dt.timedelta(days=days)).isoformat()


def referral_program(vendor: Organisation) -> Program:
    return ProgramFactory(vendor=vendor, kind=ProgramKind.REFERRALS, name="Реферальная программа")


def join(program: Program, organisation: Organisation, when: dt.datetime = T0) -> ReferralPartner:
    """Register the organisation in the program (the portal's path: a ``partner.registered``
    event through the intake)."""
    return referral_partner_register(program=program, organisation=organisation, at=when)


def client(eid: str, name: str, days: float, **codes: str) -> dict[str, Any]:
    return {"id": eid, "type": "client.registered", "at": at(days), "client": name, **codes}


def activity(eid: str, name: str, days: float, users: int = 5) -> dict[str, Any]:
    return {"id": eid, "type": "client.activity", "at": at(days), "client": name, "users": users}


def payment(
    eid: str, name: str, days: float, product: str, months: int, amount: str
) -> dict[str, Any]:
    return {
        "id": eid,
        "type": "payment",
        "at": at(days),
        "client": name,
        "product": product,
        "months": months,
        "amount": amount,
    }


def ingest(program: Program, events: list[dict[str, Any]]) -> intake.IngestResult:
    result = intake.events_ingest(program=program, objs=events, source="file")
    assert result.rejected == [], result.rejected
    return result


def spec_story(code: str, client_name: str = "acme.bitrix24.ru") -> list[dict[str, Any]]:
    """One attributed client: active on day 2 (1 point, 100 bonuses); Disk 1 TB for 3 months
    on day 3 (15 points, no reward: level 1 from 16 points); Team for 12 months on day 4,
    12 000 ₽ (the first tariff payment at level 1: 20% = 2 400 bonuses; +60 points, level 2);
    +12 users for 3 months on day 5, 1 000 ₽ (a later payment: 20% = 200; +3 points).
    In all: level 2, 79 active points, 2 700 bonuses."""
    prefix = client_name.split(".")[0]
    return [
        client(f"{prefix}-reg", client_name, 1, referral_code=code),
        activity(f"{prefix}-act", client_name, 2),
        payment(f"{prefix}-disk", client_name, 3, "disk.1tb", 3, "1500.00"),
        payment(f"{prefix}-team", client_name, 4, "tariff.team", 12, "12000.00"),
        payment(f"{prefix}-users", client_name, 5, "users.12", 3, "1000.00"),
    ]
