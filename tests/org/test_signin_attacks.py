"""Sign-in from the attacker's side, over HTTP (Art. 39 访问认证; ASVS 4 §2.2, §3.2).

An attacker must not learn which accounts exist (from the answer or from the work done), must
be slowed down per address and per username before any password is hashed, and must not keep a
session alive across someone's sign-in. Failed sign-ins are access records that monitoring and
the account's owner read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.core.db import utcnow
from govdata.core.errors import NotAuthenticated, TooManyRequests
from govdata.org import auth
from govdata.org.models import Person
from govdata.org.throttle import Throttle
from tests.world import PASSWORD, World

WRONG = "WrongPass2026"
HTML = {"Accept": "text/html,application/xhtml+xml"}


def _attempt(c: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    return c.post("/api/v1/auth/session", json={"username": username, "password": password})


def _from(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 40000))


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of the password verifier during sign-in (the expensive work), by hash kind."""
    calls: list[str] = []
    real: Callable[[str, str], bool] = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return calls


# --- one answer, one verification ------------------------------------------------------------


def test_unknown_wrong_inactive_and_locked_get_one_answer_after_one_verification(
    client: TestClient, session: Session, world: World, verifications: list[str]
) -> None:
    locked = session.get(Person, world.people["head"])
    inactive = session.get(Person, world.people["officer2"])
    assert locked is not None and inactive is not None
    locked.failed_logins, locked.locked_until = 5, utcnow() + timedelta(minutes=30)
    inactive.active = False
    session.commit()
    cases = {
        "unknown": ("no.such.user", WRONG),
        "wrong password": ("officer", WRONG),
        "inactive, right password": ("officer2", PASSWORD),
        "locked, right password": ("head", PASSWORD),
        "locked, wrong password": ("head", WRONG),
    }
    answers = {}
    for label, (username, password) in cases.items():
        before = len(verifications)
        r = _attempt(client, username, password)
        # Exactly one argon2 verification whatever the case: the time taken tells nothing.
        assert len(verifications) - before == 1, label
        answers[label] = (r.status_code, r.text, r.headers.get("retry-after"))
    assert len(set(answers.values())) == 1, answers
    status, body, _ = answers["unknown"]
    assert status == 401
    assert '"code":"auth.invalid_credentials"' in body
    assert "锁定" in auth.INVALID_CREDENTIALS  # the locked person is given a hint, not a tell


# --- the throttle ------------------------------------------------------------------------------


def test_password_spraying_from_one_address_is_throttled_before_any_hash(
    app: FastAPI, world: World, verifications: list[str]
) -> None:
    with _from(app, "203.0.113.7") as sprayer:
        for i in range(20):  # 20 usernames, one guess each (30 were tried in 3.3 s)
            assert _attempt(sprayer, f"guess.{i}", WRONG).status_code == 401
        before = len(verifications)
        r = _attempt(sprayer, "city", PASSWORD)  # even the right password of a real account
        assert len(verifications) == before  # refused before the password is looked at
        assert r.status_code == 429
        error = r.json()["error"]
        assert error["code"] == "auth.too_many_attempts"
        assert re.fullmatch(r"登录尝试过于频繁，请于\d+分钟后再试。", error["message"])
        retry_after = int(r.headers["retry-after"])
        assert 0 < retry_after <= 15 * 60
        assert error["detail"] == {"retry_after": retry_after}
    with _from(app, "203.0.113.8") as neighbour:  # another address is not affected
        assert _attempt(neighbour, "city", PASSWORD).status_code == 200


@pytest.mark.parametrize("username", ["officer", "no.such.user"])
def test_guessing_one_username_from_many_addresses_is_throttled(
    app: FastAPI, world: World, username: str, verifications: list[str]
) -> None:
    for i in range(10):
        # Case does not make a new key: "OFFICER" is "officer".
        typed = username.upper() if i % 2 else username
        with _from(app, f"198.51.100.{i}") as c:
            assert _attempt(c, typed, WRONG).status_code == 401
    before = len(verifications)
    with _from(app, "198.51.100.200") as fresh:
        r = _attempt(fresh, username, PASSWORD)
    assert len(verifications) == before
    # Real and unknown usernames are throttled alike: the throttle reveals no account either.
    assert (r.status_code, r.json()["error"]["code"]) == (429, "auth.too_many_attempts")
    assert int(r.headers["retry-after"]) > 0
    with _from(app, "198.51.100.201") as other:  # another username from there is not affected
        assert _attempt(other, "city", PASSWORD).status_code == 200


