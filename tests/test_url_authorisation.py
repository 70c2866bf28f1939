"""Who may open which URL: the table-driven test of the one permission layer (``core.access``).

``URL_TABLE`` has an entry for every named URL pattern of the project (the walk over the root
resolver fails for a pattern without one). Each entry says how to build the URL from objects of
partner A, which HTTP methods to try (with a minimal body: authorisation is decided before
validation, so a 200/302/400 from the view itself means "let through"), and the status every
actor must get. The statuses are written out here, not derived from the rules in the code, so
that loosening a rule makes this test fail.

Actors: ``anon``, ``a:<role>`` (partner A), ``b:<role>`` (partner B, where the URL points at an
object of partner A), ``vendor:<role>``, and (issue 14) the second vendor's ``vendor2:<role>``
and its partner ``c:<role>`` (see "the second vendor" below). Pages send anonymous users to the
login page (302), refuse the wrong organisation kind or role with 403 and answer 404 for another
partner's object; the API answers 401/403 with a JSON error body.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from partnerhub.accounts.models import Invitation
from partnerhub.accounts.services import api_token_create, api_token_revoke, invitation_create
from partnerhub.core.models.outbox import OutboxDelivery
from partnerhub.core.outbox import emit, fan_out
from partnerhub.notifications.models import Notification
from partnerhub.partners.models import Enrolment, EnrolmentState
from partnerhub.referrals.selectors.config import referral_programs_of
from partnerhub.referrals.selectors.standing import program_for_vendor
from partnerhub.referrals.services.config import config_version_ensure_initial
from partnerhub.referrals.services.links import promo_code_create
from partnerhub.referrals.services.live import cache_clear as referral_states_forget
from partnerhub.referrals.services.partners import referral_partner_register
from partnerhub.webhooks.services import webhook_endpoint_create
from tests.factories import ProgramFactory, UserFactory

PARTNER_A_NAME = "ООО «Альфа»"
PARTNER_B_NAME = "ООО «Бета»"

PARTNER_ROLES = ("owner", "manager", "accountant", "operator", "developer")
VENDOR_ROLES = ("program_manager", "accountant", "support", "administrator")

ANON = "anon"
A_ACTORS = tuple(f"a:{role}" for role in PARTNER_ROLES)
B_ACTORS = tuple(f"b:{role}" for role in PARTNER_ROLES)
VENDOR_ACTORS = tuple(f"vendor:{role}" for role in VENDOR_ROLES)
#: Every entry gives a status for each of these; ``b:*`` only where an object of A is involved.
BASE_ACTORS = (ANON, *A_ACTORS, *VENDOR_ACTORS)

OK = 200
FOUND = 302
BAD_REQUEST = 400
UNAUTHORISED = 401
FORBIDDEN = 403
NOT_FOUND = 404

#: Where a private page sends an anonymous user: the login page with ``next``.
LOGIN_NEXT = "login-next"


# --- compact helpers: each expands into a concrete {actor: status} dict --------------------


def same_for_all(status: int, *, anon: int | None = None) -> dict[str, int]:
    """Public URLs: every actor gets ``status`` (anonymous users ``anon`` when given)."""
    result = dict.fromkeys(BASE_ACTORS, status)
    if anon is not None:
        result[ANON] = anon
    return result


def partner_only(
    roles: tuple[str, ...] = PARTNER_ROLES,
    ok: int = OK,
    *,
    anon: int = FOUND,
    b_ok: int | None = None,
) -> dict[str, int]:
    """Partner users with ``roles`` get ``ok``; other partner roles and all vendor staff 403.

    With ``b_ok``, partner B's users are tried too: B's users with ``roles`` get ``b_ok``
    (404 where the URL points at an object of A), the others 403.
    """
    result = {ANON: anon}
    for role in PARTNER_ROLES:
        result[f"a:{role}"] = ok if role in roles else FORBIDDEN
    if b_ok is not None:
        for role in PARTNER_ROLES:
            result[f"b:{role}"] = b_ok if role in roles else FORBIDDEN
    for role in VENDOR_ROLES:
        result[f"vendor:{role}"] = FORBIDDEN
    return result


def vendor_only(
    roles: tuple[str, ...] = VENDOR_ROLES, ok: int = OK, *, anon: int = FOUND
) -> dict[str, int]:
    """Vendor staff with ``roles`` get ``ok``; other staff and every partner user 403."""
    result = {ANON: anon}
    for role in PARTNER_ROLES:
        result[f"a:{role}"] = FORBIDDEN
    for role in VENDOR_ROLES:
        result[f"vendor:{role}"] = ok if role in roles else FORBIDDEN
    return result


def split(partners: int, vendors: int, *, anon: int) -> dict[str, int]:
    """Anonymous, partner and vendor users each get their own status."""
    result = {ANON: anon}
    result.update(dict.fromkeys(A_ACTORS, partners))
    result.update(dict.fromkeys(VENDOR_ACTORS, vendors))
    return result


def own_or_staff() -> dict[str, int]:
    """A partner's own object: partner A's users and all staff 200, partner B's users 404."""
    result = partner_only(anon=UNAUTHORISED, b_ok=NOT_FOUND)
    result.update(dict.fromkeys(VENDOR_ACTORS, OK))
    return result


