"""Signing departments' SM2 keys (Art. 28): made, rotated, published, opened to sign.

Each providing department that delivers documents, licences or contracts signs them with its own
SM2 key (GB/T 32918, via ``core.crypto``). The private key is stored sealed with SM4-GCM
(``core.sm4``) under the platform's key-encryption key (KEK), bound to its key id and department
as associated data; the public key is published to anyone (``published``). Rotation retires the
current key, which then signs no more but stays published, so signatures made before still
verify; a signature whose time is after its key's retirement does not.

The KEK is the environment's ``GOVDATA_SIGNING_KEK``, else the file ``var/signing_kek`` (made,
mode 0600, when the first key is made; as ``core.settings`` keeps its secret keys). It is read
at each use rather than kept in ``Settings``, so that an operator restoring it needs no restart.
Signing never makes a new KEK: a lost or changed KEK refuses to sign (``SigningKeyUnavailable``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govdata.catalog import published as published_catalog
from govdata.core import audit, sm4
from govdata.core.actor import Actor, Role
from govdata.core.crypto import sm2_generate_key, sm3_hex
from govdata.core.db import utcnow
from govdata.core.errors import NotFound
from govdata.core.settings import get_settings
from govdata.org.models import Department
from govdata.sharing import catalog, errors, policy
from govdata.sharing.models import SigningKey

KEK_ENV = "GOVDATA_SIGNING_KEK"
KEK_FILE = "signing_kek"
_KEK_LABEL = "govdata-sharing-signing-kek-v1"


def _kek_path() -> Path:
    return get_settings().var_dir / KEK_FILE


def kek(*, create: bool = False) -> bytes | None:
    """The SM4 key sealing private keys; None if there is none and ``create`` is false."""
    secret = os.environ.get(KEK_ENV)
    if not secret:
        path = _kek_path()
        if path.exists():
            secret = path.read_text(encoding="utf-8").strip()
        elif create:
            path.parent.mkdir(parents=True, exist_ok=True)
            secret = secrets.token_urlsafe(48)
            path.write_text(secret, encoding="utf-8")
            path.chmod(0o600)
        else:
            return None
    return sm4.derive_key(secret, _KEK_LABEL)


def _context(key_id: str, department_id: int) -> bytes:
    return f"sharing_signing_keys:{key_id}:{department_id}".encode()


def key_id_of(public_key: str) -> str:
    """The key id: the first 32 hex digits (128 bits) of the SM3 digest of the public key."""
    return sm3_hex(bytes.fromhex(public_key))[:32]


def current_key(session: Session, department_id: int) -> SigningKey | None:
    """The department's key that signs now (not retired), if any."""
    return session.scalar(
        select(SigningKey)
        .where(SigningKey.department_id == department_id, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc())
        .limit(1)
    )


def private_key(key: SigningKey) -> str:
    """Open the sealed private key (hex). Refuses (``SigningKeyUnavailable``) if the KEK is
    missing or wrong, or the sealed value is altered or belongs to another row."""
    kek_bytes = kek()
    if kek_bytes is None:
        raise errors.SigningKeyUnavailable()
    try:
        private = sm4.open_sealed(
            kek_bytes, key.private_key_sealed, _context(key.key_id, key.department_id)
        ).decode("ascii")
    except (sm4.SealBroken, UnicodeDecodeError) as exc:
        raise errors.SigningKeyUnavailable() from exc
    # No re-derivation of the public key here (a scalar multiplication, as long as a signature):
    # the seal is bound to the key id, and the key id to the public key (``sign_delivery``).
    return private


def _department(session: Session, department_id: int) -> Department:
    # Locked (PostgreSQL) so two makings or rotations for one department run one after the
    # other; SQLite's writers are serialized already.
    dept = session.scalar(
        select(Department).where(Department.id == department_id).with_for_update()
    )
    if dept is None:
        raise NotFound("org.department_not_found", "未找到该部门。")
    return dept


