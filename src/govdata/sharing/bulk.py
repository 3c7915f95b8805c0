"""Bulk delivery (批量交付): a granted source, whole, as streamed CSV or Parquet (Art. 22, 26 ¶2,
40, 50(4)(5)).

A department system that needs the whole granted data set (not one subject at a time) asks for
it once and receives it as one stream: only the granted items, only the rows the grant's row
condition allows, in subject-key order. It goes through the one gate (``access.authorize``,
``want="data"``) and counts as ONE call of the grant's daily quota.

**Fail closed** (Art. 40): the access record (``sharing.bulk``) is committed before the first
byte leaves. It is written pessimistically: ``reason = sharing.stream_interrupted`` and
``open_until`` set; while the stream runs its ``rows`` is raised every few seconds in a short
transaction of its own; when the stream ends the record gets the rows sent and an empty
reason. So a client that vanishes leaves ``rows`` = rows handed to the connection and the
reason ``sharing.stream_interrupted``; a server that dies leaves the reason it was written with
and the last progress count (a lower bound of what left). ``open_until`` tells the access-record
sealer (``core.access_seal``) not to seal the record while the stream may still change it; a
stream longer than ``STREAM_LIMIT`` is cut, so by then the record is final either way.

Peak memory is bounded whatever the source's size: on PostgreSQL the CSV is produced by the
server (``COPY (SELECT granted columns …) TO STDOUT``, formula neutralizing done in the SELECT)
and passed on chunk by chunk; Parquet, and everything on SQLite, read the rows in batches from
a streaming cursor (a server-side cursor on PostgreSQL) and write one CSV chunk or one Parquet
row group per batch.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    case,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from govdata.core import calendar
from govdata.core.access import AccessRecord
from govdata.core.actor import Actor
from govdata.core.db import transaction, utcnow
from govdata.core.errors import DomainError
from govdata.core.spreadsheet_safety import FORMULA_START, csv_row
from govdata.sharing import access, quota
from govdata.sharing.sources import SourceItem

if TYPE_CHECKING:
    import psycopg

Format = Literal["csv", "parquet"]
ACTION = "sharing.bulk"
INTERRUPTED = "sharing.stream_interrupted"
# The longest a stream may run; after it the stream is cut and its record is final.
STREAM_LIMIT = timedelta(hours=6)
PROGRESS_SECONDS = 5.0  # how often a running stream's record gets its rows so far
BATCH_ROWS = 10_000  # rows per CSV chunk / Parquet row group on the batched path
CHUNK_BYTES = 256 * 1024  # bytes per chunk of the COPY path
BOM = "\ufeff".encode()
# ``core.spreadsheet_safety.FORMULA_START`` as a PostgreSQL regular expression.
_PG_FORMULA = "^[" + "".join("\\-" if c == "-" else c for c in FORMULA_START) + "]"


class StreamCut(Exception):
    """A stream ran past ``STREAM_LIMIT``: it stops, and its record says interrupted."""


@dataclass(frozen=True)
class Export:
    """What a started bulk delivery streams: the committed record's id, the items (in the
    source's order), and the SELECT of their columns with the row condition, in key order."""

    record_id: int
    fmt: Format
    grant_id: int
    source_code: str
    items: tuple[SourceItem, ...]
    query: Select[Any]

    @property
    def header(self) -> list[str]:
        return [i.name for i in self.items]

    @property
    def filename(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in self.source_code)
        return f"grant{self.grant_id}_{safe}.{self.fmt}"


def start(
    session: Session,
    actor: Actor,
    grant_id: int,
    *,
    purpose: str,
    fmt: Format,
    today: date | None = None,
) -> Export:
    """Authorize the delivery, count it as one call and write its access record (the caller
    commits before streaming). A refusal is recorded (outcome ``refused``, its code) and
    kept although the request fails."""
    try:
        auth = access.authorize(
            session, actor, grant_id, purpose=purpose, items=None, want="data", today=today
        )
        # One call of the grant's daily quota whatever the rows (Beijing day), as every call.
        quota.take_call(session, auth.grant.id, auth.grant.daily_quota, today or calendar.today())
    except DomainError as exc:
        if exc.code in ("sharing.system_required", "auth.scope_missing"):
            raise  # not a system under a grant: recorded as any refused request is
        access.record_call(
            session,
            actor,
            ACTION,
            grant_id=grant_id,
            source=None,
            purpose=purpose,
            outcome="refused",
            reason=exc.code,
        )
        exc.keep_changes = True
        raise
    table, key = auth.table, auth.key_column
    order = [table.c[key]] if key and key in table.c else []
    if "_row" in table.c:  # pools: the load's row number breaks ties and orders keyless pools
        order.append(table.c["_row"])
    query = select(*(table.c[i.column] for i in auth.items)).order_by(*order)
    if auth.row_filter is not None:
        query = query.where(auth.row_filter)
    record_id = _open_record(session, actor, auth, purpose)
    return Export(record_id, fmt, auth.grant.id, auth.source.code, auth.items, query)


