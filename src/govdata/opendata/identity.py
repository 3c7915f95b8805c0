"""Identity authentication for the open-data portal (Art. 33 ¶3: open data is obtained after
identity authentication).

A citizen registers with a name and a 公民身份号码 (GB 11643), a company with a name and a
统一社会信用代码 (GB 32100). The number is checked for its format and check character and,
where the person or legal-person base database holds it, the name must be the one recorded
there. There is no national identity service in this platform: this cross-check against the
city's own base databases is a product decision, and a number the bases do not hold passes on
its check character alone. The account keeps ``subject_digest(number)``, never the number
(Art. 40: "who used my data" matches on it), and one identity has one account.

Sign-up is throttled per network address (a product decision, against mass registration):
every attempt, allowed or refused, is an access record, and past ``REGISTER_PER_ADDRESS`` in
``REGISTER_WINDOW`` further attempts get 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govdata.aggregation.models import BaseKind
from govdata.aggregation.subjects import base_table, find_base, items_of
from govdata.aggregation.tables import KEY_COLUMN
from govdata.core import audit
from govdata.core.access import AccessRecord, record_access
from govdata.core.actor import Actor, Role
from govdata.core.crypto import hash_password, subject_digest
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, DomainError, InvalidInput, TooManyRequests
from govdata.core.ids import is_valid_id_number, is_valid_uscc, normalize_id_number, normalize_uscc
from govdata.org.models import Person, PersonKind, RoleAssignment
from govdata.org.passwords import check_password

REGISTER = "opendata.register"
COMPLETE = "opendata.identity"
REGISTER_WINDOW = timedelta(hours=1)
REGISTER_PER_ADDRESS = 10  # an office behind one NAT address still registers its staff
ANONYMOUS = "未登录用户"

# The item holding the subject's name in each base (the platform's item names; a product
# decision: the first of these a base defines is compared).
NAME_ITEMS = {
    BaseKind.PERSON: ("姓名",),
    BaseKind.LEGAL_ENTITY: ("名称", "单位名称", "企业名称", "机构名称", "法人名称"),
}
KINDS = {
    "citizen": (Role.CITIZEN, BaseKind.PERSON),
    "company": (Role.COMPANY, BaseKind.LEGAL_ENTITY),
}


@dataclass(frozen=True)
class Registration:
    kind: str  # "citizen" or "company"
    name: str
    number: str  # 公民身份号码 or 统一社会信用代码, as typed
    username: str
    password: str
    phone: str | None = None
    email: str | None = None


def _invalid(code: str, message: str) -> InvalidInput:
    return InvalidInput(code, message)


def clean_number(kind: str, number: str) -> str:
    """The number in its canonical form, or a refusal naming what is wrong (Art. 16 keys)."""
    if kind == "citizen":
        value = normalize_id_number(number)
        if not is_valid_id_number(value):
            raise _invalid(
                "opendata.id_number_invalid",
                "公民身份号码无效：须为18位，末位校验码须符合 GB 11643 的规定。",
            )
        return value
    if kind == "company":
        value = normalize_uscc(number)
        if not is_valid_uscc(value):
            raise _invalid(
                "opendata.uscc_invalid",
                "统一社会信用代码无效：须为18位，末位校验码须符合 GB 32100 的规定。",
            )
        return value
    raise _invalid("opendata.identity_kind_invalid", "请选择认证类型：公民或法人和其他组织。")


def clean_name(name: str) -> str:
    value = " ".join(name.split())
    if not value or len(value) > 64:
        raise _invalid("opendata.identity_name_invalid", "请填写姓名或单位名称（不超过64个字符）。")
    return value


def name_in_base(session: Session, base_kind: BaseKind, key: str) -> str | None:
    """The name the base database records for ``key``; None when the base, its name item or
    the subject is not there (then there is nothing to compare: a product decision)."""
    base = find_base(session, base_kind)
    if base is None:
        return None
    item = next((i for i in items_of(session, base) if i.name in NAME_ITEMS[base_kind]), None)
    if item is None or not inspect(session.connection()).has_table(base.table_name):
        return None
    btable = base_table(base, [item.id])
    value = session.scalar(select(btable.c[f"v{item.id}"]).where(btable.c[KEY_COLUMN] == key))
    return None if value is None else str(value)


def _lock_identity(session: Session, digest: str) -> None:
    """Two registrations of one number racing: the second waits, then sees the first (on
    SQLite a writing transaction is already exclusive)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(digest[:15], 16)})


def check_identity(session: Session, kind: str, name: str, number: str) -> tuple[str, str]:
    """Art. 33 ¶3: the cleaned name and the identity digest, or a refusal (invalid number,
    a name the base database contradicts, a number another account holds)."""
    clean = clean_number(kind, number)
    name = clean_name(name)
    recorded = name_in_base(session, KINDS[kind][1], clean)
    if recorded is not None and " ".join(recorded.split()) != name:
        raise _invalid(
            "opendata.identity_name_mismatch",
            "填写的姓名（名称）与登记的信息不一致，请核对后重新填写。",
        )
    digest = subject_digest(clean)
    _lock_identity(session, digest)
    if session.scalar(select(Person.id).where(Person.identity_digest == digest)) is not None:
        raise Conflict(
            "opendata.identity_taken",
            "该证件号码已完成实名认证并绑定了其他账户，每个身份只能认证一个账户；"
            "如非本人操作，请联系平台管理员。",
        )
    return name, digest


