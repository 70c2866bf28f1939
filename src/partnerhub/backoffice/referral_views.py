"""Back office pages of the referral program: partners by level, a partner's standing and
history with the manual adjustment, unattributed clients, the event log with rejected events and
the JSONL import, the events waiting for a client, payment or promo code not seen yet (oldest
first, stale after ``REFERRAL_WAITING_STALE_DAYS``; the writers drop them: issue 15), verify
and recompute, the CSV export.

Issue 5, item 8; spec referrals.md. Every member of the vendor's staff reads; the program manager
and the administrator write (adjustments, imports, verify, recompute). Thin views: reads through
``referrals.selectors.standing``, writes through ``referrals.services.intake`` and ``live``.

Decisions: verify is a POST for the writers only, like recompute (it replays every stored event,
which is heavy); the JSONL import takes files up to ``IMPORT_MAX_BYTES`` and sends them to the
intake in chunks of ``IMPORT_CHUNK`` events (each chunk is one transaction, as in the API); a
line that is not JSON is reported with its line number and the rest of the file goes on; the
result names lines (1-based), not positions in a chunk. The adjustment form takes either points
or bonuses (signed, not zero) with a reason; its outcome shows on the partner's page.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from partnerhub.accounts.principal import organisation_of
from partnerhub.backoffice.error_codes import BackofficeErrorCode
from partnerhub.core import clock, exports
from partnerhub.core.access import access, allowed, vendor
from partnerhub.core.clock import PROGRAM_TZ
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.core.money import MoneyFormField, quantize
from partnerhub.core.pagination import paginate
from partnerhub.pages.referrals import BONUS_KINDS, GRANT_CAUSES
from partnerhub.partners.models import Program
from partnerhub.referrals.engine.results import BonusEntry, Grant, LevelChange, Review
from partnerhub.referrals.models import ReferralPartner
from partnerhub.referrals.models.events import EventSource, PartnerState, RejectionStage
from partnerhub.referrals.selectors import standing as st
from partnerhub.referrals.selectors import waiting as waiting_selectors
from partnerhub.referrals.services import adjustments, intake, live
from partnerhub.referrals.services.waiting import waiting_event_drop

READERS = vendor()
WRITERS = vendor("program_manager", "administrator")

PER_PAGE = 25
SEARCH_MAX = 200
IMPORT_MAX_BYTES = 50 * 1024 * 1024
IMPORT_CHUNK = 10_000
REJECTED_SHOWN = 500
EXPORT_CHUNK = 1000
HISTORY_SHOWN = 200
REASON_MAX = 200  # what the adjustment event keeps

#: Event types the log's filter offers (the store may hold others; the filter takes any).
EVENT_TYPES = (
    "partner.registered",
    "partner.blocked",
    "partner.unblocked",
    "client.registered",
    "client.activity",
    "payment",
    "payment.refunded",
    "promo_code.created",
    "promo_code.deactivated",
    "points.adjusted",
    "bonus.adjusted",
)


# --- forms ----------------------------------------------------------------------------------


class AdjustmentForm(forms.Form):
    """A manual correction of a partner's points or bonuses (signed), with a mandatory reason."""

    points = forms.IntegerField(
        label=gettext_lazy("Баллы (со знаком)"),
        required=False,
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text=gettext_lazy("Например, 15 или −15."),
    )
    amount = MoneyFormField(
        label=gettext_lazy("Бонусы, ₽ (со знаком)"),
        required=False,
        min_value=Decimal("-100000000"),
        max_value=Decimal("100000000"),
        help_text=gettext_lazy("Например, 500 или −500,00."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Причина"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Укажите причину корректировки.")},
    )

    def clean_points(self) -> int | None:
        value = self.cleaned_data.get("points")
        return None if value in (None, 0) else value

    def clean_amount(self) -> Decimal | None:
        value = self.cleaned_data.get("amount")
        return None if value is None or value == 0 else value

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError(
                _("Укажите причину корректировки."), code=CoreErrorCode.REQUIRED
            )
        return reason

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "points" in self.errors or "amount" in self.errors:
            return data
        if data.get("points") is None and data.get("amount") is None:
            raise forms.ValidationError(
                _("Укажите баллы или бонусы: число со знаком, не ноль."),
                code=BackofficeErrorCode.EMPTY,
            )
        return data