def _open_record(session: Session, actor: Actor, auth: access.Authorized, purpose: str) -> int:
    """The delivery's access record, as ``access.record_call`` writes one, but open (its rows
    follow the stream) and pessimistic (interrupted until the stream ends). The personal-data
    budget is not charged: a system under a grant is held to the grant's quota instead."""
    departments = actor.department_ids()
    now = utcnow()
    values: dict[str, Any] = {
        "at": now,
        "actor_id": actor.person_id,
        "token_id": actor.token_id,
        "actor_name": actor.name[:100],
        "actor_department_id": min(departments) if departments else None,
        "address": actor.address,
        "action": ACTION,
        "object_type": "share_source",
        "object_id": auth.source.code[:80],
        "owner_department_id": auth.source.provider_department_id,
        "rows": 0,
        "personal": auth.personal,
        "fields": ",".join(i.name for i in auth.items)[:2000],
        "outcome": "allowed",
        "reason": INTERRUPTED,
        "grant_id": auth.grant.id,
        "purpose": purpose[:200],
        "subject_digest": None,
        "open_until": now + STREAM_LIMIT + timedelta(minutes=5),
    }
    stmt = insert(AccessRecord).values(values).returning(AccessRecord.id)
    return int(session.connection().execute(stmt).scalar_one())


# --- the record while and after the stream runs ------------------------------------------------


def _still_open(record_id: int) -> tuple[ColumnElement[bool], ...]:
    """The record, while its stream may still write it: open, and not sealed (a record sealed
    once its time was past is never changed after, or verify would call it tampered with)."""
    return (
        AccessRecord.id == record_id,
        AccessRecord.open_until.is_not(None),
        AccessRecord.sealed.is_(None),
    )


def progress(factory: sessionmaker[Session], record_id: int, rows: int) -> None:
    """A running stream's rows so far, in a short transaction of its own."""
    with transaction(factory) as session:
        session.execute(update(AccessRecord).where(*_still_open(record_id)).values(rows=rows))


def finish(factory: sessionmaker[Session], record_id: int, rows: int, *, complete: bool) -> None:
    """The stream's end: the rows sent, and the reason empty (complete) or interrupted."""
    with transaction(factory) as session:
        session.execute(
            update(AccessRecord)
            .where(*_still_open(record_id))
            .values(rows=rows, reason="" if complete else INTERRUPTED, open_until=None)
        )


# --- producing the bytes -------------------------------------------------------------------------

Chunk = tuple[bytes, int]  # bytes and the number of whole rows they end


def chunks(session: Session, export: Export, *, batch: int = BATCH_ROWS) -> Iterator[Chunk]:
    """The delivery's bytes, chunk by chunk, each with the rows it completes."""
    started = time.monotonic()
    limit = STREAM_LIMIT.total_seconds()
    conn = session.connection()
    if export.fmt == "csv" and conn.dialect.name == "postgresql":
        produced: Iterator[Chunk] = _copy_csv(session, export)
    elif export.fmt == "csv":
        produced = _batched_csv(session, export, batch)
    elif conn.dialect.name == "postgresql":
        produced = _parquet_from_copy(session, export, batch)
    else:
        produced = _parquet(session, export, batch)
    for chunk in produced:
        if time.monotonic() - started > limit:
            raise StreamCut()  # the record stays interrupted
        yield chunk


def _header_line(export: Export) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(csv_row(export.header))
    return BOM + buf.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _batched_csv(session: Session, export: Export, batch: int) -> Iterator[Chunk]:
    yield _header_line(export), 0
    for part in _batches(session, export, batch):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerows(csv_row(_cell(v) for v in row) for row in part)
        yield buf.getvalue().encode("utf-8"), len(part)


def _batches(session: Session, export: Export, batch: int) -> Iterator[Any]:
    """The rows in batches from a streaming cursor (server-side on PostgreSQL)."""
    options = {"stream_results": True, "yield_per": batch}
    result = session.connection().execute(export.query, execution_options=options)
    yield from result.partitions(batch)


