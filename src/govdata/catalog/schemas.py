"""Pydantic schemas of the catalog domain.

Enumerations are validated here (a wrong value is a malformed payload, 422); the regulation's
rules are checked in ``govdata.catalog.rules`` and raise domain errors with stable codes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from govdata.catalog.vocab import (
    Category,
    DataType,
    OpenType,
    ShareType,
    SubjectKind,
    UpdateCycle,
)
from govdata.core.types import DbId


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InfoItemIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    data_type: DataType
    length: int | None = Field(default=None, ge=1, le=65535)
    # Blank: the item inherits the resource's share/open type.
    share_type: ShareType | None = None
    open_type: OpenType | None = None
    is_subject_key: bool = False


class ResourceIn(Strict):
    """A resource's metadata as a department enters it (create, or replace on update)."""

    category: Category
    # 项/目/细目 names below the class, joined by "/" (e.g. "人口/户籍"); may be empty.
    class_path: str = Field(default="", max_length=200)
    name: str = Field(min_length=2, max_length=200)
    abstract: str = Field(default="", max_length=4000)
    # A code of the city bureau's current 资源格式 list (``catalog.vocabularies``), checked by
    # the service: the list changes without a release.
    format: str = Field(max_length=32)
    format_subtype: str = Field(default="", max_length=40)
    share_type: ShareType
    share_conditions: str = Field(default="", max_length=2000)
    share_method: str = Field(default="", max_length=100)
    open_type: OpenType
    open_conditions: str = Field(default="", max_length=2000)
    legal_basis: str = Field(default="", max_length=2000)
    update_cycle: UpdateCycle
    published_on: date | None = None
    related_codes: list[str] = Field(default_factory=list, max_length=50)
    # A code of the city bureau's current 安全级别 list (``catalog.vocabularies``; blank: the
    # list's default), checked by the service: the list changes without a release.
    security_level: str = Field(default="", max_length=32)
    usage_requirements: str = Field(default="", max_length=2000)
    # Blank: inferred from the subject-key item or the classification (Art. 16).
    subject_kind: SubjectKind | None = None
    items: list[InfoItemIn] = Field(default_factory=list, max_length=500)


class InfoItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    data_type: str
    length: int | None
    share_type: str
    open_type: str
    is_subject_key: bool


class ResourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    department_id: int
    category: str
    class_path: str
    classification_code: str
    name: str
    abstract: str
    format: str
    format_subtype: str
    share_type: str
    share_conditions: str
    share_method: str
    open_type: str
    open_conditions: str
    legal_basis: str
    update_cycle: str
    published_on: date | None
    related_codes: list[str]
    security_level: str
    usage_requirements: str
    subject_kind: str
    state: str
    withdrawn: bool
    updated_at: datetime
    items: list[InfoItemOut]


class ResourceSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    department_id: int
    category: str
    class_path: str
    name: str
    share_type: str
    open_type: str
    update_cycle: str
    state: str
    withdrawn: bool
    updated_at: datetime


class PublishedResourceOut(BaseModel):
    """A resource as the published catalog carries it (a revision's snapshot)."""

    code: str
    revision: int
    department_id: int
    region_id: int
    name: str
    category: str
    share_type: str
    open_type: str
    update_cycle: str
    format: str
    data: dict[str, Any]

    @classmethod
    def of(cls, revision: Any) -> PublishedResourceOut:
        return cls(
            code=revision.code,
            revision=revision.number,
            department_id=revision.department_id,
            region_id=revision.region_id,
            name=revision.name,
            category=revision.category,
            share_type=revision.share_type,
            open_type=revision.open_type,
            update_cycle=revision.update_cycle,
            format=revision.format,
            data=revision.data,
        )


class PublishedPage(BaseModel):
    version: int
    items: list[PublishedResourceOut]
    total: int
    offset: int
    limit: int


class SearchOut(PublishedPage):
    facets: dict[str, dict[str, int]]


class FieldChangeOut(BaseModel):
    field: str
    old: Any
    new: Any


class ChangedResourceOut(BaseModel):
    code: str
    name: str
    changes: list[FieldChangeOut]


