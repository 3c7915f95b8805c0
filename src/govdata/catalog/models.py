"""Catalog tables (Ch. 2): resources and info items, lists and their review, published versions.

A ``Resource`` is a department's working entry in its 目录清单 (Art. 12 ¶1). Submitting the list
freezes each changed entry as an immutable ``ResourceRevision``; the city bureau reviews those
revisions entry by entry, and publishing makes the approved ones members of a numbered
``CatalogVersion`` (the city's 政务数据资源目录). Responsibility lists, the share catalog and the
open catalog are derived from the published version (Art. 13, 26, 32).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govdata.core.db import Base, utcnow


class ResourceState(StrEnum):
    DRAFT = "draft"  # new or changed since its last submission
    SUBMITTED = "submitted"  # its latest revision awaits review
    RETURNED = "returned"  # the city bureau returned it with a reason
    APPROVED = "approved"  # approved, waiting for the next published version
    PUBLISHED = "published"  # its latest revision is in the published catalog
    RETIRED = "retired"  # withdrawn from the published catalog

    @property
    def label(self) -> str:
        return {
            "retired": "已撤销",
            "draft": "草稿",
            "submitted": "待审核",
            "returned": "已退回",
            "approved": "已通过待发布",
            "published": "已发布",
        }[self.value]


class SubmissionStatus(StrEnum):
    PENDING_DISTRICT = "pending_district"  # at the district bureau, to be compiled (Art. 12 ¶1)
    PENDING_CITY = "pending_city"  # at the city bureau, under review (Art. 12 ¶3)
    CLOSED = "closed"  # every entry decided, approved ones published

    @property
    def label(self) -> str:
        return {
            "pending_district": "待区县汇总",
            "pending_city": "市级审核中",
            "closed": "已办结",
        }[self.value]


class EntryStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return {
            "pending": "待审核",
            "approved": "已通过",
            "returned": "已退回",
            "published": "已发布",
        }[self.value]


class EntryAction(StrEnum):
    ADD = "add"
    MODIFY = "modify"
    WITHDRAW = "withdraw"
    DEMAND = "demand"

    @property
    def label(self) -> str:
        return {"add": "新增", "modify": "变更", "withdraw": "撤销", "demand": "需求"}[self.value]


class DemandStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"  # the city bureau accepted it into the city's demand list
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return {
            "draft": "草稿",
            "submitted": "已提交",
            "accepted": "已受理",
            "returned": "已退回",
        }[self.value]


class Classification(Base):
    """A node of the classification (类/项/目/细目) with its code and the next sequence number.

    The resource code is ``classification code + "/" + sequence`` (the guide's 前段码/后段码),
    issued once by the platform and never reused.
    """

    __tablename__ = "catalog_classifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(12))
    # 项/目/细目 names joined by "/", "" for the class itself.
    path: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(12), unique=True)
    next_seq: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("category", "path"),)

    @property
    def label(self) -> str:
        from govdata.catalog.vocab import Category

        head = Category(self.category).label
        return f"{head}/{self.path}" if self.path else head


class Resource(Base):
    """One 政务数据资源 in its department's catalog list (the working copy)."""

    __tablename__ = "catalog_resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    classification_id: Mapped[int] = mapped_column(ForeignKey("catalog_classifications.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    abstract: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(20))
    format_subtype: Mapped[str] = mapped_column(String(40), default="")
    share_type: Mapped[str] = mapped_column(String(16))
    share_conditions: Mapped[str] = mapped_column(Text, default="")
    share_method: Mapped[str] = mapped_column(String(100), default="")
    open_type: Mapped[str] = mapped_column(String(16))
    open_conditions: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    update_cycle: Mapped[str] = mapped_column(String(16))
    published_on: Mapped[date | None] = mapped_column(Date)
    related_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    security_level: Mapped[str] = mapped_column(String(16))
    usage_requirements: Mapped[str] = mapped_column(Text, default="")
    subject_kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=ResourceState.DRAFT, index=True)
    # Set when the department asks for the resource to leave the catalog.
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    # The revision in the current published version (none until first published).
    published_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_revisions.id", use_alter=True), index=True
    )
    latest_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_revisions.id", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    classification: Mapped[Classification] = relationship(lazy="raise")
    items: Mapped[list[InfoItem]] = relationship(
        lazy="raise",
        back_populates="resource",
        cascade="all, delete-orphan",
        order_by="InfoItem.position",
    )

    # The classification's parts, for schemas and forms (needs ``classification`` loaded).
    @property
    def category(self) -> str:
        return self.classification.category

    @property
    def class_path(self) -> str:
        return self.classification.path

    @property
    def classification_code(self) -> str:
        return self.classification.code


