"""Admin of the production calendar, issue "Business-day calendar": staff find a date (by the
date hierarchy, filters or a search for "2026-01-09" / "09.01.2026") and mark it working or a day
off, in the list, in the form or with the two actions. Every save goes through
``core.calendar.calendar_day_set`` (``source="staff"``, ``updated_by``, a new version token), so
the business-day functions of every process follow at once. Rows are created by seeding only:
no adding or deleting here.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerhub.core.calendar import (
    calendar_day_set,
    calendar_days_mark,
    default_kind,
    kind_problem,
)
from partnerhub.core.models.calendar import CalendarDay

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[CalendarDay]
    _ModelForm = forms.ModelForm[CalendarDay]
else:
    _ModelAdmin = admin.ModelAdmin
    _ModelForm = forms.ModelForm

SEARCH_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")


class CalendarDayForm(_ModelForm):
    """The day's form. When only "working day" changes, the kind follows it (a weekday off
    becomes a holiday, a Saturday at work a working Saturday); a kind that does not fit the date
    is refused."""

    class Meta:
        model = CalendarDay
        fields = ["is_working", "kind", "name"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        is_working = bool(cleaned.get("is_working", self.instance.is_working))
        kind = cleaned.get("kind", self.instance.kind)
        flipped = "is_working" in self.changed_data
        if "kind" not in self.fields or (flipped and "kind" not in self.changed_data):
            kind = default_kind(day=self.instance.date, is_working=is_working)
            self.instance.kind = kind
            if "kind" in self.fields:
                cleaned["kind"] = kind
        problem = kind_problem(day=self.instance.date, is_working=is_working, kind=kind)
        if problem is not None:
            self.add_error("kind" if "kind" in self.fields else "is_working", problem)
        return cleaned


class CalendarDayListForm(CalendarDayForm):
    """The list's row form: only the "working day" box."""

    class Meta:
        model = CalendarDay
        fields = ["is_working"]


@admin.register(CalendarDay)
class CalendarDayAdmin(_ModelAdmin):
    """The production calendar, one row a date."""

    form = CalendarDayForm
    list_display = [
        "date",
        "weekday",
        "is_working",
        "kind",
        "name",
        "source",
        "updated_by",
        "updated_at",
    ]
    list_display_links = ["date"]
    list_editable = ["is_working"]
    list_filter = ["is_working", "kind", "source"]
    list_select_related = ["updated_by"]
    date_hierarchy = "date"
    search_fields = ["name"]
    ordering = ["date"]
    fields = ["date", "is_working", "kind", "name", "source", "updated_by", "updated_at"]
    readonly_fields = ["date", "source", "updated_by", "updated_at"]
    actions = ["mark_working", "mark_day_off"]

    @admin.display(description=_("день недели"))
    def weekday(self, obj: CalendarDay) -> str:
        return date_format(obj.date, "D")

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[CalendarDayForm]:
        return CalendarDayListForm

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CalendarDay], search_term: str
    ) -> tuple[QuerySet[CalendarDay], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        day = _parse_date(search_term.strip())
        if day is not None:
            found = found | queryset.filter(date=day)
        return found, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        changed = set(form.changed_data)
        calendar_day_set(
            day=obj.date,
            is_working=obj.is_working,
            kind=obj.kind,
            name=obj.name if "name" in changed else None,
            by=_user(request),
        )
        obj.refresh_from_db()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CalendarDay | None = None) -> bool:
        return False

    @admin.action(description=_("Сделать рабочими днями"))
    def mark_working(self, request: HttpRequest, queryset: QuerySet[CalendarDay]) -> None:
        self._mark(request, queryset, is_working=True)

    @admin.action(description=_("Сделать нерабочими днями"))
    def mark_day_off(self, request: HttpRequest, queryset: QuerySet[CalendarDay]) -> None:
        self._mark(request, queryset, is_working=False)

    def _mark(
        self, request: HttpRequest, queryset: QuerySet[CalendarDay], *, is_working: bool
    ) -> None:
        days = list(queryset.values_list("date", flat=True))
        changed = calendar_days_mark(days=days, is_working=is_working, by=_user(request))
        message = gettext("Изменено дней: %(count)d.") % {"count": changed}
        self.message_user(request, message, messages.SUCCESS)


def _parse_date(text: str) -> dt.date | None:
    for pattern in SEARCH_DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _user(request: HttpRequest) -> AbstractBaseUser | None:
    """The acting user (the admin only lets authenticated staff in)."""
    return request.user if isinstance(request.user, AbstractBaseUser) else None
