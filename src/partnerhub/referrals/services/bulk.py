"""Multi-row INSERT, UPDATE and DELETE statements for the event intake's hot path.

Instead of the ORM's ``bulk_create``/``bulk_update`` (which spent more time building the SQL
than the database spent running it): on PostgreSQL ``COPY ... FROM STDIN`` (the driver formats
the rows in C; an UPDATE copies into a temporary table of this connection first and updates
from it), or one statement over ``unnest`` of one array a column where a conflict must be
ignored; on SQLite, in process, ``executemany``. Values must already be adapted for the
database (``connection.ops.adapt_datetimefield_value``; JSON columns take ``json_text``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import orjson
from django.db import connection, models

__all__ = ["delete_rows", "insert_rows", "json_text", "update_rows"]

CHUNK = 400


def json_text(value: Any) -> str:
    """A JSON column's value as text (``orjson``: several times faster than ``json.dumps``)."""
    return orjson.dumps(value).decode()


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _types(model: type[models.Model], columns: Sequence[str]) -> list[str]:
    by_column = {f.column: f for f in model._meta.concrete_fields}
    return [str(by_column[c].db_type(connection)) for c in columns]


def _unnest(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> tuple[str, list[list[Any]]]:
    """PostgreSQL: ``unnest(%s::type[], ...)`` with one array parameter a column, so that the
    statement text stays short and the driver caches it."""
    arrays = [list(values) for values in zip(*rows, strict=True)]
    sources = ", ".join(f"%b::{t}[]" for t in _types(model, columns))
    return f"unnest({sources})", arrays


def _execute_binary(sql: str, params: list[Any]) -> None:
    """Run on the driver's cursor with binary parameters: arrays of text need no escaping
    (psycopg's text dumper spent more than the statement itself)."""
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)  # errors reach callers as Django's (IntegrityError...)


def _copy(table: str, names: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``COPY table (names) FROM STDIN`` in text format, on the driver's cursor."""
    import psycopg

    connection.ensure_connection()
    with (
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
        cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _temp_table(model: type[models.Model], columns: Sequence[str]) -> str:
    """A temporary table of this session with ``columns`` of ``model``, emptied at every commit
    (made when missing: a rolled-back transaction takes the one it made with it)."""
    name = f"ph_tmp_{model._meta.db_table}_{zlib.crc32(' '.join(columns).encode())}"
    spec = ", ".join(
        f"{_quote(c)} {t}" for c, t in zip(columns, _types(model, columns), strict=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({spec}) ON COMMIT DELETE ROWS"
        )
    return name


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    conflict: Sequence[str] = (),
) -> None:
    """INSERT the rows (``ON CONFLICT (...) DO NOTHING`` when ``conflict`` names columns)."""
    if not rows:
        return
    table = _quote(model._meta.db_table)
    names = ", ".join(_quote(c) for c in columns)
    tail = f" ON CONFLICT ({', '.join(_quote(c) for c in conflict)}) DO NOTHING" if conflict else ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if not conflict:
                _copy(table, names, rows)
                return
            source, arrays = _unnest(model, columns, rows)
            sql = f"INSERT INTO {table} ({names}) SELECT * FROM {source}{tail}"  # noqa: S608
            _execute_binary(sql, arrays)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}){tail}", rows)  # noqa: S608


