"""Verifying the audit chain, against itself and against signed checkpoints (Art. 39, 49).

Within the database: each sealed event's hash must be the SM3 of its canonical text with its
predecessor's hash, and sequence numbers run without a gap from 1. That alone is defeated by
anyone who can write the database: they recompute every later hash, or delete the tail and move
the head back. So the chain is also compared with what was written outside the database
(``audit_checkpoints.Reference``): each event's hash with the per-event hash log the signed
checkpoints vouch for, each checkpoint's head with the chain at its size, and the last
checkpoint's size with the chain's length. The first event that disagrees is named.
"""

from __future__ import annotations

import mmap
import threading
from collections.abc import Generator, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from govdata.core.audit import (
    GENESIS_HASH,
    PG_MESSAGE,
    REST_COLUMNS,
    AuditEvent,
    AuditHead,
    sqlite_rest,
)
from govdata.core.audit_checkpoints import Reference
from govdata.core.crypto import sm3


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int  # sealed events found intact before the first disagreement
    first_broken_seq: int | None = None
    reason: str | None = None
    pending: int = 0  # events not yet sealed (待封存): in no chain yet, checked by nothing
    covered: int = 0  # the size of the last checkpoint checked against (0: none given)
    checkpoints: int = 0
    notes: tuple[str, ...] = ()


_COLUMNS = f"seq, prev_hash, hash, {REST_COLUMNS}"


def _messages(
    connection: Any, dialect: str, lo: int, hi: int, batch: int
) -> Generator[tuple[int, bytes, bytes], None, None]:
    """Stream (seq, hash, canonical text), both as UTF-8 bytes, of sealed events lo..hi
    (DBAPI). The text begins with the stored ``prev_hash``, so it is not read twice."""
    if dialect == "postgresql":
        from psycopg.types.string import ByteaBinaryLoader

        sql = (
            # coalesce: a NULLed prev_hash must read as a broken link, not stop the check.
            f"SELECT seq, coalesce(hash, ''), coalesce({PG_MESSAGE}, '') FROM audit_events "  # noqa: S608
            "WHERE seq BETWEEN %s AND %s ORDER BY seq"
        )
        # Server-side: streams. Text arrives as its UTF-8 bytes in the binary protocol and is
        # kept so: no decoding here, no encoding to hash.
        cursor = connection.cursor(name=f"audit_verify_{lo}", binary=True)
        for type_name in ("text", "varchar"):
            cursor.adapters.register_loader(type_name, ByteaBinaryLoader)
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
                text = f"{row[1]}\x1f{row[0]}\x1f{sqlite_rest(row[3:])}"
                yield row[0], (row[2] or "").encode("utf-8"), text.encode("utf-8")
    finally:
        cursor.close()


@dataclass(frozen=True)
class _RangeResult:
    first_broken_seq: int | None
    reason: str | None
    last_seq: int  # the last event seen (lo - 1 if none)
    last_hash: str | None


@dataclass(frozen=True)
class _Outside:
    """The part of a ``Reference`` one range needs (sent to a worker process)."""

    heads: dict[int, tuple[int, str]]
    hashes_path: Path | None
    hashes_size: int


_NO_OUTSIDE = _Outside({}, None, 0)


def _check_range(
    rows: Iterator[tuple[int, bytes, bytes]],
    lo: int,
    expected_prev: str | None,
    outside: _Outside,
    known: bytes | mmap.mmap | None,
) -> _RangeResult:
    """Check events from ``lo`` on: contiguous, each linked to its predecessor's stored hash,
    each hash equal to the SM3 of its content, and equal to what was written outside.
    ``expected_prev`` None: take the predecessor's hash from the first row read (a worker
    starts one row early, at ``lo - 1``)."""
    prev = expected_prev.encode("utf-8") if expected_prev is not None else None
    expected_seq = lo if expected_prev is not None else lo - 1
    last: bytes | None = None  # the last good event's stored hash

    def at(seq: int, why: str) -> _RangeResult:
        return _RangeResult(seq, why, seq, last.decode("utf-8") if last is not None else None)

    heads, known_size = outside.heads, outside.hashes_size if known is not None else 0
    for seq, stored, message in rows:
        if prev is None:  # the row before the range: its hash is all we need
            if seq != expected_seq:
                return _RangeResult(lo - 1, f"缺少序号为 {lo - 1} 的事件", lo - 1, None)
            prev = last = stored
            expected_seq = lo
            continue
        if seq != expected_seq:
            r = at(expected_seq, f"缺少序号为 {expected_seq} 的事件")
            return _RangeResult(r.first_broken_seq, r.reason, seq, r.last_hash)
        if message[:64] != prev:  # the stored prev_hash
            return at(seq, "前序哈希与上一事件不符")
        digest = sm3(message)
        if digest.hex().encode() != stored:
            return at(seq, "事件内容与其哈希不符（内容被篡改）")
        if seq <= known_size and known is not None and known[(seq - 1) * 32 : seq * 32] != digest:
            return at(seq, "与签名检查点记录的该事件哈希不符（事件被改写、删除或重新编号）")
        head = heads.get(seq)
        if head is not None and head[1].encode() != stored:
            start = head[0] + 1
            r = at(
                start,
                f"与签名检查点不符：序号 {start}–{seq} 之间有事件被改写、删除或重新编号"
                "（未提供逐事件哈希记录，无法精确定位）",
            )
            return _RangeResult(r.first_broken_seq, r.reason, seq, r.last_hash)
        prev = last = stored
        expected_seq += 1
    last_hash = last.decode("utf-8") if last is not None else None
    return _RangeResult(None, None, expected_seq - 1, last_hash)


