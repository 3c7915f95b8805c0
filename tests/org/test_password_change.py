"""Changing a password (Art. 39 访问认证; ASVS 4 §2.1.6, §3.3.3): one's own only with the current
one, a wrong one counting towards the lockout; another's only by an administrator who could
grant every role the person holds. The person's other sessions end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.core.actor import Role
from govdata.core.audit import AuditEvent
from govdata.core.crypto import verify_password
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput, NotAuthenticated, PermissionDenied
from govdata.org import auth, service
from govdata.org.models import Person, WebSession
from govdata.org.schemas import GrantIn, PersonCreate
from tests.world import PASSWORD, World

NEW = "Nanshan cable car 1987"
WRONG = "WrongPass2026"


def _url(world: World, username: str) -> str:
    return f"/api/v1/org/people/{world.people[username]}/password"


def _hash(session: Session, world: World, username: str) -> str:
    person = session.get(Person, world.people[username])
    assert person is not None
    session.refresh(person)
    return person.password_hash


def _person(session: Session, world: World, username: str) -> Person:
    person = session.get(Person, world.people[username])
    assert person is not None
    session.refresh(person)
    return person


# --- one's own password --------------------------------------------------------------------------


def test_a_stolen_session_cannot_change_the_password_without_the_current_one(
    sign_in, session: Session, world: World
) -> None:
    before = _hash(session, world, "officer")
    thief = sign_in("officer")
    r = thief.post(_url(world, "officer"), json={"password": NEW})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "auth.current_password_required"
    assert _hash(session, world, "officer") == before


def test_a_wrong_current_password_is_refused_and_counts_towards_the_lockout(
    sign_in, session: Session, world: World
) -> None:
    before = _hash(session, world, "officer")
    thief = sign_in("officer")
    r = thief.post(_url(world, "officer"), json={"password": NEW, "current_password": WRONG})
    assert r.status_code == 400
    assert r.json()["error"] == {
        "code": "auth.wrong_current_password",
        "message": "当前密码不正确。",
        "detail": None,
    }
    person = _person(session, world, "officer")
    assert person.password_hash == before
    assert person.failed_logins == 1  # committed although the request failed
    refused = session.scalars(
        select(AccessRecord.reason).where(
            AccessRecord.action == "auth.password_change", AccessRecord.outcome == "refused"
        )
    ).all()
    assert refused == ["auth.wrong_current_password"]


def test_guessing_the_current_password_locks_the_account_and_ends_every_session(
    app: FastAPI, sign_in, session: Session, world: World
) -> None:
    owner = sign_in("officer")
    thief = sign_in("officer")
    for _ in range(4):
        r = thief.post(_url(world, "officer"), json={"password": NEW, "current_password": WRONG})
        assert r.status_code == 400
    r = thief.post(_url(world, "officer"), json={"password": NEW, "current_password": WRONG})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "auth.locked")
    person = _person(session, world, "officer")
    assert person.failed_logins == 5
    assert person.locked_until is not None and person.locked_until > utcnow()
    assert thief.get("/api/v1/me").status_code == 401
    assert owner.get("/api/v1/me").status_code == 401
    # And the same counters as sign-in: the right password is refused while locked.
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/v1/auth/session", json={"username": "officer", "password": PASSWORD})
        assert r.status_code == 401


def test_changing_ones_password_keeps_this_session_and_ends_the_others(
    sign_in, session: Session, world: World
) -> None:
    here = sign_in("officer")
    elsewhere = sign_in("officer")
    r = here.post(_url(world, "officer"), json={"password": NEW, "current_password": PASSWORD})
    assert r.status_code == 204, r.text
    assert here.get("/api/v1/me").status_code == 200
    assert elsewhere.get("/api/v1/me").status_code == 401
    assert verify_password(_hash(session, world, "officer"), NEW)
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first()
    assert actions == "org.person.password_change"


def test_the_new_password_is_checked_after_the_current_one_and_nothing_is_stored(
    sign_in, session: Session, world: World
) -> None:
    before = _hash(session, world, "officer")
    c = sign_in("officer")
    other = sign_in("officer")
    r = c.post(
        _url(world, "officer"),
        json={"password": "officer 2026 spring", "current_password": PASSWORD},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (400, "org.password_contains_username")
    assert _hash(session, world, "officer") == before
    assert other.get("/api/v1/me").status_code == 200  # no session ended either


def test_the_account_page_form_uses_the_same_rule(sign_in, session: Session, world: World) -> None:
    c = sign_in("officer")
    other = sign_in("officer")
    html = {"Accept": "text/html"}
    wrong = c.post("/account/password", data={"current": WRONG, "new": NEW}, headers=html)
    assert wrong.status_code == 400
    assert 'data-testid="password-error"' in wrong.text
    assert "当前密码不正确。" in wrong.text
    assert _person(session, world, "officer").failed_logins == 1
    ok = c.post(
        "/account/password",
        data={"current": PASSWORD, "new": NEW},
        headers=html,
        follow_redirects=False,
    )
    assert (ok.status_code, ok.headers["location"]) == (303, "/account?msg=password")
    assert c.get("/api/v1/me").status_code == 200  # still signed in here
    assert other.get("/api/v1/me").status_code == 401


# --- another person's password -------------------------------------------------------------------


def test_an_administrator_resets_without_the_current_password_and_ends_all_sessions(
    sign_in, session: Session, world: World
) -> None:
    officer = sign_in("officer")
    admin = sign_in("city")
    r = admin.post(_url(world, "officer"), json={"password": NEW})
    assert r.status_code == 204, r.text
    assert officer.get("/api/v1/me").status_code == 401
    assert admin.get("/api/v1/me").status_code == 200
    assert verify_password(_hash(session, world, "officer"), NEW)


def test_a_district_admin_cannot_take_over_a_more_powerful_account(
    session: Session, world: World
) -> None:
    city = world.actor(session, "city")
    # A second district admin of 渝中区 working in its police department, and a city admin
    # working in a 渝中区 department: both in departments the district admin manages.
    peer = service.create_person(session, city, _staff("yz.admin2", world.yz_police))
    service.grant_role(
        session, city, peer.id, GrantIn(role=Role.DISTRICT_BUREAU_ADMIN, region_id=world.yuzhong)
    )
    boss = service.create_person(session, city, _staff("yz.cityadmin", world.yz_police))
    service.grant_role(session, city, boss.id, GrantIn(role=Role.CITY_BUREAU_ADMIN))
    yz_admin = world.actor(session, "yz_admin")
    for target in (peer, boss):
        before = target.password_hash
        with pytest.raises(PermissionDenied) as info:
            service.reset_password(session, yz_admin, target.id, NEW)
        assert info.value.code == "org.cannot_reset_password"
        assert target.password_hash == before
    # A person whose roles the district admin could grant: allowed, as before.
    officer = service.create_person(session, city, _staff("yz.officer2", world.yz_police))
    service.grant_role(
        session,
        city,
        officer.id,
        GrantIn(role=Role.DEPARTMENT_OFFICER, department_id=world.yz_police),
    )
    service.reset_password(session, yz_admin, officer.id, NEW)
    assert verify_password(officer.password_hash, NEW)


def _staff(username: str, department_id: int) -> PersonCreate:
    return PersonCreate(
        username=username, name="测试", password=PASSWORD, department_id=department_id
    )


def test_own_change_at_the_service_needs_the_current_password(
    session: Session, world: World
) -> None:
    actor = world.actor(session, "officer")
    pid = world.people["officer"]
    with pytest.raises(InvalidInput) as missing:
        service.reset_password(session, actor, pid, NEW)
    assert missing.value.code == "auth.current_password_required"
    signed = auth.sign_in(session, "officer", PASSWORD)  # another device, signed in
    for _ in range(4):
        with pytest.raises(InvalidInput):
            service.reset_password(session, actor, pid, NEW, current_password=WRONG)
    assert auth.resolve_session(session, signed.secret) is not None  # not locked yet
    with pytest.raises(NotAuthenticated) as locked:
        service.reset_password(session, actor, pid, NEW, current_password=WRONG)
    assert (locked.value.code, locked.value.keep_changes) == ("auth.locked", True)
    assert auth.resolve_session(session, signed.secret) is None
    sessions = session.scalar(
        select(func.count()).select_from(WebSession).where(WebSession.person_id == pid)
    )
    assert sessions == 0
    person = session.get(Person, pid)
    assert person is not None and person.locked_until is not None
    assert person.locked_until > utcnow() + timedelta(seconds=30)
