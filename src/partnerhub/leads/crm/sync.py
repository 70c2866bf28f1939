"""Sync of marketplace deals with the partner's own CRM, both ways (issue 7 part 6; spec
leads.md "The partner's own CRM").

Ours to theirs, ``deal_push(deal_id)`` (run by the outbox handler, retried with backoff when it
raises):

1. the custom fields ``UF_CRM_PARTNERHUB_DEAL`` (our deal id) and ``UF_CRM_PARTNERHUB_PORTAL``
   (where the partner types the client's portal or licence key when it wins in its CRM) and
   the pipeline "Заявки на внедрение" are ensured once per connection
   (``crm.deal.userfield.list/add``, ``crm.category.list/add``); ``category_id`` is remembered
   on the connection only after all three exist;
2. our deal is looked up there first (``crm.deal.list`` filtered by ``UF_CRM_PARTNERHUB_DEAL``),
   so that a retry after a timeout never duplicates it; the contact likewise
   (``crm.contact.list`` by ``ORIGINATOR_ID``/``ORIGIN_ID``);
3. otherwise ``crm.contact.add`` (the reveal of personal data is audited, channel "crm") and
   ``crm.deal.add``; the twin is kept in ``CrmDealLink``;
4. later pushes send our stage (``crm.deal.update``) when it differs from the twin's.

Theirs to ours, ``deal_pull(deal_id)`` (the poll and our inbound webhook): ``crm.deal.get``;
a changed stage goes through the leads services with ``source="crm"``: open stages move, a
lost deal closes with reason "other", a won deal closes only with a valid portal or licence key
in ``UF_CRM_PARTNERHUB_PORTAL`` (otherwise it stays open and the conflict is shown to the
partner in ``last_error`` and in the log). A change that came from the CRM is recorded as the
twin's stage at once, so the push it causes finds nothing to send.

Decisions the brief left open:

- Two pushes of one deal at once (a take and a quick stage change, two workers) would both
  miss the lookup and both add. The first claims the deal with a placeholder ``CrmDealLink``
  (``remote_deal_id = "pending-<id>"``; the one-to-one on the deal decides); the second gets a
  retryable ``CrmBusy`` and the outbox brings it back. A claim older than ``CLAIM_LEASE`` (a
  worker died) is taken over.
- Two first pushes of one connection may both add the pipeline; after adding we list again and
  use the lowest id of that name, so both converge on one pipeline.
- A stage of the partner's own making (``C5:UC_...``) is remembered but changes nothing here.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from partnerhub.core import clock
from partnerhub.core.errors import ApplicationError
from partnerhub.leads import rules, services
from partnerhub.leads.crm.client import CrmClient, CrmError
from partnerhub.leads.models import (
    OPEN_STAGES,
    PIPELINE_NAME,
    CrmCall,
    CrmCallOutcome,
    CrmConnection,
    CrmDealLink,
    Deal,
    DealStage,
    LostReason,
    RevealChannel,
    WonKind,
)

logger = logging.getLogger(__name__)

#: The portal's entity type of deals (``entityTypeId`` of ``crm.category.*``).
DEAL_ENTITY_TYPE = 2
DEAL_FIELD = "UF_CRM_PARTNERHUB_DEAL"
PORTAL_FIELD = "UF_CRM_PARTNERHUB_PORTAL"
ORIGINATOR = "partnerhub"
PENDING_PREFIX = "pending-"
#: A claim on a deal's first push older than this is taken over (its worker died).
CLAIM_LEASE = dt.timedelta(minutes=5)

#: Our stage -> the stage's code in the portal (prefixed ``C<category>:``).
STAGE_TO_REMOTE: dict[str, str] = {
    DealStage.NEW: "NEW",
    DealStage.CONTACTED: "PREPARATION",
    DealStage.MEETING: "PREPAYMENT_INVOICE",
    DealStage.PROPOSAL: "EXECUTING",
    DealStage.WON: "WON",
    DealStage.LOST: "LOSE",
}
#: The portal's stage codes -> ours (its standard stages beyond ours included).
STAGE_FROM_REMOTE: dict[str, str] = {
    **{remote: ours for ours, remote in STAGE_TO_REMOTE.items()},
    "FINAL_INVOICE": DealStage.PROPOSAL,
    "APOLOGY": DealStage.LOST,
}

#: Custom fields ensured in the portal: name -> (label, help).
USER_FIELDS: dict[str, str] = {
    DEAL_FIELD: "Номер сделки в partnerhub",
    PORTAL_FIELD: "Адрес портала или лицензионный ключ клиента",
}


class CrmBusy(CrmError):
    """Another worker is pushing this deal right now; retry later."""

    def __init__(self, deal_id: int) -> None:
        super().__init__(
            f"deal {deal_id} is being pushed by another worker",
            outcome=CrmCallOutcome.NETWORK,
            retryable=True,
        )


def remote_stage(stage: str, category_id: str) -> str:
    """Our stage as the portal's ``STAGE_ID`` in pipeline ``category_id``."""
    code = STAGE_TO_REMOTE[stage]
    return code if category_id in {"", "0"} else f"C{category_id}:{code}"


