"""Developer keys for the open-data APIs (issue 14 §9, Art. 33 ¶3): a public user's key names
who calls; a key is stored as a digest, shown once, and revocable.

A call with a key acts as the key's owner (``actor_for_key``): the same identity check and
entitlement as the portal apply to it (``entitlement.may_obtain``). Quotas and rate limits
are charged per key on top of this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.crypto import new_token, token_digest
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.settings import get_settings
from govdata.core.text import has_control
from govdata.opendata import policy
from govdata.opendata.models import DeveloperKey, DeveloperKeyUsage
from govdata.org.models import Person
from govdata.org.service import role_grants

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
    found = resolve_key(session, secret, address=address)
    return found[1] if found is not None else None


def resolve_key(
    session: Session, secret: str, *, address: str | None = None
) -> tuple[DeveloperKey, Actor] | None:
    """The live key and its owner as an actor; None: unknown, revoked, owner inactive."""
    key = key_for_secret(session, secret)
    if key is None:
        return None
    person = session.get(Person, key.person_id)
    if person is None or not person.active:
        return None
    grants = role_grants(session, person.id)
    now = utcnow()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        # Written at most once a minute: not a write on every call.
        session.execute(
            update(DeveloperKey).where(DeveloperKey.id == key.id).values(last_used_at=now)
        )
    return key, Actor(person_id=person.id, name=person.name, grants=grants, address=address)


# --- the developer's own keys (issue 14 §9) ---------------------------------------------------

MAX_LIVE_KEYS = 10  # a product decision: enough for a developer's applications, not a farm


class KeyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("opendata.key_not_found", "未找到该开发者密钥。")


@dataclass(frozen=True)
class KeyView:
    key: DeveloperKey
    calls_today: int


def _require_owner(session: Session, actor: Actor | None) -> Actor:
    """Art. 33 ¶3: a key obtains open data, so only an identified person holds one (a checked
    public account or a staff account); a department system's token never makes keys."""
    policy.require_person(actor)
    return policy.require_identity(session, actor)


def create_key(session: Session, actor: Actor | None, name: str) -> IssuedKey:
    owner = _require_owner(session, actor)
    assert owner.person_id is not None
    clean = " ".join(name.split())
    if not clean or len(clean) > 100 or has_control(clean):
        raise InvalidInput(
            "opendata.key_name_invalid", "请填写密钥名称（不超过100个字符，不含控制字符）。"
        )
    live = session.scalar(
        select(func.count())
        .select_from(DeveloperKey)
        .where(DeveloperKey.person_id == owner.person_id, DeveloperKey.revoked_at.is_(None))
    )
    if (live or 0) >= MAX_LIVE_KEYS:
        raise Conflict(
            "opendata.key_limit", f"每个账户最多持有{MAX_LIVE_KEYS}个有效密钥，请先吊销不用的密钥。"
        )
    issued = issue_key(
        session, owner.person_id, clean, daily_quota=get_settings().opendata_key_daily_quota
    )
    audit.record(
        session,
        owner,
        "opendata.key.issue",
        object_type="developer_key",
        object_id=issued.key.id,
        summary=f"创建开发者密钥“{clean}”（{issued.key.prefix}…）",
        change={"prefix": issued.key.prefix, "daily_quota": issued.key.daily_quota},
    )
    return issued


def list_keys(session: Session, actor: Actor | None, day: date) -> list[KeyView]:
    """The actor's own keys, newest first, with the calls of ``day`` (Beijing)."""
    owner = _require_owner(session, actor)
    rows = session.execute(
        select(DeveloperKey, DeveloperKeyUsage.calls)
        .outerjoin(
            DeveloperKeyUsage,
            (DeveloperKeyUsage.key_id == DeveloperKey.id) & (DeveloperKeyUsage.day == day),
        )
        .where(DeveloperKey.person_id == owner.person_id)
        .order_by(DeveloperKey.id.desc())
    ).all()
    return [KeyView(k, int(calls or 0)) for k, calls in rows]


def revoke_key(session: Session, actor: Actor | None, key_id: int) -> DeveloperKey:
    """Revoke one of the actor's own keys; someone else's key is not found (no leak)."""
    owner = _require_owner(session, actor)
    key = session.get(DeveloperKey, key_id)
    if key is None or key.person_id != owner.person_id:
        raise KeyNotFound()
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(
            session,
            owner,
            "opendata.key.revoke",
            object_type="developer_key",
            object_id=key.id,
            summary=f"吊销开发者密钥“{key.name}”（{key.prefix}…）",
        )
    return key
