"""Access authentication at the service level (Art. 39 访问认证): sign-in, lockout, sessions,
API tokens for department systems, CSRF tokens. Every sign-in and refusal is audited (Art. 49).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.audit import AuditEvent
from govdata.core.audit_seal import seal
from govdata.core.audit_verify import verify
from govdata.core.crypto import token_digest
from govdata.core.db import utcnow
from govdata.core.errors import (
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from govdata.org import auth, policy
from govdata.org.auth import lock_duration
from govdata.org.models import ApiToken, Person, WebSession
from govdata.org.schemas import TokenCreate
from tests.world import PASSWORD, World

WRONG = "WrongPass2026"


def _person(session: Session, world: World, username: str) -> Person:
    person = session.get(Person, world.people[username])
    assert person is not None
    return person


def _last_seq(session: Session) -> int:
    return session.scalar(select(func.max(AuditEvent.id))) or 0


def _actions_since(session: Session, seq: int) -> list[str]:
    session.flush()
    return list(
        session.scalars(
            select(AuditEvent.action).where(AuditEvent.id > seq).order_by(AuditEvent.id)
        )
    )


def _fail(session: Session, username: str, now: datetime, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(NotAuthenticated):
            auth.sign_in(session, username, WRONG, now=now)


# --- sign-in ---------------------------------------------------------------------------------


def test_sign_in_returns_secret_and_session_resolves_to_actor(
    session: Session, world: World
) -> None:
    seq = _last_seq(session)
    signed = auth.sign_in(session, "officer", PASSWORD, ip="10.0.0.1")
    assert signed.person.id == world.people["officer"]
    assert len(signed.secret) >= 32
    # Only the digest is stored (the cookie holds the secret).
    assert signed.web_session.id == token_digest(signed.secret) != signed.secret
    actor = auth.resolve_session(session, signed.secret)
    assert actor is not None
    assert (actor.person_id, actor.name) == (world.people["officer"], "王专员")
    assert actor.grants == (RoleGrant(Role.DEPARTMENT_OFFICER, department_id=world.police),)
    assert _actions_since(session, seq) == ["auth.sign_in"]
    seal(session)  # the events join the chain, then it verifies
    assert verify(session).ok


def test_wrong_password_is_refused_and_counted(session: Session, world: World) -> None:
    seq = _last_seq(session)
    with pytest.raises(NotAuthenticated) as info:
        auth.sign_in(session, "officer", WRONG)
    err = info.value
    assert (err.code, err.status, err.message) == (
        "auth.invalid_credentials",
        401,
        auth.INVALID_CREDENTIALS,
    )
    # The failure must be committed although the request fails: it counts towards the lockout.
    assert err.keep_changes is True
    assert _person(session, world, "officer").failed_logins == 1
    assert _actions_since(session, seq) == ["auth.sign_in_failed"]
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0


@pytest.mark.parametrize("username", ["nobody", "inactive"])
def test_unknown_or_inactive_user_is_indistinguishable_from_wrong_password(
    session: Session, world: World, username: str
) -> None:
    if username == "inactive":
        _person(session, world, "officer2").active = False
        session.flush()
        username = "officer2"
    with pytest.raises(NotAuthenticated) as wrong:
        auth.sign_in(session, "officer", WRONG)
    with pytest.raises(NotAuthenticated) as other:
        auth.sign_in(session, username, PASSWORD)  # even with the right password
    assert (other.value.code, other.value.message, other.value.status) == (
        wrong.value.code,
        wrong.value.message,
        wrong.value.status,
    )


def test_fifth_failure_locks_for_one_minute_with_the_same_answer(
    session: Session, world: World
) -> None:
    now = utcnow()
    _fail(session, "officer", now, times=4)
    with pytest.raises(NotAuthenticated) as info:
        auth.sign_in(session, "officer", WRONG, now=now)
    # Locked, but the answer is the one for a wrong password or an unknown account.
    assert (info.value.code, info.value.status, info.value.detail) == (
        "auth.invalid_credentials",
        401,
        None,
    )
    assert info.value.keep_changes is True
    person = _person(session, world, "officer")
    assert person.failed_logins == 5
    assert person.locked_until == now + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("failures", "minutes"),
    [(0, 0), (4, 0), (5, 1), (6, 2), (7, 4), (8, 8), (10, 32), (11, 60), (12, 60)],
)
def test_lock_duration_doubles_and_is_capped_at_an_hour(failures: int, minutes: int) -> None:
    assert lock_duration(failures) == timedelta(minutes=minutes)


@pytest.mark.parametrize("failures", [46, 10_000])
def test_lock_duration_stays_capped_for_many_failures(failures: int) -> None:
    # A patient attacker (one guess an hour) reaches these counts; the cap must hold.
    assert lock_duration(failures) == timedelta(hours=1)


def test_lockout_still_applies_after_many_failures(session: Session, world: World) -> None:
    # 45 failures so far and the last lock has expired: the next wrong guess locks again.
    person = _person(session, world, "officer")
    person.failed_logins = 45
    person.locked_until = None
    session.flush()
    now = utcnow()
    with pytest.raises(NotAuthenticated):
        auth.sign_in(session, "officer", WRONG, now=now)
    assert person.failed_logins == 46
    assert person.locked_until == now + timedelta(hours=1)


def test_locked_account_is_refused_even_with_the_right_password(
    session: Session, world: World
) -> None:
    now = utcnow()
    _fail(session, "officer", now, times=5)
    seq = _last_seq(session)
    with pytest.raises(NotAuthenticated) as info:
        auth.sign_in(session, "officer", PASSWORD, now=now + timedelta(seconds=30))
    assert (info.value.code, info.value.message, info.value.detail) == (
        "auth.invalid_credentials",
        auth.INVALID_CREDENTIALS,
        None,
    )
    assert _person(session, world, "officer").failed_logins == 5
    assert _actions_since(session, seq) == []
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_success_after_lock_expires_resets_the_counter(session: Session, world: World) -> None:
    now = utcnow()
    _fail(session, "officer", now, times=5)
    later = now + timedelta(minutes=1, seconds=1)
    signed = auth.sign_in(session, "officer", PASSWORD, now=later)
    assert signed.person.failed_logins == 0
    assert signed.person.locked_until is None
    assert signed.person.last_login_at == later


def test_failure_after_lock_expires_doubles_the_lock(session: Session, world: World) -> None:
    now = utcnow()
    _fail(session, "officer", now, times=5)
    later = now + timedelta(minutes=2)
    with pytest.raises(NotAuthenticated):
        auth.sign_in(session, "officer", WRONG, now=later)
    person = _person(session, world, "officer")
    assert person.failed_logins == 6
    assert person.locked_until == later + timedelta(minutes=2)


def test_success_resets_failures_before_the_lock(session: Session, world: World) -> None:
    now = utcnow()
    _fail(session, "officer", now, times=3)
    auth.sign_in(session, "officer", PASSWORD, now=now)
    _fail(session, "officer", now, times=4)  # 4, not 7: no lock
    assert _person(session, world, "officer").failed_logins == 4
    assert _person(session, world, "officer").locked_until is None


# --- sessions --------------------------------------------------------------------------------


def test_expired_session_resolves_to_none(session: Session) -> None:
    now = utcnow()
    signed = auth.sign_in(session, "officer", PASSWORD, hours=8, now=now)
    assert signed.web_session.expires_at == now + timedelta(hours=8)
    assert auth.resolve_session(session, signed.secret, now=now + timedelta(hours=7)) is not None
    assert auth.resolve_session(session, signed.secret, now=now + timedelta(hours=16)) is None


def test_session_slides_but_never_past_its_absolute_lifetime(session: Session) -> None:
    t0 = utcnow()
    signed = auth.sign_in(session, "officer", PASSWORD, hours=8, now=t0)

    def expires() -> datetime:
        value = session.scalar(
            select(WebSession.expires_at).where(WebSession.id == signed.web_session.id)
        )
        assert value is not None
        return value

    for at, due in ((7, 15), (14, 22), (21, 24)):
        assert auth.resolve_session(session, signed.secret, now=t0 + timedelta(hours=at))
        assert expires() == t0 + timedelta(hours=due)
    after = t0 + timedelta(hours=24, seconds=1)
    assert auth.resolve_session(session, signed.secret, now=after) is None


def test_sign_out_ends_the_session(session: Session) -> None:
    signed = auth.sign_in(session, "officer", PASSWORD)
    auth.sign_out(session, signed.secret)
    assert auth.resolve_session(session, signed.secret) is None
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_unknown_session_secret_resolves_to_none(session: Session) -> None:
    auth.sign_in(session, "officer", PASSWORD)
    assert auth.resolve_session(session, "not-a-session") is None


# --- API tokens (department systems) ---------------------------------------------------------


def _issue(session: Session, world: World, username: str = "officer", **kw: object):
    data = TokenCreate(name="业务系统", scopes=["org:read"], **kw)  # type: ignore[arg-type]
    return auth.issue_token(session, world.actor(session, username), world.police, data)


@pytest.mark.parametrize("username", ["officer", "head", "city"])
def test_issue_token_shows_secret_once_and_stores_only_digest(
    session: Session, world: World, username: str
) -> None:
    seq = _last_seq(session)
    issued = _issue(session, world, username)
    assert issued.secret.startswith("gd_")
    row = session.execute(
        text("SELECT * FROM api_tokens WHERE id = :id"), {"id": issued.token.id}
    ).one()
    # The secret after its "gd_" prefix (it may itself hold "_": split once, from the left).
    tail = issued.secret.split("_", 1)[1]
    for value in row:
        assert issued.secret not in str(value)
        assert tail not in str(value)
    assert issued.token.digest == token_digest(issued.secret)
    assert issued.token.scope_list == ["org:read"]
    assert _actions_since(session, seq) == ["org.token.issue"]
    seal(session)  # the events join the chain, then it verifies
    assert verify(session).ok


def test_unknown_scope_is_refused(session: Session, world: World) -> None:
    data = TokenCreate(name="x", scopes=["org:read", "org:write"])
    with pytest.raises(InvalidInput) as info:
        auth.issue_token(session, world.actor(session, "officer"), world.police, data)
    assert info.value.code == "org.token_scope_unknown"
    assert info.value.detail == {"known": sorted(auth.SCOPES)}
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_officer_of_another_department_cannot_issue_token(session: Session, world: World) -> None:
    # The police department is invisible to the market officer: not found (no leak).
    with pytest.raises(NotFound) as info:
        _issue(session, world, "officer2")
    assert info.value.code == "org.department_not_found"
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


@pytest.mark.parametrize("username", ["auditor", "plain"])
def test_visible_department_without_token_right_is_forbidden(
    session: Session, world: World, username: str
) -> None:
    if username == "plain":  # a role-less staff member sees nothing, hence not found
        with pytest.raises(NotFound):
            _issue(session, world, username)
    else:  # the auditor sees every department but manages none (Art. 49: read-only)
        with pytest.raises(PermissionDenied) as info:
            _issue(session, world, username)
        assert info.value.code == "org.cannot_manage_tokens"
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_resolve_token_gives_a_department_system_actor(session: Session, world: World) -> None:
    issued = _issue(session, world)
    actor = auth.resolve_token(session, issued.secret)
    assert actor is not None
    assert actor.person_id is None
    assert actor.token_id == issued.token.id
    assert actor.scopes == frozenset({"org:read"})
    assert actor.grants == (RoleGrant(Role.DEPARTMENT_SYSTEM, department_id=world.police),)
    assert actor.name == "市公安局·业务系统"
    assert issued.token.last_used_at is not None


def test_revoked_token_resolves_to_none(session: Session, world: World) -> None:
    issued = _issue(session, world)
    seq = _last_seq(session)
    auth.revoke_token(session, world.actor(session, "head"), issued.token.id)
    assert auth.resolve_token(session, issued.secret) is None
    assert _actions_since(session, seq) == ["org.token.revoke"]


def test_revoking_a_token_outside_scope_does_not_reveal_it_exists(
    session: Session, world: World
) -> None:
    # DESIGN principle 2: another department's token must look exactly like no token at all.
    issued = _issue(session, world)
    other = world.actor(session, "officer2")
    with pytest.raises(NotFound) as unknown:
        auth.revoke_token(session, other, 999_999)
    with pytest.raises(NotFound) as hidden:
        auth.revoke_token(session, other, issued.token.id)
    assert (hidden.value.code, hidden.value.message) == (
        unknown.value.code,
        unknown.value.message,
    )
    assert issued.token.revoked_at is None


def test_expired_token_resolves_to_none(session: Session, world: World) -> None:
    issued = _issue(session, world, expires_in_days=1)
    assert auth.resolve_token(session, issued.secret, now=utcnow() + timedelta(hours=23))
    assert (
        auth.resolve_token(session, issued.secret, now=utcnow() + timedelta(days=1, seconds=1))
        is None
    )


@pytest.mark.parametrize("secret", ["garbage", "gd_", "gd_abcdefgh_" + "x" * 43, ""])
def test_unknown_token_resolves_to_none(session: Session, world: World, secret: str) -> None:
    _issue(session, world)
    assert auth.resolve_token(session, secret) is None


def test_require_scope_refuses_token_without_the_scope() -> None:
    token_actor = Actor(
        person_id=None,
        name="系统",
        grants=(RoleGrant(Role.DEPARTMENT_SYSTEM, department_id=1),),
        token_id=7,
        scopes=frozenset({"catalog:read"}),
    )
    with pytest.raises(PermissionDenied) as info:
        policy.require_scope(token_actor, "org:read")
    assert info.value.code == "auth.scope_missing"
    policy.require_scope(token_actor, "catalog:read")  # carries it: no error


def test_require_scope_does_not_apply_to_people(session: Session, world: World) -> None:
    policy.require_scope(world.actor(session, "officer"), "org:read")  # roles govern people