class InfoItem(Base):
    """信息项: one field of a resource."""

    __tablename__ = "catalog_info_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_resources.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    data_type: Mapped[str] = mapped_column(String(1))
    length: Mapped[int | None] = mapped_column(Integer)
    share_type: Mapped[str] = mapped_column(String(16))
    open_type: Mapped[str] = mapped_column(String(16))
    is_subject_key: Mapped[bool] = mapped_column(Boolean, default=False)

    resource: Mapped[Resource] = relationship(lazy="raise", back_populates="items")

    __table_args__ = (UniqueConstraint("resource_id", "name"),)


class ResourceRevision(Base):
    """An immutable snapshot of a resource as submitted; what is reviewed and published.

    The filter columns repeat the snapshot so the published catalog can be queried by them.
    """

    __tablename__ = "catalog_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resources.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    category: Mapped[str] = mapped_column(String(12))
    classification_code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(20))
    share_type: Mapped[str] = mapped_column(String(16))
    open_type: Mapped[str] = mapped_column(String(16))
    update_cycle: Mapped[str] = mapped_column(String(16))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The snapshot's search text, segmented when it was submitted (``search.document``), so
    # that publishing does not segment a whole version's text; None: segmented when indexed.
    search_terms: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("resource_id", "number"),)


class CatalogVersion(Base):
    """A published version of the city's catalog, numbered from 1 (Art. 12 ¶3)."""

    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    resource_count: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)


class CatalogVersionMember(Base):
    """Which revision of each resource a published version contains."""

    __tablename__ = "catalog_version_members"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_versions.id", ondelete="CASCADE"), primary_key=True
    )
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resources.id"), primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("catalog_revisions.id"))


class PublicationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {
            "queued": "排队中",
            "running": "发布中",
            "succeeded": "已发布",
            "failed": "发布失败",
        }[self.value]

    @property
    def finished(self) -> bool:
        return self in (PublicationStatus.SUCCEEDED, PublicationStatus.FAILED)


class CatalogPublication(Base):
    """One request of the city bureau to publish the next version (Art. 12 ¶3), run as a
    background job; the page that follows it reads its stage and progress."""

    __tablename__ = "catalog_publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default=PublicationStatus.QUEUED, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    requested_by_name: Mapped[str] = mapped_column(String(64), default="")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the job is doing: the stage and, within it, how far (``done`` of ``total``).
    stage: Mapped[str] = mapped_column(String(20), default="")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    version_number: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")


class DistrictCompilation(Base):
    """A district bureau's compiled list, forwarded to the city (Art. 12 ¶1–3)."""

    __tablename__ = "catalog_district_compilations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    compiled_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    compiled_at: Mapped[datetime] = mapped_column(default=utcnow)
    submission_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")


class Submission(Base):
    """A department's submission of its catalog list and demand list.

    Once the city has a published catalog, a submission is an update application (Art. 14):
    the city bureau must review it within 5 working days of receiving it (``review_due``).
    """

    __tablename__ = "catalog_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    compilation_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_district_compilations.id")
    )
    received_on: Mapped[date | None] = mapped_column(Date)  # the day the city received it
    is_update: Mapped[bool] = mapped_column(Boolean, default=False)
    review_due: Mapped[date | None] = mapped_column(Date)
    review_due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_on: Mapped[date | None] = mapped_column(Date)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_changes.id"))

    entries: Mapped[list[ReviewEntry]] = relationship(
        lazy="raise", back_populates="submission", order_by="ReviewEntry.id"
    )


