"""Developer keys for the open-data APIs (issue 14 §9, Art. 33 ¶3): a public user's key names
who calls; a key is stored as a digest, shown once, and revocable.

A call with a key acts as the key's owner (``actor_for_key``): the same identity check and
entitlement as the portal apply to it (``entitlement.may_obtain``). Quotas and rate limits
are charged per key on top of this.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.crypto import new_token, token_digest
from govdata.core.db import utcnow
from govdata.opendata.models import DeveloperKey
from govdata.org.models import Person, RoleAssignment

KEY_PREFIX = "od_"  # tells an open-data key from a department system's token (gd_)


@dataclass(frozen=True)
class IssuedKey:
    key: DeveloperKey
    secret: str  # shown once, never stored


def issue_key(
    session: Session, person_id: int, name: str, *, daily_quota: int = 10_000
) -> IssuedKey:
    secret = KEY_PREFIX + new_token(32)
    key = DeveloperKey(
        person_id=person_id,
        name=name,
        digest=token_digest(secret),
        prefix=secret[:10],
        daily_quota=daily_quota,
    )
    session.add(key)
    session.flush()
    return IssuedKey(key, secret)


def key_for_secret(session: Session, secret: str) -> DeveloperKey | None:
    """The live key with this secret; None for an unknown or revoked one."""
    if not secret.startswith(KEY_PREFIX):
        return None
    return session.scalar(
        select(DeveloperKey).where(
            DeveloperKey.digest == token_digest(secret), DeveloperKey.revoked_at.is_(None)
        )
    )


def actor_for_key(session: Session, secret: str, *, address: str | None = None) -> Actor | None:
    """The key owner as an actor (an active account), or None: unknown, revoked, inactive."""
    key = key_for_secret(session, secret)
    if key is None:
        return None
    person = session.get(Person, key.person_id)
    if person is None or not person.active:
        return None
    grants = tuple(
        RoleGrant(Role(r.role), r.region_id, r.department_id)
        for r in session.scalars(
            select(RoleAssignment).where(RoleAssignment.person_id == person.id)
        )
    )
    now = utcnow()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        # Written at most once a minute: not a write on every call.
        session.execute(
            update(DeveloperKey).where(DeveloperKey.id == key.id).values(last_used_at=now)
        )
    return Actor(person_id=person.id, name=person.name, grants=grants, address=address)
