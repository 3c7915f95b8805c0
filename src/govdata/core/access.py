"""Access records (调用记录): one row per read of data, allowed or refused (Art. 39, 40).

Every read of personal data (pool rows, base database records, load reports that show
quarantined rows, exports), every sharing call (Ch. 4) and every open-data download (Ch. 5)
appends one record: who (person or token, their department, their network address), what
(action, object, whose data), how much (rows) and the outcome. Refusals that matter for
monitoring (failed sign-ins, requests refused for lack of permission) are recorded too, with
``outcome="refused"`` and the error code as ``reason``.

Records are plain inserts with no chain and no lock: the audit chain records changes, this
table records reads, at rates the chain need not carry. The security domain reads it for its
monitoring signals (Art. 39: 监测、预警、控制); auditors read it (Art. 41, 49).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, insert, or_, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from govdata.core import ratelimit
from govdata.core.actor import Actor
from govdata.core.db import Base, utcnow
from govdata.core.pagination import Page, paginate

Outcome = Literal["allowed", "refused"]


class AccessRecord(Base):
    __tablename__ = "access_records"
    __table_args__ = (
        Index("ix_access_records_actor_at", "actor_id", "at"),
        Index("ix_access_records_token_at", "token_id", "at"),
        Index("ix_access_records_address_at", "address", "at"),
        # Failed sign-ins per username typed (the sign-in throttle, migration 0009).
        Index("ix_access_records_action_object_at", "action", "object_id", "at"),
        # Sharing (Ch. 4): the provider's and the requester's views, and "who used my data".
        Index("ix_access_records_owner_at", "owner_department_id", "at"),
        Index("ix_access_records_department_at", "actor_department_id", "at"),
        Index("ix_access_records_subject_at", "subject_digest", "at"),
        Index("ix_access_records_grant_at", "grant_id", "at"),
        # The access-record sealer's work list (core.access_seal, migration 0015).
        Index(
            "ix_access_records_unsealed",
            "id",
            postgresql_where=text("sealed IS NULL"),
            sqlite_where=text("sealed IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(index=True)
    # Who: a signed-in person, or a department system's token (then actor_id is None).
    actor_id: Mapped[int | None] = mapped_column(Integer)
    token_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_department_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(45))
    # What: a stable action code (``aggregation.pool_rows.read``), the object read, and the
    # department whose data it is.
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(80))
    owner_department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    rows: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    personal: Mapped[bool] = mapped_column(Boolean, default=False)
    # Names of the fields returned, where the caller knows them (sharing grants are field-level).
    fields: Mapped[str] = mapped_column(String(2000), default="")
    outcome: Mapped[str] = mapped_column(String(10), default="allowed")
    reason: Mapped[str] = mapped_column(String(80), default="")
    # Sharing calls (Ch. 4, Art. 40): the grant used and the purpose stated, and the subject
    # looked up as a keyed SM3 digest (``core.crypto.subject_digest``), never the key itself.
    grant_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(200), default="")
    subject_digest: Mapped[str | None] = mapped_column(String(64))
    # Sealing (core.access_seal, decision 0015): the batch that sealed the record (None: not
    # yet); a record that may still change (a bulk delivery's stream) is not sealed before
    # ``open_until``.
    sealed: Mapped[int | None] = mapped_column(Integer)
    open_until: Mapped[datetime | None] = mapped_column()


_INSERT = insert(AccessRecord)


def _actor_department(actor: Actor) -> int | None:
    ids = actor.department_ids()
    return min(ids) if ids else None


def record_access(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_id: str | int,
    rows: int = 0,
    personal: bool = False,
    owner_department_id: int | None = None,
    fields: tuple[str, ...] | list[str] = (),
    outcome: Outcome = "allowed",
    reason: str = "",
    at: datetime | None = None,
    grant_id: int | None = None,
    purpose: str = "",
    subject_digest: str | None = None,
) -> None:
    """Append one access record in the caller's transaction (a read that fails leaves none).

    A refusal is recorded by the caller in a transaction of its own that commits although the
    request fails (the error handler, or a service raising with ``keep_changes=True``).

    An allowed read of personal data is charged to the reader's personal-data budget first
    (Art. 39 控制, ``core.ratelimit``): past it, the read is recorded as refused
    (``request.rate_limited``, kept although the request fails) and ``RateLimited`` raised.
    """
    refused: ratelimit.RateLimited | None = None
    if personal and outcome == "allowed":
        try:
            ratelimit.charge_personal_read(actor, rows)
        except ratelimit.RateLimited as exc:
            # Over the budget: the refusal is recorded, and kept although the read fails.
            outcome, reason, rows = "refused", exc.code, 0
            exc.keep_changes = True
            refused = exc
    _insert(
        session,
        actor,
        action,
        object_type,
        object_id,
        rows,
        personal,
        owner_department_id,
        fields,
        outcome,
        reason,
        at,
        grant_id,
        purpose,
        subject_digest,
    )
    if refused is not None:
        raise refused


def _insert(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    rows: int,
    personal: bool,
    owner_department_id: int | None,
    fields: tuple[str, ...] | list[str],
    outcome: str,
    reason: str,
    at: datetime | None,
    grant_id: int | None = None,
    purpose: str = "",
    subject_digest: str | None = None,
) -> None:
    values: dict[str, Any] = {
        "at": at or utcnow(),
        "actor_id": actor.person_id,
        "token_id": actor.token_id,
        "actor_name": actor.name[:100],
        "actor_department_id": _actor_department(actor),
        "address": actor.address,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id)[:80],
        "owner_department_id": owner_department_id,
        "rows": rows,
        "personal": personal,
        "fields": ",".join(fields)[:2000],
        "outcome": outcome,
        "reason": reason[:80],
        "grant_id": grant_id,
        "purpose": purpose[:200],
        "subject_digest": subject_digest,
    }
    session.connection().execute(_INSERT, values)


# --- reading the records (Art. 41, 49: oversight) -------------------------------------------

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class AccessFilter:
    actor_id: int | None = None
    actor_name: str | None = None  # part of the reader's name
    department_id: int | None = None  # the reader's or the data's department
    action: str | None = None  # a prefix: ``aggregation.`` lists every aggregation read
    since: date | None = None  # Beijing dates, inclusive
    until: date | None = None
    personal: bool | None = None
    outcome: Outcome | None = None


def list_records(
    session: Session,
    f: AccessFilter,
    *,
    departments: Collection[int] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[AccessRecord]:
    """Access records, newest first; ``departments`` (None: all) limits them to reads by
    those departments or of their data. The caller checks who may list them."""
    stmt = select(AccessRecord)
    if departments is not None:
        ids = list(departments)
        stmt = stmt.where(
            or_(
                AccessRecord.owner_department_id.in_(ids), AccessRecord.actor_department_id.in_(ids)
            )
        )
    if f.actor_id is not None:
        stmt = stmt.where(AccessRecord.actor_id == f.actor_id)
    if f.actor_name:
        stmt = stmt.where(AccessRecord.actor_name.contains(f.actor_name, autoescape=True))
    if f.department_id is not None:
        stmt = stmt.where(
            or_(
                AccessRecord.owner_department_id == f.department_id,
                AccessRecord.actor_department_id == f.department_id,
            )
        )
    if f.action:
        stmt = stmt.where(AccessRecord.action.startswith(f.action, autoescape=True))
    if f.since:
        stmt = stmt.where(AccessRecord.at >= datetime.combine(f.since, time.min, BEIJING))
    if f.until:
        end = datetime.combine(f.until + timedelta(days=1), time.min, BEIJING)
        stmt = stmt.where(AccessRecord.at < end)
    if f.personal is not None:
        stmt = stmt.where(AccessRecord.personal == f.personal)
    if f.outcome is not None:
        stmt = stmt.where(AccessRecord.outcome == f.outcome)
    return paginate(session, stmt.order_by(AccessRecord.id.desc()), offset, limit)
