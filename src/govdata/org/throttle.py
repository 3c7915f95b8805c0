"""The sign-in throttle (Art. 39 访问认证, 控制; OWASP ASVS 4 §2.2.1).

Every failed sign-in is an access record (``action="auth.sign_in"``, ``outcome="refused"``,
``object_id`` = the username as typed, ``address`` = the client's address), written in a
transaction that commits although the request fails. Before a password is verified, the
throttle counts those records of the last ``window``: ``per_address`` failures from one address
(whatever the usernames: password spraying) or ``per_username`` failures on one username
(whatever the addresses: a distributed guess) refuse further attempts with 429 and
``Retry-After``, at the cost of two indexed queries and no password hash.

The counts live in the database, so every worker process and every machine behind a load
balancer shares them. Two attempts that race may both pass the check: the overshoot is bounded
by the number of concurrent requests, which is acceptable for a throttle (the per-account
lockout still applies). Unknown usernames are counted like real ones: the throttle tells
nothing about which accounts exist. The security-monitoring domain reads the same records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord, record_access
from govdata.core.actor import Actor
from govdata.core.errors import TooManyRequests
from govdata.core.settings import Settings

SIGN_IN = "auth.sign_in"
# Reasons of refused sign-in records (the answer is the same for all of them; auditors and the
# account's owner see which). A throttled attempt is recorded but not counted, so that the
# window slides and a client that waits ``Retry-After`` gets in.
WRONG_PASSWORD = "auth.invalid_credentials"  # noqa: S105 - a reason code, not a secret
UNKNOWN_ACCOUNT = "auth.unknown_account"
INACTIVE_ACCOUNT = "auth.account_inactive"
LOCKED_ACCOUNT = "auth.locked"
THROTTLED = "auth.too_many_attempts"

ANONYMOUS = "未登录用户"


@dataclass(frozen=True)
class Throttle:
    window: timedelta = timedelta(minutes=15)
    per_address: int = 20  # an office behind one NAT address still has room
    per_username: int = 10  # above the lockout's 5, so the lockout acts first on a real account

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        return cls(
            window=timedelta(seconds=settings.sign_in_window_seconds),
            per_address=settings.sign_in_failures_per_address,
            per_username=settings.sign_in_failures_per_username,
        )


def typed_username(username: str) -> str:
    """The key a username is counted under: as typed, trimmed and lowercased (usernames are
    lowercase), so that "City" and "city" are one key; truncated to the column."""
    return username.strip().lower()[:80]


_COUNTED = select(AccessRecord.at).where(
    AccessRecord.action == SIGN_IN,
    AccessRecord.outcome == "refused",
    AccessRecord.reason != THROTTLED,
    AccessRecord.at > bindparam("since"),
)
# The newest ``limit``-th failure: once it leaves the window, fewer than ``limit`` remain.
_BY_ADDRESS = (
    _COUNTED.where(AccessRecord.address == bindparam("key"))
    .order_by(AccessRecord.at.desc())
    .offset(bindparam("skip"))
    .limit(1)
)
_BY_USERNAME = (
    _COUNTED.where(AccessRecord.object_id == bindparam("key"))
    .order_by(AccessRecord.at.desc())
    .offset(bindparam("skip"))
    .limit(1)
)


def _wait(
    session: Session,
    stmt: Select[Any],
    key: str,
    limit: int,
    throttle: Throttle,
    now: datetime,
) -> int | None:
    """Seconds until ``key`` may try again, or None when it has fewer than ``limit`` failures
    in the window."""
    if limit <= 0:  # 0 turns that throttle off
        return None
    params = {"key": key, "since": now - throttle.window, "skip": limit - 1}
    at: datetime | None = session.execute(stmt, params).scalar()
    if at is None:
        return None
    return max(1, math.ceil((at + throttle.window - now).total_seconds()))


def check(
    session: Session, username: str, address: str | None, throttle: Throttle, now: datetime
) -> None:
    """Refuse the attempt (429, recorded, committed) if its address or username has had too
    many failures in the window; otherwise do nothing. Runs before any password hash."""
    key = typed_username(username)
    waits = [_wait(session, _BY_USERNAME, key, throttle.per_username, throttle, now)]
    if address:
        waits.append(_wait(session, _BY_ADDRESS, address, throttle.per_address, throttle, now))
    retry_after = max((w for w in waits if w is not None), default=None)
    if retry_after is None:
        return
    record_failure(session, username, address, THROTTLED, now=now)
    minutes = max(1, math.ceil(retry_after / 60))
    raise TooManyRequests(
        THROTTLED,
        f"登录尝试过于频繁，请于{minutes}分钟后再试。",
        retry_after=retry_after,
        detail={"retry_after": retry_after},
        keep_changes=True,
    )


def record_failure(
    session: Session,
    username: str,
    address: str | None,
    reason: str,
    *,
    now: datetime,
    department_id: int | None = None,
) -> None:
    """One refused sign-in, as an access record (the caller raises with ``keep_changes``)."""
    record_access(
        session,
        Actor(person_id=None, name=ANONYMOUS, address=address),
        SIGN_IN,
        object_type="account",
        object_id=typed_username(username),
        owner_department_id=department_id,
        outcome="refused",
        reason=reason,
        at=now,
    )


def failures_since(session: Session, username: str, since: datetime) -> list[AccessRecord]:
    """The refused sign-ins on a username since ``since``, newest first (the account page and
    the notice after a successful sign-in tell the account's owner about them)."""
    return list(
        session.scalars(
            select(AccessRecord)
            .where(
                AccessRecord.action == SIGN_IN,
                AccessRecord.object_id == typed_username(username),
                AccessRecord.outcome == "refused",
                AccessRecord.at > since,
            )
            .order_by(AccessRecord.at.desc())
            .limit(50)
        )
    )
