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

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from govdata.core.actor import Actor
from govdata.core.db import Base, utcnow

Outcome = Literal["allowed", "refused"]


class AccessRecord(Base):
    __tablename__ = "access_records"
    __table_args__ = (
        Index("ix_access_records_actor_at", "actor_id", "at"),
        Index("ix_access_records_token_at", "token_id", "at"),
        Index("ix_access_records_address_at", "address", "at"),
        # Failed sign-ins per username typed (the sign-in throttle, migration 0009).
        Index("ix_access_records_action_object_at", "action", "object_id", "at"),
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
) -> None:
    """Append one access record in the caller's transaction (a read that fails leaves none).

    A refusal is recorded by the caller in a transaction of its own that commits although the
    request fails (the error handler, or a service raising with ``keep_changes=True``).
    """
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
    }
    session.connection().execute(_INSERT, values)
