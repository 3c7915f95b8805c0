"""Tamper-evident audit chain (DESIGN principle 5; Art. 39, 40, 44 ¶2 keep records).

Every state change inserts an ``AuditEvent`` in the same transaction as the change: a change
whose event cannot be written does not happen. The insert takes no lock on any shared row, so
concurrent audited transactions do not queue on each other (Art. 40: every data access is
recorded, thousands a second).

The sealer (``core/audit_seal.py``, one at a time, at most ~1 s behind) then gives committed
events their place in the chain: consecutive ``seq``, the SM3 hash of its predecessor, and its
own hash over its sequence number, time, actor, action, object, a zh-CN summary and the SM3
digest of the change; and signs a checkpoint (size, head hash; SM2 with SM3) into a log outside
the database (``core/audit_checkpoints.py``). ``verify`` recomputes the chain, compares it with
the checkpoints it is given, and names the first event that disagrees. The change itself is not
stored here, only its digest: the audit log must not become a second copy of personal data
(decision 0001). Design: decision 0010.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, insert, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from govdata.core.actor import Actor
from govdata.core.crypto import sm3_hex
from govdata.core.db import Base, utcnow

GENESIS_HASH = "0" * 64
# 64-bit on PostgreSQL: at thousands of events a second a 32-bit sequence lasts weeks.
_BIG = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # The sealer's work list: the few events not yet in the chain, found without a scan.
    __table_args__ = (
        Index(
            "ix_audit_events_unsealed",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )

    # Given by the database at insert: no writer waits for another to learn its number.
    id: Mapped[int] = mapped_column(_BIG, primary_key=True, autoincrement=True)
    # Given by the sealer: the event's place in the chain (None: pending, 待封存).
    seq: Mapped[int | None] = mapped_column(_BIG, unique=True)
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
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the last sealed sequence number and hash. Only the sealer writes it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(_BIG)
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


# Built once and run on the transaction's connection: through Session.execute it would be an ORM
# bulk insert (set-up, session synchronization), which made an audited write cost three times a
# plain one (BENCHMARKS.md, B2).
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
    """Write one event in the caller's transaction: durable with the change, or not at all.

    Only an INSERT: no shared row is locked, so concurrent writers do not wait for each other.
    The event joins the chain when the sealer next runs (``audit_seal.seal``).
    """
    session.flush()  # the change being recorded is written before its event
    values: dict[str, Any] = {
        "at": utcnow(),
        "actor_id": actor.person_id,
        "actor_name": actor.name,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "region_id": region_id,
        "department_id": department_id,
        "summary": summary,
        "digest": change_digest(change or {}),
    }
    session.connection().execute(_EVENT_INSERT, values)
    # A detached copy for the caller to read; the row itself is already in the transaction.
    return AuditEvent(**values)


# --- the canonical text of an event, built where the rows are ---------------------------------
# Its fields after ``prev_hash`` and ``seq`` (which the sealer gives) are the event's own. On
# PostgreSQL the server builds that part (in its own process, so on the other core); both must
# equal ``_event_bytes``.
PG_REST = " || chr(31) || ".join(
    (
        "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        "coalesce(actor_id::text, '')", "actor_name", "action", "object_type", "object_id",
        "coalesce(region_id::text, '')", "coalesce(department_id::text, '')", "summary", "digest",
    )
)  # fmt: skip
PG_MESSAGE = f"prev_hash || chr(31) || seq::text || chr(31) || {PG_REST}"
REST_COLUMNS = (
    "at, actor_id, actor_name, action, object_type, object_id, region_id, department_id, "
    "summary, digest"
)


def sqlite_rest(row: tuple[Any, ...] | Any) -> str:
    """The event's own fields from a raw SQLite row of ``REST_COLUMNS``. SQLite keeps ``at`` as
    the text 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); the chain hashes it as
    'YYYY-MM-DDTHH:MM:SS.ffffffZ'."""
    at, actor_id, actor_name, action, otype, oid, region, dept, summary, dg = row
    return "\x1f".join(
        (
            f"{at[:10]}T{at[11:]}Z", "" if actor_id is None else str(actor_id), actor_name,
            action, otype, oid, "" if region is None else str(region),
            "" if dept is None else str(dept), summary, dg,
        )
    )  # fmt: skip
