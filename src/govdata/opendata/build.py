"""Building a release's rows from its pool (Art. 31 ¶2): the pool read in batches into Polars,
desensitized (``desensitize``), scanned (``leakscan``) and written to the release's table
(``store``), with bounded memory however large the pool.

On PostgreSQL both ends go through ``COPY`` (the pool's current table out as CSV, the release
in as CSV); elsewhere (SQLite) the pool is read by a streamed SELECT and the release written by
INSERTs. Rows are numbered in the order the pool returns them (a product decision: sorting a
pool of millions of rows by its file row number would cost more than the whole build).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import String, Table, cast, func, literal, select, union, union_all
from sqlalchemy.orm import Session

from govdata.aggregation.models import Pool
from govdata.aggregation.pools import current_table
from govdata.opendata import desensitize, leakscan, store
from govdata.opendata.desensitize import COUNT_COLUMN, Plan
from govdata.opendata.models import Release, RuleMethod

BATCH_ROWS = 250_000
_BATCH_BYTES = 48 * 1024 * 1024  # PostgreSQL: CSV read per batch
_READ_BYTES = 8 * 1024 * 1024

Progress = Callable[[int, int], None]  # (rows done, rows in the pool)


@dataclass(frozen=True)
class Built:
    row_count: int
    scan: dict[str, Any]


def _pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _csv_frame(data: bytes, columns: Sequence[str]) -> pl.DataFrame:
    return pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        new_columns=list(columns),
        schema_overrides=dict.fromkeys(columns, pl.String),
        infer_schema=False,
    )


def _pg_batches(session: Session, table: Table, columns: Sequence[str]) -> Iterator[pl.DataFrame]:
    """The pool's columns as all-text frames, through ``COPY … TO STDOUT``.

    The COPY is spooled to a private temporary file first: the release is written by COPY on
    the same connection (one transaction), and a connection runs one COPY at a time. The file
    is removed when the read ends, however it ends. A batch ends at a line break outside
    quotes (an even number of quote characters before it)."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    cols = ", ".join(f'"{c}"' for c in columns)
    # The table and its c1… columns are the pool's own names (``aggregation.tables``).
    sql = f'COPY (SELECT {cols} FROM "{table.name}") TO STDOUT (FORMAT csv)'  # noqa: S608
    with tempfile.TemporaryFile(prefix="govdata-release-") as spool:
        with raw.cursor() as cur, cur.copy(sql) as cp:
            for chunk in cp:
                spool.write(chunk)
        spool.seek(0)
        buffer = bytearray()
        while chunk := spool.read(_READ_BYTES):
            buffer += chunk
            if len(buffer) < _BATCH_BYTES:
                continue
            cut = buffer.rfind(b"\n")
            while cut >= 0 and buffer.count(b'"', 0, cut) % 2:
                cut = buffer.rfind(b"\n", 0, cut)
            if cut < 0:
                continue
            yield _csv_frame(bytes(buffer[: cut + 1]), columns)
            del buffer[: cut + 1]
    if buffer:
        yield _csv_frame(bytes(buffer), columns)


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "t" if v else "f"
    return str(v)


def _generic_batches(
    session: Session, table: Table, columns: Sequence[str]
) -> Iterator[pl.DataFrame]:
    result = session.execute(
        select(*(table.c[c] for c in columns)).execution_options(yield_per=BATCH_ROWS)
    )
    for part in result.partitions():
        rows = [[_text(v) for v in r] for r in part]
        yield pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")


def pool_batches(session: Session, pool: Pool, columns: Sequence[str]) -> Iterator[pl.DataFrame]:
    table = current_table(pool)
    if table is None:
        return iter(())
    if _pg(session):
        return _pg_batches(session, table, columns)
    return _generic_batches(session, table, columns)


def _typed(data_type: str, v: str | None) -> Any:
    """A released text value back to its column's Python type (INSERTs on SQLite)."""
    if v is None:
        return None
    if data_type == "D":
        return date.fromisoformat(v)
    if data_type == "T":
        return datetime.fromisoformat(v)
    if data_type == "I":
        return int(v)
    if data_type in ("N", "Y"):
        return Decimal(v)
    if data_type in ("B", "F"):
        return float(v)
    if data_type == "L":
        return v in ("t", "true", "True", "1")
    return v