def _pg_text(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A column as the CSV shows it, computed by PostgreSQL: formula-like text prefixed with
    ``'`` (``core.spreadsheet_safety``), booleans as true/false, anything else as it is."""
    kind = column.type
    if isinstance(kind, Boolean):
        return case((column.is_(True), literal("true")), (column.is_(False), literal("false")))
    if isinstance(kind, String):
        return case((column.op("~")(literal(_PG_FORMULA)), literal("'") + column), else_=column)
    return column


def _copy_csv(session: Session, export: Export) -> Iterator[Chunk]:
    """``COPY (SELECT …) TO STDOUT`` on the request's connection: the server writes the CSV."""
    yield _header_line(export), 0
    yield from _copy_out(session, export, neutralize=True, rows=None)


def _copy_out(
    session: Session, export: Export, *, neutralize: bool, rows: int | None
) -> Iterator[Chunk]:
    """The export's SELECT as CSV from PostgreSQL's COPY, in chunks of ~``CHUNK_BYTES``
    (``rows`` None) or of ``rows`` whole records."""
    from psycopg import ClientCursor
    from sqlalchemy.dialects import postgresql

    selected = list(export.query.selected_columns)
    cols = [(_pg_text(c) if neutralize else c).label(f"c{n}") for n, c in enumerate(selected)]
    query = export.query.with_only_columns(*cols, maintain_column_froms=True)
    compiled = query.compile(
        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"render_postcompile": True},  # IN (…) as one placeholder per value
    )
    raw = cast("psycopg.Connection[Any]", session.connection().connection.dbapi_connection)
    # The grant's row-condition values are bound client-side (psycopg quotes them): COPY
    # takes no server-side parameters.
    sql = ClientCursor(raw).mogrify(str(compiled), compiled.params)
    counter = _CsvRows()
    parts: list[bytes] = []
    size = done = 0
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
        # The server sends a message per row: passed on in bigger chunks.
        for data in copy:
            parts.append(bytes(data))
            size += len(data)
            if rows is None and size < CHUNK_BYTES:
                continue
            if rows is not None:
                done += counter.feed(bytes(data))
                if counter.quoted or done < rows:
                    continue
            block = b"".join(parts)
            parts.clear()
            size = 0
            n = counter.feed(block) if rows is None else done
            done = 0
            yield block, n
    if parts:
        block = b"".join(parts)
        yield block, (counter.feed(block) if rows is None else done)


class _CsvRows:
    """Counts the records a stream of CSV bytes completes: a newline outside quotes ends one
    (a quoted field may hold newlines; a doubled quote toggles twice)."""

    def __init__(self) -> None:
        self.quoted = False

    def feed(self, block: bytes) -> int:
        if b'"' not in block:
            return 0 if self.quoted else block.count(b"\n")
        n = 0
        parts = block.split(b'"')
        for i, part in enumerate(parts):
            if i:
                self.quoted = not self.quoted
            if not self.quoted:
                n += part.count(b"\n")
        return n


# --- Parquet -----------------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only file that keeps what was written until it is taken (one row group)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        b = bytes(data)
        self.parts.append(b)
        self.position += len(b)
        return len(b)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _arrow_type(column: ColumnElement[Any]) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]

    kind = column.type
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, BigInteger | Integer):
        return pa.int64()
    if isinstance(kind, Float):
        return pa.float64()
    if isinstance(kind, Numeric):
        return pa.decimal128(kind.precision or 38, kind.scale or 0)
    if isinstance(kind, DateTime):
        return pa.timestamp("us")
    if isinstance(kind, Date):
        return pa.date32()
    return pa.string()


def _parquet(session: Session, export: Export, batch: int) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    columns = list(export.query.selected_columns)
    schema = pa.schema(
        [pa.field(name, _arrow_type(c)) for name, c in zip(export.header, columns, strict=True)]
    )
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        for part in _batches(session, export, batch):
            values = list(zip(*part, strict=True))
            arrays = [
                pa.array(list(col), type=f.type) for col, f in zip(values, schema, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            yield sink.take(), len(part)
    finally:
        writer.close()
    yield sink.take(), 0  # the footer


def _parquet_from_copy(session: Session, export: Export, batch: int) -> Iterator[Chunk]:
    """PostgreSQL: the rows arrive as COPY's CSV, ``batch`` records at a time, and Arrow's CSV
    reader (C++) turns each batch into a row group with the export's schema."""
    import pyarrow as pa
    import pyarrow.csv as pacsv  # type: ignore[import-untyped]
    import pyarrow.parquet as pq

    columns = list(export.query.selected_columns)
    names = [f"c{n}" for n in range(len(columns))]
    schema = pa.schema(
        [pa.field(name, _arrow_type(c)) for name, c in zip(export.header, columns, strict=True)]
    )
    read = pacsv.ReadOptions(column_names=names, use_threads=False)
    convert = pacsv.ConvertOptions(
        column_types={n: f.type for n, f in zip(names, schema, strict=True)},
        strings_can_be_null=True,  # COPY writes NULL unquoted, an empty text as ""
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
    )
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        for block, n in _copy_out(session, export, neutralize=False, rows=batch):
            table = pacsv.read_csv(pa.BufferReader(block), read, convert_options=convert)
            writer.write_table(table.rename_columns(export.header))
            yield sink.take(), n
    finally:
        writer.close()
    yield sink.take(), 0  # the footer
