"""No 500 from any API input (issue 14, "What to build" 2): schemathesis against the project's own
OpenAPI schema (/api/schema/), with a vendor administrator's token and with a partner owner's
token, on the demo data (``partnerhub demo_load``).

Every operation gets positive and negative examples (bounded, deterministic: hypothesis
``derandomize``, no shrinking), with the path parameters schemathesis makes up (mostly 404, so a
third of the examples) and with the ids of real demo objects (a deal and a partner code of
«Альфа», an open lead), so that bodies reach the services; positive examples carry a fresh
Idempotency-Key each, so that writes are not answered from an earlier example's key. The only
check is ``not_a_server_error``. Requests go in-process through the WSGI application (no server).

``FUZZ_EXAMPLES`` bounds the examples per operation and mode (CI default 15).
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup

from partnerhub.accounts.services import api_token_create
from partnerhub.leads.models import Deal, Lead, LeadState
from partnerhub.partners.models import Organisation, OrgKind
from partnerhub.referrals.models import ReferralPartner

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 15)
VENDOR_INN = "7728123459"  # the demo vendor (demo_load.VENDOR_INN)
PARTNER_INN = "5027123457"  # «Альфа Интеграция», the demo partner with deals and a partner code


@pytest.fixture
def in_process_wsgi() -> Iterator[WSGIHandler]:
    """The WSGI application, without closing the test's database connection at each request's
    start and end (as Django's test client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def demo(db) -> None:
    call_command("demo_load", stdout=io.StringIO())


def _token(who: str) -> str:
    if who == "vendor":
        vendor = Organisation.objects.get(kind=OrgKind.VENDOR, inn=VENDOR_INN)
        _token_row, raw = api_token_create(organisation=vendor, name="fuzz", role="administrator")
    else:
        partner = Organisation.objects.get(kind=OrgKind.PARTNER, inn=PARTNER_INN)
        _token_row, raw = api_token_create(organisation=partner, name="fuzz", role="owner")
    return raw


def _real_path_parameters(path: str) -> dict[str, Any]:
    """Ids of demo objects of «Альфа» for an operation's path: its deal, an open lead (to take),
    its partner code."""
    partner = Organisation.objects.get(kind=OrgKind.PARTNER, inn=PARTNER_INN)
    code = ReferralPartner.objects.filter(organisation=partner).values_list("code", flat=True)
    if "/marketplace/" in path:
        lead = Lead.objects.filter(state=LeadState.OPEN).order_by("pk").first()
        pk = lead.pk if lead else 1
    else:
        deal = Deal.objects.filter(organisation=partner).order_by("pk").first()
        pk = deal.pk if deal else 1
    return {"pk": pk, "id": pk, "code": code.first()}


def _fuzz_operation(
    operation: Any, auth: dict[str, str], path_parameters: dict[str, Any], examples: int
) -> None:
    keys = itertools.count()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategy = operation.as_strategy(
            generation_mode=mode, path_parameters=path_parameters or None
        )

        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            headers = dict(auth)
            if mode is GenerationMode.POSITIVE:
                # a fresh key, so that a write reaches the service instead of the first answer
                # to an equal key (negative examples keep the generated header)
                headers["Idempotency-Key"] = f"fuzz-{next(keys)}"
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error], headers=headers)

        run()


@pytest.mark.parametrize("who", ["vendor", "partner"])
def test_no_server_error_from_any_api_input(demo, in_process_wsgi, who):
    auth = {"Authorization": f"Token {_token(who)}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", in_process_wsgi)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    failures: list[str] = []
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        real = _real_path_parameters(operation.path)
        # made-up ids mostly meet 404: fewer examples there than with the real objects' ids
        rounds = [({}, EXAMPLES)]
        if names:
            rounds = [({}, max(EXAMPLES // 3, 3)), ({n: real[n] for n in names}, EXAMPLES)]
        for path_parameters, examples in rounds:
            try:
                _fuzz_operation(operation, auth, path_parameters, examples)
            except (Exception, FailureGroup) as exc:  # every operation's failure, together
                failures.append(f"{operation.label} {path_parameters}: {exc}")
    assert not failures, "\n\n".join(failures)