class ImportForm(forms.Form):
    """A JSON Lines file of events (one JSON object a line)."""

    file = forms.FileField(
        label=gettext_lazy("Файл JSONL"),
        help_text=gettext_lazy("Одно событие JSON в строке, как в API; повторные id пропускаются."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("Файл больше %(mb)d МБ: разделите его на части.")
                % {"mb": IMPORT_MAX_BYTES // (1024 * 1024)},
                code=BackofficeErrorCode.TOO_BIG,
            )
        return upload


# --- helpers --------------------------------------------------------------------------------


def _program(request: HttpRequest) -> Program | None:
    """The asking staff's vendor's referral program (``?program=<code>`` picks one of several);
    never another vendor's."""
    code = request.GET.get("program", "").strip()[:SEARCH_MAX]
    return st.program_for_vendor(vendor=organisation_of(request.user), code=code or None)


def _program_or_404(request: HttpRequest) -> Program:
    program = _program(request)
    if program is None:
        raise Http404(_("У вендора нет реферальной программы."))
    return program


def _no_program(request: HttpRequest, template: str) -> HttpResponse:
    return render(request, template, {"program": None})


def organisations_by_code(program: Program, codes: list[str]) -> dict[str, ReferralPartner]:
    """The portal partners (with organisations) of the given codes; file-only codes are
    absent."""
    if not codes:
        return {}
    rows = ReferralPartner.objects.filter(program=program, code__in=codes).select_related(
        "organisation"
    )
    return {row.code: row for row in rows}


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


# --- partners by level ----------------------------------------------------------------------


@access(READERS)
@require_GET
def referrals(request: HttpRequest) -> HttpResponse:
    """Counts of partners per level and the table of partners, filtered by level."""
    program = _program(request)
    if program is None:
        return _no_program(request, "backoffice/referrals/partners.html")
    level = _int_or_none(request.GET.get("level"))
    counts = {
        row["level"]: row["n"]
        for row in st.partner_states(program=program)
        .order_by()
        .values("level")
        .annotate(n=Count("id"))
    }
    page = paginate(request, st.partner_states(program=program, level=level), PER_PAGE)
    partners = organisations_by_code(program, [state.partner for state in page])
    context = {
        "program": program,
        "level": level,
        "counts": sorted(counts.items()),
        "total": sum(counts.values()),
        "page": page,
        "rows": [{"state": s, "partner": partners.get(s.partner)} for s in page],
        "can_write": allowed(WRITERS, request.user),
    }
    return render(request, "backoffice/referrals/partners.html", context)


EXPORT_HEADER = (
    "code",
    "organisation",
    "inn",
    "level",
    "active_points",
    "points_total",
    "bonus_accrued",
    "bonus_balance",
    "clients",
    "active_clients",
    "next_review",
)


def export_rows(program: Program, level: int | None = None) -> Any:
    """The CSV lines of the export (header first), produced lazily, a page of partners at a
    time; cells made safe for spreadsheets by the shared writer (``core.exports``)."""
    writer = exports.CsvWriter(delimiter=",", decimal_comma=False)
    yield exports.BOM + writer.row(EXPORT_HEADER)  # BOM: Excel opens UTF-8 correctly
    states = st.partner_states(program=program, level=level).order_by("partner")
    chunk: list[PartnerState] = []
    for state in states.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(state)
        if len(chunk) == EXPORT_CHUNK:
            yield from _export_chunk(writer, program, chunk)
            chunk = []
    yield from _export_chunk(writer, program, chunk)


def _export_chunk(writer: exports.CsvWriter, program: Program, states: list[PartnerState]) -> Any:
    codes = [s.partner for s in states]
    partners = organisations_by_code(program, codes)
    balances = st.bonus_balances(program=program, codes=codes)
    for state in states:
        referral_partner = partners.get(state.partner)
        org = referral_partner.organisation if referral_partner else None
        yield writer.row(
            (
                state.partner,
                org.short_name if org else "",
                org.inn if org else (referral_partner.inn if referral_partner else ""),
                state.level,
                state.active_points,
                state.points_total,
                quantize(state.bonus_accrued),
                quantize(balances.get(state.partner, Decimal("0"))),
                state.clients,
                state.active_clients,
                state.next_review.astimezone(PROGRAM_TZ).isoformat() if state.next_review else "",
            )
        )


@access(READERS)
@require_GET
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every partner's standing as CSV (UTF-8 with BOM, comma separated)."""
    program = _program_or_404(request)
    level = _int_or_none(request.GET.get("level"))
    stamp = clock.local_date(clock.now()).isoformat()
    response = StreamingHttpResponse(
        export_rows(program, level), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="referral-partners-{stamp}.csv"'
    return response


# --- one partner ----------------------------------------------------------------------------


def _history_view(
    grants: list[Grant], bonuses: list[BonusEntry], levels: list[LevelChange], reviews: list[Review]
) -> dict[str, Any]:
    def newest(items: list[Any]) -> list[Any]:
        return sorted(items, key=lambda item: item.at, reverse=True)[:HISTORY_SHOWN]

    return {
        "grants": [
            {"item": g, "label": GRANT_CAUSES.get(g.cause, g.cause)} for g in newest(grants)
        ],
        "bonuses": [{"item": b, "label": BONUS_KINDS.get(b.kind, b.kind)} for b in newest(bonuses)],
        "levels": newest(levels),
        "reviews": newest(reviews),
        "counts": {
            "grants": len(grants),
            "bonuses": len(bonuses),
            "levels": len(levels),
            "reviews": len(reviews),
        },
        "shown": HISTORY_SHOWN,
    }


def _partner_page(
    request: HttpRequest, program: Program, code: str, form: AdjustmentForm, status: int = 200
) -> HttpResponse:
    history = st.history_of(program=program, code=code)
    if history is None:
        raise Http404(_("Партнёр не найден."))
    referral_partner = organisations_by_code(program, [code]).get(code)
    context = {
        "program": program,
        "code": code,
        "partner": referral_partner,
        "standing": history.standing,
        "history": _history_view(history.grants, history.bonuses, history.levels, history.reviews),
        "form": form,
        "can_write": allowed(WRITERS, request.user),
    }
    return render(request, "backoffice/referrals/partner.html", context, status=status)


@access(READERS)
@require_GET
def partner_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A partner's standing and history (grants, bonuses, level changes, reviews)."""
    return _partner_page(request, _program_or_404(request), code, AdjustmentForm())


@access(WRITERS)
@require_POST
def partner_adjust(request: HttpRequest, code: str) -> HttpResponse:
    """Add or take away points or bonuses by hand, with a reason (audited, a ledger entry)."""
    program = _program_or_404(request)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        try:
            adjustments.adjustment_record(
                program=program,
                code=code,
                points=form.cleaned_data["points"],
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except ApplicationError as exc:
            if exc.http_status == 404:
                raise Http404(str(exc.message)) from exc
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Корректировка записана."))
            return redirect("backoffice:referral_partner", code=code)
    return _partner_page(request, program, code, form, status=400)


# --- unattributed clients -------------------------------------------------------------------


@access(READERS)
@require_GET
def unattributed(request: HttpRequest) -> HttpResponse:
    """Clients attached to no partner, with the reason; filter by reason."""
    program = _program(request)
    if program is None:
        return _no_program(request, "backoffice/referrals/unattributed.html")
    reason = request.GET.get("reason", "").strip()[:SEARCH_MAX]
    reasons = (
        st.unattributed_clients(program=program)
        .order_by("reason")
        .values("reason")
        .annotate(n=Count("id"))
    )
    page = paginate(request, st.unattributed_clients(program=program, reason=reason), PER_PAGE)
    context = {
        "program": program,
        "reason": reason,
        "reasons": [(row["reason"], row["n"]) for row in reasons],
        "page": page,
    }
    return render(request, "backoffice/referrals/unattributed.html", context)


# --- the event log and the import -----------------------------------------------------------


def _events_page(
    request: HttpRequest,
    program: Program,
    form: ImportForm,
    result: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    event_type = request.GET.get("type", "").strip()[:40]
    search = request.GET.get("q", "").strip()[:SEARCH_MAX]
    stage = request.GET.get("stage", "").strip()
    if stage not in RejectionStage.values:
        stage = ""
    events = paginate(request, st.stored_events(program=program, type=event_type, search=search))
    rejections = st.rejections(program=program, stage=stage)
    # the second table of the page turns its pages with ``rpage``
    rejected_page = Paginator(rejections, PER_PAGE).get_page(request.GET.get("rpage"))
    context = {
        "program": program,
        "event_types": EVENT_TYPES,
        "type": event_type,
        "q": search,
        "stage": stage,
        "stages": RejectionStage.choices,
        "page": events,
        "event_rows": [
            {"event": e, "json": json.dumps(e.raw, ensure_ascii=False, indent=1)} for e in events
        ],
        "rejected_page": rejected_page,
        "form": form,
        "result": result,
        "can_write": allowed(WRITERS, request.user),
    }
    return render(request, "backoffice/referrals/events.html", context, status=status)


@access(READERS)
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    """Stored events (filter by type, search by id or client) and rejected events."""
    program = _program(request)
    if program is None:
        return _no_program(request, "backoffice/referrals/events.html")
    return _events_page(request, program, ImportForm())


def read_jsonl(data: bytes) -> tuple[list[Any], list[int], list[dict[str, Any]]]:
    """Decode a JSON Lines file: (objects, the line number of each, lines that are not JSON).

    Blank lines are skipped; a bad line is reported as ``{"line", "id": None, "reason"}``.
    """
    objs: list[Any] = []
    lines: list[int] = []
    bad: list[dict[str, Any]] = []
    text = data.decode("utf-8-sig", errors="replace")
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            objs.append(json.loads(raw))
        except json.JSONDecodeError as exc:
            bad.append({"line": number, "id": None, "reason": f"malformed JSON: {exc.msg}"})
            continue
        lines.append(number)
    return objs, lines, bad


def import_jsonl(*, program: Program, data: bytes) -> dict[str, Any]:
    """Send a JSONL file through the intake in chunks; the totals and every refused line."""
    objs, lines, rejected = read_jsonl(data)
    total = len(objs) + len(rejected)
    accepted = duplicates = waiting = 0
    for start in range(0, len(objs), IMPORT_CHUNK):
        result = intake.events_ingest(
            program=program, objs=objs[start : start + IMPORT_CHUNK], source=EventSource.FILE
        )
        accepted += result.accepted
        waiting += result.waiting
        duplicates += result.duplicates
        rejected.extend(
            {"line": lines[start + r["index"]], "id": r["id"], "reason": r["reason"]}
            for r in result.rejected
        )
    rejected.sort(key=lambda r: r["line"])
    return {
        "lines": total,
        "accepted": accepted,
        "waiting": waiting,
        "duplicates": duplicates,
        "rejected_count": len(rejected),
        "rejected": rejected[:REJECTED_SHOWN],
        "rejected_more": max(0, len(rejected) - REJECTED_SHOWN),
    }


@access(WRITERS)
@require_POST
def events_import(request: HttpRequest) -> HttpResponse:
    """Import a JSONL file of events through the intake (the same path as the API)."""
    program = _program_or_404(request)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _events_page(request, program, form, status=400)
    result = import_jsonl(program=program, data=form.cleaned_data["file"].read())
    messages.success(
        request,
        _("Импорт: принято %(a)d (из них ждут %(w)d), повторов %(d)d, отклонено %(r)d.")
        % {
            "a": result["accepted"],
            "w": result["waiting"],
            "d": result["duplicates"],
            "r": result["rejected_count"],
        },
    )
    return _events_page(request, program, ImportForm(), result=result)


# --- events waiting for what they name --------------------------------------------------------


@access(READERS)
@require_GET
def waiting(request: HttpRequest) -> HttpResponse:
    """Events waiting for a client, payment or promo code not seen yet, oldest first, with
    their age; ``?stale=1``: only those waiting longer than the stale period."""
    program = _program(request)
    if program is None:
        return _no_program(request, "backoffice/referrals/waiting.html")
    moment = clock.now()
    stale_only = request.GET.get("stale") == "1"
    rows = waiting_selectors.waiting_events(program=program, stale_only=stale_only, moment=moment)
    page = paginate(request, rows, PER_PAGE)
    context = {
        "program": program,
        "page": page,
        "rows": waiting_selectors.waiting_rows(list(page), moment=moment),
        "stale_only": stale_only,
        "stale_days": waiting_selectors.stale_after().days,
        "can_drop": allowed(WRITERS, request.user),
    }
    return render(request, "backoffice/referrals/waiting.html", context)


@access(WRITERS)
@require_POST
def waiting_drop(request: HttpRequest) -> HttpResponse:
    """Drop the chosen waiting events: they stay stored and never count."""
    program = _program_or_404(request)
    try:
        count = waiting_event_drop(
            program=program, event_ids=request.POST.getlist("events"), actor=request.user
        )
    except ApplicationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Снято с ожидания событий: %(n)d.") % {"n": count})
    return redirect("backoffice:referral_waiting")


# --- verify and recompute -------------------------------------------------------------------


@access(WRITERS)
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    """Replay the stored events and compare with the live state of every partner."""
    program = _program_or_404(request)
    mismatches = live.verify(program=program)
    if not mismatches:
        messages.success(request, _("Проверка пройдена: живое состояние совпадает с пересчётом."))
        return redirect("backoffice:referrals")
    messages.error(
        request,
        _("Найдены расхождения: %(n)d. Пересчёт по событиям исправит живое состояние.")
        % {"n": len(mismatches)},
    )
    context = {"program": program, "mismatches": mismatches, "checked_at": clock.now()}
    return render(request, "backoffice/referrals/verify.html", context)


@access(WRITERS)
@require_POST
def recompute(request: HttpRequest) -> HttpResponse:
    """Recompute every partner's live state from the stored events."""
    program = _program_or_404(request)
    count = live.recompute(program=program)
    messages.success(request, _("Пересчитано партнёров: %(n)d.") % {"n": count})
    return redirect("backoffice:referrals")