def admin_site(administrator: int = OK, *, anon: int = FOUND) -> dict[str, int]:
    """Django's admin: the vendor's administrator gets ``administrator``, anonymous users
    ``anon`` (the admin's own login) and every other logged-in user 403."""
    result = split(FORBIDDEN, FORBIDDEN, anon=anon)
    result["vendor:administrator"] = administrator
    return result


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One URL pattern: how to build it, what to send and what each actor gets per method."""

    expect: dict[str, dict[str, int]]  # method -> actor -> status
    kwargs: Callable[[SimpleNamespace], dict[str, Any]] | None = None
    body: dict[str, dict[str, Any]] = field(default_factory=dict)  # method -> body
    api: bool = False
    #: Where a 302 for an anonymous user must point: LOGIN_NEXT (the login page with ``next``
    #: set to the URL) or a path prefix for public views that redirect on their own.
    anon_redirect: str = LOGIN_NEXT


URL_TABLE: dict[str, Entry] = {
    # Health endpoints for load balancers (issue 17): public, no data.
    "healthz": Entry(expect={"GET": same_for_all(OK)}),
    "readyz": Entry(expect={"GET": same_for_all(OK)}),
    # Public pages.
    "home": Entry(
        # Public; it only sends everyone on: anonymous users to the login page, partners to the
        # cabinet, staff to the back office.
        expect={"GET": same_for_all(FOUND)},
        anon_redirect="/accounts/login/",
    ),
    "join": Entry(
        # Anonymous visitors see the form (an empty one comes back with errors); logged-in users
        # are sent home.
        expect={"GET": same_for_all(FOUND, anon=OK), "POST": same_for_all(FOUND, anon=OK)},
    ),
    "set_language": Entry(
        expect={"POST": same_for_all(FOUND)},
        body={"POST": {"language": "en", "next": "/"}},
        anon_redirect="/",
    ),
    "referrals:referral_redirect": Entry(
        # The public referral link: everyone goes on to the landing page with the code.
        expect={"GET": same_for_all(FOUND)},
        kwargs=lambda o: {"code": o.referral_partner.code},
        anon_redirect="https://www.bitrix24.ru/?p=",
    ),
    "accounts:login": Entry(expect={"GET": same_for_all(OK), "POST": same_for_all(OK)}),
    "accounts:logout": Entry(
        # Any logged-in user; everyone ends on the login page, anonymous users with ``next``.
        expect={"POST": same_for_all(FOUND)},
    ),
    "accounts:password_reset": Entry(
        expect={"GET": same_for_all(OK), "POST": same_for_all(OK)},
    ),
    "accounts:password_reset_done": Entry(expect={"GET": same_for_all(OK)}),
    "accounts:password_reset_confirm": Entry(
        # A valid link is swapped for the session and redirected to the set-password step.
        expect={"GET": same_for_all(FOUND), "POST": same_for_all(FOUND)},
        kwargs=lambda o: {"uidb64": o.reset_uidb64, "token": o.reset_token},
        anon_redirect="/accounts/password-reset/",
    ),
    "accounts:password_reset_complete": Entry(expect={"GET": same_for_all(OK)}),
    "accounts:invitation_accept": Entry(
        expect={"GET": same_for_all(OK), "POST": same_for_all(OK)},
        kwargs=lambda o: {"token": o.invitation_token},
    ),
    # The partner cabinet.
    "cabinet:dashboard": Entry(expect={"GET": partner_only()}),
    "cabinet:card": Entry(expect={"GET": partner_only()}),
    "cabinet:card_edit": Entry(
        expect={
            "GET": partner_only(("owner", "accountant")),
            "POST": partner_only(("owner", "accountant"), BAD_REQUEST),
        },
        body={"POST": {"short_name": ""}},
    ),
    "cabinet:card_history": Entry(expect={"GET": partner_only()}),
    "cabinet:employees": Entry(expect={"GET": partner_only()}),
    "cabinet:employee_invite": Entry(expect={"POST": partner_only(("owner",), BAD_REQUEST)}),
    "cabinet:invitation_revoke": Entry(
        # Partner B's owner passes the rule but the invitation is not B's: 404, not 403.
        expect={"POST": partner_only(("owner",), FOUND, b_ok=NOT_FOUND)},
        kwargs=lambda o: {"pk": o.invitation.pk},
    ),
    "cabinet:programs": Entry(expect={"GET": partner_only()}),
    "cabinet:program_apply": Entry(
        # Programs are the vendor's and open to every partner: B's owner and manager apply too.
        expect={"POST": partner_only(("owner", "manager"), FOUND, b_ok=FOUND)},
        kwargs=lambda o: {"pk": o.program.pk},
    ),
    # The referral standing, bonus history and clients: every partner role reads its own (a
    # partner that has not joined sees how to join).
    "cabinet:referrals": Entry(expect={"GET": partner_only()}),
    "cabinet:referral_bonuses": Entry(expect={"GET": partner_only()}),
    "cabinet:referral_clients": Entry(expect={"GET": partner_only()}),
    # The referral link and promo codes (under /cabinet/referrals/): every partner role reads;
    # the owner and the managers create and deactivate promo codes.
    "cabinet:referral_link": Entry(expect={"GET": partner_only()}),
    "cabinet:promo_codes": Entry(
        # An empty form comes back with its errors.
        expect={"GET": partner_only(), "POST": partner_only(("owner", "manager"), BAD_REQUEST)},
    ),
    "cabinet:promo_code_deactivate": Entry(
        # Partner B's owner and manager pass the rule but the code is A's: 404, not 403.
        expect={"POST": partner_only(("owner", "manager"), FOUND, b_ok=NOT_FOUND)},
        kwargs=lambda o: {"pk": o.promo_code.pk},
    ),
    # Notifications (under /cabinet/notifications/): every logged-in user has their own list.
    "notifications:list": Entry(expect={"GET": split(OK, OK, anon=FOUND)}),
    "notifications:read": Entry(
        # The notification is A's owner's: any other logged-in user gets 404, not 403.
        expect={
            "POST": {
                **split(NOT_FOUND, NOT_FOUND, anon=FOUND),
                **dict.fromkeys(B_ACTORS, NOT_FOUND),
                "a:owner": FOUND,
            }
        },
        kwargs=lambda o: {"pk": o.notification.pk},
    ),
    "notifications:read_all": Entry(expect={"POST": split(FOUND, FOUND, anon=FOUND)}),
    "notifications:settings": Entry(
        # Email settings are for partner users (the emails go to partners); a post without the
        # form's marker is refused and changes nothing.
        expect={"GET": partner_only(), "POST": partner_only(ok=BAD_REQUEST)},
    ),
    # Webhooks (under /cabinet/webhooks/): the partner's owner and developer; another
    # partner's endpoint is a 404.
    "webhooks:endpoints": Entry(expect={"GET": partner_only(("owner", "developer"))}),
    "webhooks:endpoint_create": Entry(
        expect={"POST": partner_only(("owner", "developer"), BAD_REQUEST)},
    ),
    "webhooks:endpoint_detail": Entry(
        expect={"GET": partner_only(("owner", "developer"), b_ok=NOT_FOUND)},
        kwargs=lambda o: {"pk": o.webhook_endpoint.pk},
    ),
    "webhooks:endpoint_deactivate": Entry(
        expect={"POST": partner_only(("owner", "developer"), FOUND, b_ok=NOT_FOUND)},
        kwargs=lambda o: {"pk": o.webhook_endpoint.pk},
    ),
    "webhooks:endpoint_activate": Entry(
        expect={"POST": partner_only(("owner", "developer"), FOUND, b_ok=NOT_FOUND)},
        kwargs=lambda o: {"pk": o.webhook_endpoint.pk},
    ),
    "webhooks:endpoint_delete": Entry(
        expect={"POST": partner_only(("owner", "developer"), FOUND, b_ok=NOT_FOUND)},
        kwargs=lambda o: {"pk": o.webhook_endpoint.pk},
    ),
    # The vendor back office.
    "backoffice:dashboard": Entry(expect={"GET": vendor_only()}),
    "backoffice:partners": Entry(expect={"GET": vendor_only()}),
    "backoffice:partner_detail": Entry(
        expect={"GET": vendor_only()},
        kwargs=lambda o: {"pk": o.partner_a_pk},
    ),
    "backoffice:enrolment_decide": Entry(
        # An empty decision is refused by the view with a message and a redirect.
        expect={"POST": vendor_only(("program_manager", "administrator"), FOUND)},
        kwargs=lambda o: {"pk": o.enrolment.pk},
    ),
    "backoffice:audit_log": Entry(
        # Staff who investigate what happened; the vendor's accountants do not need it.
        expect={"GET": vendor_only(("program_manager", "support", "administrator"))},
    ),
    "backoffice:outbox": Entry(
        # Deliveries and dead letters: the staff who answer partners about their integrations.
        expect={"GET": vendor_only(("program_manager", "support", "administrator"))},
    ),
    "backoffice:outbox_retry": Entry(
        # Only the administrator requeues; the delivery is pending, so the view refuses with a
        # message and a redirect.
        expect={"POST": vendor_only(("administrator",), FOUND)},
        kwargs=lambda o: {"pk": o.outbox_delivery.pk},
    ),
    # The referral program's pages: all staff read; the program manager and the administrator
    # adjust, import, verify and recompute (an empty form comes back with its errors; verify
    # with nothing to report and recompute redirect to the partners page).
    "backoffice:referrals": Entry(expect={"GET": vendor_only()}),
    "backoffice:referral_export": Entry(expect={"GET": vendor_only()}),
    "backoffice:referral_partner": Entry(
        expect={"GET": vendor_only()},
        kwargs=lambda o: referral_code_in_vendor_program(o),
    ),
    "backoffice:referral_partner_adjust": Entry(
        expect={"POST": vendor_only(("program_manager", "administrator"), BAD_REQUEST)},
        kwargs=lambda o: referral_code_in_vendor_program(o),
    ),
    "backoffice:referral_unattributed": Entry(expect={"GET": vendor_only()}),
    "backoffice:referral_events": Entry(expect={"GET": vendor_only()}),
    "backoffice:referral_events_import": Entry(
        expect={"POST": vendor_only(("program_manager", "administrator"), BAD_REQUEST)},
    ),
    # Waiting events: all staff read the list; the writers drop (nothing chosen: a message and
    # a redirect back to the list).
    "backoffice:referral_waiting": Entry(expect={"GET": vendor_only()}),
    "backoffice:referral_waiting_drop": Entry(
        expect={"POST": vendor_only(("program_manager", "administrator"), FOUND)},
    ),
    "backoffice:referral_verify": Entry(
        expect={"POST": vendor_only(("program_manager", "administrator"), FOUND)},
    ),
    "backoffice:referral_recompute": Entry(
        expect={"POST": vendor_only(("program_manager", "administrator"), FOUND)},
    ),
    # The referral program's configuration: all staff read it; the program manager and the
    # administrator add versions (an empty form comes back with its errors).
    "backoffice:referral_config": Entry(expect={"GET": vendor_only()}),
    "backoffice:referral_config_version": Entry(
        expect={"GET": vendor_only()},
        kwargs=lambda o: first_config_version(o),
    ),
    "backoffice:referral_config_new": Entry(
        expect={
            "GET": vendor_only(("program_manager", "administrator")),
            "POST": vendor_only(("program_manager", "administrator"), BAD_REQUEST),
        },
    ),
    # The API.
    "api:organisation": Entry(
        expect={"GET": split(OK, OK, anon=UNAUTHORISED)},
        api=True,
    ),
    "api:card": Entry(
        expect={
            "GET": partner_only(anon=UNAUTHORISED),
            "PATCH": partner_only(("owner", "accountant"), anon=UNAUTHORISED),
        },
        body={"PATCH": {}},
        api=True,
    ),
    "api:employees": Entry(
        expect={
            "GET": partner_only(anon=UNAUTHORISED),
            "POST": partner_only(("owner",), BAD_REQUEST, anon=UNAUTHORISED),
        },
        body={"POST": {}},
        api=True,
    ),
    # Referral events: the vendor's administrator and program manager post them; a body that is
    # not a JSON array is a 400.
    "api:referral_events": Entry(
        expect={
            "POST": vendor_only(
                ("administrator", "program_manager"), BAD_REQUEST, anon=UNAUTHORISED
            )
        },
        body={"POST": {}},
        api=True,
    ),
    # A partner's standing and history: all staff; partner A its own; partner B gets 404.
    "api:referral_standing": Entry(
        expect={"GET": own_or_staff()},
        kwargs=lambda o: {"code": o.referral_partner.code},
        api=True,
    ),
    "api:referral_history": Entry(
        expect={"GET": own_or_staff()},
        kwargs=lambda o: {"code": o.referral_partner.code},
        api=True,
    ),
    "api_schema": Entry(expect={"GET": same_for_all(OK)}, api=True),
    "api_docs": Entry(expect={"GET": same_for_all(OK)}, api=True),
    # Django's admin (only these three; the walk skips the other admin:* names, which the same
    # middleware branch guards).
    "admin:index": Entry(
        expect={"GET": admin_site()},
        anon_redirect="/admin/login/",
    ),
    "admin:login": Entry(
        # Anonymous users get the form (an empty one comes back with errors); the administrator,
        # already logged in, is sent on to the index by GET.
        expect={"GET": admin_site(FOUND, anon=OK), "POST": admin_site(OK, anon=OK)},
    ),
    "admin:partners_organisation_changelist": Entry(
        expect={"GET": admin_site()},
        anon_redirect="/admin/login/",
    ),
}

# Issue 6: each area keeps its entries (and the objects of partner A they point at) in a module
# of its own under tests/url_tables/, which imports the helpers above.
from tests.url_tables import (  # noqa: E402
    contracts,
    documents,
    leads_api,
    leads_backoffice,
    leads_cabinet,
    leads_crm,
    leads_report,
    partners,
    payouts,
)

AREAS = (
    partners,
    contracts,
    documents,
    payouts,
    leads_api,
    leads_cabinet,
    leads_backoffice,
    leads_crm,
    leads_report,
)
for _area in AREAS:
    URL_TABLE.update(_area.TABLE)


# --- the second vendor (issue 14) -----------------------------------------------------------
#
# Vendor 2's staff (``vendor2:<role>``) and its partner C (``c:<role>``) are tried on every URL.
# Their statuses are written out from the first vendor's and partner B's columns above, by one
# rule each, so that every entry is checked for cross-vendor leaks as it is for cross-partner
# ones:
# - vendor 2's staff get 403 where vendor 1's staff of the same role do; on a URL whose path
#   names an object (all of them partner A's, in vendor 1's programs) and is not public, the
#   role that vendor 1 lets through gets 404; anywhere else (lists, forms, public pages) what
#   vendor 1's staff get, on vendor 2's own data (the bodies are checked for vendor 1's
#   partners by ``test_vendor2_never_sees_vendor1_partners``);
# - partner C, enrolled only with vendor 2, gets what partner B gets where B is tried (A's
#   objects: 404), nothing else is tried for C.
# Django's admin is the operator's tool, not scoped by vendor: vendor 2's administrator is staff
# but not a superuser there (see ``ADMIN_VENDOR2``).

VENDOR2_ACTORS = tuple(f"vendor2:{role}" for role in VENDOR_ROLES)
C_ACTORS = tuple(f"c:{role}" for role in PARTNER_ROLES)

#: Vendor 2's administrator in Django's admin: logged in as staff without permissions, the
#: index shows an empty admin, a model's changelist is refused.
ADMIN_VENDOR2 = {
    ("admin:index", "GET"): OK,
    ("admin:login", "GET"): FOUND,
    ("admin:login", "POST"): OK,
    ("admin:partners_organisation_changelist", "GET"): FORBIDDEN,
}


def url_takes_arguments() -> dict[str, bool]:
    """Whether each named URL pattern has arguments in its path (it names an object)."""
    found: dict[str, bool] = {}

    def walk(resolver: URLResolver, namespace: str, groups: int) -> None:
        for pattern in resolver.url_patterns:
            inner_groups = groups + pattern.pattern.regex.groups
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern, inner, inner_groups)
            elif pattern.name:
                prefix = f"{namespace}:" if namespace else ""
                found[f"{prefix}{pattern.name}"] = inner_groups > 0

    walk(get_resolver(), "", 0)
    return found


#: Where partner C is not like partner B: B is eligible in vendor 1's lead marketplace and takes
#: its untaken lead; C is not in that marketplace, so the lead does not exist for C.
C_NOT_LIKE_B = {("api:marketplace_lead_take", "POST"), ("cabinet:lead_take", "POST")}


def _vendor2_statuses(name: str, method: str, statuses: dict[str, int], names_object: bool):
    public = len({statuses[actor] for actor in BASE_ACTORS}) == 1
    for role in VENDOR_ROLES:
        first = statuses[f"vendor:{role}"]
        if name.startswith("admin:"):
            second = FORBIDDEN if role != "administrator" else ADMIN_VENDOR2[(name, method)]
        elif first == FORBIDDEN:
            second = FORBIDDEN
        elif names_object and not public:
            second = NOT_FOUND
        else:
            second = first
        statuses[f"vendor2:{role}"] = second
    if f"b:{PARTNER_ROLES[0]}" in statuses:
        for role in PARTNER_ROLES:
            second = statuses[f"b:{role}"]
            if (name, method) in C_NOT_LIKE_B and second != FORBIDDEN:
                second = NOT_FOUND
            statuses[f"c:{role}"] = second


_TAKES_ARGUMENTS = url_takes_arguments()
for _name, _entry in URL_TABLE.items():
    for _method, _statuses in _entry.expect.items():
        _vendor2_statuses(_name, _method, _statuses, _TAKES_ARGUMENTS.get(_name, False))


# --- fixtures -------------------------------------------------------------------------------


def first_config_version(objects: SimpleNamespace) -> dict[str, Any]:
    """Version 1 of the vendor's referral programs (the data migration makes it)."""
    for program in referral_programs_of(objects.program.vendor):
        config_version_ensure_initial(program=program)
    return {"version": 1}