def stage_from_remote(stage_id: str) -> str | None:
    """Our stage for the portal's ``STAGE_ID`` (None for a stage of the partner's making)."""
    code = (stage_id or "").split(":", 1)[-1]
    return STAGE_FROM_REMOTE.get(code)


def active_connection(organisation_id: int) -> CrmConnection | None:
    """The organisation's CRM connection, when it is switched on."""
    return CrmConnection.objects.filter(organisation_id=organisation_id, is_active=True).first()


# --- ours to theirs -------------------------------------------------------------------------


def deal_push(deal_id: int) -> CrmDealLink | None:
    """Create our deal in the partner's CRM, or bring its stage there up to date.

    Raises ``CrmError`` when the CRM fails (the outbox retries); returns the link, or None when
    there is nothing to push (no such deal, no active connection). Safe to run twice.
    """
    deal = Deal.objects.select_related("lead").filter(pk=deal_id).first()
    if deal is None:
        return None
    connection = active_connection(deal.organisation_id)
    if connection is None:
        return None
    client = CrmClient(connection)
    try:
        link = CrmDealLink.objects.filter(deal=deal).first()
        if link is None or link.remote_deal_id.startswith(PENDING_PREFIX):
            link = _create_remote(client, deal)
        _push_stage(client, deal, link)
    except CrmError as error:
        _note_problem(connection, deal, _failure_note(error))
        raise
    _clear_problem(connection, deal)
    return link


def _create_remote(client: CrmClient, deal: Deal) -> CrmDealLink:
    """Find or create the deal's twin; the claim keeps a second worker out meanwhile."""
    connection = client.connection
    claim = _claim(deal, connection)
    try:
        category_id = ensure_setup(client)
        found = _find_remote_deal(client, deal)
        if found is not None:
            remote_id = str(found["ID"])
            contact_id = str(found.get("CONTACT_ID") or "")
            stage_id = str(found.get("STAGE_ID") or "")
        else:
            contact_id = _ensure_contact(client, deal)
            stage_id = remote_stage(deal.stage, category_id)
            remote_id = str(
                client.call(
                    "crm.deal.add", _deal_fields(deal, category_id, contact_id, stage_id), deal=deal
                )
            )
    except BaseException:
        CrmDealLink.objects.filter(pk=claim.pk, remote_deal_id=claim.remote_deal_id).delete()
        raise
    CrmDealLink.objects.filter(pk=claim.pk).update(
        remote_deal_id=remote_id,
        remote_contact_id=contact_id,
        remote_stage=stage_id,
        synced_at=clock.now(),
    )
    claim.refresh_from_db()
    return claim


