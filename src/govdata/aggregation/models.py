"""Aggregation tables (Ch. 3): pools and their loads, the aggregation specification, quality,
base and thematic databases, corrections (校核).

The loaded data itself does not live in these tables: each pool's current data is a typed table
of its own (``pool_<pool>_<load>``, columns ``c1…cN`` in info-item order, see ``tables.py``),
and so is each base database (``base_<kind>``) and thematic database (``thematic_<id>``). These
are created and replaced at run time, so they are not part of ``Base.metadata``; migrations
leave them alone (``tables.is_data_table``).
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
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govdata.core.db import Base, utcnow


class LoadStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # the new data is the pool's current data
    REJECTED = "rejected"  # refused by the bad-row policy or the file's shape: nothing loaded
    FAILED = "failed"  # an error or an interruption: nothing loaded

    @property
    def label(self) -> str:
        return {
            "queued": "排队中",
            "running": "正在加载",
            "succeeded": "已完成",
            "rejected": "已拒收",
            "failed": "失败",
        }[self.value]

    @property
    def finished(self) -> bool:
        return self in (LoadStatus.SUCCEEDED, LoadStatus.REJECTED, LoadStatus.FAILED)


class BadRowPolicy(StrEnum):
    """What a load does with rows that fail validation; chosen per load (issue 5)."""

    REJECT_FILE = "reject_file"  # any bad row refuses the whole file
    QUARANTINE = "quarantine"  # good rows load, bad rows are kept aside with their problems

    @property
    def label(self) -> str:
        return {"reject_file": "有错误即整体拒收", "quarantine": "加载正确行、隔离错误行"}[
            self.value
        ]


class LoadMode(StrEnum):
    REPLACE = "replace"  # the file is the resource's full data (全量)
    UPSERT = "upsert"  # the file adds or replaces records by subject key (增量)

    @property
    def label(self) -> str:
        return {"replace": "全量替换", "upsert": "增量更新"}[self.value]


class Pool(Base):
    """部门政务数据资源池 for one published resource (Art. 17 ¶1).

    ``columns`` freezes the layout of the data table from the published revision the pool
    follows: ``[{"name", "column", "data_type", "length", "is_subject_key"}]``.
    """

    __tablename__ = "aggregation_pools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resources.id"), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("catalog_revisions.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    subject_kind: Mapped[str] = mapped_column(String(16))
    update_cycle: Mapped[str] = mapped_column(String(16))
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    subject_column: Mapped[str | None] = mapped_column(String(12))
    table_name: Mapped[str | None] = mapped_column(String(63))  # none until the first load
    current_load_id: Mapped[int | None] = mapped_column(
        ForeignKey("aggregation_loads.id", use_alter=True)
    )
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    loaded_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Load(Base):
    """One load of a file into a pool, from upload, CLI or API push (Art. 17 ¶1, Art. 18)."""

    __tablename__ = "aggregation_loads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("aggregation_pools.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=LoadStatus.QUEUED, index=True)
    policy: Mapped[str] = mapped_column(String(12))
    mode: Mapped[str] = mapped_column(String(8), default=LoadMode.REPLACE)
    channel: Mapped[str] = mapped_column(String(8))  # upload / cli / api
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))  # csv / xlsx / jsonl
    encoding: Mapped[str] = mapped_column(String(12), default="")
    file_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    spool_path: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_by_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    # Progress and outcome.
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_estimated: Mapped[int | None] = mapped_column(BigInteger)
    rows_loaded: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_bad: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates_removed: Mapped[int] = mapped_column(BigInteger, default=0)
    problems_recorded: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str] = mapped_column(String(64), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    staging_table: Mapped[str] = mapped_column(String(63), default="")
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LoadProblem(Base):
    """A bad cell of a load (row, column, code, zh-CN message), or a cleaning note (dedup)."""

    __tablename__ = "aggregation_load_problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    load_id: Mapped[int] = mapped_column(
        ForeignKey("aggregation_loads.id", ondelete="CASCADE"), index=True
    )
    row_number: Mapped[int] = mapped_column(BigInteger)  # as in the file: header is row 1
    column: Mapped[str] = mapped_column(String(100), default="")
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(8), default="error")  # error / cleaned


class QuarantinedRow(Base):
    """A bad row kept aside, as read, so that nothing is lost (quarantine policy)."""

    __tablename__ = "aggregation_quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    load_id: Mapped[int] = mapped_column(
        ForeignKey("aggregation_loads.id", ondelete="CASCADE"), index=True
    )
    row_number: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ItemSpec(Base):
    """The aggregation specification of one info item (政务数据汇聚规范, Art. 15).

    The catalog says what an item is; the specification adds what a loaded value must satisfy
    beyond its type and length: whether it is required and which values it may take.
    """

    __tablename__ = "aggregation_item_specs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resources.id"), index=True)
    item_name: Mapped[str] = mapped_column(String(100))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    allowed_values: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("resource_id", "item_name"),)


class QualitySnapshot(Base):
    """Quality of a pool measured after a load (Art. 20): the trend is the series of these."""

    __tablename__ = "aggregation_quality"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("aggregation_pools.id"), index=True)
    load_id: Mapped[int | None] = mapped_column(ForeignKey("aggregation_loads.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    measured_at: Mapped[datetime] = mapped_column(default=utcnow)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    completeness: Mapped[float] = mapped_column(Float)  # filled cells / cells, 0..1
    validity: Mapped[float] = mapped_column(Float)  # good rows / rows read
    uniqueness: Mapped[float] = mapped_column(Float)  # distinct subject keys / rows
    consistency: Mapped[float | None] = mapped_column(Float)  # agreement with base databases
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class BaseKind(StrEnum):
    PERSON = "person"  # 自然人, keyed by 公民身份号码 (Art. 16)
    LEGAL_ENTITY = "legal_entity"  # 法人, keyed by 统一社会信用代码 (Art. 16)
    GEO = "geo"  # 自然资源和空间地理, keyed by 要素代码
    LICENCE = "licence"  # 电子证照, keyed by 证照编号 and holder

    @property
    def label(self) -> str:
        return {
            "person": "自然人基础数据库",
            "legal_entity": "法人基础数据库",
            "geo": "自然资源和空间地理基础数据库",
            "licence": "电子证照基础数据库",
        }[self.value]


class BaseDatabase(Base):
    """基础数据库 (Art. 17 ¶2), built by its lead department from the pools."""

    __tablename__ = "aggregation_base_databases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    lead_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    key_name: Mapped[str] = mapped_column(String(100))  # the subject key's item name
    table_name: Mapped[str] = mapped_column(String(63))
    built_at: Mapped[datetime | None] = mapped_column()
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a rebuild after a load failed (the base misses that load: Art. 18); cleared by
    # the next full build, which the next load's rebuild or the lead department runs.
    stale_since: Mapped[datetime | None] = mapped_column()
    stale_reason: Mapped[str] = mapped_column(String(500), default="")


class BaseItem(Base):
    """One base item and its one authoritative source (一数一源, Art. 16): a pool's item."""

    __tablename__ = "aggregation_base_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base_id: Mapped[int] = mapped_column(
        ForeignKey("aggregation_base_databases.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    source_resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resources.id"))
    source_item: Mapped[str] = mapped_column(String(100))
    defined_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("base_id", "name"),)


class ConflictStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"

    @property
    def label(self) -> str:
        return {"open": "待处理", "resolved": "已处理"}[self.value]


class BaseConflict(Base):
    """A non-authoritative source disagreeing with the authoritative value: for the bureau's
    quality queue (Art. 16, 20). The authoritative value is never overridden."""

    __tablename__ = "aggregation_base_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("aggregation_base_databases.id"), index=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("aggregation_base_items.id", ondelete="CASCADE")
    )
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    authoritative_value: Mapped[str | None] = mapped_column(Text)
    other_value: Mapped[str | None] = mapped_column(Text)
    other_pool_id: Mapped[int] = mapped_column(ForeignKey("aggregation_pools.id"))
    other_load_id: Mapped[int | None] = mapped_column(ForeignKey("aggregation_loads.id"))
    status: Mapped[str] = mapped_column(String(10), default=ConflictStatus.OPEN, index=True)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    resolved_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")


class ThematicDatabase(Base):
    """主题数据库 (Art. 17 ¶3): base and pool items joined on the subject key, with filters.

    ``definition`` = ``{"base_kind", "base_items": [...], "pool_items": [{"resource_code",
    "item"}], "filters": [{"item", "op", "value"}]}``; materialized as ``table_name``.
    """

    __tablename__ = "aggregation_thematic_databases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    table_name: Mapped[str | None] = mapped_column(String(63))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resources.id"))
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    refreshed_at: Mapped[datetime | None] = mapped_column()
    stale: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("department_id", "name"),)


class CorrectionStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"  # the value was corrected
    REJECTED = "rejected"  # the value stands; the answer gives the reason

    @property
    def label(self) -> str:
        return {"open": "校核中", "accepted": "已更正", "rejected": "不予更正"}[self.value]


class Correction(Base):
    """A challenge to a data value (校核, Art. 19), answered by the providing department within
    10 working days; one extension of at most 10 working days with its head's approval."""

    __tablename__ = "aggregation_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("aggregation_pools.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    item_name: Mapped[str] = mapped_column(String(100))
    current_value: Mapped[str | None] = mapped_column(Text)
    proposed_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    applicant_kind: Mapped[str] = mapped_column(String(12))  # department / citizen / company
    applicant_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    applicant_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    applicant_name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(8))  # sharing / open (Art. 19 ¶2)
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    original_due_on: Mapped[date | None] = mapped_column(Date)
    extended_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=CorrectionStatus.OPEN, index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_on: Mapped[date | None] = mapped_column(Date)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
