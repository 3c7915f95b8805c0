"""Access records under the audit chain (Art. 40; decision 0015).

``core.access`` records every read with one plain insert, at rates the chain need not carry.
This module makes those records tamper-evident afterwards, off the hot path: the audit sealer
(``audit_seal.seal``, under the checkpoint directory's lock) also seals the committed access
records not sealed yet, in id order, in batches:

1. each record's SM3 hash over its canonical text (``canonical``: every column, in a fixed
   order, with a unit separator no field holds);
2. appended OUTSIDE the database, in the checkpoint directory: ``access-hashes.bin`` (40 bytes
   per record: its id, 8 bytes big-endian, and its hash) and a line of ``access-batches.jsonl``
   (batch number, the records' count, first and last id, and the SM3 of the batch's 40-byte
   entries), each flushed to disk;
3. in the database, in one transaction: the records' ``sealed`` set to the batch number, and an
   audit event ``audit.access_sealed`` whose digest is the SM3 of that batch line's fields. The
   event joins the hash chain, which the signed checkpoints vouch for.

So the batch line is vouched for by the chain (its digest), the entries by the batch line, and
each record by its entry: ``verify`` names a record whose content was changed, or which was
deleted, by its id. The outside files are written first; a crash before the commit leaves a
batch line whose event does not exist, which the next run cuts back.

A record that may still change is not sealed before ``open_until`` (a bulk delivery's stream
sets its rows when it ends, ``sharing.bulk``).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Connection, or_, select, text
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.access import AccessRecord
from govdata.core.actor import Actor
from govdata.core.audit import AuditEvent, change_digest
from govdata.core.crypto import sm3, sm3_hex
from govdata.core.db import utcnow

log = structlog.get_logger(__name__)

HASHES_FILE = "access-hashes.bin"
BATCHES_FILE = "access-batches.jsonl"
ACTION = "audit.access_sealed"
SEALER = Actor(person_id=None, name="调用记录封存程序")
_ENTRY = struct.Struct(">Q32s")  # record id, SM3 of its canonical text
LIMIT = 50_000  # records per batch
_VERSION = "govdata-access/v1"

# Every column of a record, in the order the canonical text holds them.
COLUMNS = (
    AccessRecord.id,
    AccessRecord.at,
    AccessRecord.actor_id,
    AccessRecord.token_id,
    AccessRecord.actor_name,
    AccessRecord.actor_department_id,
    AccessRecord.address,
    AccessRecord.action,
    AccessRecord.object_type,
    AccessRecord.object_id,
    AccessRecord.owner_department_id,
    AccessRecord.rows,
    AccessRecord.personal,
    AccessRecord.fields,
    AccessRecord.outcome,
    AccessRecord.reason,
    AccessRecord.grant_id,
    AccessRecord.purpose,
    AccessRecord.subject_digest,
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return audit._at_text(value)
    return str(value)


def canonical(row: Sequence[Any]) -> bytes:
    """A record's canonical text (a row of ``COLUMNS``)."""
    return "\x1f".join((_VERSION, *(_text(v) for v in row))).encode("utf-8")


def record_hash(row: Sequence[Any]) -> bytes:
    return sm3(canonical(row))


# --- the outside files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    batch: int
    start: int  # entries before this batch in access-hashes.bin
    count: int
    first: int  # first and last record id
    last: int
    digest: str  # SM3 of the batch's entries

    def change(self) -> dict[str, Any]:
        """What the audit event's digest covers."""
        return asdict(self)

    def line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def _parse(line: str) -> Batch:
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    batch = Batch(**data)
    numbers = (batch.batch, batch.start, batch.count, batch.first, batch.last)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in numbers):
        raise ValueError("bad number")
    if not isinstance(batch.digest, str):
        raise ValueError("bad digest")
    return batch