def write_batch(session: Session, release: Release, frame: pl.DataFrame, first_row: int) -> None:
    if frame.is_empty():
        return
    if _pg(session):
        numbered = frame.select(
            pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64).alias("_row"),
            pl.all(),
        )
        store.copy_csv(
            session.connection(), release, numbered.write_csv(include_header=False).encode()
        )
        return
    types = [c["data_type"] for c in release.columns]
    rows = [
        [_typed(t, v) for t, v in zip(types, r, strict=True)]
        for r in frame.cast(pl.String).iter_rows()
    ]
    store.insert_rows(session.connection(), release, rows, first_row=first_row)


def released_columns(plans: Sequence[Plan]) -> list[dict[str, str]]:
    """``Release.columns`` for the plans: what the table holds, nothing else."""
    if desensitize.is_aggregate(plans):
        groups = [p for p in plans if p.method == RuleMethod.AGGREGATE]
        cols = [
            {**store.released_column(i, p.item, "C"), "method": p.method.value}
            for i, p in enumerate(groups)
        ]
        cols.append({**store.released_column(len(groups), COUNT_COLUMN, "I"), "method": "count"})
        return cols
    return [
        {**store.released_column(i, p.item, p.released_type), "method": p.method.value}
        for i, p in enumerate(desensitize.released(plans))
    ]


def _k(plans: Sequence[Plan]) -> int:
    given = [int(p.params["k"]) for p in plans if "k" in p.params]
    return max(given) if given else leakscan.DEFAULT_K


def run(
    session: Session,
    release: Release,
    pool: Pool,
    plans: Sequence[Plan],
    key: bytes,
    *,
    progress: Progress | None = None,
) -> Built:
    """Derive, scan and write the release's rows (its table must exist)."""
    aggregate = desensitize.is_aggregate(plans)
    groups = [p.item for p in plans if p.method == RuleMethod.AGGREGATE]
    quasi = [p.item for p in desensitize.released(plans) if p.quasi_identifier]
    if aggregate:
        quasi = [q for q in quasi if q in groups] or groups
    scanner = leakscan.Scanner(quasi, _k(plans))
    hidden = [p for p in plans if p.method in (RuleMethod.MASK, RuleMethod.PSEUDONYMIZE)]
    columns = list(dict.fromkeys(p.column for p in plans))
    done = written = 0
    partial: list[pl.DataFrame] = []
    for frame in pool_batches(session, pool, columns):
        out = desensitize.apply(frame, plans, key)
        done += frame.height
        if aggregate:
            partial.append(out)
            if len(partial) > 8:
                partial = [desensitize.merge_counts(partial, groups)]
        else:
            scanner.feed(out)
            write_batch(session, release, out, written + 1)
            written += out.height
        if progress is not None:
            progress(done, pool.row_count)
    if aggregate:
        counts = (
            desensitize.merge_counts(partial, groups)
            if partial
            else pl.DataFrame(schema={**dict.fromkeys(groups, pl.String), COUNT_COLUMN: pl.Int64})
        )
        scanner.feed(counts, weights=COUNT_COLUMN)
        write_batch(session, release, counts, 1)
        written = counts.height
    else:
        for item, count, examples in raw_value_hits(session, release, pool, hidden):
            scanner.record("raw_value", item, count, examples)
    return Built(written, scanner.report())


def raw_value_hits(
    session: Session, release: Release, pool: Pool, hidden: Sequence[Plan]
) -> list[tuple[str, int, list[str]]]:
    """(released item, how many values, two of them) for every released value that is a raw
    value (trimmed, two characters or more) of a masked or pseudonymized item anywhere in the
    pool (Art. 31 ¶2): the whole release against the whole pool in one query, after the
    release's rows are written in this transaction."""
    table = current_table(pool)
    if table is None or not hidden or release.table_name is None or not release.columns:
        return []
    released_table = store.table_of(release)
    raw = union(
        *(
            select(func.trim(cast(table.c[p.column], String)).label("v")).where(
                table.c[p.column].is_not(None)
            )
            for p in hidden
        )
    ).subquery("raw")
    released = union_all(
        *(
            select(
                cast(literal(c["name"]), String).label("item"),
                cast(released_table.c[c["column"]], String).label("v"),
            )
            for c in release.columns
        )
    ).subquery("released")
    rows = session.execute(
        select(released.c.item, func.count(), func.min(released.c.v), func.max(released.c.v))
        .where(func.length(released.c.v) >= 2, released.c.v.in_(select(raw.c.v)))
        .group_by(released.c.item)
    )
    return [(str(item), int(n), [str(lo), str(hi)]) for item, n, lo, hi in rows]
