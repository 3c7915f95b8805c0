"""Open-data tables (Ch. 5): the open catalog as the portal reads it, releases and their
desensitization rules, conditional-open applications, open-catalog correction requests,
feedback, data requests and reuses, and developer keys.

A *dataset* is a resource of the published catalog whose open type is unconditional or
conditional (Art. 30, 32): ``OpenDataset`` is its row in the portal's read model, refreshed from
the published catalog (``datasets.sync``); the catalog stays the one source of its metadata.
Its data is opened only as a *release* (Art. 31 ¶2): a desensitized, versioned copy of its pool
built by the provider's rules and published only after a leak scan passes.
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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, utcnow

# Counters and row counts: 64-bit on PostgreSQL; SQLite's INTEGER is already.
Count = BigInteger().with_variant(Integer(), "sqlite")


class OpenDataset(Base):
    """开放数据集: a published resource open to the public (Art. 30, 32), as the portal, the
    CKAN-compatible API and DCAT read it. Refreshed from the published catalog; a resource that
    leaves the open catalog keeps its row with ``withdrawn`` set (its releases stay on record,
    nothing is served)."""

    __tablename__ = "open_datasets"
    __table_args__ = (
        Index("ix_open_datasets_listing", "withdrawn", "metadata_modified"),
        Index("ix_open_datasets_department", "department_id", "withdrawn"),
        # search.py: a match's sort keys read from the index, never from its wide row.
        Index("ix_open_datasets_rank", "id", "withdrawn", "metadata_modified", "downloads"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resources.id"), unique=True)
    revision_id: Mapped[int] = mapped_column(Integer)  # the published revision it reflects
    code: Mapped[str] = mapped_column(String(64), unique=True)  # the resource code (CKAN name)
    name: Mapped[str] = mapped_column(String(200))
    abstract: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    department_code: Mapped[str] = mapped_column(String(32))
    department_name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))  # catalog Category (base/thematic/department)
    class_path: Mapped[str] = mapped_column(String(200), default="")  # theme (CKAN group)
    open_type: Mapped[str] = mapped_column(String(16), index=True)  # OpenType
    open_conditions: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    update_cycle: Mapped[str] = mapped_column(String(16))  # UpdateCycle
    format: Mapped[str] = mapped_column(String(32), default="")
    subject_kind: Mapped[str] = mapped_column(String(16), default="")
    # Info items open to the public, in catalog order: [{"name", "data_type", "open_type"}].
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)  # keywords (CKAN tags)
    # jieba tokens of name, abstract, items, department and tags, space-joined (search.py).
    search_text: Mapped[str] = mapped_column(Text, default="")
    licence: Mapped[str] = mapped_column(String(64), default="")  # LICENCE id (vocab.py)
    first_published_at: Mapped[datetime] = mapped_column(default=utcnow)
    metadata_modified: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    # The release the public gets (None until one is published) and the counters the portal
    # shows and sorts by; counted when a download or view is recorded.
    current_release_id: Mapped[int | None] = mapped_column(Integer)
    downloads: Mapped[int] = mapped_column(Count, default=0)
    views: Mapped[int] = mapped_column(Count, default=0)


class OpenCatalogSync(Base):
    """Which published catalog version the read model reflects (one row)."""

    __tablename__ = "open_catalog_sync"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int | None] = mapped_column(Integer)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleMethod(StrEnum):
    """How an info item is desensitized in a release (Art. 31 ¶2, Art. 9)."""

    KEEP = "keep"  # released as is (items open unconditionally and not personal)
    DROP = "drop"  # never released
    MASK = "mask"  # keep the first/last n characters: 500***********123X
    GENERALIZE = "generalize"  # date → year or month, age → band, address → district
    PSEUDONYMIZE = "pseudonymize"  # keyed SM3 (core.crypto.subject_digest), never a bare hash
    AGGREGATE = "aggregate"  # the release is counts grouped by the items marked so

    @property
    def label(self) -> str:
        return {
            "keep": "原样开放",
            "drop": "不开放",
            "mask": "掩码",
            "generalize": "泛化",
            "pseudonymize": "假名化",
            "aggregate": "汇总",
        }[self.value]


class ReleaseRule(Base):
    """The provider's desensitization rule for one info item of a dataset (Art. 31 ¶2).

    ``params`` by method: mask ``{"keep_first": n, "keep_last": m, "char": "*"}``; generalize
    ``{"to": "year" | "month" | "age_band" | "district", "band": 10}``; aggregate
    ``{"role": "group" | "count"}``. ``quasi_identifier`` marks the items k-anonymity is
    checked on (the leak scan)."""

    __tablename__ = "open_release_rules"
    __table_args__ = (UniqueConstraint("dataset_id", "item", name="uq_open_release_rule_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("open_datasets.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(16))  # RuleMethod
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quasi_identifier: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReleaseStatus(StrEnum):
    BUILDING = "building"  # the job is deriving it from the pool
    BLOCKED = "blocked"  # the leak scan failed: never published (its report says why)
    READY = "ready"  # built and scanned clean, waiting to be published
    PUBLISHED = "published"  # what the public gets
    SUPERSEDED = "superseded"  # an earlier published release
    FAILED = "failed"  # the build failed (no pool data, an error): nothing was stored

    @property
    def label(self) -> str:
        return {
            "building": "生成中",
            "blocked": "扫描未通过",
            "ready": "待发布",
            "published": "已发布",
            "superseded": "已被替代",
            "failed": "生成失败",
        }[self.value]


class Release(Base):
    """开放数据发布版本: a dataset's desensitized copy of its pool, versioned (Art. 31 ¶2).

    Its rows live in their own table (``store.release_table_name``), written whole by the
    build and never changed after; the rules it was built with and the leak scan's report are
    kept with it, so what was published, how and why can always be shown."""

    __tablename__ = "open_releases"
    __table_args__ = (
        UniqueConstraint("dataset_id", "version", name="uq_open_release_version"),
        Index("ix_open_releases_dataset_status", "dataset_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("open_datasets.id"))
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per dataset
    status: Mapped[str] = mapped_column(String(12))  # ReleaseStatus
    # What it was built from: the pool's load and the rules, frozen.
    pool_load_id: Mapped[int | None] = mapped_column(Integer)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The released columns, in order: [{"name", "column", "data_type", "method"}].
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    table_name: Mapped[str | None] = mapped_column(String(63))
    row_count: Mapped[int] = mapped_column(Count, default=0)
    scan: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the leak scan's report
    job_id: Mapped[int | None] = mapped_column(Integer)  # core.jobs: progress while building
    error: Mapped[str] = mapped_column(Text, default="")
    # Why it was built: manual, pool_changed, cycle (the update cycle came round).
    reason: Mapped[str] = mapped_column(String(32), default="manual")
    built_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    published_at: Mapped[datetime | None] = mapped_column()


class OpenApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # the granted items open to the applicant for the period
    REFUSED = "refused"  # with reason and basis
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            "pending": "待答复",
            "approved": "已同意",
            "refused": "未同意",
            "withdrawn": "已撤回",
        }[self.value]


class OpenApplication(Base):
    """开放申请: a citizen's or a company's application for conditionally open data
    (Art. 33 ¶2), answered by the provider within 10 working days (obligation
    ``opendata.application``), once extended by at most 10 with the head's approval."""

    __tablename__ = "open_applications"
    __table_args__ = (Index("ix_open_applications_dataset_status", "dataset_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("open_datasets.id"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    items: Mapped[list[str]] = mapped_column(JSON)  # info items asked for
    purpose: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)  # usage scenario (使用场景)
    safeguards: Mapped[str] = mapped_column(Text)  # security safeguards (安全保障措施)
    period_from: Mapped[date] = mapped_column(Date)
    period_until: Mapped[date] = mapped_column(Date)
    agreement_version: Mapped[str] = mapped_column(String(32))  # the data-use agreement accepted
    agreement_accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The statutory clock, as sharing applications keep theirs.
    received_on: Mapped[date] = mapped_column(Date)
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
    granted_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    granted_from: Mapped[date | None] = mapped_column(Date)
    granted_until: Mapped[date | None] = mapped_column(Date)
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    refusal_basis: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CorrectionRequestStatus(StrEnum):
    PENDING = "pending"
    AGREED = "agreed"  # a change request to the city bureau's next catalog version
    REFUSED = "refused"  # with reason and basis

    @property
    def label(self) -> str:
        return {"pending": "待答复", "agreed": "已同意更正", "refused": "未同意"}[self.value]


class CatalogCorrectionRequest(Base):
    """更正申请: an authenticated user's request that the provider correct an open-catalog entry
    (Art. 32 ¶2); 10 working days (obligation ``opendata.correction``), once extended by at
    most 10 with the head's approval."""

    __tablename__ = "open_correction_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("open_datasets.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    field: Mapped[str] = mapped_column(String(64))  # the entry's field (name, abstract, an item…)
    current_value: Mapped[str] = mapped_column(Text, default="")
    proposed_value: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    original_due_on: Mapped[date | None] = mapped_column(Date)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    extended_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    answered_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str] = mapped_column(Text, default="")
    refusal_basis: Mapped[str] = mapped_column(Text, default="")
    # Agreed: the change request filed for the city bureau's next catalog version.
    change_request_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModerationStatus(StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"pending": "待审核", "published": "已公开", "rejected": "未通过"}[self.value]