def _claim(deal: Deal, connection: CrmConnection) -> CrmDealLink:
    """The placeholder link that makes this worker the one creating the twin."""
    now = clock.now()
    placeholder = f"{PENDING_PREFIX}{deal.pk}"
    try:
        with transaction.atomic():
            return CrmDealLink.objects.create(
                deal=deal, connection=connection, remote_deal_id=placeholder, synced_at=now
            )
    except IntegrityError:
        pass
    existing = CrmDealLink.objects.filter(deal=deal).first()
    if existing is None:
        raise CrmBusy(deal.pk)
    if not existing.remote_deal_id.startswith(PENDING_PREFIX):
        return existing  # finished meanwhile: the stage push follows
    seen = existing.synced_at
    if seen is not None and now - seen < CLAIM_LEASE:
        raise CrmBusy(deal.pk)
    taken = CrmDealLink.objects.filter(
        pk=existing.pk, remote_deal_id=placeholder, synced_at=seen
    ).update(synced_at=now, connection=connection)
    if not taken:
        raise CrmBusy(deal.pk)
    existing.refresh_from_db()
    return existing


def ensure_setup(client: CrmClient) -> str:
    """The pipeline's id in the portal; the custom fields and the pipeline are ensured on the
    first push of a connection and remembered (``category_id``)."""
    connection = client.connection
    if connection.category_id:
        return connection.category_id
    for name, label in USER_FIELDS.items():
        fields = client.call("crm.deal.userfield.list", {"filter": {"FIELD_NAME": name}})
        if not any(f.get("FIELD_NAME") == name for f in fields or []):
            client.call(
                "crm.deal.userfield.add",
                {
                    "fields": {
                        "FIELD_NAME": name,
                        "USER_TYPE_ID": "string",
                        "XML_ID": name,
                        "EDIT_FORM_LABEL": label,
                        "LIST_COLUMN_LABEL": label,
                    }
                },
            )
    category_id = _find_pipeline(client)
    if category_id is None:
        client.call(
            "crm.category.add",
            {"entityTypeId": DEAL_ENTITY_TYPE, "fields": {"name": PIPELINE_NAME}},
        )
        category_id = _find_pipeline(client)
        if category_id is None:
            raise CrmError(
                "the pipeline was added but is not listed",
                outcome=CrmCallOutcome.ERROR,
                retryable=True,
            )
    CrmConnection.objects.filter(pk=connection.pk).update(category_id=category_id)
    connection.category_id = category_id
    return category_id


def _find_pipeline(client: CrmClient) -> str | None:
    """The lowest id of a deal pipeline named ``PIPELINE_NAME`` (None when there is none)."""
    result = client.call("crm.category.list", {"entityTypeId": DEAL_ENTITY_TYPE})
    categories = result.get("categories", []) if isinstance(result, dict) else []
    ids = [int(c["id"]) for c in categories if str(c.get("name", "")).strip() == PIPELINE_NAME]
    return str(min(ids)) if ids else None


def _find_remote_deal(client: CrmClient, deal: Deal) -> dict[str, Any] | None:
    """Our deal in the portal, by the custom field (checked: a portal ignores a filter on a
    field it does not know)."""
    found = client.call(
        "crm.deal.list",
        {
            "filter": {DEAL_FIELD: str(deal.pk)},
            "select": ["ID", "STAGE_ID", "CONTACT_ID", "CATEGORY_ID", DEAL_FIELD],
        },
        deal=deal,
    )
    mine = [d for d in found or [] if str(d.get(DEAL_FIELD, "")) == str(deal.pk)]
    return min(mine, key=lambda d: int(d["ID"])) if mine else None


def _ensure_contact(client: CrmClient, deal: Deal) -> str:
    """The client's contact in the portal: found by our marker, else added (an audited reveal
    of personal data, channel "crm")."""
    marker = {"ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": str(deal.pk)}
    found = client.call("crm.contact.list", {"filter": marker, "select": ["ID"]}, deal=deal)
    if found:
        return str(min(int(c["ID"]) for c in found))
    contacts = services.deal_contacts_reveal(deal=deal, by=None, channel=RevealChannel.CRM)
    fields: dict[str, Any] = {"NAME": contacts.get("contact_name", ""), **marker}
    if contacts.get("contact_phone"):
        fields["PHONE"] = [{"VALUE": contacts["contact_phone"], "VALUE_TYPE": "WORK"}]
    if contacts.get("contact_email"):
        fields["EMAIL"] = [{"VALUE": contacts["contact_email"], "VALUE_TYPE": "WORK"}]
    return str(client.call("crm.contact.add", {"fields": fields}, deal=deal))


