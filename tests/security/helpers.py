"""Shared by the security tests: access records written as the other domains write them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.access import record_access
from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.security.models import Signal

# Tuesday 13 October 2026, 10:00 Beijing: a working day, in working hours.
NOW = datetime(2026, 10, 13, 10, 0, tzinfo=CITY_TZ).astimezone(UTC)


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=CITY_TZ).astimezone(UTC)  # type: ignore[misc]


def read(
    session: Session,
    actor: Actor,
    *,
    at: datetime,
    rows: int,
    personal: bool = True,
    action: str = "aggregation.pool_rows.read",
    address: str | None = "198.51.100.7",
) -> None:
    record_access(
        session,
        dataclasses.replace(actor, address=address),
        action,
        object_type="pool",
        object_id=3,
        rows=rows,
        personal=personal,
        at=at,
    )


def refusals(
    session: Session,
    actor: Actor,
    n: int,
    *,
    end: datetime = NOW,
    every: timedelta = timedelta(seconds=20),
    address: str | None = "198.51.100.7",
) -> None:
    """``n`` refused requests, the last at ``end``, one every ``every``."""
    for i in range(n):
        record_access(
            session,
            dataclasses.replace(actor, address=address),
            "request.refused",
            object_type="request",
            object_id=f"GET /aggregation/pools/{i}",
            outcome="refused",
            reason="not_found",
            at=end - every * (n - 1 - i),
        )


def failed_sign_ins(
    session: Session, address: str, usernames: list[str], *, end: datetime = NOW
) -> None:
    nobody = Actor(person_id=None, name="匿名访问者", address=address)
    for i, username in enumerate(usernames):
        record_access(
            session,
            nobody,
            "auth.sign_in",
            object_type="account",
            object_id=username,
            outcome="refused",
            reason="auth.invalid_credentials",
            at=end - timedelta(seconds=30 * (len(usernames) - 1 - i)),
        )


def signals(session: Session, kind: str | None = None) -> list[Signal]:
    stmt = select(Signal).order_by(Signal.id)
    if kind is not None:
        stmt = stmt.where(Signal.kind == kind)
    session.expire_all()
    return list(session.scalars(stmt))
