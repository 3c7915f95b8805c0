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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

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
    """Append one event to the chain in the caller's transaction."""
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one_or_none()
    if head is None:
        # First event ever: the head row is created by the initial migration; a database
        # created otherwise (tests' metadata.create_all) gets it here.
        session.add(AuditHead(id=1, seq=1, hash=GENESIS_HASH))
        session.flush()
        seq, prev_hash = 1, GENESIS_HASH
    else:
        seq, prev_hash = head.seq, head.hash
    # Whole microseconds survive both engines' round trip unchanged.
    at = utcnow()
    digest = change_digest(change or {})
    oid = str(object_id)
    digest_hash = sm3(
        _event_bytes(
            prev_hash,
            seq,
            _at_text(at),
            actor.person_id,
            actor.name,
            action,
            object_type,
            oid,
            region_id,
            department_id,
            summary,
            digest,
        )
    ).hex()
    event = AuditEvent(
        seq=seq,
        at=at,
        actor_id=actor.person_id,
        actor_name=actor.name,
        action=action,
        object_type=object_type,
        object_id=oid,
        region_id=region_id,
        department_id=department_id,
        summary=summary,
        digest=digest,
        prev_hash=prev_hash,
        hash=digest_hash,
    )
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=digest_hash))
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


_COLUMNS = (
    "seq, at, actor_id, actor_name, action, object_type, object_id, region_id, "
    "department_id, summary, digest, prev_hash, hash"
)


def _rows(session: Session, batch: int) -> Iterator[tuple[Any, ...]]:
    # Options on the statement, not the connection: a server-side cursor for this read only.
    result = session.connection().exec_driver_sql(
        f"SELECT {_COLUMNS} FROM audit_events ORDER BY seq",  # noqa: S608
        execution_options={"stream_results": True, "yield_per": batch},
    )
    for part in result.partitions(batch):
        yield from part


def _at_from_db(value: Any) -> str:
    if isinstance(value, datetime):
        return _at_text(value if value.tzinfo else value.replace(tzinfo=UTC))
    # SQLite returns the stored text ('YYYY-MM-DD HH:MM:SS.ffffff[+00:00]').
    parsed = datetime.fromisoformat(str(value))
    return _at_text(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def verify(session: Session, *, batch: int = 20_000) -> VerifyResult:
    """Recompute the chain from the first event; name the first event that does not fit."""
    prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for row in _rows(session, batch):
        (
            seq,
            at,
            actor_id,
            actor_name,
            action,
            otype,
            oid,
            region,
            dept,
            summary,
            digest,
            prev_hash,
            stored,
        ) = row
        if seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"缺少序号为 {expected_seq} 的事件")
        if prev_hash != prev:
            return VerifyResult(False, checked, seq, "前序哈希与上一事件不符")
        computed = sm3(
            _event_bytes(
                prev,
                seq,
                _at_from_db(at),
                actor_id,
                actor_name,
                action,
                otype,
                oid,
                region,
                dept,
                summary,
                digest,
            )
        ).hex()
        if computed != stored:
            return VerifyResult(False, checked, seq, "事件内容与其哈希不符（内容被篡改）")
        prev = stored
        expected_seq += 1
        checked += 1
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if head is not None and (head.seq != checked or head.hash != prev):
        return VerifyResult(False, checked, checked + 1, "链尾事件缺失或链头记录被篡改")
    return VerifyResult(True, checked)
