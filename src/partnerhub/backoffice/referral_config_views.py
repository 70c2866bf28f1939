"""Back office: the referral program's configuration, its versions and the editor.

Issue 5, item 8 ("program configuration editor (points table, thresholds, rates, bonus amounts,
windows, with effective date and history)"); spec referrals.md. Every member of the vendor's
staff reads the configuration; the program manager and the administrator add versions. The
program is the vendor's program of kind ``referrals`` (``?program=<code>`` when there are
several; the oldest one by default).

Decisions: the editor edits the numbers of the products the latest version has (adding a product
is a new product line in the engine, not a form row); a blank cell of the points table means the
product cannot be bought for that many months, and cells the latest version fills are required;
the levels table has one empty row to add a level, and the highest levels can be dropped by
clearing their rows; the effective time is typed in Moscow time and defaults to the next Moscow
midnight.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from partnerhub.accounts.principal import organisation_of
from partnerhub.backoffice.error_codes import BackofficeErrorCode
from partnerhub.core import clock
from partnerhub.core.access import access, allowed, vendor
from partnerhub.core.clock import PROGRAM_TZ
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.input import validate_year_range
from partnerhub.core.money import MoneyFormField, format_rub
from partnerhub.core.pagination import paginate
from partnerhub.partners.models import Program
from partnerhub.referrals.engine.config import (
    DEFAULT,
    ClientBonusOption,
    ProgramConfig,
    config_to_dict,
)
from partnerhub.referrals.selectors import config as config_selectors
from partnerhub.referrals.services import config as config_services

CONFIG_READERS = vendor()
CONFIG_EDITORS = vendor("program_manager", "administrator")
HISTORY_PER_PAGE = 20

#: Human names of the products of the points table (the code is shown beside them).
PRODUCT_LABELS = {
    "tariff.team": gettext_lazy("Тариф «Команда»"),
    "tariff.company": gettext_lazy("Тариф «Компания»"),
    "users.12": gettext_lazy("+12 пользователей"),
    "disk.100gb": gettext_lazy("Диск 100 ГБ"),
    "disk.250gb": gettext_lazy("Диск 250 ГБ"),
    "disk.1tb": gettext_lazy("Диск 1 ТБ"),
}

#: Names of the settings, for the list of what a version changed.
SETTING_LABELS = {
    "timezone": gettext_lazy("Часовой пояс"),
    "points": gettext_lazy("Баллы за продукты"),
    "product_lines": gettext_lazy("Линейки продуктов"),
    "reward_lines": gettext_lazy("Линейки с вознаграждением"),
    "levels": gettext_lazy("Уровни"),
    "activation_points": gettext_lazy("Баллы за активного клиента"),
    "activation_bonus": gettext_lazy("Бонус за активного клиента"),
    "activation_users_over": gettext_lazy("Активный клиент: пользователей больше"),
    "activation_window_months": gettext_lazy("Активный клиент: окно, месяцев"),
    "points_lifetime_months": gettext_lazy("Срок жизни баллов, месяцев"),
    "review_period_months": gettext_lazy("Период пересмотра уровня, месяцев"),
    "reward_window_months": gettext_lazy("Вознаграждение с оплат в течение, месяцев"),
    "landing_url": gettext_lazy("Адрес страницы по реферальной ссылке"),
    "referral_param": gettext_lazy("Имя параметра с кодом партнёра"),
    "attribution_window_days": gettext_lazy("Окно привязки по ссылке, дней"),
    "promo_max_validity_days": gettext_lazy("Наибольший срок промокода, дней"),
    "client_bonus_options": gettext_lazy("Бонусы для клиента"),
    "conversion_minimum": gettext_lazy("Минимум для вывода бонусов"),
}

DATETIME_INPUT = "%Y-%m-%dT%H:%M"
DATETIME_FORMATS = (DATETIME_INPUT, "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M")


# --- display --------------------------------------------------------------------------------


def percent(rate: Decimal) -> str:
    """A rate in percent the Russian way: 20 → "20 %", 12.5 → "12,5 %"."""
    text = f"{rate.normalize():f}"
    return f"{text.replace('.', ',')}\u00a0%"


def months_of(config: ProgramConfig) -> list[int]:
    """The paid periods (months) that some product of the points table has."""
    return sorted({months for row in config.points.values() for months in row})


def config_view(config: ProgramConfig) -> dict[str, Any]:
    """What the configuration tables show, ready for the template."""
    months = months_of(config)
    return {
        "config": config,
        "months": months,
        "points_rows": [
            {
                "code": product,
                "label": PRODUCT_LABELS.get(product, product),
                "line": config.product_lines.get(product, ""),
                "rewarded": config.product_lines.get(product) in config.reward_lines,
                "cells": [row.get(m) for m in months],
            }
            for product, row in config.points.items()
        ],
        "levels": [
            {
                "number": level.number,
                "min_points": level.min_points,
                "first_rate": percent(level.first_rate),
                "later_rate": percent(level.later_rate),
            }
            for level in config.levels
        ],
        "activation_bonus": format_rub(config.activation_bonus),
        "conversion_minimum": format_rub(config.conversion_minimum),
        "reward_lines": sorted(config.reward_lines),
    }


def changed_settings(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """Names of the settings whose values differ between two stored documents."""
    if before is None:
        return []
    keys = dict.fromkeys([*before, *after])
    return [str(SETTING_LABELS.get(k, k)) for k in keys if before.get(k) != after.get(k)]


# --- the editor -----------------------------------------------------------------------------


class MoscowDateTimeField(forms.DateTimeField):
    """A date and time typed in Moscow time (``datetime-local``), whatever zone is active."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT)
    default_validators = [validate_year_range]

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=PROGRAM_TZ)
        for fmt in DATETIME_FORMATS:
            try:
                parsed = dt.datetime.strptime(str(value).strip(), fmt)
            except ValueError:
                continue
            return parsed.replace(tzinfo=PROGRAM_TZ)
        raise ValidationError(self.error_messages["invalid"], code=CoreErrorCode.INVALID)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.astimezone(PROGRAM_TZ).strftime(DATETIME_INPUT)
        return value