def referral_code_in_vendor_program(objects: SimpleNamespace) -> dict[str, Any]:
    """Partner A's code in the program the back office's referral pages show (the vendor's
    first referral program), registering A there."""
    program = program_for_vendor(vendor=objects.program.vendor)
    assert program is not None
    registered = referral_partner_register(
        program=program, organisation=objects.referral_partner.organisation, at=timezone.now()
    )
    return {"code": registered.code}


class AreaObjects(SimpleNamespace):
    """The objects of partner A; those of the issue 6 areas (``AREAS``) are made on first use,
    area by area, so a case builds only what its URL points at (a case is a URL and a method,
    asked by ~22 actors)."""

    def __init__(self, world: Any, **objects: Any) -> None:
        super().__init__(**objects)
        self.__dict__["_world"] = world
        self.__dict__["_pending"] = list(AREAS)

    def __getattr__(self, name: str) -> Any:
        pending = self.__dict__.get("_pending", [])
        while pending:
            self.__dict__.update(pending.pop(0).objects(self.__dict__["_world"]))
            if name in self.__dict__:
                return self.__dict__[name]
        raise AttributeError(name)


@pytest.fixture
def a_objects(world) -> SimpleNamespace:
    """Objects of partner A the URLs point at (and a few that must never leak to partner B),
    and vendor 2's programs with partner C (vendor 2's staff work on their own data)."""
    world.vendor2_programs()
    owner = world.user("a:owner")
    invitation, invitation_token = invitation_create(
        organisation=world.partner_a, email="invitee@a.example", role="manager", invited_by=owner
    )
    program = ProgramFactory(vendor=world.vendor, name="Программа для заявок")
    enrolled_in = ProgramFactory(vendor=world.vendor, name="Программа с участием")
    enrolment = Enrolment.objects.create(
        organisation=world.partner_a, program=enrolled_in, state=EnrolmentState.APPLIED
    )
    # The reset link belongs to a user who never logs in here: logging in changes last_login,
    # which invalidates the link.
    reset_user = UserFactory(organisation=world.partner_a, role="manager", email="reset@a.example")
    notification = Notification.objects.create(
        user=owner,
        organisation=world.partner_a,
        event_id=uuid.uuid4(),
        kind="partners.card.updated",
        title="Карточка организации изменена",
    )
    # the name does not resolve here; the SSRF guard's own tests check resolving
    with override_settings(WEBHOOK_ALLOW_LOCAL=True):
        webhook_endpoint = webhook_endpoint_create(
            organisation=world.partner_a, url="https://crm.alfa.example/hooks", created_by=owner
        )
    webhook_event = emit("partners.card.updated", {}, organisation_id=world.partner_a.pk)
    fan_out(webhook_event.pk)  # what the worker does once the event is committed
    referral_partner = referral_partner_register(
        program=ProgramFactory(vendor=world.vendor, name="Реферальная программа А"),
        organisation=world.partner_a,
        at=timezone.now(),
    )
    promo_code = promo_code_create(
        partner=referral_partner,
        code="ALFA-2026",
        client_bonus="month",
        valid_from=timezone.localdate(),
        valid_until=timezone.localdate(),
        actor=owner,
    )
    return AreaObjects(
        world,
        referral_partner=referral_partner,
        promo_code=promo_code,
        webhook_endpoint=webhook_endpoint,
        outbox_delivery=OutboxDelivery.objects.get(event=webhook_event, handler="webhooks"),
        notification=notification,
        invitation=invitation,
        invitation_token=invitation_token,
        program=program,
        enrolment=enrolment,
        partner_a_pk=world.partner_a.pk,
        reset_uidb64=urlsafe_base64_encode(force_bytes(reset_user.pk)),
        reset_token=default_token_generator.make_token(reset_user),
    )