def _throttle(session: Session, address: str | None, now: datetime) -> None:
    if not address:
        return
    at = session.scalar(
        select(AccessRecord.at)
        .where(
            AccessRecord.action == REGISTER,
            AccessRecord.address == address,
            AccessRecord.at > now - REGISTER_WINDOW,
        )
        .order_by(AccessRecord.at.desc())
        .offset(REGISTER_PER_ADDRESS - 1)
        .limit(1)
    )
    if at is None:
        return
    retry_after = max(1, math.ceil((at + REGISTER_WINDOW - now).total_seconds()))
    raise TooManyRequests(
        "opendata.register_throttled",
        f"注册尝试过于频繁，请于{max(1, math.ceil(retry_after / 60))}分钟后再试。",
        retry_after=retry_after,
    )


def _record(
    session: Session,
    actor: Actor,
    action: str,
    obj: str,
    reason: str = "",
    digest: str | None = None,
) -> None:
    """The attempt, under the digest of the number it used when that number was valid: the
    number's holder sees in "who used my data" that it was used to authenticate (Art. 40)."""
    record_access(
        session,
        actor,
        action,
        object_type="account",
        object_id=obj,
        outcome="refused" if reason else "allowed",
        reason=reason,
        subject_digest=digest,
    )


def _digest_if_valid(kind: str, number: str) -> str | None:
    try:
        return subject_digest(clean_number(kind, number))
    except InvalidInput:
        return None


def register(session: Session, data: Registration, *, address: str | None = None) -> Person:
    """Real-name registration of a public account (Art. 33 ¶3). Every attempt is recorded;
    a refusal keeps only its record (nothing of the account is written before the checks)."""
    now = utcnow()
    username = data.username.strip().lower()
    anonymous = Actor(person_id=None, name=ANONYMOUS, address=address)
    try:
        _throttle(session, address, now)
        if not (3 <= len(username) <= 64) or not all(
            c.isascii() and (c.isalnum() or c in "_.-") for c in username
        ):
            raise _invalid(
                "opendata.username_invalid",
                "用户名须为3至64位小写字母、数字或 _ . -。",
            )
        check_password(data.password, username=username)
        name, digest = check_identity(session, data.kind, data.name, data.number)
        if session.scalar(select(Person.id).where(func.lower(Person.username) == username)):
            raise Conflict("opendata.username_taken", f"用户名 {username} 已被使用。")
    except DomainError as exc:
        attempted = _digest_if_valid(data.kind, data.number)
        _record(session, anonymous, REGISTER, username[:80], exc.code, attempted)
        exc.keep_changes = True  # the refused attempt counts towards the throttle
        raise
    role = KINDS[data.kind][0]
    person = Person(
        username=username,
        name=name,
        kind=PersonKind.PUBLIC,
        phone=(data.phone or "").strip()[:20] or None,
        email=(data.email or "").strip()[:120] or None,
        password_hash=hash_password(data.password),
        identity_digest=digest,
    )
    try:
        # Two sign-ups of one username racing both pass the check above; the unique index
        # decides, and the loser gets the same answer as if it had come second.
        with session.begin_nested():
            session.add(person)
            session.flush()
    except IntegrityError:
        taken = Conflict("opendata.username_taken", f"用户名 {username} 已被使用。")
        _record(session, anonymous, REGISTER, username[:80], taken.code, digest)
        taken.keep_changes = True
        raise taken from None
    session.add(RoleAssignment(person_id=person.id, role=role.value))
    actor = Actor(person_id=person.id, name=person.name, address=address)
    _record(session, actor, REGISTER, username, digest=digest)
    audit.record(
        session,
        actor,
        "opendata.identity.register",
        object_type="person",
        object_id=person.id,
        summary=f"实名注册公众账户 {person.username}（{role.label}）",
        change={"kind": data.kind, "username": username, "identity": "checked"},
    )
    return person


def complete_identity(session: Session, actor: Actor, kind: str, name: str, number: str) -> Person:
    """An existing public account without identity completes it (Art. 33 ¶3)."""
    person = session.get(Person, actor.person_id) if actor.person_id is not None else None
    if person is None or not actor.is_public or actor.token_id is not None:
        raise _invalid("opendata.not_public_account", "只有公众账户需要进行实名认证。")
    if person.identity_digest:
        raise Conflict("opendata.identity_already_checked", "该账户已完成实名认证。")
    expected = "company" if actor.has(Role.COMPANY) else "citizen"
    if kind != expected:
        raise _invalid(
            "opendata.identity_kind_mismatch",
            "认证类型须与账户类型一致：公民账户填写公民身份号码，法人账户填写统一社会信用代码。",
        )
    try:
        clean, digest = check_identity(session, kind, name, number)
    except DomainError as exc:
        attempted = _digest_if_valid(kind, number)
        _record(session, actor, COMPLETE, str(person.id), exc.code, attempted)
        exc.keep_changes = True  # repeated guesses against the base stay visible to auditors
        raise
    person.identity_digest = digest
    person.name = clean
    _record(session, actor, COMPLETE, str(person.id), digest=digest)
    audit.record(
        session,
        actor,
        "opendata.identity.complete",
        object_type="person",
        object_id=person.id,
        summary=f"公众账户 {person.username} 完成实名认证",
        change={"kind": kind, "identity": "checked"},
    )
    return person