class AccessLog:
    """The two files in the checkpoint directory; the caller holds its lock."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hashes = directory / HASHES_FILE
        self.batches = directory / BATCHES_FILE

    def read_batches(self) -> list[Batch]:
        if not self.batches.exists():
            return []
        content = self.batches.read_text(encoding="utf-8")
        complete = content if content.endswith("\n") else content[: content.rfind("\n") + 1]
        return [_parse(ln) for ln in complete.splitlines() if ln.strip()]

    def _rewrite_batches(self, batches: list[Batch]) -> None:
        tmp = self.batches.with_suffix(".tmp")
        tmp.write_text("".join(b.line() + "\n" for b in batches), encoding="utf-8")
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        tmp.replace(self.batches)

    def cut_to(self, batches: list[Batch]) -> None:
        """Keep only ``batches`` (a prefix of the file) and the entries they cover."""
        entries = batches[-1].start + batches[-1].count if batches else 0
        self._rewrite_batches(batches)
        if self.hashes.exists() and self.hashes.stat().st_size > entries * _ENTRY.size:
            os.truncate(self.hashes, entries * _ENTRY.size)

    def append(self, batch_no: int, entries: list[tuple[int, bytes]], known: list[Batch]) -> Batch:
        """Entries first, then the batch line, each flushed; returns the line written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        start = known[-1].start + known[-1].count if known else 0
        raw = b"".join(_ENTRY.pack(i, h) for i, h in entries)
        fd = os.open(self.hashes, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            length = os.fstat(fd).st_size
            if length < start * _ENTRY.size:
                raise OSError(f"{self.hashes} 短于批次记录所覆盖的 {start} 条")
            os.ftruncate(fd, start * _ENTRY.size)  # drop what an interrupted append left
            os.lseek(fd, 0, os.SEEK_END)
            os.write(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)
        batch = Batch(batch_no, start, len(entries), entries[0][0], entries[-1][0], sm3_hex(raw))
        fd = os.open(self.batches, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (batch.line() + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return batch

    def entries(self, batch: Batch) -> Iterator[tuple[int, bytes]]:
        with self.hashes.open("rb") as f:
            f.seek(batch.start * _ENTRY.size)
            raw = f.read(batch.count * _ENTRY.size)
        if len(raw) != batch.count * _ENTRY.size or sm3_hex(raw) != batch.digest:
            raise ValueError(f"第 {batch.batch} 批")
        for offset in range(0, len(raw), _ENTRY.size):
            record_id, digest = _ENTRY.unpack_from(raw, offset)
            yield int(record_id), bytes(digest)


# --- sealing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessSealResult:
    sealed: int  # records sealed by this run
    batch: int | None = None


def _events(session: Session) -> dict[int, str]:
    """Batch number -> digest of every ``audit.access_sealed`` event in the database."""
    rows = session.execute(
        select(AuditEvent.object_id, AuditEvent.digest).where(AuditEvent.action == ACTION)
    )
    out: dict[int, str] = {}
    for object_id, digest in rows:
        if str(object_id).isdigit():
            out[int(object_id)] = str(digest)
    return out


def _reconcile(session: Session, book: AccessLog) -> list[Batch]:
    """The file's batches, cut back past a last batch whose event never committed."""
    batches = book.read_batches()
    if not batches:
        return batches
    last = batches[-1]
    # Committed: its first record carries its number (a primary-key read); failing that (the
    # record deleted since), its event is looked for.
    committed = session.scalar(
        select(AccessRecord.id).where(
            AccessRecord.id == last.first, AccessRecord.sealed == last.batch
        )
    ) or session.scalar(
        select(AuditEvent.id)
        .where(AuditEvent.action == ACTION, AuditEvent.object_id == str(last.batch))
        .limit(1)
    )
    if committed is None:
        log.warning("audit.access_batch_cut", batch=last.batch)
        batches = batches[:-1]
        book.cut_to(batches)
    return batches


def seal_records(
    session: Session, directory: Path, *, limit: int = LIMIT, now: datetime | None = None
) -> AccessSealResult:
    """Seal the committed access records not sealed yet (at most ``limit``), in the caller's
    transaction, which must hold the checkpoint directory's lock and commit afterwards."""
    book = AccessLog(directory)
    known = _reconcile(session, book)
    moment = now or utcnow()
    rows = session.execute(
        select(*COLUMNS)
        .where(
            AccessRecord.sealed.is_(None),
            or_(AccessRecord.open_until.is_(None), AccessRecord.open_until < moment),
        )
        .order_by(AccessRecord.id)
        .limit(limit)
    ).all()
    if not rows:
        return AccessSealResult(0)
    # The files know the last batch; only without them is the chain asked (a first run, or
    # files lost: numbers already used are not used again).
    batch_no = (known[-1].batch if known else max(_events(session), default=0)) + 1
    entries = [(int(r[0]), record_hash(r)) for r in rows]
    batch = book.append(batch_no, entries, known)
    _mark(session.connection(), [i for i, _ in entries], batch_no)
    audit.record(
        session,
        SEALER,
        ACTION,
        object_type="access_batch",
        object_id=batch_no,
        summary=f"封存调用记录 {batch.count} 条（编号 {batch.first}–{batch.last}）",
        change=batch.change(),
    )
    return AccessSealResult(len(entries), batch_no)


def _mark(conn: Connection, ids: list[int], batch_no: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("UPDATE access_records SET sealed = :b WHERE id = ANY(CAST(:ids AS bigint[]))"),
            {"b": batch_no, "ids": ids},
        )
        return
    conn.exec_driver_sql(
        "UPDATE access_records SET sealed = ? WHERE id = ?", [(batch_no, i) for i in ids]
    )


# --- verifying -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessVerifyResult:
    ok: bool
    checked: int  # sealed records found as sealed
    batches: int
    modified: tuple[int, ...] = ()  # ids of records whose content differs from their seal
    deleted: tuple[int, ...] = ()  # ids of sealed records no longer in the database
    problems: tuple[str, ...] = ()  # batches the files and the chain disagree on
    unsealed: int = 0  # records not sealed yet (checked by nothing)
    later: int = 0  # batches in the chain newer than the files given (not checked)

    def describe(self, most: int = 20) -> list[str]:
        """zh-CN lines naming what disagrees (at most ``most`` ids of each kind)."""
        out = list(self.problems)
        for label, ids in (("被篡改", self.modified), ("被删除", self.deleted)):
            if ids:
                shown = "、".join(str(i) for i in ids[:most])
                more = f" 等 {len(ids)} 条" if len(ids) > most else ""
                out.append(f"调用记录{label}：编号 {shown}{more}")
        return out


def verify_records(session: Session, directory: Path, *, chunk: int = 5_000) -> AccessVerifyResult:
    """Compare every sealed record with its entry outside the database, and every batch with
    its audit event in the chain (whose own integrity ``audit_verify.verify`` checks)."""
    book = AccessLog(directory)
    problems: list[str] = []
    try:
        batches = book.read_batches()
    except (ValueError, TypeError) as exc:
        return AccessVerifyResult(False, 0, 0, problems=(f"调用记录封存批次文件无法读取：{exc}",))
    events = _events(session)
    in_file = {b.batch for b in batches}
    newest = max(in_file, default=0)
    if events and not batches:
        problems.append(f"审计链记有 {len(events)} 批调用记录封存，而封存文件不存在或为空")
    for missing in sorted(n for n in set(events) - in_file if n < newest):
        problems.append(f"审计链记有第 {missing} 批调用记录封存，而封存文件中没有（文件被删改）")
    # Batches sealed after this copy of the files was taken (an auditor's older copy): told,
    # not failed, as events after the last checkpoint are.
    later = sum(1 for n in events if n > newest) if batches else 0
    modified: list[int] = []
    deleted: list[int] = []
    checked = 0
    for batch in batches:
        expected = events.get(batch.batch)
        if expected is None:
            if batch is batches[-1]:
                continue  # written, its transaction not (yet) committed: cut at the next seal
            problems.append(f"第 {batch.batch} 批调用记录封存在审计链中没有对应事件")
            continue
        if expected != change_digest(batch.change()):
            problems.append(f"第 {batch.batch} 批调用记录封存与审计链记载的摘要不符（文件被改写）")
            continue
        try:
            entries = list(book.entries(batch))
        except (ValueError, OSError):
            problems.append(f"第 {batch.batch} 批调用记录的逐条哈希与批次摘要不符（文件被改写）")
            continue
        for lo in range(0, len(entries), chunk):
            part = dict(entries[lo : lo + chunk])
            found = {
                int(r[0]): r
                for r in session.execute(select(*COLUMNS).where(AccessRecord.id.in_(list(part))))
            }
            for record_id, digest in part.items():
                row = found.get(record_id)
                if row is None:
                    deleted.append(record_id)
                elif record_hash(row) != digest:
                    modified.append(record_id)
                else:
                    checked += 1
    unsealed = int(
        session.execute(
            text("SELECT count(*) FROM access_records WHERE sealed IS NULL")
        ).scalar_one()
    )
    ok = not (problems or modified or deleted)
    return AccessVerifyResult(
        ok,
        checked,
        len(batches),
        tuple(sorted(modified)),
        tuple(sorted(deleted)),
        tuple(problems),
        unsealed,
        later,
    )