class ReviewStage(StrEnum):
    DISTRICT = "district"  # returned by the district bureau before compiling (Art. 12 ¶1)
    CITY = "city"  # decided by the city bureau (Art. 12 ¶3)


class ReviewEntry(Base):
    """One entry of a submission: a district bureau may return it before forwarding (Art. 12
    ¶1); the city bureau approves it or returns it with a reason (Art. 12 ¶3)."""

    __tablename__ = "catalog_review_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("catalog_submissions.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resources.id"), index=True)
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_revisions.id"))
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_demands.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=EntryStatus.PENDING, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    # Who decided it: the district bureau (a return before forwarding) or the city bureau.
    decided_stage: Mapped[str | None] = mapped_column(String(10))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_versions.id"))

    submission: Mapped[Submission] = relationship(lazy="raise", back_populates="entries")


class Demand(Base):
    """One entry of a department's 需求清单: data it needs from other departments (Art. 12 ¶2)."""

    __tablename__ = "catalog_demands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    wanted_items: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text, default="")  # the duty it serves
    provider_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(12), default=DemandStatus.DRAFT, index=True)
    matched_resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resources.id"))
    return_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CatalogChange(Base):
    """A change of law or of a department's functions that obliges a catalog update (Art. 14).

    The department must apply within 10 working days of ``occurred_on`` (``apply_due``).
    """

    __tablename__ = "catalog_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # law / function
    description: Mapped[str] = mapped_column(Text)
    occurred_on: Mapped[date] = mapped_column(Date)
    apply_due: Mapped[date] = mapped_column(Date)
    apply_due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    applied_on: Mapped[date | None] = mapped_column(Date)
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_submissions.id", use_alter=True)
    )
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_catalog_revisions_filters", ResourceRevision.share_type, ResourceRevision.open_type)


class SearchSynonym(Base):
    """检索同义词: a word a user types and what else it finds (社保 → 社会保险), kept by the city
    bureau for the catalog's and the open portal's search alike (Art. 12 ¶3, 32; a product
    feature). One way: the reverse is a row of its own."""

    __tablename__ = "catalog_search_synonyms"
    __table_args__ = (UniqueConstraint("word", "expansion"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String(50), index=True)
    expansion: Mapped[str] = mapped_column(String(50))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BroadTermAnswer(Base):
    """A broad word's search answer, computed when the index changes (``search_broad``; a
    product decision for search speed): its total, facet counts and best-ranked revisions in
    the version it was computed for."""

    __tablename__ = "catalog_search_broad"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_versions.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    total: Mapped[int] = mapped_column(Integer)
    facets: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON)
    ranked: Mapped[list[int]] = mapped_column(JSON)  # revision ids, best first


class VocabularyVersion(Base):
    """One version of a code list the city bureau maintains (安全级别, …; issue 16).

    A version holds every code the list has ever had: the active ones in their order, and the
    retired ones (``active`` false) with their last label, so that a value written under an
    earlier version stays readable. ``mapping`` says what each code retired by this version
    becomes (old code → an active code of this version).
    """

    __tablename__ = "catalog_vocab_versions"
    __table_args__ = (UniqueConstraint("list_name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    # What a resource gets when its input leaves the list's value blank.
    default_code: Mapped[str] = mapped_column(String(32))
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entries: Mapped[list[VocabularyEntry]] = relationship(
        lazy="selectin",
        back_populates="version_row",
        cascade="all, delete-orphan",
        order_by="VocabularyEntry.position",
    )


class VocabularyEntry(Base):
    """A code of a list's version: its stable code, zh-CN label, order, and whether in use."""

    __tablename__ = "catalog_vocab_entries"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("catalog_vocab_versions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    version_row: Mapped[VocabularyVersion] = relationship(back_populates="entries")
