"""A release's rows (Art. 31 ¶2): a table of their own, ``odr_<release id>``, written whole by
the build and never changed after.

Its columns are ``_row`` (the row's number in the release, 1…n, the order every read uses)
and ``c0`` … ``cN``, one per released column, described by ``Release.columns``
(``[{"name", "column", "data_type"}]``, the item's name and catalog data type; a desensitized
item is text, ``C``). Only what ``Release.columns`` lists exists in the table: a dropped item
never reaches it. Reads go through this module: a page (preview, ``datastore_search``), a count,
and batches in order (downloads).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    cast,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from govdata.aggregation.tables import sql_type
from govdata.opendata.models import Release

ROW_COLUMN = "_row"
_NAME = re.compile(r"odr_\d+")
MAX_FILTERS = 20


def release_table_name(release_id: int) -> str:
    return f"odr_{release_id}"


def is_release_table(name: str) -> bool:
    """Alembic leaves these alone: created at run time, one per release."""
    return _NAME.fullmatch(name) is not None


def released_column(index: int, name: str, data_type: str) -> dict[str, str]:
    return {"name": name, "column": f"c{index}", "data_type": data_type}


def table_of(release: Release) -> Table:
    if release.table_name is None:
        raise ValueError(f"release {release.id} has no table")
    return _table(release.table_name, release.columns)


def _table(name: str, columns: Sequence[Mapping[str, Any]]) -> Table:
    cols: list[Column[Any]] = [
        Column(ROW_COLUMN, BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    ]
    for c in columns:
        cols.append(Column(c["column"], sql_type(c["data_type"], None), nullable=True))
    return Table(name, MetaData(), *cols)


def create_table(conn: Connection, release: Release) -> Table:
    """Create the release's table (``release.table_name`` set from its id)."""
    release.table_name = release_table_name(release.id)
    table = table_of(release)
    table.create(conn)
    return table


def drop_table(conn: Connection, release: Release) -> None:
    if release.table_name is not None and is_release_table(release.table_name):
        conn.execute(text(f'DROP TABLE IF EXISTS "{release.table_name}"'))


def insert_rows(
    conn: Connection, release: Release, rows: Sequence[Sequence[Any]], *, first_row: int
) -> None:
    """Append rows (values in ``release.columns`` order), numbered from ``first_row``."""
    if not rows:
        return
    table = table_of(release)
    names = [c["column"] for c in release.columns]
    conn.execute(
        insert(table),
        [
            {ROW_COLUMN: first_row + i, **dict(zip(names, r, strict=True))}
            for i, r in enumerate(rows)
        ],
    )


@dataclass(frozen=True)
class Page:
    fields: list[dict[str, str]]  # [{"name", "data_type"}] of the columns returned
    rows: list[dict[str, Any]]  # by item name, with "_row"
    total: int  # rows matching the filters and q


def _column_of(release: Release, name: str) -> str | None:
    return next((c["column"] for c in release.columns if c["name"] == name), None)


def read_page(
    session: Session,
    release: Release,
    *,
    offset: int = 0,
    limit: int = 100,
    fields: Sequence[str] | None = None,
    filters: Mapping[str, Any] | None = None,
    q: str | None = None,
    sort: Sequence[tuple[str, bool]] = (),
) -> Page:
    """A page of the release's rows: ``fields`` (item names; all when None), equality
    ``filters`` by item name (a list means any of), ``q`` a substring of any column, ``sort``
    ``[(item name, descending)]`` then ``_row``. Unknown names raise ``KeyError(name)``."""
    table = table_of(release)
    chosen = list(release.columns)
    if fields is not None:
        wanted = list(dict.fromkeys(fields))
        missing = [f for f in wanted if _column_of(release, f) is None]
        if missing:
            raise KeyError(missing[0])
        chosen = [c for f in wanted for c in release.columns if c["name"] == f]
    conditions: list[ColumnElement[bool]] = []
    for name, value in list((filters or {}).items())[:MAX_FILTERS]:
        col = _column_of(release, name)
        if col is None:
            raise KeyError(name)
        values = value if isinstance(value, list) else [value]
        conditions.append(or_(*(cast(table.c[col], String) == str(v) for v in values)))
    if q:
        needle = f"%{q}%"
        conditions.append(
            or_(*(cast(table.c[c["column"]], String).like(needle) for c in release.columns))
        )
    where = and_(*conditions) if conditions else None
    count = select(func.count()).select_from(table)
    stmt = select(table.c[ROW_COLUMN], *(table.c[c["column"]] for c in chosen))
    if where is not None:
        count, stmt = count.where(where), stmt.where(where)
    order = []
    for name, descending in sort:
        col = _column_of(release, name)
        if col is None:
            raise KeyError(name)
        order.append(table.c[col].desc() if descending else table.c[col].asc())
    order.append(table.c[ROW_COLUMN].asc())
    total = int(session.execute(count).scalar_one())
    result = session.execute(stmt.order_by(*order).offset(max(offset, 0)).limit(max(limit, 0)))
    rows = [
        {ROW_COLUMN: r[0], **{c["name"]: r[i + 1] for i, c in enumerate(chosen)}} for r in result
    ]
    return Page([{"name": c["name"], "data_type": c["data_type"]} for c in chosen], rows, total)


def iter_batches(
    session: Session, release: Release, *, batch: int = 10_000
) -> Iterator[list[tuple[Any, ...]]]:
    """All rows in ``_row`` order, ``batch`` at a time (values in ``release.columns`` order),
    read by key ranges so that memory stays bounded on both engines."""
    table = table_of(release)
    cols = [table.c[c["column"]] for c in release.columns]
    last = 0
    while True:
        chunk = session.execute(
            select(table.c[ROW_COLUMN], *cols)
            .where(table.c[ROW_COLUMN] > last)
            .order_by(table.c[ROW_COLUMN])
            .limit(batch)
        ).all()
        if not chunk:
            return
        last = int(chunk[-1][0])
        yield [tuple(r[1:]) for r in chunk]


# --- the fast path: PostgreSQL's COPY ---------------------------------------------------------


def copy_csv(conn: Connection, release: Release, data: bytes) -> None:
    """Append rows given as CSV (``_row`` then the columns in ``release.columns`` order, no
    header; an unquoted empty field is NULL) through ``COPY``: PostgreSQL only, an order of
    magnitude faster than INSERTs for a release of millions of rows."""
    if not data:
        return
    names = ", ".join([ROW_COLUMN, *(c["column"] for c in release.columns)])
    raw = conn.connection.driver_connection
    assert (
        raw is not None and release.table_name is not None and is_release_table(release.table_name)
    )
    sql = f'COPY "{release.table_name}" ({names}) FROM STDIN (FORMAT csv)'
    with raw.cursor() as cur, cur.copy(sql) as copy:
        copy.write(data)