def test_the_throttle_window_slides_and_throttled_attempts_do_not_extend_it(
    session: Session, world: World
) -> None:
    throttle = Throttle(window=timedelta(minutes=15), per_username=3, per_address=0)
    t0 = utcnow()
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            auth.sign_in(session, "officer", WRONG, now=t0, throttle=throttle)
    for minutes in (1, 10, 14):
        with pytest.raises(TooManyRequests) as info:
            auth.sign_in(
                session, "officer", PASSWORD, now=t0 + timedelta(minutes=minutes), throttle=throttle
            )
        assert info.value.retry_after == (15 - minutes) * 60
        assert info.value.keep_changes is True  # the refusal is recorded and committed
    later = t0 + timedelta(minutes=15, seconds=1)
    signed = auth.sign_in(session, "officer", PASSWORD, now=later, throttle=throttle)
    assert signed.person.id == world.people["officer"]


def test_each_failed_sign_in_is_one_refused_access_record(
    client: TestClient, session: Session, world: World
) -> None:
    start = utcnow()
    _attempt(client, "Officer", WRONG)
    _attempt(client, "no.such.user", WRONG)
    assert _attempt(client, "officer", PASSWORD).status_code == 200
    rows = session.scalars(
        select(AccessRecord)
        .where(AccessRecord.action == "auth.sign_in", AccessRecord.at >= start)
        .order_by(AccessRecord.id)
    ).all()
    # Committed although the requests failed; what the monitoring signal counts per address.
    assert [
        (r.object_type, r.object_id, r.outcome, r.reason, r.address, r.actor_id) for r in rows
    ] == [
        ("account", "officer", "refused", "auth.invalid_credentials", "testclient", None),
        ("account", "no.such.user", "refused", "auth.unknown_account", "testclient", None),
    ]
    assert rows[0].owner_department_id == world.police


# --- sessions at sign-in -------------------------------------------------------------------------


@pytest.mark.parametrize("second", ["officer", "city"])
def test_signing_in_ends_the_session_of_the_cookie_presented(
    app: FastAPI, client: TestClient, world: World, second: str
) -> None:
    assert _attempt(client, "officer", PASSWORD).status_code == 200
    old = client.cookies["govdata_session"]
    # The same browser signs in again (the same person, or someone else at that computer).
    assert _attempt(client, second, PASSWORD).status_code == 200
    assert client.cookies["govdata_session"] != old
    with TestClient(app, raise_server_exceptions=False, cookies={"govdata_session": old}) as stale:
        assert stale.get("/api/v1/me").status_code == 401


def test_the_login_form_also_ends_the_session_of_the_cookie_presented(
    app: FastAPI, world: World
) -> None:
    with TestClient(app, raise_server_exceptions=False, headers=HTML) as c:
        assert _attempt(c, "officer", PASSWORD).status_code == 200
        old = c.cookies["govdata_session"]
        page = c.get("/login?next=/account")  # already signed in: sent on
        assert page.status_code == 200
        token = re.search(r'name="csrf_token" value="([0-9a-f]{40})"', c.get("/account").text)
        assert token is not None
        r = c.post(
            "/login",
            data={"username": "city", "password": PASSWORD, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert r.status_code == 303
    with TestClient(app, raise_server_exceptions=False, cookies={"govdata_session": old}) as stale:
        assert stale.get("/api/v1/me").status_code == 401


# --- the account's owner is told -----------------------------------------------------------------


def test_the_owner_learns_of_failed_attempts_at_the_next_sign_in(
    app: FastAPI, client: TestClient, world: World
) -> None:
    with _from(app, "192.0.2.66") as guesser:
        for _ in range(3):
            assert _attempt(guesser, "officer", WRONG).status_code == 401
    first = _attempt(client, "officer", PASSWORD)
    assert first.json()["failed_attempts"] == 3
    again = _attempt(client, "officer", PASSWORD)
    assert again.json()["failed_attempts"] == 0  # told once: counted since the last sign-in
    with _from(app, "192.0.2.66") as guesser:
        _attempt(guesser, "officer", WRONG)
    with TestClient(app, raise_server_exceptions=False, headers=HTML) as browser:
        token = re.search(r'name="csrf_token" value="([0-9a-f]{40})"', browser.get("/login").text)
        assert token is not None
        r = browser.post(
            "/login",
            data={
                "username": "officer",
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "next": "/catalog",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/account?notice=failures&next=%2Fcatalog"
        account = browser.get(r.headers["location"])
        assert "有人使用您的用户名登录失败" in account.text
        assert 'href="/catalog" data-testid="continue"' in account.text
        assert "192.0.2.66" in account.text  # the failed attempts, listed with their address
