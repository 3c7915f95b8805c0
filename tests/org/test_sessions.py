"""A person's own sign-in sessions (Art. 39 访问认证; ASVS 4 §3.3.4): listed with device, address
and times, the current one marked, each one ended on demand; never another person's."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.audit import AuditEvent
from govdata.core.crypto import token_digest
from govdata.org.models import WebSession
from govdata.org.sessions import describe_device
from tests.world import PASSWORD, World

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
WECHAT_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)


class Device:
    """A browser of the person's: its own cookie jar, address and User-Agent."""

    def __init__(self, app: FastAPI, address: str, user_agent: str) -> None:
        self.client = TestClient(
            app,
            raise_server_exceptions=False,
            client=(address, 41000),
            headers={"User-Agent": user_agent},
        )
        self.csrf = ""

    def sign_in(self, username: str) -> Device:
        r = self.client.post(
            "/api/v1/auth/session", json={"username": username, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrf_token"]
        return self

    def sessions(self) -> list[dict]:
        r = self.client.get("/api/v1/auth/sessions")
        assert r.status_code == 200, r.text
        return r.json()

    def end(self, session_id: str):  # type: ignore[no-untyped-def]
        return self.client.delete(
            f"/api/v1/auth/sessions/{session_id}", headers={"X-CSRF-Token": self.csrf}
        )

    def me(self) -> int:
        return self.client.get("/api/v1/me").status_code


@pytest.fixture
def device(app: FastAPI):  # type: ignore[no-untyped-def]
    made: list[Device] = []

    def _make(address: str = "10.0.0.1", user_agent: str = CHROME_WINDOWS) -> Device:
        d = Device(app, address, user_agent)
        d.client.__enter__()
        made.append(d)
        return d

    yield _make
    for d in made:
        d.client.__exit__(None, None, None)


def test_a_person_sees_their_sessions_with_device_address_and_the_current_one_marked(
    device, session: Session, world: World
) -> None:
    desk = device("10.0.0.1", CHROME_WINDOWS).sign_in("officer")
    phone = device("10.0.0.2", WECHAT_IPHONE).sign_in("officer")
    device("10.0.0.3").sign_in("head")  # someone else's: never listed
    listed = desk.sessions()
    assert sorted((s["device"], s["address"], s["current"]) for s in listed) == [
        ("Chrome · Windows", "10.0.0.1", True),
        ("微信 · iPhone", "10.0.0.2", False),
    ]
    assert {s["device"] for s in phone.sessions() if s["current"]} == {"微信 · iPhone"}
    assert set(listed[0]) == {
        "id",
        "device",
        "address",
        "created_at",
        "last_seen_at",
        "expires_at",
        "current",
    }
    # The id is a handle: neither the cookie's secret nor the digest stored for it.
    secrets = {desk.client.cookies["govdata_session"], phone.client.cookies["govdata_session"]}
    digests = {token_digest(s) for s in secrets}
    stored = set(session.scalars(select(WebSession.id)))
    for s in listed:
        assert s["id"] not in secrets | digests | stored
        assert not any(s["id"] in d for d in digests)  # not a prefix of the digest either


def test_ending_another_device_signs_it_out_and_is_audited(
    device, session: Session, world: World
) -> None:
    desk = device("10.0.0.1", CHROME_WINDOWS).sign_in("officer")
    phone = device("10.0.0.2", WECHAT_IPHONE).sign_in("officer")
    (other,) = [s for s in desk.sessions() if not s["current"]]
    r = desk.end(other["id"])
    assert r.status_code == 204
    assert "govdata_session" in desk.client.cookies  # this device stays signed in
    assert phone.me() == 401
    assert desk.me() == 200
    assert [s["current"] for s in desk.sessions()] == [True]
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None
    assert (event.action, event.actor_id) == ("auth.session_end", world.people["officer"])
    assert "微信 · iPhone" in event.summary and "10.0.0.2" in event.summary
    assert desk.end(other["id"]).status_code == 404  # already ended


def test_ending_the_current_session_signs_out(device) -> None:
    desk = device().sign_in("officer")
    (current,) = desk.sessions()
    r = desk.end(current["id"])
    assert r.status_code == 204
    assert any(h.startswith("govdata_session=") for h in r.headers.get_list("set-cookie"))
    assert desk.me() == 401


def test_one_person_can_never_see_or_end_anothers_sessions(device, world: World) -> None:
    victim = device("10.0.0.1").sign_in("officer")
    attacker = device("10.0.0.9").sign_in("city")  # even the city bureau's administrator
    (victim_session,) = victim.sessions()
    assert victim_session["id"] not in {s["id"] for s in attacker.sessions()}
    r = attacker.end(victim_session["id"])
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "auth.session_not_found"
    unknown = attacker.end("0" * 24)
    assert (unknown.status_code, unknown.json()) == (404, r.json())  # no hint it exists
    assert victim.me() == 200


def test_ending_a_session_over_the_api_needs_the_csrf_header(device) -> None:
    desk = device().sign_in("officer")
    (current,) = desk.sessions()
    r = desk.client.delete(f"/api/v1/auth/sessions/{current['id']}")
    assert r.status_code == 403
    assert desk.me() == 200


def test_the_account_page_lists_sessions_and_ends_one(device) -> None:
    html = {"Accept": "text/html"}
    desk = device("10.0.0.1", CHROME_WINDOWS).sign_in("officer")
    phone = device("10.0.0.2", WECHAT_IPHONE).sign_in("officer")
    page = desk.client.get("/account", headers=html)
    assert page.status_code == 200
    assert page.text.count('data-testid="session"') == 2
    assert 'data-testid="current-session">当前设备' in page.text
    assert "微信 · iPhone" in page.text and "10.0.0.2" in page.text
    (other,) = [s for s in desk.sessions() if not s["current"]]
    token = re.search(r'name="csrf_token" value="([0-9a-f]{40})"', page.text)
    assert token is not None
    r = desk.client.post(
        f"/account/sessions/{other['id']}/end",
        data={"csrf_token": token.group(1)},
        headers=html,
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/account?msg=session_ended")
    assert phone.me() == 401
    assert desk.me() == 200


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (CHROME_WINDOWS, "Chrome · Windows"),
        (WECHAT_IPHONE, "微信 · iPhone"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.4 Safari/605.1.15",
            "Safari · macOS",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
            "Edge · Windows",
        ),
        (
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "Firefox · Linux",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Mobile Safari/537.36",
            "Chrome · Android",
        ),
        ("curl/8.5.0", "curl"),
        ("python-httpx/0.27.0", "python-httpx"),
        ("", "未知设备"),
        (None, "未知设备"),
    ],
)
def test_device_names_are_read_simply_from_the_user_agent(
    user_agent: str | None, device: str
) -> None:
    assert describe_device(user_agent) == device


def test_a_token_has_no_sessions(app: FastAPI, session: Session, world: World) -> None:
    from govdata.org import auth
    from govdata.org.schemas import TokenCreate

    issued = auth.issue_token(
        session,
        world.actor(session, "officer"),
        world.police,
        TokenCreate(name="系统", scopes=["org:read"]),
    )
    session.commit()
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/auth/sessions", headers={"Authorization": f"Bearer {issued.secret}"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "auth.people_only")