class PercentField(MoneyFormField):
    """A rate in percent, 0 to 100, with a decimal comma or point."""

    default_error_messages = {
        **MoneyFormField.default_error_messages,
        "invalid": gettext_lazy("Введите процент числом, например 20 или 12,5."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault("max_value", Decimal("100"))
        super().__init__(**kwargs)


def _number(label: Any, *, minimum: int = 0, required: bool = True) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, min_value=minimum, required=required, widget=forms.NumberInput
    )


def next_moscow_midnight(moment: dt.datetime) -> dt.datetime:
    """The start of the next day in Moscow after ``moment``."""
    day = moment.astimezone(PROGRAM_TZ).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time.min, tzinfo=PROGRAM_TZ)


def parse_options(text: str) -> tuple[ClientBonusOption, ...]:
    """Client bonus options, one a line as "code: label"; ``ValidationError`` names the line."""
    options = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        code, sep, label = line.partition(":")
        if not sep or not code.strip() or not label.strip():
            raise ValidationError(
                _("Строка %(n)s: нужно «код: название».") % {"n": number},
                code=BackofficeErrorCode.FORMAT,
            )
        options.append(ClientBonusOption(code.strip(), label.strip()))
    return tuple(options)


def format_options(options: tuple[ClientBonusOption, ...]) -> str:
    return "\n".join(f"{o.code}: {o.label}" for o in options)


