"""Tamper-evident audit chain (DESIGN principle 5; Art. 39, 44 ¶2 keep records).

Every state change appends an ``AuditEvent`` in the same transaction as the change. Each event
carries the SM3 hash of its predecessor; its own hash covers its sequence number, time, actor,
action, object, a zh-CN summary and the SM3 digest of the change. ``verify`` recomputes the chain
and names the first broken event. The change itself is not stored here, only its digest: the
audit log must not become a second copy of personal data.

Appends are serialized by one head row: the first statement of an append is an UPDATE of it,
which takes PostgreSQL's row lock (and SQLite's write lock) until the transaction ends, so two
transactions can never link to the same predecessor.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

from sqlalchemy import Integer, String, Text, bindparam, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

from govdata.core.actor import Actor
from govdata.core.crypto import sm3, sm3_hex
from govdata.core.db import Base, utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(80))
    # Scope of the object, so that an auditor's filters and a bureau's view can narrow by it.
    region_id: Mapped[int | None] = mapped_column(Integer, index=True)
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    summary: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the last sequence number and hash. Also detects a truncated tail."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


def change_digest(change: dict[str, Any]) -> str:
    text = json.dumps(change, sort_keys=True, ensure_ascii=False, default=str)
    return sm3_hex(text.encode("utf-8"))


def _event_bytes(
    prev_hash: str,
    seq: int,
    at: str,
    actor_id: int | None,
    actor_name: str,
    action: str,
    object_type: str,
    object_id: str,
    region_id: int | None,
    department_id: int | None,
    summary: str,
    digest: str,
) -> bytes:
    # One canonical line; every field is separated by a unit separator that no field holds.
    fields = (
        prev_hash,
        str(seq),
        at,
        "" if actor_id is None else str(actor_id),
        actor_name,
        action,
        object_type,
        object_id,
        "" if region_id is None else str(region_id),
        "" if department_id is None else str(department_id),
        summary,
        digest,
    )
    return "\x1f".join(fields).encode("utf-8")


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# The three statements of an append, built once and run on the transaction's connection: through
# Session.execute they would be ORM bulk updates (set-up, session synchronization, autoflush),
# which made an audited write cost three times a plain one (BENCHMARKS.md, B2).
_HEAD_ADVANCE = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(seq=AuditHead.seq + 1)
    .returning(AuditHead.seq, AuditHead.hash)
)
_HEAD_SET = update(AuditHead).where(AuditHead.id == 1).values(hash=bindparam("h"))
_EVENT_INSERT = insert(AuditEvent)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_id: str | int,
    summary: str,
    change: dict[str, Any] | None = None,
    region_id: int | None = None,
    department_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction.

    The first statement advances the head row, which locks it until the transaction ends:
    two transactions can never link to the same predecessor.
    """
    session.flush()  # the change being recorded is written before its event
    conn = session.connection()
    head = conn.execute(_HEAD_ADVANCE).one_or_none()
    if head is None:
        # First event ever: the head row is created by the initial migration; a database
        # created otherwise gets it here.
        conn.execute(insert(AuditHead).values(id=1, seq=1, hash=GENESIS_HASH))
        seq, prev_hash = 1, GENESIS_HASH
    else:
        seq, prev_hash = head
    at = utcnow()
    digest = change_digest(change or {})
    oid = str(object_id)
    event_hash = sm3(
        _event_bytes(
            prev_hash, seq, _at_text(at), actor.person_id, actor.name, action, object_type,
            oid, region_id, department_id, summary, digest,
        )
    ).hex()  # fmt: skip
    values: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "actor_id": actor.person_id,
        "actor_name": actor.name,
        "action": action,
        "object_type": object_type,
        "object_id": oid,
        "region_id": region_id,
        "department_id": department_id,
        "summary": summary,
        "digest": digest,
        "prev_hash": prev_hash,
        "hash": event_hash,
    }
    conn.execute(_EVENT_INSERT, values)
    conn.execute(_HEAD_SET, {"h": event_hash})
    # A detached copy for the caller to read; the row itself is already in the transaction.
    return AuditEvent(**values)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


_COLUMNS = (
    "seq, prev_hash, hash, at, actor_id, actor_name, action, object_type, object_id, "
    "region_id, department_id, summary, digest"
)
# On PostgreSQL the server builds each event's canonical text (in its own process, so on the
# other core); it must equal ``_event_bytes``.
_PG_MESSAGE = " || chr(31) || ".join(
    (
        "prev_hash", "seq::text",
        "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        "coalesce(actor_id::text, '')", "actor_name", "action", "object_type", "object_id",
        "coalesce(region_id::text, '')", "coalesce(department_id::text, '')", "summary", "digest",
    )
)  # fmt: skip


def _sqlite_message(row: tuple[Any, ...]) -> str:
    # SQLite keeps ``at`` as the text 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); the chain hashes it
    # as 'YYYY-MM-DDTHH:MM:SS.ffffffZ'.
    _, prev_hash, _, at, actor_id, actor_name, action, otype, oid, region, dept, summary, dg = row
    return "\x1f".join(
        (
            prev_hash, str(row[0]), f"{at[:10]}T{at[11:]}Z",
            "" if actor_id is None else str(actor_id), actor_name, action, otype, oid,
            "" if region is None else str(region), "" if dept is None else str(dept),
            summary, dg,
        )
    )  # fmt: skip


