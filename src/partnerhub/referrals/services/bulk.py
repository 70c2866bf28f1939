"""Multi-row INSERT and UPDATE statements for the event intake's hot path.

Instead of the ORM's ``bulk_create``/``bulk_update`` (which spent more time building the SQL
than the database spent running it): on PostgreSQL one statement a batch over ``unnest`` of one
array a column (a short statement the driver caches, one round trip); on SQLite, in process,
``executemany``. Values must already be adapted for the database
(``connection.ops.adapt_datetimefield_value``, ``adapt_json_value``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

__all__ = ["insert_rows", "update_rows"]

CHUNK = 400


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _types(model: type[models.Model], columns: Sequence[str]) -> list[str]:
    by_column = {f.column: f for f in model._meta.concrete_fields}
    return [str(by_column[c].db_type(connection)) for c in columns]


def _unnest(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]):
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
            aliases = [f"c{i}" for i in range(len(every))]
            source, arrays = _unnest(model, every, rows)
            sets = ", ".join(f"{_quote(c)} = v.{a}" for c, a in zip(columns, aliases, strict=False))
            match = " AND ".join(
                f"{table}.{_quote(k)} = v.{a}"
                for k, a in zip(keys, aliases[len(columns) :], strict=True)
            )
            _execute_binary(
                f"UPDATE {table} SET {sets} FROM {source} AS v({', '.join(aliases)}) "  # noqa: S608
                f"WHERE {match}",
                arrays,
            )
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