def client_for(world, actor: str) -> Client:
    client = Client()
    if actor != ANON:
        client.force_login(world.user(actor))
    return client


def send(client: Client, method: str, url: str, body: dict[str, Any] | None, *, api: bool):
    if method == "GET":
        return client.get(url)
    if api:
        return client.generic(method, url, json.dumps(body or {}), content_type="application/json")
    return client.post(url, body or {})


# --- the walk over every URL pattern --------------------------------------------------------


def walk_patterns(
    resolver: URLResolver, namespace: str = "", route: str = "/"
) -> Iterator[tuple[str, str | None, str]]:
    """(namespace, ``namespace:name`` or None, route and view) of every pattern, through every
    include; nested namespaces are joined with ``:``."""
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk_patterns(pattern, inner, f"{route}{pattern.pattern}")
        else:
            prefix = f"{namespace}:" if namespace else ""
            name = f"{prefix}{pattern.name}" if pattern.name else None
            yield namespace, name, f"{route}{pattern.pattern} ({pattern.lookup_str})"


def test_every_url_pattern_has_an_entry_in_the_table():
    names: set[str] = set()
    problems: list[str] = []
    for namespace, name, description in walk_patterns(get_resolver()):
        if name is not None:
            names.add(name)
        if namespace.split(":")[0] == "admin":
            # Django's admin: the table holds admin:index, admin:login and one changelist; every
            # other admin:* view (and the admin's unnamed catch-all) goes through the same
            # ADMIN_SITE branch of AccessMiddleware, so the walk skips them.
            continue
        if name is None:
            problems.append(f"unnamed URL pattern {description}: name it and add it to URL_TABLE")
        elif name not in URL_TABLE:
            problems.append(f"URL {name!r} {description} has no entry in URL_TABLE")
    for name in sorted(URL_TABLE.keys() - names):
        problems.append(f"URL_TABLE entry {name!r} matches no URL pattern")
    assert not problems, "\n".join(problems)


