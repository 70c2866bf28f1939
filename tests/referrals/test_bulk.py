"""The intake's multi-row statements (``services.bulk``) on the database of the run."""

from __future__ import annotations

import pytest
from django.db import connection

from partnerhub.referrals.models import EventRejection, HistoryItem
from partnerhub.referrals.services import bulk
from tests.factories import ProgramFactory


@pytest.fixture
def program(db):
    return ProgramFactory(code="referrals")


def rows_of(program) -> list[tuple[str, int, str]]:
    return sorted(
        HistoryItem.objects.filter(program=program).values_list("partner", "at_us", "kind")
    )


def test_rows_are_inserted_updated_and_deleted_with_text_that_needs_escaping(program):
    # given history rows with tabs, backslashes, quotes and Cyrillic in their JSON
    data = {"note": 'таб\tслэш\\ "кавычки"\nстрока'}
    bulk.insert_rows(
        HistoryItem,
        ["program_id", "partner", "kind", "at_us", "event_id", "data"],
        [
            (program.pk, code, "grant", at, f"e{at}", bulk.json_text(data))
            for code in "AB"
            for at in (1, 2, 3)
        ],
    )
    assert HistoryItem.objects.get(partner="A", at_us=2).data == data

    # when A's rows from 2 on and B's after 2 are deleted, reviews only for neither
    def delete(code: str, since: int, *, inclusive: bool, extra: str = "") -> None:
        bulk.delete_rows(
            HistoryItem,
            [(program.pk, code, since)],
            equal=["program_id", "partner"],
            bound="at_us",
            inclusive=inclusive,
            extra=extra,
        )

    delete("A", 2, inclusive=True)
    delete("B", 2, inclusive=False)
    delete("B", 0, inclusive=True, extra="kind = 'review'")
    # then A keeps 1, B keeps 1 and 2
    assert rows_of(program) == [("A", 1, "grant"), ("B", 1, "grant"), ("B", 2, "grant")]
    # and an update by key changes only the rows named, twice in one transaction
    for kind in ("bonus", "level"):
        bulk.update_rows(HistoryItem, ["partner", "at_us"], ["kind"], [(kind, "B", 2)])
    assert rows_of(program) == [("A", 1, "grant"), ("B", 1, "grant"), ("B", 2, "level")]


@pytest.mark.django_db(transaction=True)
def test_tables_that_grew_since_their_last_analysis_are_analysed_once():
    if connection.vendor != "postgresql":
        assert bulk.analyze_stale() == []  # SQLite plans without such statistics
        return
    # given 1,500 new rows in a table (and the statistics flushed)
    program = ProgramFactory(code="referrals")
    EventRejection.objects.bulk_create(
        EventRejection(program=program, stage="intake", reason="x", source="api")
        for _ in range(1_500)
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    # when stale tables are analysed, twice
    first, second = bulk.analyze_stale(), bulk.analyze_stale()
    # then the table is analysed the first time only
    assert "referrals_eventrejection" in first
    assert "referrals_eventrejection" not in second