class DiffOut(BaseModel):
    old_version: int | None
    new_version: int
    added: list[PublishedResourceOut]
    removed: list[PublishedResourceOut]
    changed: list[ChangedResourceOut]


class ResponsibilityItemOut(BaseModel):
    code: str
    name: str
    update_cycle: str
    share_type: str
    open_type: str
    subject_kind: str


class ResponsibilityOut(BaseModel):
    department_id: int
    version_number: int
    items: list[ResponsibilityItemOut]


class CompilationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    region_id: int
    submission_count: int
    compiled_at: datetime


class MatchIn(Strict):
    resource_code: str | None = Field(default=None, max_length=32)


class OverdueOut(BaseModel):
    today: date
    changes: list[ChangeOut]
    reviews: list[SubmissionOut]


class DemandIn(Strict):
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    wanted_items: str = Field(default="", max_length=2000)
    purpose: str = Field(default="", max_length=2000)
    provider_department_id: DbId | None = None


class DemandOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_id: int
    title: str
    description: str
    wanted_items: str
    purpose: str
    provider_department_id: int | None
    status: str
    matched_resource_id: int | None
    return_reason: str


class SubmissionIn(Strict):
    note: str = Field(default="", max_length=2000)
    change_id: DbId | None = None


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    submission_id: int
    action: str
    resource_id: int | None
    revision_id: int | None
    demand_id: int | None
    status: str
    reason: str
    decided_at: datetime | None


class SubmissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_id: int
    region_id: int
    status: str
    note: str
    submitted_at: datetime
    received_on: date | None
    is_update: bool
    review_due: date | None
    review_due_provisional: bool
    closed_on: date | None
    change_id: int | None


class Decision(Strict):
    approve: bool
    reason: str = Field(default="", max_length=2000)


class PublishIn(Strict):
    note: str = Field(default="", max_length=2000)


class PublicationOut(BaseModel):
    """A request to publish the next version, run as a background job (Art. 12 ¶3): follow it
    at ``GET /api/v1/catalog/publications/{id}`` until ``status`` is succeeded or failed."""

    id: int
    status: str = Field(description="queued / running / succeeded / failed")
    stage: str = Field(description="members / resources / submissions / index / broad / done")
    stage_label: str
    done: int
    total: int
    note: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    version_number: int | None = Field(description="the version published, once succeeded")
    error: str = Field(description="why nothing was published, once failed")


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    published_at: datetime
    note: str
    resource_count: int
    added: int
    changed: int
    removed: int


class ChangeIn(Strict):
    kind: str = Field(pattern="^(law|function)$")
    description: str = Field(min_length=2, max_length=2000)
    occurred_on: date


class ChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_id: int
    kind: str
    description: str
    occurred_on: date
    apply_due: date
    apply_due_provisional: bool
    applied_on: date | None
    submission_id: int | None


class VocabularyEntryOut(BaseModel):
    """A code of a list the city bureau keeps: retired codes stay, with their last label and
    the active code the bureau mapped them to."""

    code: str
    label: str
    position: int
    active: bool
    maps_to: str | None = Field(
        description="For a retired code: the active code it now stands for (null if active)."
    )


class VocabularyOut(BaseModel):
    """A code list (安全级别, 资源格式, 更新周期) as one of its versions says (issue 16)."""

    name: str = Field(description="The list's identifier: security_level, resource_format, …")
    title: str
    version: int
    current_version: int
    default_code: str
    codes_fixed: bool = Field(description="Its codes drive rules: only relabelled, never added.")
    published_at: datetime | None
    note: str
    entries: list[VocabularyEntryOut]

    @classmethod
    def of(cls, vocab: Any) -> VocabularyOut:
        """``vocab``: a ``catalog.vocabularies.Vocabulary``."""
        return cls(
            name=vocab.name,
            title=vocab.title,
            version=vocab.version,
            current_version=vocab.latest_version or vocab.version,
            default_code=vocab.default_code,
            codes_fixed=vocab.spec.fixed,
            published_at=vocab.published_at,
            note=vocab.note,
            entries=[
                VocabularyEntryOut(
                    code=e.code,
                    label=e.label,
                    position=e.position,
                    active=e.active,
                    maps_to=None if e.active else vocab.mapping.get(e.code),
                )
                for e in vocab.entries
            ],
        )