class DatasetFeedback(Base):
    """A rating (1–5) and comment on a dataset (Art. 36), shown once moderated."""

    __tablename__ = "open_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("open_datasets.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), index=True)  # ModerationStatus
    moderated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    moderated_at: Mapped[datetime | None] = mapped_column()
    moderation_note: Mapped[str] = mapped_column(Text, default="")
    reply: Mapped[str] = mapped_column(Text, default="")  # the provider's answer
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataRequest(Base):
    """A public request for data not yet open (Art. 36 ¶2, 37), answered by the city bureau."""

    __tablename__ = "open_data_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending / answered / rejected
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    answered_at: Mapped[datetime | None] = mapped_column()
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("open_datasets.id"))  # if opened
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReuseKind(StrEnum):
    APP = "app"
    RESEARCH = "research"
    NEWS = "news"
    VISUALIZATION = "visualization"

    @property
    def label(self) -> str:
        return {"app": "应用", "research": "研究", "news": "新闻报道", "visualization": "可视化"}[
            self.value
        ]


class Reuse(Base):
    """A reuse of open data (an app, research, news) submitted by a user and reviewed before it
    is shown (Art. 37), linked from the datasets it uses."""

    __tablename__ = "open_reuses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # ReuseKind
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(12), index=True)  # ModerationStatus
    moderated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    moderated_at: Mapped[datetime | None] = mapped_column()
    moderation_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReuseDataset(Base):
    __tablename__ = "open_reuse_datasets"

    reuse_id: Mapped[int] = mapped_column(
        ForeignKey("open_reuses.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[int] = mapped_column(ForeignKey("open_datasets.id"), primary_key=True)


class DeveloperKey(Base):
    """A public user's API key for the open-data APIs (CKAN-compatible, downloads): stored as a
    digest (``core.crypto.token_digest``), shown once; a daily quota; revocable."""

    __tablename__ = "open_developer_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell keys apart
    daily_quota: Mapped[int] = mapped_column(Integer, default=10_000)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class DeveloperKeyUsage(Base):
    """Calls per key per Beijing day (the daily quota)."""

    __tablename__ = "open_developer_key_usage"

    key_id: Mapped[int] = mapped_column(
        ForeignKey("open_developer_keys.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)


class IdentityLink(Base):
    """A public account's link to the city's unified identity platform (OpenID Connect): the
    issuer and subject it signs in with (Art. 33 ¶3)."""

    __tablename__ = "open_identity_links"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_open_identity_link"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column()


class OpenSearchKey(Base):
    """The open catalog's search index (``search.py``; a product decision for search speed):
    one row per (kind, term, dataset) — ``t`` a jieba token of its text, ``k`` a tag, ``g`` its
    theme, ``d``/``f``/``o``/``u`` its department code, format, open type and update cycle,
    ``x`` all its facet values packed in one term (facet counts read one entry per match) —
    so a query or a filter is an index lookup, never a scan of the wide rows.
    Kept current by ``search`` on every flush of an ``OpenDataset``."""

    __tablename__ = "open_search_keys"
    # A dataset's keys read by the index alone: facets over a matching set.
    __table_args__ = (Index("ix_open_search_keys_dataset", "dataset_id", "kind", "term"),)

    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    term: Mapped[str] = mapped_column(String(255), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("open_datasets.id", ondelete="CASCADE"), primary_key=True
    )