def _make(session: Session, actor: Actor, department_id: int) -> SigningKey:
    kek_bytes = kek(create=True)
    assert kek_bytes is not None
    private, public = sm2_generate_key()
    key_id = key_id_of(public)
    key = SigningKey(
        key_id=key_id,
        department_id=department_id,
        public_key=public,
        private_key_sealed=sm4.seal(
            kek_bytes, private.encode("ascii"), _context(key_id, department_id)
        ),
        created_by=actor.person_id,
        created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    return key


def _require(actor: Actor, department_id: int) -> None:
    if not policy.can_manage_signing_key(actor, department_id):
        raise errors.SigningForbidden()


def create(session: Session, actor: Actor, department_id: int) -> SigningKey:
    """A department's first signing key (Art. 28): its head or the city bureau; audited."""
    _require(actor, department_id)
    dept = _department(session, department_id)
    if current_key(session, department_id) is not None:
        raise errors.SigningKeyExists()
    key = _make(session, actor, department_id)
    audit.record(
        session,
        actor,
        "sharing.signing_key.create",
        object_type="sharing_signing_key",
        object_id=key.key_id,
        summary=f"为{dept.name}生成签名密钥 {key.key_id}",
        change={"key_id": key.key_id, "public_key": key.public_key},
        region_id=dept.region_id,
        department_id=dept.id,
    )
    return key


def rotate(session: Session, actor: Actor, department_id: int) -> SigningKey:
    """Retire the department's current key (it signs no more, and stays published so that
    older signatures verify) and make a new one; with no current key, just make one. Audited."""
    _require(actor, department_id)
    dept = _department(session, department_id)
    old = current_key(session, department_id)
    now = utcnow()
    if old is not None:
        session.execute(
            update(SigningKey)
            .where(SigningKey.id == old.id, SigningKey.retired_at.is_(None))
            .values(retired_at=now)
            .execution_options(synchronize_session=False)
        )
        session.expire(old)
    key = _make(session, actor, department_id)
    audit.record(
        session,
        actor,
        "sharing.signing_key.rotate",
        object_type="sharing_signing_key",
        object_id=key.key_id,
        summary=(
            f"轮换{dept.name}的签名密钥：{old.key_id if old else '（无）'} 停用，{key.key_id} 启用"
        ),
        change={
            "retired": old.key_id if old else None,
            "key_id": key.key_id,
            "public_key": key.public_key,
        },
        region_id=dept.region_id,
        department_id=dept.id,
    )
    return key


@dataclass(frozen=True)
class PublishedKey:
    """What anyone may know of a key: never its private half."""

    key_id: str
    department_id: int
    department_code: str
    department_name: str
    public_key: str
    created_at: datetime
    retired_at: datetime | None

    @property
    def current(self) -> bool:
        return self.retired_at is None


def published(session: Session, department_id: int | None = None) -> list[PublishedKey]:
    """Every key, current and retired, with its department: public (anyone verifies)."""
    stmt = (
        select(
            SigningKey.key_id,
            SigningKey.department_id,
            Department.code,
            Department.name,
            SigningKey.public_key,
            SigningKey.created_at,
            SigningKey.retired_at,
        )
        .join(Department, Department.id == SigningKey.department_id)
        .order_by(Department.code, SigningKey.id.desc())
    )
    if department_id is not None:
        stmt = stmt.where(SigningKey.department_id == department_id)
    return [
        PublishedKey(
            key_id=r[0],
            department_id=r[1],
            department_code=r[2],
            department_name=r[3],
            public_key=r[4],
            created_at=r[5],
            retired_at=r[6],
        )
        for r in session.execute(stmt)
    ]


def managed_departments(session: Session, actor: Actor) -> list[Department]:
    """The departments whose keys the actor may make or rotate (the page's choices): the city
    bureau any department; a head their own."""
    if actor.token_id is not None:
        return []
    stmt = select(Department).order_by(Department.code)
    if not actor.has(Role.CITY_BUREAU_ADMIN):
        own = actor.department_ids(Role.DEPARTMENT_HEAD)
        if not own:
            return []
        stmt = stmt.where(Department.id.in_(own))
    return list(session.scalars(stmt))


DESIGNATE_LIST = 200  # a head's own sources in one list; beyond, a search
DESIGNATE_FOUND = 20


def designatable(
    session: Session, actor: Actor, managed_ids: set[int], q: str
) -> tuple[list[tuple[str, str]], bool]:
    """(code, name) of the sources the actor may designate as document sources (Art. 28: its
    managed departments', ``managed_departments``), and whether that is all of them: every one
    up to ``DESIGNATE_LIST``; beyond (the city bureau manages every department: thousands),
    the matches of a search ``q``."""
    if not managed_ids or not policy.can_browse(actor):
        return [], True
    if not q:
        listed = published_catalog.listing(
            session, department_ids=managed_ids, limit=DESIGNATE_LIST + 1
        )
        if len(listed) <= DESIGNATE_LIST:
            return [(r.code, r.name) for r in listed], True
        return [], False
    found = catalog.browse(session, actor, catalog.CatalogFilters(q=q), limit=DESIGNATE_LIST)
    mine = [(e.code, e.name) for e in found.items if e.source.provider_department_id in managed_ids]
    return mine[:DESIGNATE_FOUND], False