class ConfigForm(forms.Form):
    """Every number of a version, prefilled from ``base`` (the latest version)."""

    activation_points = _number(gettext_lazy("Баллы за активного клиента"))
    activation_bonus = MoneyFormField(
        label=gettext_lazy("Бонус за активного клиента, ₽"), min_value=Decimal("0")
    )
    activation_users_over = _number(
        gettext_lazy("Клиент активен, когда пользователей в день больше чем")
    )
    activation_window_months = _number(
        gettext_lazy("Активировать клиента можно в течение, месяцев"), minimum=1
    )
    points_lifetime_months = _number(gettext_lazy("Баллы активны, месяцев"), minimum=1)
    review_period_months = _number(gettext_lazy("Пересмотр уровня каждые, месяцев"), minimum=1)
    reward_window_months = _number(
        gettext_lazy("Вознаграждение с оплат клиента в течение, месяцев")
    )
    landing_url = forms.URLField(
        label=gettext_lazy("Адрес страницы по реферальной ссылке"),
        max_length=500,
        assume_scheme="https",
    )
    referral_param = forms.CharField(
        label=gettext_lazy("Имя параметра с кодом партнёра"), max_length=32
    )
    attribution_window_days = _number(gettext_lazy("Окно привязки по ссылке, дней"), minimum=1)
    promo_max_validity_days = _number(
        gettext_lazy("Наибольший срок действия промокода, дней"), minimum=1
    )
    client_bonus_options = forms.CharField(
        label=gettext_lazy("Бонусы для клиента по промокоду"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("По одному в строке: «код: название», например «month: +1 месяц»."),
    )
    conversion_minimum = MoneyFormField(
        label=gettext_lazy("Минимальный остаток для вывода бонусов, ₽"), min_value=Decimal("0")
    )
    effective_from = MoscowDateTimeField(
        label=gettext_lazy("Действует с (время московское)"),
    )
    comment = forms.CharField(
        label=gettext_lazy("Комментарий"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, base: ProgramConfig, now: dt.datetime, **kwargs: Any) -> None:
        kwargs.setdefault("initial", self.initial_of(base, now))
        super().__init__(*args, **kwargs)
        self.base = base
        self.months = months_of(base) or [3, 6, 12]
        self.products = list(base.points)
        #: Errors that name a whole table (shown above it): "points", "levels".
        self.block_errors: dict[str, list[str]] = {"points": [], "levels": []}
        for i, product in enumerate(self.products):
            for m in self.months:
                self.fields[self.cell_name(i, m)] = _number(
                    f"{product} · {m}", required=m in base.points[product]
                )
        self.level_count = len(base.levels) + 1
        for i in range(self.level_count):
            if i > 0:
                self.fields[f"level_{i}_min_points"] = _number(
                    _("Уровень %(n)s: порог, баллов") % {"n": i}, required=False
                )
            self.fields[f"level_{i}_first_rate"] = PercentField(
                label=_("Уровень %(n)s: первая покупка, %%") % {"n": i}, required=False
            )
            self.fields[f"level_{i}_later_rate"] = PercentField(
                label=_("Уровень %(n)s: следующие покупки, %%") % {"n": i}, required=False
            )

    @staticmethod
    def cell_name(index: int, months: int) -> str:
        return f"points_{index}_{months}"

    @classmethod
    def initial_of(cls, base: ProgramConfig, now: dt.datetime) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(base, name)
            for name in (
                "activation_points",
                "activation_bonus",
                "activation_users_over",
                "activation_window_months",
                "points_lifetime_months",
                "review_period_months",
                "reward_window_months",
                "landing_url",
                "referral_param",
                "attribution_window_days",
                "promo_max_validity_days",
                "conversion_minimum",
            )
        }
        initial["client_bonus_options"] = format_options(base.client_bonus_options)
        initial["effective_from"] = next_moscow_midnight(now)
        for i, row in enumerate(base.points.values()):
            for m, value in row.items():
                initial[cls.cell_name(i, m)] = value
        for level in base.levels:
            initial[f"level_{level.number}_min_points"] = level.min_points
            initial[f"level_{level.number}_first_rate"] = level.first_rate
            initial[f"level_{level.number}_later_rate"] = level.later_rate
        return initial

    # -- layout helpers for the template

    def point_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "code": product,
                "label": PRODUCT_LABELS.get(product, product),
                "cells": [self[self.cell_name(i, m)] for m in self.months],
            }
            for i, product in enumerate(self.products)
        ]

    def level_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "number": i,
                "min_points": self[f"level_{i}_min_points"] if i > 0 else None,
                "first_rate": self[f"level_{i}_first_rate"],
                "later_rate": self[f"level_{i}_later_rate"],
                "is_new": i >= len(self.base.levels),
            }
            for i in range(self.level_count)
        ]

    def general_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.declared_fields]

    # -- validation of shape; the rules themselves are the service's

    def clean_client_bonus_options(self) -> tuple[ClientBonusOption, ...]:
        return parse_options(self.cleaned_data["client_bonus_options"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        levels: list[dict[str, Any]] = []
        ended = False
        for i in range(self.level_count):
            names = [f"level_{i}_first_rate", f"level_{i}_later_rate"]
            if i > 0:
                names.insert(0, f"level_{i}_min_points")
            if any(name in self.errors for name in names):
                continue
            values = [cleaned.get(name) for name in names]
            if all(v is None for v in values) and i > 0:
                ended = True
                continue
            if any(v is None for v in values):
                for name, value in zip(names, values, strict=True):
                    if value is None:
                        self.add_error(name, _("Заполните порог и обе ставки уровня."))
                continue
            if ended:
                self.block_errors["levels"].append(
                    _("Уровни идут без пропусков: заполните уровень %(n)s или очистите следующие.")
                    % {"n": i - 1}
                )
                continue
            levels.append(
                {
                    "number": i,
                    "min_points": cleaned.get(f"level_{i}_min_points", 0) if i > 0 else 0,
                    "first_rate": str(cleaned[f"level_{i}_first_rate"]),
                    "later_rate": str(cleaned[f"level_{i}_later_rate"]),
                }
            )
        self.levels_document = levels
        return cleaned

    def is_valid(self) -> bool:
        return super().is_valid() and not any(self.block_errors.values())

    def document(self) -> dict[str, Any]:
        """The configuration document of the cleaned form (on top of ``base``)."""
        data = self.cleaned_data
        document = config_to_dict(self.base)
        for name in (
            "activation_points",
            "activation_users_over",
            "activation_window_months",
            "points_lifetime_months",
            "review_period_months",
            "reward_window_months",
            "landing_url",
            "referral_param",
            "attribution_window_days",
            "promo_max_validity_days",
        ):
            document[name] = data[name]
        document["activation_bonus"] = str(data["activation_bonus"])
        document["conversion_minimum"] = str(data["conversion_minimum"])
        document["client_bonus_options"] = [
            {"code": o.code, "label": o.label} for o in data["client_bonus_options"]
        ]
        document["points"] = {
            product: {
                str(m): data[self.cell_name(i, m)]
                for m in self.months
                if data.get(self.cell_name(i, m)) is not None
            }
            for i, product in enumerate(self.products)
        }
        document["levels"] = self.levels_document
        return document

    def add_service_errors(self, error: ValidationFailed) -> None:
        """Put the service's errors under the fields (or tables) they name."""
        for name, texts in error.fields.items():
            target = self.form_field_of(name)
            for text in texts:
                if target in self.block_errors:
                    self.block_errors[target].append(str(text))
                else:
                    self.add_error(target, str(text))
        if not error.fields:
            self.add_error(None, str(error.message))

    def form_field_of(self, service_field: str) -> str | None:
        """The form field (or table) an error of the service names; None: the whole form."""
        if service_field in self.fields:
            return service_field
        head, _sep, rest = service_field.partition(".")
        if head == "points":
            product, _dot, months = rest.rpartition(".")
            if product in self.products and months.isdigit():
                name = self.cell_name(self.products.index(product), int(months))
                if name in self.fields:
                    return name
            return "points"
        if head == "product_lines":
            return "points"
        if head == "levels":
            index, _dot, attr = rest.partition(".")
            name = f"level_{index}_{attr}"
            return name if name in self.fields else "levels"
        if service_field in {"min_points", "number"}:
            return "levels"
        return None


# --- pages ----------------------------------------------------------------------------------


def _program(request: HttpRequest) -> Program | None:
    return config_selectors.referral_program_of(
        organisation_of(request.user), request.GET.get("program", "").strip()
    )


def _program_query(program: Program) -> str:
    return f"?program={program.code}"


def _base_context(request: HttpRequest, program: Program | None) -> dict[str, Any]:
    vendor_org = organisation_of(request.user)
    return {
        "program": program,
        "programs": list(config_selectors.referral_programs_of(vendor_org)),
        "program_query": _program_query(program) if program is not None else "",
        "can_edit": allowed(CONFIG_EDITORS, request.user),
    }


@access(CONFIG_READERS)
@require_GET
def config_current(request: HttpRequest) -> HttpResponse:
    """The configuration in force now, the versions scheduled to come and the history."""
    program = _program(request)
    context = _base_context(request, program)
    if program is None:
        return render(request, "backoffice/referrals/config.html", context)
    now = clock.now()
    current = config_selectors.config_set(program).at(now)
    page = paginate(request, config_selectors.config_versions(program), HISTORY_PER_PAGE)
    rows = {row.version: row for row in page}
    context.update(
        {
            "now": now,
            "current": config_view(current),
            "current_row": rows.get(current.version),
            "scheduled": [
                {"row": row, "view": config_view(row.to_config())}
                for row in config_selectors.config_scheduled(program, now)
            ],
            "page": page,
            "in_force_version": current.version,
        }
    )
    return render(request, "backoffice/referrals/config.html", context)


@access(CONFIG_READERS)
@require_GET
def config_version(request: HttpRequest, version: int) -> HttpResponse:
    """One version: its numbers, who made it and when, and what it changed."""
    program = _program(request)
    if program is None:
        return redirect("backoffice:referral_config")
    row = config_selectors.config_version_get(program, version)
    previous = config_selectors.config_versions(program).filter(version__lt=version).first()
    now = clock.now()
    in_force = config_selectors.config_set(program).at(now).version
    if row.version == in_force:
        status = _("Действует сейчас")
    elif row.effective_from > now:
        status = _("Запланирована")
    else:
        status = _("Заменена более новой версией")
    context = _base_context(request, program)
    context.update(
        {
            "row": row,
            "view": config_view(row.to_config()),
            "previous": previous,
            "changes": changed_settings(previous.document if previous else None, row.document),
            "status": status,
        }
    )
    return render(request, "backoffice/referrals/config_version.html", context)


@access(CONFIG_EDITORS)
@require_http_methods(["GET", "POST"])
def config_new(request: HttpRequest) -> HttpResponse:
    """A new version, prefilled from the latest one; nothing is stored on an error."""
    program = _program(request)
    if program is None:
        messages.error(request, _("У вендора нет реферальной программы."))
        return redirect("backoffice:referral_config")
    latest = config_selectors.config_versions(program).first()
    base = latest.to_config() if latest is not None else DEFAULT
    now = clock.now()
    form = ConfigForm(request.POST if request.method == "POST" else None, base=base, now=now)
    if request.method == "POST" and form.is_valid():
        try:
            row = config_services.config_version_create(
                program=program,
                document=form.document(),
                effective_from=form.cleaned_data["effective_from"],
                actor=request.user,
                comment=form.cleaned_data["comment"],
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                _("Версия %(version)s сохранена; действует с %(from)s (МСК).")
                % {
                    "version": row.version,
                    "from": row.effective_from.astimezone(PROGRAM_TZ).strftime("%d.%m.%Y %H:%M"),
                },
            )
            url = reverse("backoffice:referral_config_version", kwargs={"version": row.version})
            return redirect(url + _program_query(program))
    context = _base_context(request, program)
    context.update({"form": form, "latest": latest, "base_version": base.version})
    has_errors = bool(form.errors) or any(form.block_errors.values())
    return render(
        request,
        "backoffice/referrals/config_form.html",
        context,
        status=400 if request.method == "POST" and has_errors else 200,
    )