def _check(raw: Any, dialect: str, lo: int, hi: int, batch: int, outside: _Outside) -> _RangeResult:
    known_file = outside.hashes_path.open("rb") if outside.hashes_path else None
    try:
        known = (
            mmap.mmap(known_file.fileno(), 0, access=mmap.ACCESS_READ)
            if known_file is not None and outside.hashes_size
            else None
        )
        start = lo if lo == 1 else lo - 1
        # closing(): stopping at a broken event must close the cursor before the connection.
        with closing(_messages(raw, dialect, start, hi, batch)) as rows:
            return _check_range(rows, lo, GENESIS_HASH if lo == 1 else None, outside, known)
    finally:
        if known_file is not None:
            known_file.close()


def _verify_range_in_process(
    url: str, lo: int, hi: int, batch: int, outside: _Outside
) -> _RangeResult:
    """A worker process: its own connection, the events lo..hi (and lo - 1 for the link)."""
    from govdata.core.db import make_engine

    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            return _check(raw, conn.dialect.name, lo, hi, batch, outside)
    finally:
        engine.dispose()


def verify(
    session: Session,
    *,
    reference: Reference | None = None,
    batch: int = 20_000,
    workers: int = 1,
    parallel_from: int = 50_000,
) -> VerifyResult:
    """Recompute the sealed chain from the first event; compare it with ``reference`` (signed
    checkpoints, read by ``audit_checkpoints.load_checkpoints``); name the first event that
    does not fit.

    With ``workers`` > 1 (the CLI passes the number of cores), ranges of the chain are checked
    by separate processes on their own connections: each event needs only its predecessor's
    stored hash, so the check splits cleanly. Only committed events are visible to them, so
    callers inside an uncommitted transaction (tests) keep ``workers=1``.
    """
    conn = session.connection()
    dialect = conn.dialect.name
    pending = int(
        conn.execute(text("SELECT count(*) FROM audit_events WHERE seq IS NULL")).scalar_one()
    )
    total = int(conn.execute(select(AuditHead.seq).where(AuditHead.id == 1)).scalar() or 0)
    ranges = _split(total, workers if total >= parallel_from else 1)
    outside = (
        _Outside(dict(reference.heads), reference.hashes_path, reference.hashes_size)
        if reference is not None
        else _NO_OUTSIDE
    )
    # Up to the end of the table, not the head: events past a tampered head are read too.
    last_lo, _ = ranges[-1]
    ranges[-1] = (last_lo, 2**62)
    if len(ranges) <= 1:
        results = [_check(conn.connection.dbapi_connection, dialect, 1, 2**62, batch, outside)]
    else:
        url = conn.engine.url.render_as_string(hide_password=False)
        with ProcessPoolExecutor(len(ranges), mp_context=_process_context()) as pool:
            futures = [
                pool.submit(_verify_range_in_process, url, lo, hi, batch, _part(outside, lo, hi))
                for lo, hi in ranges
            ]
            results = [f.result() for f in futures]

    def result(
        ok: bool, checked: int, broken: int | None = None, why: str | None = None
    ) -> VerifyResult:
        return VerifyResult(
            ok,
            checked,
            broken,
            why,
            pending=pending,
            covered=reference.size if reference is not None else 0,
            checkpoints=reference.checkpoints if reference is not None else 0,
            notes=reference.notes if reference is not None else (),
        )

    for i, ((_, hi), r) in enumerate(zip(ranges, results, strict=True)):
        if r.first_broken_seq is not None:
            return result(False, r.first_broken_seq - 1, r.first_broken_seq, r.reason)
        if i < len(ranges) - 1 and r.last_seq != hi:  # events missing at the end of a range
            gap = r.last_seq + 1
            return result(False, r.last_seq, gap, f"缺少序号为 {gap} 的事件")
    checked = results[-1].last_seq
    last_hash = results[-1].last_hash or GENESIS_HASH
    if reference is not None and reference.size > checked:
        why = (
            f"签名检查点记录的链长为 {reference.size}，数据库中只有 {checked} 个已封存事件"
            "（链尾被删除或截断）"
        )
        return result(False, checked, checked + 1, why)
    if not _head_agrees(session, checked, last_hash):
        return result(False, checked, checked + 1, "链尾事件缺失或链头记录被篡改")
    return result(True, checked)


def _head_agrees(session: Session, checked: int, last_hash: str) -> bool:
    """The head read after the chain: equal to its end, or ahead of it by events the sealer
    committed meanwhile (which must then exist)."""
    conn = session.connection()
    head = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if head is None:
        return checked == 0
    if head.seq == checked:
        return bool(head.hash == last_hash)
    if head.seq < checked:
        return False
    stored = conn.execute(select(AuditEvent.hash).where(AuditEvent.seq == head.seq)).scalar()
    return bool(stored == head.hash)


def _part(outside: _Outside, lo: int, hi: int) -> _Outside:
    heads = {size: h for size, h in outside.heads.items() if lo <= size <= hi}
    return _Outside(heads, outside.hashes_path, outside.hashes_size)


def _split(total: int, parts: int) -> list[tuple[int, int]]:
    if total <= 0:
        return [(1, 0)]
    parts = max(1, min(parts, total))
    size = -(-total // parts)
    return [(lo, min(lo + size - 1, total)) for lo in range(1, total + 1, size)]


def _process_context() -> BaseContext:
    """``fork`` (fast: nothing to import again) where this process runs one thread, as the CLI
    does; ``forkserver`` where other threads run (a server's sealer, a test server): a forked
    child would inherit any lock such a thread held at that moment and could wait on it forever
    (seen: a verify hung in a test worker where an e2e server's sealer thread still ran)."""
    return get_context("fork" if threading.active_count() == 1 else "forkserver")