def test_every_entry_gives_a_status_for_every_actor(world):
    assert set(world.users) == {*A_ACTORS, *B_ACTORS, *VENDOR_ACTORS}, "roles changed"
    assert set(world.vendor2_users) == {*C_ACTORS, *VENDOR2_ACTORS}, "roles changed"
    for name, entry in URL_TABLE.items():
        for method, statuses in entry.expect.items():
            missing = {*BASE_ACTORS, *VENDOR2_ACTORS} - set(statuses)
            assert not missing, f"{name} {method}: no status for {sorted(missing)}"
            assert all(isinstance(status, int) for status in statuses.values())


# --- the matrix -----------------------------------------------------------------------------

CASES = [
    pytest.param(name, method, id=f"{name}-{method}")
    for name, entry in URL_TABLE.items()
    for method in entry.expect
]


class _Undo(Exception):
    """Raised to roll back the savepoint of one actor's request."""


def status_problems(world, a_objects, name: str, method: str) -> list[str]:
    """What each actor of ``URL_TABLE[name]`` gets for ``method``, against the table: one line a
    difference. The objects are built once; each actor's request runs in a savepoint that is
    rolled back after it (with the in-memory referral states), so a request that changes data
    (a POST let through) never changes what the next actor finds."""
    entry = URL_TABLE[name]
    url = reverse(name, kwargs=entry.kwargs(a_objects) if entry.kwargs else None)
    problems: list[str] = []
    for actor, expected in entry.expect[method].items():
        where = f"{method} {url} ({name}) as {actor}"
        try:
            with transaction.atomic():
                response = send(
                    client_for(world, actor), method, url, entry.body.get(method), api=entry.api
                )
                raise _Undo
        except _Undo:
            pass
        finally:
            referral_states_forget()
        if response.status_code != expected:
            problems.append(f"{where}: expected {expected}, got {response.status_code}")
            continue
        if actor == ANON and response.status_code == FOUND:
            location = response["Location"]
            if entry.anon_redirect == LOGIN_NEXT:
                if location != f"/accounts/login/?next={quote(url)}":
                    problems.append(f"{where}: sent to {location}")
            elif not location.startswith(entry.anon_redirect):
                problems.append(f"{where}: sent to {location}")
        if entry.api and response.status_code in {UNAUTHORISED, FORBIDDEN}:
            code = {UNAUTHORISED: "not_authenticated", FORBIDDEN: "permission_denied"}
            error = response.json()["error"]
            if error["code"] != code[response.status_code]:
                problems.append(f"{where}: error code {error}")
            if set(error) != {"code", "message", "fields"}:
                problems.append(f"{where}: error body {error}")
    return problems


