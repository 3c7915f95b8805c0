"""A person's own sign-in sessions: which devices are signed in, and ending any of them
(Art. 39 访问认证; OWASP ASVS 4 §3.3.4: "users are able to view and log out of any or all
currently active sessions and devices").

A session is named by a handle derived from its stored digest (one-way, so the handle gives
nothing that could be presented as a cookie, and the digest itself is never shown). Only the
person's own sessions are ever read: another person's handle is "not found", as an unknown one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.crypto import sm3_hex, token_digest
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput, NotFound
from govdata.org import policy
from govdata.org.models import Person, WebSession

HANDLE_LENGTH = 24  # 96 bits of an SM3 digest


def handle_of(digest: str) -> str:
    """The public name of the session stored under ``digest``."""
    return sm3_hex(f"govdata-session-handle:{digest}".encode())[:HANDLE_LENGTH]


# (marker in the User-Agent, name shown), first match wins: Edge and Opera also say "Chrome/",
# WeChat's browser says both, iPhones say "like Mac OS X", HarmonyOS may also say "Android".
_BROWSERS = (
    ("MicroMessenger/", "微信"),
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("HarmonyOS", "HarmonyOS"),
    ("OpenHarmony", "HarmonyOS"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
UNKNOWN_DEVICE = "未知设备"


def describe_device(user_agent: str | None) -> str:
    """ "Chrome · Windows", "微信 · iPhone", or a program's name ("curl") — a simple reading of
    the User-Agent for a person to recognise their devices, not a fingerprint."""
    ua = (user_agent or "").strip()
    if not ua:
        return UNKNOWN_DEVICE
    browser = next((name for marker, name in _BROWSERS if marker in ua), None)
    system = next((name for marker, name in _SYSTEMS if marker in ua), None)
    if browser is None and system is None:
        program = ua.split("/", 1)[0].split(" ", 1)[0][:40]
        return program or UNKNOWN_DEVICE
    return " · ".join(part for part in (browser, system) if part)


@dataclass(frozen=True)
class SessionInfo:
    id: str  # the handle
    device: str
    address: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


def _person_id(actor: Actor) -> int:
    policy.require_person(actor)  # a token has no sessions (Art. 39)
    if actor.person_id is None:
        raise InvalidInput("auth.not_a_person", "系统操作没有登录会话。")
    return actor.person_id


def _own(session: Session, person_id: int, now: datetime) -> list[WebSession]:
    return list(
        session.scalars(
            select(WebSession)
            .where(WebSession.person_id == person_id, WebSession.expires_at > now)
            .order_by(WebSession.last_seen_at.desc(), WebSession.created_at.desc())
        )
    )


def _info(ws: WebSession, current: str | None) -> SessionInfo:
    return SessionInfo(
        id=handle_of(ws.id),
        device=describe_device(ws.user_agent),
        address=ws.ip,
        created_at=ws.created_at,
        last_seen_at=ws.last_seen_at,
        expires_at=ws.expires_at,
        current=ws.id == current,
    )


def list_sessions(
    session: Session, actor: Actor, *, current_secret: str | None, now: datetime | None = None
) -> list[SessionInfo]:
    """The actor's own unexpired sessions, most recently used first; ``current_secret``: the
    request's cookie, whose session is marked current."""
    current = token_digest(current_secret) if current_secret else None
    return [_info(ws, current) for ws in _own(session, _person_id(actor), now or utcnow())]


def end_session(
    session: Session, actor: Actor, handle: str, *, current_secret: str | None
) -> SessionInfo:
    """End one of the actor's own sessions (退出该设备); audited. The caller clears the cookie
    when the one ended is ``current``."""
    person_id = _person_id(actor)
    current = token_digest(current_secret) if current_secret else None
    row = next(
        (ws for ws in _own(session, person_id, utcnow()) if handle_of(ws.id) == handle), None
    )
    if row is None:
        raise NotFound("auth.session_not_found", "未找到该登录会话，它可能已经结束。")
    target = _info(row, current)
    session.execute(delete(WebSession).where(WebSession.id == row.id))
    person = session.get(Person, person_id)
    assert person is not None
    audit.record(
        session,
        actor,
        "auth.session_end",
        object_type="person",
        object_id=person_id,
        summary=f"账户 {person.username} 结束了登录会话（{target.device}，"
        f"{target.address or '地址未知'}）" + ("，即当前会话" if target.current else ""),
        change={"session": handle, "device": target.device, "ip": target.address},
        department_id=person.department_id,
    )
    return target