def _deal_fields(deal: Deal, category_id: str, contact_id: str, stage_id: str) -> dict[str, Any]:
    lead = deal.lead
    comments = "\n".join(
        part
        for part in (
            f"{_('Что нужно')}: {lead.get_need_display()}",
            f"{_('Размер компании')}: {lead.get_company_size_display()}",
            f"{_('Регион')}: {lead.region}",
            lead.description,
        )
        if part
    )
    return {
        "fields": {
            "TITLE": _("%(company)s: заявка на внедрение №%(lead)s")
            % {"company": deal.company_name or lead.company_name, "lead": lead.pk},
            "CATEGORY_ID": category_id,
            "STAGE_ID": stage_id,
            "CONTACT_ID": contact_id,
            "COMMENTS": comments,
            "ORIGINATOR_ID": ORIGINATOR,
            "ORIGIN_ID": str(deal.pk),
            DEAL_FIELD: str(deal.pk),
        }
    }


def _push_stage(client: CrmClient, deal: Deal, link: CrmDealLink) -> None:
    """Send our stage when the twin's differs (a stage there that maps to ours is left)."""
    deal.refresh_from_db(fields=["stage", "won_reference"])
    if stage_from_remote(link.remote_stage) == deal.stage:
        return
    category_id = client.connection.category_id or ensure_setup(client)
    stage_id = remote_stage(deal.stage, category_id)
    fields: dict[str, str] = {"STAGE_ID": stage_id}
    if deal.stage == DealStage.WON and deal.won_reference:
        # Won here: their deal carries the client's portal or licence key as ours does.
        fields[PORTAL_FIELD] = deal.won_reference
    client.call("crm.deal.update", {"id": link.remote_deal_id, "fields": fields}, deal=deal)
    CrmDealLink.objects.filter(pk=link.pk).update(remote_stage=stage_id, synced_at=clock.now())
    link.remote_stage = stage_id


# --- theirs to ours -------------------------------------------------------------------------


@dataclass(frozen=True)
class PullResult:
    """What a pull did: ``changed`` to our stage, or why nothing changed (``note``)."""

    changed: str = ""
    note: str = ""


def deal_pull(deal_id: int) -> PullResult:
    """Read the deal's twin and apply a stage change made in the partner's CRM.

    Raises ``CrmError`` when the CRM fails. Safe to run twice: a stage already applied is the
    twin's recorded stage and changes nothing.
    """
    link = (
        CrmDealLink.objects.select_related("connection", "deal")
        .filter(deal_id=deal_id, connection__is_active=True)
        .exclude(remote_deal_id__startswith=PENDING_PREFIX)
        .first()
    )
    if link is None:
        return PullResult(note="not linked")
    client = CrmClient(link.connection)
    try:
        remote = client.call("crm.deal.get", {"id": link.remote_deal_id}, deal=link.deal)
    except CrmError as error:
        _note_problem(link.connection, link.deal, _failure_note(error))
        raise
    return apply_remote(link, remote if isinstance(remote, dict) else {}, client.last_call)