@pytest.mark.parametrize(("name", "method"), CASES)
def test_status_of_url_for_every_actor(world, a_objects, name, method):
    """Every actor of the entry gets its status (one case a URL and method: the objects are
    made once for the ~22 actors, not once an actor)."""
    problems = status_problems(world, a_objects, name, method)
    assert not problems, "\n".join(problems)


def test_a_let_through_post_of_one_actor_is_undone_before_the_next(world, a_objects):
    """The savepoint a request: partner A's owner revoking the invitation (let through) does not
    leave it revoked for the next actor, who would otherwise get a different status."""
    invitation_pk = a_objects.invitation.pk
    problems = status_problems(world, a_objects, "cabinet:invitation_revoke", "POST")
    assert not problems, "\n".join(problems)
    assert Invitation.objects.get(pk=invitation_pk).revoked_at is None


# --- object scoping -------------------------------------------------------------------------


def test_partner_b_cannot_revoke_an_invitation_of_partner_a(world, a_objects, login_as):
    url = reverse("cabinet:invitation_revoke", kwargs={"pk": a_objects.invitation.pk})
    response = login_as("b:owner").post(url)
    assert response.status_code == NOT_FOUND
    invitation = Invitation.objects.get(pk=a_objects.invitation.pk)
    assert invitation.revoked_at is None
    assert invitation.state(timezone.now()) == "pending"
    # The same request by A's owner works: the 404 above is scoping, not a broken URL.
    assert login_as("a:owner").post(url).status_code == FOUND
    invitation.refresh_from_db()
    assert invitation.state(timezone.now()) == "revoked"


