"""Sharing tables (Ch. 4): registrations and applications, grants and the systems that use
them, quota counters, objections and disputes, signing keys.

A *source* is what a department obtains (``sources.py``): a published resource's pool, a
thematic database registered in the catalog (by resource code), or a base database
(``base.person`` …). Grants name a source by that code, so the share catalog, applications,
grants and the data access API speak of one thing.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, utcnow


class SourceKind(StrEnum):
    POOL = "pool"  # a published resource's pool (Art. 17)
    BASE = "base"  # a base database (Art. 16, 25(2)): unconditional
    THEMATIC = "thematic"  # a thematic database registered in the catalog (Art. 25(3))

    @property
    def label(self) -> str:
        return {"pool": "部门资源池", "base": "基础数据库", "thematic": "主题数据库"}[self.value]


class ApplicationKind(StrEnum):
    # 无条件共享: a registration stating duty, purpose and calling system, effective at once
    # (Art. 24, 26 ¶2).
    REGISTRATION = "registration"
    # 有条件共享: an application the provider answers within 10 working days (Art. 24, 26 ¶2).
    APPLICATION = "application"

    @property
    def label(self) -> str:
        return {"registration": "无条件共享登记", "application": "有条件共享申请"}[self.value]


class ApplicationStatus(StrEnum):
    REGISTERED = "registered"  # a registration: effective at once
    PENDING = "pending"  # waiting for the provider's answer
    APPROVED = "approved"  # approved as asked
    NARROWED = "narrowed"  # approved with fewer items, rows, a shorter period or a quota
    REFUSED = "refused"  # refused with reason and basis
    WITHDRAWN = "withdrawn"  # withdrawn by the requester before the answer

    @property
    def label(self) -> str:
        return {
            "registered": "已登记生效",
            "pending": "待答复",
            "approved": "已批准",
            "narrowed": "已批准（有缩减）",
            "refused": "未予批准",
            "withdrawn": "已撤回",
        }[self.value]

    @property
    def answered(self) -> bool:
        return self in (
            ApplicationStatus.APPROVED,
            ApplicationStatus.NARROWED,
            ApplicationStatus.REFUSED,
        )


class GrantMode(StrEnum):
    DATA = "data"  # the granted items' values
    VERIFICATION = "verification"  # 数据核验: yes/no answers only, never a value

    @property
    def label(self) -> str:
        return {"data": "数据获取", "verification": "仅数据核验"}[self.value]


class GrantOrigin(StrEnum):
    REGISTRATION = "registration"
    APPLICATION = "application"
    ORDER = "order"  # ordered by the bureau settling a dispute (Art. 27)


class GrantStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    # Expired and not-yet-valid are not stored: they follow from the dates (``grants.state``).


class ShareApplication(Base):
    """共享申请 (conditional) or 共享登记 (unconditional): what a department asks for, for which
    duty, on which legal basis, for what purpose, through which of its systems (Art. 26 ¶2,
    Art. 50(4)). The provider's answer has a statutory clock (obligation
    ``sharing.application``), stored here as the correction's is."""

    __tablename__ = "sharing_applications"
    __table_args__ = (
        Index("ix_sharing_applications_provider_status", "provider_department_id", "status"),
        Index("ix_sharing_applications_requester_status", "requester_department_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # ApplicationKind
    status: Mapped[str] = mapped_column(String(12), index=True)  # ApplicationStatus
    requester_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    source_code: Mapped[str] = mapped_column(String(64), index=True)
    source_kind: Mapped[str] = mapped_column(String(10))  # SourceKind
    source_name: Mapped[str] = mapped_column(String(200))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resources.id"))
    mode: Mapped[str] = mapped_column(String(12), default=GrantMode.DATA)
    items: Mapped[list[str]] = mapped_column(JSON)  # info items asked for, by name
    # The duty it serves: the department's function and its legal basis (Art. 26 ¶2, 50(4)).
    duty: Mapped[str] = mapped_column(String(500))
    legal_basis: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    # A short stable name of the purpose the calling system states on every call.
    purpose_code: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(Text, default="")  # usage scenario (使用场景)
    calling_system: Mapped[str] = mapped_column(String(200))  # the system's name, as stated
    token_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # the systems named
    period_from: Mapped[date] = mapped_column(Date)
    period_until: Mapped[date | None] = mapped_column(Date)
    expected_daily_calls: Mapped[int | None] = mapped_column(Integer)
    # Rows asked for, as ``{"item": name, "values": [...]}`` (e.g. one district); None: all.
    row_condition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The statutory clock (applications only; registrations have none).
    received_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    original_due_on: Mapped[date | None] = mapped_column(Date)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    extended_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    answered_on: Mapped[date | None] = mapped_column(Date)
    # The answer.
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_note: Mapped[str] = mapped_column(Text, default="")
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    refusal_basis: Mapped[str] = mapped_column(Text, default="")
    grant_id: Mapped[int | None] = mapped_column(Integer)  # the grant it gave, if any
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_by_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Grant(Base):
    """授权: field-level, row-conditioned, purpose-bound, expiring, revocable; held by the
    requesting department and usable only by the systems (API tokens) it names (Art. 26 ¶2,
    50(4)(5)). An item not in ``items`` never leaves the platform under it."""

    __tablename__ = "sharing_grants"
    __table_args__ = (
        Index("ix_sharing_grants_requester", "requester_department_id", "status"),
        Index("ix_sharing_grants_provider", "provider_department_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(14))  # GrantOrigin
    application_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_applications.id"))
    objection_id: Mapped[int | None] = mapped_column(Integer)  # a grant the bureau ordered
    requester_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    source_code: Mapped[str] = mapped_column(String(64), index=True)
    source_kind: Mapped[str] = mapped_column(String(10))
    source_name: Mapped[str] = mapped_column(String(200))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resources.id"))
    mode: Mapped[str] = mapped_column(String(12), default=GrantMode.DATA)
    items: Mapped[list[str]] = mapped_column(JSON)
    row_condition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    duty: Mapped[str] = mapped_column(String(500))
    legal_basis: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    purpose_code: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)  # last day it may be used
    daily_quota: Mapped[int | None] = mapped_column(Integer)  # calls a Beijing day
    status: Mapped[str] = mapped_column(String(10), default=GrantStatus.ACTIVE)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    revoked_by_name: Mapped[str] = mapped_column(String(64), default="")
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GrantSystem(Base):
    """A system (API token of the requesting department) a grant names: only these may use it."""

    __tablename__ = "sharing_grant_systems"

    grant_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_grants.id", ondelete="CASCADE"), primary_key=True
    )
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), primary_key=True, index=True)