def update_rows(
    model: type[models.Model],
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """UPDATE ``columns`` of the rows matched by ``keys``; each row is (*columns, *keys)."""
    if not rows:
        return
    table = _quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            every = [*columns, *keys]
            temp = _temp_table(model, every)
            _copy(temp, ", ".join(_quote(c) for c in every), rows)
            sets = ", ".join(f"{_quote(c)} = v.{_quote(c)}" for c in columns)
            match = " AND ".join(f"{table}.{_quote(k)} = v.{_quote(k)}" for k in keys)
            cursor.execute(
                f"UPDATE {table} SET {sets} FROM {temp} AS v WHERE {match}"  # noqa: S608
            )
            cursor.execute(f"DELETE FROM {temp}")  # noqa: S608 - a second update in the same transaction
            return
        sets = ", ".join(f"{_quote(c)} = %s" for c in columns)
        match = " AND ".join(f"{_quote(k)} = %s" for k in keys)
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE {match}", rows)  # noqa: S608


def existing(
    model: type[models.Model],
    column: str,
    values: Sequence[str],
    *,
    program_id: int,
    extra: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Rows (``column``, *``extra``) of ``model`` in the program whose ``column`` is one of
    ``values``: on PostgreSQL one ``= ANY(array)`` parameter (a long ``IN (...)`` list was
    parsed anew by the driver for every batch)."""
    if not values:
        return []
    table = _quote(model._meta.db_table)
    columns = ", ".join(_quote(c) for c in [column, *extra])
    if connection.vendor == "postgresql":
        import psycopg

        sql = (
            f"SELECT {columns} FROM {table} "  # noqa: S608
            f"WHERE program_id = %b AND {_quote(column)} = ANY(%b::text[])"
        )
        connection.ensure_connection()
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, [program_id, list(values)])
            return cursor.fetchall()
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {columns} FROM {table} "  # noqa: S608
                f"WHERE program_id = %s AND {_quote(column)} IN ({marks})",
                [program_id, *chunk],
            )
            found.extend(cursor.fetchall())
    return found


def delete_rows(
    model: type[models.Model],
    rows: Sequence[tuple[Any, ...]],
    *,
    equal: Sequence[str],
    bound: str,
    inclusive: bool,
    extra: str = "",
) -> None:
    """DELETE, for each row (*``equal`` values, ``bound`` value), the rows of ``model`` with
    those ``equal`` columns and ``bound`` at or after (``inclusive``) or after the value, and
    the fixed SQL condition ``extra`` (no parameters). One statement on PostgreSQL."""
    if not rows:
        return
    table = _quote(model._meta.db_table)
    op = ">=" if inclusive else ">"
    tail = f" AND ({extra})" if extra else ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [*equal, bound]
            temp = _temp_table(model, columns)
            _copy(temp, ", ".join(_quote(c) for c in columns), rows)
            match = " AND ".join(f"{table}.{_quote(c)} = v.{_quote(c)}" for c in equal)
            cursor.execute(
                f"DELETE FROM {table} USING {temp} AS v "  # noqa: S608
                f"WHERE {match} AND {table}.{_quote(bound)} {op} v.{_quote(bound)}{tail}"
            )
            cursor.execute(f"DELETE FROM {temp}")  # noqa: S608
            return
        match = " AND ".join(f"{_quote(c)} = %s" for c in equal)
        cursor.executemany(
            f"DELETE FROM {table} WHERE {match} AND {_quote(bound)} {op} %s{tail}",  # noqa: S608
            rows,
        )


#: The tables the intake writes at every batch.
HOT_TABLES = (
    "referrals_storedevent",
    "referrals_eventpartition",
    "referrals_referralclient",
    "referrals_partnerstate",
    "referrals_statecheckpoint",
    "referrals_historyitem",
    "referrals_eventrejection",
)


def analyze_stale(tables: Sequence[str] = HOT_TABLES) -> list[str]:
    """PostgreSQL: ``ANALYZE`` the tables changed by more than a tenth since their last
    analysis (autovacuum's own rule), and return their names.

    The intake's lookups by id are planned from these statistics; where autovacuum is off or
    lags behind a backfill (300,000 events in a minute or two), a table analysed when it was
    nearly empty is read from start to end for every batch. The worker runs this
    (``referrals.analyze``) after many events and every minute.
    """
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
            "AND n_mod_since_analyze > 1000 + 0.1 * GREATEST(n_live_tup - n_mod_since_analyze, 0)",
            [list(tables)],
        )
        stale = sorted(name for (name,) in cursor.fetchall())
        for name in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    return stale