def test_partner_b_never_sees_partner_a_in_the_cabinet(world, a_objects, login_as):
    client = login_as("b:owner")
    # Partner A's deal on a lead whose contacts only A may see, and a lead nobody took.
    secrets_of_leads = [
        value
        for lead in (a_objects.lead_deal.lead, a_objects.lead_untaken)
        for value in (lead.contact_name, lead.contact_phone, lead.contact_email)
    ]
    checked = []
    for name, entry in URL_TABLE.items():
        if not name.startswith("cabinet:") or "GET" not in entry.expect:
            continue
        if entry.expect["GET"].get("b:owner") == NOT_FOUND:
            continue  # an object of partner A: the matrix checks that B gets 404
        url = reverse(name, kwargs=entry.kwargs(a_objects) if entry.kwargs else None)
        response = client.get(url)
        assert response.status_code == OK, f"GET {url} as b:owner: {response.status_code}"
        body = response.content.decode()
        assert PARTNER_A_NAME not in body, f"GET {url} shows partner A's name to partner B"
        assert a_objects.invitation.email not in body, f"GET {url} shows A's invitation to B"
        assert PARTNER_B_NAME in body, f"GET {url} does not show partner B's own name"
        for secret in secrets_of_leads:
            assert secret not in body, f"GET {url} shows a lead's contact {secret!r} to partner B"
        checked.append(name)
    assert checked == [
        "cabinet:dashboard",
        "cabinet:card",
        "cabinet:card_edit",
        "cabinet:card_history",
        "cabinet:employees",
        "cabinet:programs",
        "cabinet:referrals",
        "cabinet:referral_bonuses",
        "cabinet:referral_clients",
        "cabinet:referral_link",
        "cabinet:promo_codes",
        "cabinet:counterparty_documents",
        "cabinet:contracts",
        "cabinet:closing_documents",
        "cabinet:payouts",
        "cabinet:payout_convert",
        "cabinet:leads",
        "cabinet:lead_conditions",
        "cabinet:deals",
        "cabinet:lead_crm",
    ]


