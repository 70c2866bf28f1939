"""``partnerhub calendar``: the production calendar from the command line, issue "Business-day
calendar".

``partnerhub calendar seed [--from 2020 --to 2035]`` writes the official calendar (the ``holidays``
package, RU) into the table, keeping staff edits; ``partnerhub calendar show 2026-01`` prints a
month as the business-day functions see it.
"""

from __future__ import annotations

import calendar as month_grid
import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _

from partnerhub.core.calendar import SEEDED_YEARS, current_calendar, seed_calendar
from partnerhub.core.models.calendar import CalendarDay

WEEKDAY_HEADER = ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")


class Command(BaseCommand):
    help = "Seed or show the business-day calendar (production calendar of Russia)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        seed = actions.add_parser("seed", help="write the official calendar, keeping staff edits")
        seed.add_argument("--from", dest="first", type=int, default=SEEDED_YEARS[0])
        seed.add_argument("--to", dest="last", type=int, default=SEEDED_YEARS[-1])
        show = actions.add_parser("show", help="print a month, e.g. 2026-01")
        show.add_argument("month", help="YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "seed":
            self._seed(options["first"], options["last"])
        else:
            self._show(options["month"])

    def _seed(self, first: int, last: int) -> None:
        if not 1900 <= first <= last <= 2100:
            raise CommandError(_("Годы от 1900 до 2100, и --from не позже --to."))
        changed = seed_calendar(range(first, last + 1))
        self.stdout.write(
            _("Календарь %(first)d–%(last)d: добавлено или изменено дней: %(changed)d.")
            % {"first": first, "last": last, "changed": changed}
        )

    def _show(self, text: str) -> None:
        try:
            month_start = dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError as exc:
            raise CommandError(_("Месяц в виде ГГГГ-ММ, например 2026-01.")) from exc
        for line in month_lines(month_start.year, month_start.month):
            self.stdout.write(line)


def month_lines(year: int, month: int) -> list[str]:
    """The month as a grid (non-working days marked with ``*``), its totals and named days."""
    calendar = current_calendar()
    weeks = month_grid.Calendar().monthdatescalendar(year, month)
    lines = [
        f"{str(MONTHS[month]).capitalize()} {year}",
        " ".join(f"{d:>3}" for d in WEEKDAY_HEADER),
    ]
    for week in weeks:
        cells = []
        for day in week:
            if day.month != month:
                cells.append("   ")
            else:
                mark = " " if calendar.is_business_day(day) else "*"
                cells.append(f"{day.day:>2}{mark}")
        lines.append(" ".join(cells).rstrip())
    days = [day for week in weeks for day in week if day.month == month]
    working = sum(calendar.is_business_day(day) for day in days)
    lines.append(
        _("* — нерабочий день. Рабочих дней: %(working)d, нерабочих: %(off)d.")
        % {"working": working, "off": len(days) - working}
    )
    if not calendar.covers(days[0]) or not calendar.covers(days[-1]):
        lines.append(_("Месяца нет в календаре: дни посчитаны по правилу «пн–пт рабочие»."))
    for row in CalendarDay.objects.filter(date__year=year, date__month=month).exclude(name=""):
        lines.append(f"{row.date:%d.%m} {row.name} ({row.get_kind_display()})")
    return lines
