"""Sign-in, sessions, lockout and API tokens (Art. 39: 访问认证).

- Passwords: argon2id (``govdata.core.crypto``).
- Sessions: server-side rows keyed by the SM3 digest of the cookie's secret; a new secret at
  every sign-in (rotation), an idle timeout and an absolute lifetime.
- Lockout: after ``LOCK_AFTER`` consecutive failures an account is locked, one minute at first
  and twice as long after every further failure, at most an hour (a product rule). Wrong
  current passwords when changing one's password count too.
- Throttle (``govdata.org.throttle``): too many failures from one address or on one username
  refuse further attempts with 429 before any password is verified.
- One answer, and one argon2 verification, for unknown, wrong-password, inactive and locked
  accounts: neither the answer nor the time taken tells whether an account exists.
- API tokens for department systems: shown once, stored as a digest, scoped, expiring, revocable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.access import record_access
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.crypto import (
    dummy_password_hash,
    hash_password,
    new_token,
    password_needs_rehash,
    token_digest,
    verify_password,
)
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput, NotAuthenticated, NotFound
from govdata.org import policy
from govdata.org.models import ApiToken, Department, Person, RoleAssignment, WebSession
from govdata.org.schemas import TokenCreate
from govdata.org.service import get_department
from govdata.org.throttle import (
    INACTIVE_ACCOUNT,
    LOCKED_ACCOUNT,
    UNKNOWN_ACCOUNT,
    WRONG_PASSWORD,
    Throttle,
    failures_since,
    record_failure,
    typed_username,
)
from govdata.org.throttle import check as throttle_check

LOCK_AFTER = 5
FIRST_LOCK = timedelta(minutes=1)
MAX_LOCK = timedelta(hours=1)
ABSOLUTE_SESSION_LIFETIME = timedelta(hours=24)
TOUCH_INTERVAL = timedelta(minutes=5)
DEFAULT_THROTTLE = Throttle()

# Scopes a department system's token may carry (Art. 39: least privilege). A token reads and
# writes only what its scopes name, each read as each write; what no scope names (base and
# thematic databases, quality, corrections, the audit log, the calendar, token management) is
# for people only. Each domain that serves systems adds its own; the policy modules check them.
SCOPES: dict[str, str] = {
    "org:read": "读取本部门及可见的组织机构、人员信息",
    "catalog:read": "读取已发布的政务数据资源目录（含共享目录、责任清单、目录检索）",
    "catalog:write": "维护并读取本部门的目录清单和需求清单，及其提交审核、变更记录",
    "pool:read": "读取本部门政务数据资源池的数据、汇聚规范、全部加载记录和问题报告",
    "pool:write": "向本部门政务数据资源池推送数据，并查看本部门经接口推送的加载结果和问题报告",
    # Art. 22, 26 ¶2: the data access API, under grants that name the token's system.
    "sharing:read": "经共享系统调用本部门获得授权的共享数据（仅限授权列明的系统）",
}

# One answer for an unknown account, a wrong password, an inactive or a locked account: the
# answer must not tell whether an account exists (ASVS 2.2.1, 3.x). The locked person learns
# of the lock from this hint, from the administrator, and after the next successful sign-in
# (``SignedIn.failed_attempts``: the account page lists the failed attempts).
INVALID_CREDENTIALS = "用户名或密码错误。连续多次失败后账户将被临时锁定，请稍后再试或联系管理员。"


def lock_duration(failed_logins: int) -> timedelta:
    """Back-off: 1 min at the 5th failure, doubling with each further one, at most 1 hour."""
    if failed_logins < LOCK_AFTER:
        return timedelta(0)
    doublings = failed_logins - LOCK_AFTER
    if doublings >= 6:  # 2**6 min > 1 h; and no overflow after thousands of failures
        return MAX_LOCK
    lock: timedelta = FIRST_LOCK * (2**doublings)
    return min(lock, MAX_LOCK)


def is_locked(person: Person, now: datetime) -> bool:
    return person.locked_until is not None and person.locked_until > now


def count_failure(
    session: Session, person: Person, now: datetime, *, ip: str | None, what: str
) -> bool:
    """A wrong password for ``person`` (at sign-in, or as the current password when changing
    it): one more towards the lockout, audited. Whether the account is now locked."""
    person.failed_logins += 1
    locked = person.failed_logins >= LOCK_AFTER
    if locked:
        person.locked_until = now + lock_duration(person.failed_logins)
    audit.record(
        session,
        Actor(person_id=person.id, name=person.name, address=ip),
        "auth.sign_in_failed",
        object_type="person",
        object_id=person.id,
        summary=f"账户 {person.username} {what}密码错误（第{person.failed_logins}次）"
        + ("，已临时锁定" if locked else ""),
        change={"ip": ip, "failed_logins": person.failed_logins, "locked": locked},
        department_id=person.department_id,
    )
    return locked


@dataclass(frozen=True)
class SignedIn:
    person: Person
    secret: str  # the cookie value; only its digest is stored
    web_session: WebSession
    # Failed sign-ins on this username since the previous successful one (the owner is told).
    failed_attempts: int = 0


FAILURE_LOOKBACK = timedelta(days=30)


def sign_in(
    session: Session,
    username: str,
    password: str,
    *,
    hours: int = 8,
    ip: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
    previous_secret: str | None = None,
    throttle: Throttle = DEFAULT_THROTTLE,
) -> SignedIn:
    """Sign a person in (Art. 39 访问认证).

    Refusals, in order: too many recent failures from this address or on this username (429,
    before any password hash); then, after exactly one argon2 verification whatever the case
    (against a dummy hash when there is no active account), one answer for an unknown or
    inactive account, a wrong password and a locked account. Each refusal is an access record
    that commits with the refusal. ``previous_secret``: the session cookie the request
    presented, which ends at a successful sign-in (whoever's it was).
    """
    now = now or utcnow()
    throttle_check(session, username, ip, throttle, now)
    person = session.scalar(select(Person).where(Person.username == typed_username(username)))
    active = person if person is not None and person.active else None
    # Exactly one verification on every path: the time taken tells nothing (ASVS 2.2.1).
    ok = verify_password(active.password_hash if active else dummy_password_hash(), password)
    if person is None or active is None:
        reason = UNKNOWN_ACCOUNT if person is None else INACTIVE_ACCOUNT
    elif is_locked(person, now):
        reason = LOCKED_ACCOUNT  # even with the right password; no further count while locked
    elif not ok:
        reason = WRONG_PASSWORD
        count_failure(session, person, now, ip=ip, what="登录")
    else:
        reason = None
    if reason is not None:
        record_failure(
            session,
            username,
            ip,
            reason,
            now=now,
            department_id=person.department_id if person is not None else None,
        )
        raise NotAuthenticated("auth.invalid_credentials", INVALID_CREDENTIALS, keep_changes=True)
    assert person is not None
    # Failures since the previous sign-in (within the lookback): the owner is told of them.
    since = max(person.last_login_at or now - FAILURE_LOOKBACK, now - FAILURE_LOOKBACK)
    failed = failures_since(session, person.username, since)
    if password_needs_rehash(person.password_hash):
        person.password_hash = hash_password(password)
    person.failed_logins = 0
    person.locked_until = None
    person.last_login_at = now
    if previous_secret:
        sign_out(session, previous_secret)  # the presented session ends: no session fixation
    secret = new_token()
    ws = WebSession(
        id=token_digest(secret),
        person_id=person.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=hours),
        ip=ip,
        user_agent=(user_agent or "")[:200] or None,
    )
    session.add(ws)
    audit.record(
        session,
        Actor(person_id=person.id, name=person.name, address=ip),
        "auth.sign_in",
        object_type="person",
        object_id=person.id,
        summary=f"账户 {person.username} 登录"
        + (f"（此前有{len(failed)}次失败的登录尝试）" if failed else ""),
        change={"ip": ip, "failed_attempts": len(failed)},
        department_id=person.department_id,
    )
    session.flush()
    return SignedIn(person=person, secret=secret, web_session=ws, failed_attempts=len(failed))


def sign_out(session: Session, secret: str) -> None:
    row = session.execute(
        select(WebSession.id, Person.id, Person.name, Person.username, Person.department_id)
        .join(Person, Person.id == WebSession.person_id)
        .where(WebSession.id == token_digest(secret))
    ).first()
    if row is None:
        return
    sid, person_id, name, username, department_id = row
    session.execute(delete(WebSession).where(WebSession.id == sid))
    audit.record(
        session,
        Actor(person_id=person_id, name=name),
        "auth.sign_out",
        object_type="person",
        object_id=person_id,
        summary=f"账户 {username} 退出登录",
        department_id=department_id,
    )


def verify_current_password(
    session: Session,
    person: Person,
    password: str | None,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """Re-authentication before a person changes their own password (ASVS 2.1.6).

    A wrong current password counts towards the lockout as a failed sign-in does and is
    recorded; when it locks the account, every session of the person ends (a stolen session
    gets ``LOCK_AFTER`` guesses at most). The refusal commits what it recorded.
    """
    if not password:
        raise InvalidInput("auth.current_password_required", "修改本人密码须输入当前密码。")
    if verify_password(person.password_hash, password):
        return
    now = now or utcnow()
    locked = count_failure(session, person, now, ip=ip, what="修改密码时输入的当前")
    record_access(
        session,
        Actor(person_id=person.id, name=person.name, address=ip),
        "auth.password_change",
        object_type="person",
        object_id=person.id,
        owner_department_id=person.department_id,
        outcome="refused",
        reason="auth.wrong_current_password",
        at=now,
    )
    if locked:
        end_sessions_of(session, person.id)
        raise NotAuthenticated(
            "auth.locked",
            "当前密码多次输入错误，账户已临时锁定，所有登录会话均已结束。",
            keep_changes=True,
        )
    raise InvalidInput("auth.wrong_current_password", "当前密码不正确。", keep_changes=True)


def end_sessions_of(session: Session, person_id: int, *, keep_secret: str | None = None) -> None:
    """End every sign-in session of a person; ``keep_secret``: except the one of that cookie
    (a person changing their own password stays signed in where they changed it)."""
    stmt = delete(WebSession).where(WebSession.person_id == person_id)
    if keep_secret:
        stmt = stmt.where(WebSession.id != token_digest(keep_secret))
    session.execute(stmt)


# Every authenticated request runs these: built once, run on the connection (no ORM layer).
_SESSION_ROW = (
    select(WebSession.id, WebSession.created_at, WebSession.last_seen_at, Person.id, Person.name)
    .join(Person, Person.id == WebSession.person_id)
    .where(
        WebSession.id == bindparam("sid"),
        WebSession.expires_at > bindparam("now"),
        Person.active.is_(True),
    )
)
_GRANTS = select(RoleAssignment.role, RoleAssignment.region_id, RoleAssignment.department_id).where(
    RoleAssignment.person_id == bindparam("pid")
)


def resolve_session(
    session: Session, secret: str, *, hours: int = 8, now: datetime | None = None
) -> Actor | None:
    """The actor behind a session cookie, or None if it is unknown, expired or deactivated."""
    now = now or utcnow()
    conn = session.connection()
    row = conn.execute(_SESSION_ROW, {"sid": token_digest(secret), "now": now}).first()
    if row is None:
        return None
    sid, created_at, last_seen_at, person_id, name = row
    if now - last_seen_at > TOUCH_INTERVAL:
        # Sliding idle timeout, written at most every few minutes rather than on each request.
        conn.execute(
            update(WebSession)
            .where(WebSession.id == sid)
            .values(
                last_seen_at=now,
                expires_at=min(
                    now + timedelta(hours=hours), created_at + ABSOLUTE_SESSION_LIFETIME
                ),
            )
        )
    grants = tuple(
        RoleGrant(Role(r.role), r.region_id, r.department_id)
        for r in conn.execute(_GRANTS, {"pid": person_id})
    )
    return Actor(person_id=person_id, name=name, grants=grants)


# --- API tokens ----------------------------------------------------------------------------

TOKEN_PREFIX = "gd_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def issue_token(
    session: Session, actor: Actor, department_id: int, data: TokenCreate
) -> IssuedToken:
    dept = get_department(session, actor, department_id)
    policy.require_manage_tokens(actor, dept.id)
    unknown = sorted(set(data.scopes) - SCOPES.keys())
    if unknown:
        raise InvalidInput(
            "org.token_scope_unknown",
            f"未知的权限范围：{'、'.join(unknown)}。",
            detail={"known": sorted(SCOPES)},
        )
    now = utcnow()
    prefix = new_token(6)[:8]
    secret = f"{TOKEN_PREFIX}{prefix}_{new_token(32)}"
    token = ApiToken(
        department_id=dept.id,
        name=data.name,
        prefix=prefix,
        digest=token_digest(secret),
        scopes=" ".join(sorted(set(data.scopes))),
        created_by=actor.person_id,
        created_at=now,
        expires_at=now + timedelta(days=data.expires_in_days),
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "org.token.issue",
        object_type="api_token",
        object_id=token.id,
        summary=f"为{dept.name}签发接口令牌“{token.name}”（{prefix}）",
        change={"scopes": token.scopes, "expires_at": token.expires_at.isoformat()},
        region_id=dept.region_id,
        department_id=dept.id,
    )
    return IssuedToken(token=token, secret=secret)


def list_tokens(session: Session, actor: Actor, department_id: int) -> list[ApiToken]:
    dept = get_department(session, actor, department_id)
    policy.require_manage_tokens(actor, dept.id)
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.department_id == dept.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("org.token_not_found", "未找到该接口令牌。")
    try:
        dept = get_department(session, actor, token.department_id)
    except NotFound:
        # Outside the actor's scope the token does not exist, as an unknown id does not.
        raise NotFound("org.token_not_found", "未找到该接口令牌。") from None
    policy.require_manage_tokens(actor, dept.id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor,
            "org.token.revoke",
            object_type="api_token",
            object_id=token.id,
            summary=f"吊销{dept.name}的接口令牌“{token.name}”（{token.prefix}）",
            region_id=dept.region_id,
            department_id=dept.id,
        )
    return token


def resolve_token(session: Session, secret: str, *, now: datetime | None = None) -> Actor | None:
    """The department system behind a bearer token, or None if unknown, expired or revoked."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    now = now or utcnow()
    row = session.execute(
        select(ApiToken, Department.name)
        .join(Department, Department.id == ApiToken.department_id)
        .where(
            ApiToken.digest == token_digest(secret),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            Department.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    token, dept_name = row
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return Actor(
        person_id=None,
        name=f"{dept_name}·{token.name}",
        grants=(RoleGrant(Role.DEPARTMENT_SYSTEM, department_id=token.department_id),),
        token_id=token.id,
        scopes=frozenset(token.scope_list),
    )
