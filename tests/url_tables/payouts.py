"""URL_TABLE entries of the payouts pages (issue 6); see tests/test_url_authorisation.py.

Every partner role reads its own payouts (partner B: 404); the owner and the accountant convert
bonuses and mark documents sent. Every member of the vendor's staff reads payouts and
registers; the vendor's accountant accepts, rejects, builds, exports and pays registers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from partnerhub.core import clock
from partnerhub.partners.models import ProgramKind
from partnerhub.payouts.models import PaymentRegister, Payout, PayoutState, RegisterItem
from tests.factories import ProgramFactory
from tests.test_url_authorisation import (
    BAD_REQUEST,
    FOUND,
    NOT_FOUND,
    Entry,
    partner_only,
    vendor_only,
)

PAYING = ("owner", "accountant")
ACCOUNTANT = ("accountant",)

TABLE: dict[str, Entry] = {
    "cabinet:payouts": Entry(expect={"GET": partner_only()}),
    "cabinet:payout_convert": Entry(
        # An empty form comes back with its errors.
        expect={"GET": partner_only(PAYING), "POST": partner_only(PAYING, BAD_REQUEST)},
    ),
    "cabinet:payout_detail": Entry(
        expect={"GET": partner_only(b_ok=NOT_FOUND)},
        kwargs=lambda o: {"pk": o.payout.pk},
    ),
    "cabinet:payout_mark_sent": Entry(
        # Partner B's owner and accountant pass the rule but the payout is A's: 404.
        expect={"POST": partner_only(PAYING, FOUND, b_ok=NOT_FOUND)},
        kwargs=lambda o: {"pk": o.payout.pk},
    ),
    "backoffice:payouts": Entry(expect={"GET": vendor_only()}),
    "backoffice:payout_detail": Entry(
        expect={"GET": vendor_only()}, kwargs=lambda o: {"pk": o.payout.pk}
    ),
    "backoffice:payout_accept": Entry(
        expect={"POST": vendor_only(ACCOUNTANT, FOUND)}, kwargs=lambda o: {"pk": o.payout.pk}
    ),
    "backoffice:payout_reject": Entry(
        # No reason: the form comes back with its error.
        expect={"POST": vendor_only(ACCOUNTANT, BAD_REQUEST)},
        kwargs=lambda o: {"pk": o.payout.pk},
    ),
    "backoffice:payout_registers": Entry(expect={"GET": vendor_only()}),
    "backoffice:payout_register_create": Entry(
        expect={"POST": vendor_only(ACCOUNTANT, BAD_REQUEST)}
    ),
    "backoffice:payout_register": Entry(
        expect={"GET": vendor_only()}, kwargs=lambda o: {"pk": o.payout_register.pk}
    ),
    "backoffice:payout_register_csv": Entry(
        expect={"GET": vendor_only(ACCOUNTANT)}, kwargs=lambda o: {"pk": o.payout_register.pk}
    ),
    "backoffice:payout_register_1c": Entry(
        expect={"GET": vendor_only(ACCOUNTANT)}, kwargs=lambda o: {"pk": o.payout_register.pk}
    ),
    "backoffice:payout_register_paid": Entry(
        expect={"POST": vendor_only(ACCOUNTANT, FOUND)},
        kwargs=lambda o: {"pk": o.payout_register.pk},
    ),
    "backoffice:payout_register_cancel": Entry(
        expect={"POST": vendor_only(ACCOUNTANT, FOUND)},
        kwargs=lambda o: {"pk": o.payout_register.pk},
    ),
}


def objects(world: Any) -> dict[str, Any]:
    """A payout of partner A with sent documents, and an open register of another of its
    payouts, accepted."""
    program = ProgramFactory(
        vendor=world.vendor, name="Программа выплат А", kind=ProgramKind.REFERRALS
    )
    common = {
        "organisation": world.partner_a,
        "vendor": world.vendor,
        "program": program,
        "amount": Decimal("6000.00"),
        "created_at": clock.now(),
    }
    payout = Payout.objects.create(
        **common, idempotency_key="url-table-1", state=PayoutState.SENT, due_on=clock.today()
    )
    in_register = Payout.objects.create(
        **common, idempotency_key="url-table-2", state=PayoutState.ACCEPTED
    )
    register = PaymentRegister.objects.create(vendor=world.vendor, number=1, created_at=clock.now())
    RegisterItem.objects.create(register=register, payout=in_register)
    return {"payout": payout, "payout_register": register}
