"""Refused requests leave an access record (Art. 39: monitoring of attacks), written in a
transaction of its own because the request's was rolled back; a failure to record never
changes the answer. Probing signals are raised from these records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.core.db import utcnow
from govdata.security.scanning import scan
from govdata.web import errors
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _refused(session: Session) -> list[AccessRecord]:
    session.expire_all()
    stmt = select(AccessRecord).where(AccessRecord.action == "request.refused")
    return list(session.scalars(stmt.order_by(AccessRecord.id)))


def test_a_forbidden_api_request_is_recorded(sign_in, session: Session, world: World) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer").get("/api/v1/security/signals")
    assert r.status_code == 403 and r.json()["error"]["code"] == "security.forbidden"
    [row] = _refused(session)
    assert (row.actor_id, row.actor_name, row.address) == (
        world.people["officer"],
        "王专员",
        "testclient",
    )
    assert (row.object_type, row.object_id, row.outcome, row.reason) == (
        "request",
        "GET /api/v1/security/signals",
        "refused",
        "security.forbidden",
    )
    assert row.actor_department_id == world.police


def test_a_forbidden_page_and_a_missing_record_are_recorded(sign_in, session: Session) -> None:  # type: ignore[no-untyped-def]
    officer = sign_in("officer")
    assert officer.get("/security", headers=HTML).status_code == 403
    assert officer.get("/aggregation/pools/999999", headers=HTML).status_code == 404
    assert officer.get("/api/v1/aggregation/pools/999999").status_code == 404
    rows = _refused(session)
    assert [(r.object_id, r.reason) for r in rows] == [
        ("GET /security", "security.forbidden"),
        ("GET /aggregation/pools/999999", rows[1].reason),
        ("GET /api/v1/aggregation/pools/999999", rows[2].reason),
    ]
    assert all(r.reason for r in rows)


def test_an_unsafe_refused_request_is_recorded_too(sign_in, session: Session) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("auditor").post("/api/v1/security/scan")
    assert r.status_code == 403
    assert [(r.object_id, r.reason) for r in _refused(session)] == [
        ("POST /api/v1/security/scan", "security.manage_forbidden")
    ]


def test_an_invalid_token_is_recorded(client: TestClient, session: Session) -> None:
    r = client.get("/api/v1/org/departments", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    [row] = _refused(session)
    assert (row.actor_id, row.token_id, row.actor_name, row.reason) == (
        None,
        None,
        "无效令牌",
        "auth.invalid_token",
    )


def test_please_sign_in_is_not_recorded(client: TestClient, session: Session) -> None:
    # Every anonymous visit answers 401 or a redirect to the sign-in page: not a refusal worth
    # monitoring, and it would drown the rest.
    assert client.get("/api/v1/security/signals").status_code == 401
    assert client.get("/security", headers=HTML, follow_redirects=False).status_code == 303
    assert _refused(session) == []


def test_a_failure_to_record_keeps_the_answer(
    sign_in,  # type: ignore[no-untyped-def]
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the access records are unavailable")

    monkeypatch.setattr(errors, "record_access", broken)
    r = sign_in("officer").get("/api/v1/security/signals")
    assert r.status_code == 403 and r.json()["error"]["code"] == "security.forbidden"
    assert _refused(session) == []


def test_repeated_refusals_over_http_raise_a_probing_signal(
    sign_in,  # type: ignore[no-untyped-def]
    session: Session,
    world: World,
) -> None:
    officer = sign_in("officer")
    for i in range(10):
        assert officer.get(f"/api/v1/aggregation/pools/{900000 + i}").status_code == 404
    [signal] = scan(session, utcnow() + timedelta(seconds=1)).created
    assert (signal.kind, signal.subject, signal.events, signal.address) == (
        "probing",
        f"person:{world.people['officer']}",
        10,
        "testclient",
    )
    assert signal.detail["objects"] == 10