class GrantUsage(Base):
    """Calls and rows under a grant on one Beijing day: the daily quota's counter."""

    __tablename__ = "sharing_grant_usage"

    grant_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_grants.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    rows: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)


class ObjectionKind(StrEnum):
    REFUSAL = "refusal"  # against a refused application
    NARROWING = "narrowing"  # against an approval that narrowed the request
    SHARE_TYPE = "share_type"  # against a resource's or item's share type (Art. 24, 25(1))
    VALUE = "value"  # against a value: opens a 校核 correction (Art. 19)

    @property
    def label(self) -> str:
        return {
            "refusal": "对不予共享答复的异议",
            "narrowing": "对缩减授权的异议",
            "share_type": "对共享属性的异议",
            "value": "对数据值的异议",
        }[self.value]


class ObjectionStatus(StrEnum):
    OPEN = "open"  # received by the bureau
    COORDINATING = "coordinating"  # the bureau coordinates with the provider
    SETTLED = "settled"  # outcome recorded
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            "open": "已受理",
            "coordinating": "协调中",
            "settled": "已办结",
            "withdrawn": "已撤回",
        }[self.value]


class ObjectionResult(StrEnum):
    UPHELD = "upheld"
    DISMISSED = "dismissed"
    PARTLY = "partly"

    @property
    def label(self) -> str:
        return {"upheld": "异议成立", "dismissed": "异议不成立", "partly": "异议部分成立"}[
            self.value
        ]


class Objection(Base):
    """异议 (Art. 27): a department objects; the bureau coordinates with the provider, records
    the outcome, and may order a grant or a catalog change. Its clock is an obligation
    (``sharing.objection``) on the statutory calendar."""

    __tablename__ = "sharing_objections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # ObjectionKind
    status: Mapped[str] = mapped_column(String(14), default=ObjectionStatus.OPEN, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    # The bureau that coordinates: the region of the provider (city or district, Art. 6, 27).
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_applications.id"))
    source_code: Mapped[str] = mapped_column(String(64), default="")
    item_name: Mapped[str] = mapped_column(String(100), default="")
    subject_key: Mapped[str] = mapped_column(String(64), default="")  # value objections
    correction_id: Mapped[int | None] = mapped_column(Integer)  # the 校核 it opened
    reason: Mapped[str] = mapped_column(Text)
    requested: Mapped[str] = mapped_column(Text, default="")  # what the objector asks for
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_on: Mapped[date | None] = mapped_column(Date)
    # The bureau's finding (ObjectionResult: upheld / dismissed / partly) and its text.
    result: Mapped[str] = mapped_column(String(10), default="", server_default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    # What the bureau ordered: "", "grant" (then ordered_grant_id), "catalog_change".
    ordered: Mapped[str] = mapped_column(String(16), default="")
    ordered_grant_id: Mapped[int | None] = mapped_column(Integer)
    ordered_change: Mapped[str] = mapped_column(Text, default="")
    settled_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    settled_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_by_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ObjectionNote(Base):
    """One step of the coordination: who said what, when (the bureau, the provider, the
    objector)."""

    __tablename__ = "sharing_objection_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    objection_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_objections.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    author_name: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SigningKey(Base):
    """A signing department's SM2 key (Art. 28): the public key published, the private key
    stored SM4-GCM encrypted under the platform's key-encryption key. Rotation retires a key
    (it signs no more) but keeps it, so older signatures still verify."""

    __tablename__ = "sharing_signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)  # SM3 fingerprint prefix
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    public_key: Mapped[str] = mapped_column(String(200))
    private_key_sealed: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()


class DocumentClass(StrEnum):
    """The three kinds of Art. 28 whose copies obtained through the sharing system have the
    force of paper originals, and so are delivered signed."""

    DOCUMENT = "document"  # 文书类
    LICENCE = "licence"  # 证照类
    CONTRACT = "contract"  # 合同类

    @property
    def label(self) -> str:
        return {"document": "文书类", "licence": "证照类", "contract": "合同类"}[self.value]


class DocumentSource(Base):
    """A source designated as documents, licences or contracts (Art. 28). The catalog has no
    field for it (its vocabulary knows formats and categories, not legal kinds), so this is the
    narrowest thing: one row per source code, set by the provider's head or the city bureau.
    The e-licence base database ``base.licence`` is 证照类 by its nature and needs no row."""

    __tablename__ = "sharing_document_sources"

    source_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    document_class: Mapped[str] = mapped_column(String(10))  # DocumentClass
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    designated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    designated_at: Mapped[datetime] = mapped_column(default=utcnow)
