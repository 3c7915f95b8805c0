"""Helpers of the data access API's tests: calls over HTTP with a system's token, and the
access records a call left."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def lookup(
    client: TestClient,
    secret: str,
    grant_id: int,
    key: str,
    purpose: str = "household-check",
    items: str | None = None,
) -> Any:
    params = {"purpose": purpose} | ({"items": items} if items is not None else {})
    return client.get(
        f"/api/v1/sharing/data/{grant_id}/subjects/{key}", params=params, headers=bearer(secret)
    )


def verify(
    client: TestClient,
    secret: str,
    grant_id: int,
    key: str,
    values: dict[str, Any],
    purpose: str = "household-check",
) -> Any:
    return client.post(
        f"/api/v1/sharing/data/{grant_id}/verify",
        json={"purpose": purpose, "subject_key": key, "values": values},
        headers=bearer(secret),
    )


def rows(
    client: TestClient, secret: str, grant_id: int, purpose: str = "household-check", **params: Any
) -> Any:
    return client.get(
        f"/api/v1/sharing/data/{grant_id}/rows",
        params={"purpose": purpose, **params},
        headers=bearer(secret),
    )


def records(session: Session, token_id: int | None = None) -> list[AccessRecord]:
    session.expire_all()
    stmt = select(AccessRecord).order_by(AccessRecord.id)
    if token_id is not None:
        stmt = stmt.where(AccessRecord.token_id == token_id)
    return list(session.scalars(stmt))


def new_records(session: Session, before: int) -> list[AccessRecord]:
    session.expire_all()
    return list(
        session.scalars(
            select(AccessRecord).where(AccessRecord.id > before).order_by(AccessRecord.id)
        )
    )


def last_record_id(session: Session) -> int:
    session.expire_all()
    found = session.scalar(select(AccessRecord.id).order_by(AccessRecord.id.desc()).limit(1))
    return int(found or 0)
