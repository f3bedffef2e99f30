"""The bulk path: many rows into one table in few round trips, in constant memory.

SQLite gets the driver's ``executemany`` on one prepared statement; PostgreSQL gets ``COPY``.
Both take an iterable of row dicts and stream it in chunks, so memory does not grow with the
number of rows. Values are converted to what each backend stores through the table's own
column types, so a bulk-loaded row reads back exactly like one written by the ORM.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

CHUNK = 20_000
T = TypeVar("T")


def chunks(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to ``size`` items from any iterable, pulled as they are needed."""
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _processors(conn: Connection, table: sa.Table, columns: list[str]) -> list[Any]:
    dialect = conn.dialect
    out = []
    for name in columns:
        col_type = table.c[name].type
        proc = col_type.bind_processor(dialect)
        if proc is None and isinstance(col_type, sa.JSON):
            # psycopg adapts JSON only when wrapped; COPY takes the JSON text itself.
            proc = _json_text
        out.append(proc)
    return out


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def bulk_insert(
    conn: Connection,
    table: sa.Table,
    rows: Iterable[Mapping[str, Any]],
    columns: list[str] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Insert rows (dicts keyed by column name) into ``table`` on ``conn``; return the count.

    The caller owns the transaction. ``columns`` defaults to the keys of the first row.
    """
    count = 0
    for batch in chunks(rows, chunk):
        cols = columns or list(batch[0].keys())
        procs = _processors(conn, table, cols)
        # Column by column: the type conversions run as C-level maps, not per-value Python.
        columns_data = []
        for c, p in zip(cols, procs, strict=True):
            col = [row.get(c) for row in batch]
            columns_data.append(list(map(p, col)) if p else col)
        values = list(zip(*columns_data, strict=True))
        if conn.dialect.name == "postgresql":
            _copy(conn, table, cols, values)
        else:
            placeholders = ", ".join("?" for _ in cols)
            sql = f'INSERT INTO "{table.name}" ({", ".join(cols)}) VALUES ({placeholders})'
            conn.exec_driver_sql(sql, values)
        count += len(values)
    return count


def _copy(
    conn: Connection, table: sa.Table, cols: list[str], values: list[tuple[Any, ...]]
) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    sql = f'COPY "{table.name}" ({", ".join(cols)}) FROM STDIN'
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for row in values:
            copy.write_row(row)


def reset_sequence(conn: Connection, table: sa.Table, column: str = "id") -> None:
    """After inserting explicit ids on PostgreSQL, move the id sequence past them."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(
        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'), "
        f'COALESCE((SELECT MAX({column}) FROM "{table.name}"), 0) + 1, false)'
    )