def _body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_vendor2_never_sees_vendor1_partners(world, a_objects, login_as):
    """Every back-office page and API that vendor 2's staff open without naming an object (the
    lists, the exports, the dashboard) holds nothing of partner A, enrolled only with vendor 1:
    not its name, INN, referral codes, leads, documents or vendor 1's programs."""
    # given every object of partner A the table knows, all in vendor 1's programs
    a_codes = [
        a_objects.referral_partner.code,
        referral_code_in_vendor_program(a_objects)["code"],
    ]
    first_config_version(a_objects)
    secrets = [
        PARTNER_A_NAME,
        world.partner_a.inn,
        *a_codes,
        a_objects.lead_deal.lead.company_name,
        a_objects.lead_untaken.company_name,
        a_objects.lead_untaken.contact_email,
        a_objects.closing_document.number,
        a_objects.contract.program.name,
        a_objects.payout.program.name,
        a_objects.program.name,
        a_objects.enrolment.program.name,
    ]
    # (vendor 1's staff see them: the seeds are on the pages checked below)
    vendor1 = login_as("vendor:administrator")
    assert PARTNER_A_NAME in vendor1.get(reverse("backoffice:partners")).content.decode()
    assert a_codes[1] in vendor1.get(reverse("backoffice:referrals")).content.decode()
    checked = []
    for name, entry in URL_TABLE.items():
        statuses = entry.expect.get("GET", {})
        if not name.startswith(("backoffice:", "api:")) or _TAKES_ARGUMENTS.get(name):
            continue
        role = next((r for r in VENDOR_ROLES if statuses.get(f"vendor2:{r}") == OK), None)
        if role is None:
            continue
        url = reverse(name, kwargs=entry.kwargs(a_objects) if entry.kwargs else None)
        response = login_as(f"vendor2:{role}").get(url)
        assert response.status_code == OK, f"GET {url} as vendor2:{role}: {response.status_code}"
        body = _body(response)
        for secret in secrets:
            assert secret not in body, f"GET {url} shows vendor 1's {secret!r} to vendor 2"
        checked.append(name)
    assert {"backoffice:dashboard", "backoffice:partners", "backoffice:referrals"} <= set(checked)
    assert len(checked) >= 25, checked


# --- API tokens -----------------------------------------------------------------------------


def test_api_token_reads_its_own_organisation_card(world):
    _token, raw = api_token_create(organisation=world.partner_b, name="ci", role="owner")
    response = Client().get("/api/v1/card/", HTTP_AUTHORIZATION=f"Token {raw}")
    assert response.status_code == OK
    card = response.json()
    assert card["short_name"] == PARTNER_B_NAME
    assert card["inn"] == world.partner_b.inn
    assert PARTNER_A_NAME not in response.content.decode()


def test_revoked_api_token_is_refused(world):
    token, raw = api_token_create(organisation=world.partner_b, name="ci", role="owner")
    api_token_revoke(organisation=world.partner_b, token_id=token.pk)
    response = Client().get("/api/v1/card/", HTTP_AUTHORIZATION=f"Token {raw}")
    assert response.status_code == UNAUTHORISED
    assert response.json()["error"]["code"] == "not_authenticated"


def test_developer_api_token_reads_but_does_not_change_the_card(world):
    _token, raw = api_token_create(organisation=world.partner_b, name="dev", role="developer")
    client = Client(HTTP_AUTHORIZATION=f"Token {raw}")
    assert client.get("/api/v1/card/").status_code == OK
    response = client.patch(
        "/api/v1/card/", json.dumps({"phone": "+7 495 000-00-00"}), content_type="application/json"
    )
    assert response.status_code == FORBIDDEN
    assert response.json()["error"]["code"] == "permission_denied"
    world.partner_b.refresh_from_db()
    assert world.partner_b.phone != "+7 495 000-00-00"