def _messages(
    connection: Any, dialect: str, lo: int, hi: int, batch: int
) -> Generator[tuple[int, str, str, str], None, None]:
    """Stream (seq, prev_hash, hash, canonical text) of events lo..hi on a DBAPI connection."""
    if dialect == "postgresql":
        sql = (
            f"SELECT seq, prev_hash, hash, {_PG_MESSAGE} FROM audit_events "  # noqa: S608
            "WHERE seq BETWEEN %s AND %s ORDER BY seq"
        )
        cursor = connection.cursor(name=f"audit_verify_{lo}")  # server-side: streams
        cursor.execute(sql, (lo, hi))
        try:
            while rows := cursor.fetchmany(batch):
                yield from rows
        finally:
            cursor.close()
        return
    cursor = connection.cursor()
    cursor.execute(
        f"SELECT {_COLUMNS} FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq",  # noqa: S608
        (lo, hi),
    )
    try:
        while rows := cursor.fetchmany(batch):
            for row in rows:
                yield row[0], row[1], row[2], _sqlite_message(row)
    finally:
        cursor.close()


@dataclass(frozen=True)
class _RangeResult:
    first_broken_seq: int | None
    reason: str | None
    last_seq: int  # the last event seen (lo - 1 if none)
    last_hash: str | None


def _check_range(
    rows: Iterator[tuple[int, str, str, str]], lo: int, expected_prev: str | None
) -> _RangeResult:
    """Check events from ``lo`` on: contiguous, each linked to its predecessor's stored hash,
    each hash equal to the SM3 of its content. ``expected_prev`` None: take the predecessor's
    hash from the first row read (a worker starts one row early, at ``lo - 1``)."""
    prev = expected_prev
    expected_seq = lo if expected_prev is not None else lo - 1
    last_hash = None
    for seq, prev_hash, stored, message in rows:
        if prev is None:  # the row before the range: its hash is all we need
            if seq != expected_seq:
                return _RangeResult(lo - 1, f"缺少序号为 {lo - 1} 的事件", lo - 1, None)
            prev, expected_seq, last_hash = stored, lo, stored
            continue
        if seq != expected_seq:
            return _RangeResult(expected_seq, f"缺少序号为 {expected_seq} 的事件", seq, last_hash)
        if prev_hash != prev:
            return _RangeResult(seq, "前序哈希与上一事件不符", seq, last_hash)
        if sm3(message.encode("utf-8")).hex() != stored:
            return _RangeResult(seq, "事件内容与其哈希不符（内容被篡改）", seq, last_hash)
        prev = last_hash = stored
        expected_seq += 1
    return _RangeResult(None, None, expected_seq - 1, last_hash)


def _verify_range_in_process(url: str, lo: int, hi: int, batch: int) -> _RangeResult:
    """A worker process: its own connection, the events lo..hi (and lo - 1 for the link)."""
    from govdata.core.db import make_engine

    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            with closing(_messages(raw, conn.dialect.name, max(lo - 1, 1), hi, batch)) as rows:
                return _check_range(rows, lo, GENESIS_HASH if lo == 1 else None)
    finally:
        engine.dispose()


def verify(
    session: Session, *, batch: int = 20_000, workers: int = 1, parallel_from: int = 50_000
) -> VerifyResult:
    """Recompute the chain from the first event; name the first event that does not fit.

    With ``workers`` > 1 (the CLI passes the number of cores), ranges of the chain are checked
    by separate processes on their own connections: each event needs only its predecessor's
    stored hash, so the check splits cleanly. Only committed events are visible to them, so
    callers inside an uncommitted transaction (tests) keep ``workers=1``.
    """
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    total = head.seq if head is not None else 0
    conn = session.connection()
    dialect = conn.dialect.name
    ranges = _split(total, workers if total >= parallel_from else 1)
    if len(ranges) <= 1:
        raw = conn.connection.dbapi_connection
        # Up to the end of the table, not the head: events past a tampered head are read too.
        # closing(): stopping at a broken event must close the cursor before the connection.
        with closing(_messages(raw, dialect, 1, 2**62, batch)) as rows:
            results = [_check_range(rows, 1, GENESIS_HASH)]
    else:
        url = conn.engine.url.render_as_string(hide_password=False)
        last_lo, _ = ranges[-1]
        ranges[-1] = (last_lo, 2**62)
        with ProcessPoolExecutor(len(ranges), mp_context=get_context("fork")) as pool:
            futures = [
                pool.submit(_verify_range_in_process, url, lo, hi, batch) for lo, hi in ranges
            ]
            results = [f.result() for f in futures]
    for i, ((_, hi), r) in enumerate(zip(ranges, results, strict=True)):
        if r.first_broken_seq is not None:
            return VerifyResult(False, r.first_broken_seq - 1, r.first_broken_seq, r.reason)
        if i < len(ranges) - 1 and r.last_seq != hi:  # events missing at the end of a range
            gap = r.last_seq + 1
            return VerifyResult(False, r.last_seq, gap, f"缺少序号为 {gap} 的事件")
    checked = results[-1].last_seq
    last_hash = results[-1].last_hash or GENESIS_HASH
    if head is not None and (head.seq != checked or head.hash != last_hash):
        return VerifyResult(False, checked, checked + 1, "链尾事件缺失或链头记录被篡改")
    return VerifyResult(True, checked)


def _split(total: int, parts: int) -> list[tuple[int, int]]:
    if total <= 0:
        return [(1, 0)]
    parts = max(1, min(parts, total))
    size = -(-total // parts)
    return [(lo, min(lo + size - 1, total)) for lo in range(1, total + 1, size)]