def apply_remote(link: CrmDealLink, remote: dict[str, Any], call: CrmCall | None) -> PullResult:
    """Apply the twin's stage to our deal (``source="crm"``); a conflict is written to the
    connection's ``last_error`` and the call's detail, and the twin's stage is then not
    recorded, so the next pull tries again."""
    stage_id = str(remote.get("STAGE_ID") or "")
    if not stage_id or stage_id == link.remote_stage:
        return PullResult(note="unchanged")
    deal = Deal.objects.get(pk=link.deal_id)
    before = deal.stage
    ours = stage_from_remote(stage_id)
    problem = ""
    try:
        with transaction.atomic():
            if ours is None or ours == deal.stage:
                pass
            elif not deal.is_open:
                problem = _("сделка уже закрыта на портале, стадия в CRM не применена")
            elif ours in OPEN_STAGES:
                services.deal_stage_change(deal=deal, stage=ours, by=None, source="crm")
            elif ours == DealStage.LOST:
                services.deal_close_lost(
                    deal=deal,
                    reason=LostReason.OTHER,
                    comment=_("Закрыта в CRM партнёра"),
                    by=None,
                    source="crm",
                )
            else:
                won = won_reference_of(remote)
                if won is None:
                    raise _Conflict(
                        _(
                            "сделка выиграна в CRM, но в поле %(field)s нет адреса портала "
                            "(name.bitrix24.ru) или лицензионного ключа клиента: на портале "
                            "сделка остаётся открытой"
                        )
                        % {"field": PORTAL_FIELD}
                    )
                services.deal_close_won(
                    deal=deal, won_kind=won[0], won_reference=won[1], by=None, source="crm"
                )
            CrmDealLink.objects.filter(pk=link.pk).update(
                remote_stage=stage_id, synced_at=clock.now()
            )
    except _Conflict as conflict:
        problem = conflict.message
    except ApplicationError as error:
        problem = str(error.message)
    if problem:
        _note_conflict(link.connection, deal, call, problem)
        return PullResult(note=problem)
    _clear_problem(link.connection, deal)
    return PullResult(changed=ours if ours and ours != before else "")


class _Conflict(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def won_reference_of(remote: dict[str, Any]) -> tuple[str, str] | None:
    """(kind, normalised value) of the client's portal or licence key the partner typed in
    the custom field; None when it is empty or of neither format."""
    raw = remote.get(PORTAL_FIELD)
    if isinstance(raw, list):
        raw = raw[0] if raw else ""
    value = str(raw or "").strip()
    if not value:
        return None
    for kind in (WonKind.PORTAL, WonKind.LICENCE_KEY):
        try:
            return kind, rules.validate_won_reference(kind, value)
        except ValueError:
            continue
    return None


def connection_poll(connection_id: int) -> int:
    """Pull every open linked deal of the connection; returns how many moved. Stops at the
    first retryable failure (the portal is down or busy: the next poll tries again)."""
    connection = CrmConnection.objects.filter(pk=connection_id, is_active=True).first()
    if connection is None:
        return 0
    deal_ids = list(
        CrmDealLink.objects.filter(connection=connection, deal__is_open=True)
        .exclude(remote_deal_id__startswith=PENDING_PREFIX)
        .order_by("deal_id")
        .values_list("deal_id", flat=True)
    )
    moved = 0
    try:
        for deal_id in deal_ids:
            try:
                moved += bool(deal_pull(deal_id).changed)
            except CrmError as error:
                if error.retryable:
                    raise
    finally:
        CrmConnection.objects.filter(pk=connection.pk).update(last_polled_at=clock.now())
    return moved


# --- the partner sees problems --------------------------------------------------------------


def _problem_prefix(deal: Deal) -> str:
    """Problems are kept per deal (``№<id>: ...``), language-neutral, so that the deal's next
    success clears its own problem and no other."""
    return f"№{deal.pk}: "


def _failure_note(error: CrmError) -> str:
    """What the partner reads of a failed call: ours, never the portal's text or code (the
    call's log row keeps the detail for staff), and one text for every way the portal failed."""
    if error.outcome == CrmCallOutcome.BLOCKED:
        return _("не передана: адрес портала запрещён, подключите CRM заново")
    return _("не передана: портал не ответил или ответил ошибкой, передача повторится")


def _note_problem(connection: CrmConnection, deal: Deal, detail: str) -> None:
    message = (_problem_prefix(deal) + detail)[:500]
    CrmConnection.objects.filter(pk=connection.pk).update(last_error=message)


def _note_conflict(
    connection: CrmConnection, deal: Deal, call: CrmCall | None, problem: str
) -> None:
    _note_problem(connection, deal, problem)
    if call is not None:
        CrmCall.objects.filter(pk=call.pk).update(detail=problem[:500])
    logger.info("crm deal %s: %s", deal.pk, problem)


def _clear_problem(connection: CrmConnection, deal: Deal) -> None:
    CrmConnection.objects.filter(
        pk=connection.pk, last_error__startswith=_problem_prefix(deal)
    ).update(last_error="")
