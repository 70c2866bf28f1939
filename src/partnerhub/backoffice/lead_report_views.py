"""Back office report of the lead marketplace: figures per partner and overall, three charts
(uPlot) and the CSV export.

Issue 7, item 7; spec leads.md, "Vendor reporting". Every member of the vendor's staff reads it.
Thin views: the filter form checks the shape, ``leads.report_selectors`` loads the facts and
``leads.reporting`` computes the figures (see its docstring for what each one means).

Filters (GET): ``from``/``to`` (dates, Moscow, both included; default the last 90 days),
``program`` (one of the vendor's lead programs; empty: all of them) and ``stale_days`` (overrides
the programs' "stale after N days"). A period is at most ``MAX_PERIOD_DAYS`` long.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from partnerhub.accounts.principal import organisation_of
from partnerhub.core import clock, exports
from partnerhub.core.access import access, vendor
from partnerhub.core.input import validate_year_range
from partnerhub.leads import report_selectors
from partnerhub.leads.models import RevealChannel
from partnerhub.leads.reporting import DurationStats, Figures, Report
from partnerhub.partners.models import Organisation, Program

READERS = vendor()
MAX_PERIOD_DAYS = 366 * 3
#: The bar charts show this many partners with the most deals taken (the table shows all).
CHART_PARTNERS = 25
DATE_FORMATS = ["%d.%m.%Y", "%Y-%m-%d"]


class ReportFilterForm(forms.Form):
    """The report's filters; every field is optional."""

    date_from = forms.DateField(
        label=gettext_lazy("С"),
        required=False,
        input_formats=DATE_FORMATS,
        validators=[validate_year_range],
    )
    date_to = forms.DateField(
        label=gettext_lazy("По"),
        required=False,
        input_formats=DATE_FORMATS,
        validators=[validate_year_range],
    )
    program = forms.ModelChoiceField(
        label=gettext_lazy("Программа"),
        queryset=Program.objects.none(),
        required=False,
        empty_label=gettext_lazy("Все программы"),
        to_field_name="code",
    )
    stale_days = forms.IntegerField(
        label=gettext_lazy("Без событий, дней"),
        required=False,
        min_value=1,
        max_value=365,
        help_text=gettext_lazy("Пусто: как в настройках программы."),
    )

    def __init__(self, *args: Any, programs: list[Program], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["program"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Program.objects.filter(pk__in=[p.pk for p in programs]).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        default_from, default_to = report_selectors.default_period()
        date_to = data.get("date_to") or default_to
        date_from = data.get("date_from") or (
            date_to - dt.timedelta(days=report_selectors.DEFAULT_PERIOD_DAYS - 1)
            if data.get("date_to")
            else default_from
        )
        if "date_from" in self.errors or "date_to" in self.errors:
            return data
        if date_from > date_to:
            self.add_error("date_to", _("Конец периода раньше его начала."))
        elif (date_to - date_from).days + 1 > MAX_PERIOD_DAYS:
            self.add_error(
                "date_from", _("Период не длиннее %(days)d дней.") % {"days": MAX_PERIOD_DAYS}
            )
        data["date_from"], data["date_to"] = date_from, date_to
        return data


# --- presentation -----------------------------------------------------------------------------


def duration_text(value: dt.timedelta | None) -> str:
    """A duration for people: "45 мин", "5 ч 10 мин", "2 дн 3 ч"; "—" when there is none."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d дн %(h)d ч") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d ч %(m)d мин") % {"h": hours, "m": mins}
    return _("%(m)d мин") % {"m": mins}


def hours_value(value: dt.timedelta | None) -> Decimal | None:
    """A duration in hours with one decimal (the CSV writes it as a number); None for none."""
    if value is None:
        return None
    return (Decimal(int(value.total_seconds())) / 3600).quantize(Decimal("0.1"))


def channel_labels() -> list[tuple[str, str]]:
    """Reveal channels in the order the report shows them."""
    return [(value, str(label)) for value, label in RevealChannel.choices]


def figures_view(figures: Figures) -> dict[str, Any]:
    """The template's view of one line of figures."""

    def stats(s: DurationStats) -> dict[str, Any]:
        return {
            "count": s.count,
            "median": duration_text(s.median),
            "average": duration_text(s.average),
        }

    return {
        "f": figures,
        "to_take": stats(figures.to_take),
        "to_first_event": stats(figures.to_first_event),
        "channels": [figures.reveals_by_channel.get(code, 0) for code, _label in channel_labels()],
    }


def chart_data(report: Report) -> dict[str, Any]:
    """The JSON the charts draw (the tables carry the same numbers)."""
    top = sorted(report.rows, key=lambda r: (-r.figures.taken, r.name))[:CHART_PARTNERS]
    return {
        "partners": [row.name for row in top],
        "taken": [row.figures.taken for row in top],
        "win_rate": [
            float(row.figures.win_rate) if row.figures.win_rate is not None else None for row in top
        ],
        "weeks": [w.week.isoformat() for w in report.weeks],
        "weekly": [w.taken for w in report.weeks],
        "labels": {
            "partner": _("Партнёр"),
            "taken": _("Взято заявок"),
            "win_rate": _("Доля выигранных, %"),
            "week": _("Неделя с"),
            "weekly": _("Взято за неделю"),
        },
    }


def _filters(request: HttpRequest) -> tuple[ReportFilterForm, list[Program], Organisation]:
    vendor_org = organisation_of(request.user)
    programs = report_selectors.report_programs(vendor=vendor_org)
    data = {
        "date_from": request.GET.get("from", ""),
        "date_to": request.GET.get("to", ""),
        "program": request.GET.get("program", ""),
        "stale_days": request.GET.get("stale_days", ""),
    }
    return ReportFilterForm(data, programs=programs), programs, vendor_org


def _report(form: ReportFilterForm, vendor_org: Organisation) -> report_selectors.LeadReport:
    data = form.cleaned_data
    return report_selectors.lead_report(
        vendor=vendor_org,
        program=data.get("program"),
        date_from=data["date_from"],
        date_to=data["date_to"],
        stale_days=data.get("stale_days"),
        now=clock.now(),
    )


# --- views ------------------------------------------------------------------------------------


@require_GET
@access(READERS)
def lead_report(request: HttpRequest) -> HttpResponse:
    """The report page: filters, overall figures, charts and the table per partner."""
    form, programs, vendor_org = _filters(request)
    context: dict[str, Any] = {"form": form, "programs": programs, "channels": channel_labels()}
    if not form.is_valid():
        return render(request, "backoffice/leads/report.html", context, status=400)
    found = _report(form, vendor_org)
    report = found.report
    data = form.cleaned_data
    query = {
        "from": data["date_from"].strftime("%d.%m.%Y"),
        "to": data["date_to"].strftime("%d.%m.%Y"),
        "program": data["program"].code if data.get("program") else "",
        "stale_days": data.get("stale_days") or "",
    }
    context.update(
        {
            "report": report,
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "program": data.get("program"),
            "overall": figures_view(report.overall),
            "to_first_take": {
                "count": report.to_first_take.count,
                "median": duration_text(report.to_first_take.median),
                "average": duration_text(report.to_first_take.average),
            },
            "rows": [{"row": row, **figures_view(row.figures)} for row in report.rows],
            "chart": chart_data(report),
            "chart_partners": CHART_PARTNERS,
            "stale_deals": found.stale_deals,
            "stale_listed": report_selectors.STALE_LISTED,
            "query": urlencode({k: v for k, v in query.items() if v != ""}),
        }
    )
    return render(request, "backoffice/leads/report.html", context)


CSV_HEADER = (
    gettext_lazy("Партнёр"),
    gettext_lazy("ИНН"),
    gettext_lazy("Взято заявок"),
    gettext_lazy("До взятия: медиана, ч"),
    gettext_lazy("До взятия: среднее, ч"),
    gettext_lazy("До первого события: медиана, ч"),
    gettext_lazy("До первого события: среднее, ч"),
    gettext_lazy("Без событий после взятия"),
    gettext_lazy("Выиграно"),
    gettext_lazy("Проиграно"),
    gettext_lazy("Доля выигранных, %"),
    gettext_lazy("Открыто сейчас"),
    gettext_lazy("Без событий N дней сейчас"),
    gettext_lazy("Раскрытий персональных данных"),
    gettext_lazy("Заявок с раскрытием"),
)


def report_csv_bytes(report: Report, inns: dict[int, str]) -> bytes:
    """The report per partner and the total line as CSV for Excel: UTF-8 with a BOM,
    semicolons, decimal commas, CRLF; names made safe for spreadsheets (``core.exports``)."""
    channels = channel_labels()
    rows: list[list[Any]] = [
        [str(h) for h in CSV_HEADER]
        + [_("Раскрытий: %(channel)s") % {"channel": label} for _code, label in channels]
    ]

    def line(name: str, inn: str, f: Figures) -> list[Any]:
        return [
            name,
            inn,
            f.taken,
            hours_value(f.to_take.median),
            hours_value(f.to_take.average),
            hours_value(f.to_first_event.median),
            hours_value(f.to_first_event.average),
            f.without_event,
            f.won,
            f.lost,
            f.win_rate,
            f.open_now,
            f.stale_now,
            f.reveals,
            f.revealed_leads,
            *(f.reveals_by_channel.get(code, 0) for code, _label in channels),
        ]

    for row in report.rows:
        rows.append(line(row.name, inns.get(row.organisation_id, ""), row.figures))
    rows.append(line(_("Итого"), "", report.overall))
    return exports.csv_bytes(rows, delimiter=";", decimal_comma=True)


@require_GET
@access(READERS)
def lead_report_csv(request: HttpRequest) -> HttpResponse:
    """The report's table as CSV, with the same filters as the page."""
    form, _programs, vendor_org = _filters(request)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    found = _report(form, vendor_org)
    data = form.cleaned_data
    response = HttpResponse(
        report_csv_bytes(found.report, found.inns), content_type="text/csv; charset=utf-8"
    )
    name = f"leads-report-{data['date_from']:%Y-%m-%d}-{data['date_to']:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
