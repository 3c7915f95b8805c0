"""JSON API: base databases (Art. 16, 17 ¶2, 25(2)), their conflicts (Art. 20) and repeated
collection (Art. 50(3)) under ``/api/v1/aggregation``.

Thin: ``aggregation.base`` and ``aggregation.repeated`` decide who may define, build, read and
resolve; a record outside the actor's scope is 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from govdata.aggregation import base, masking, repeated
from govdata.aggregation.models import BaseConflict, BaseDatabase, BaseKind, ConflictStatus
from govdata.core.actor import Actor
from govdata.core.types import DbId, Offset
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=500)]
ItemName = Annotated[str, Path(min_length=1, max_length=100, description="基础信息项名称")]
SubjectKey = Annotated[str, Path(min_length=1, max_length=64, description="主体标识")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BaseIn(_Strict):
    kind: BaseKind = Field(description="person / legal_entity / geo / licence")
    lead_department_id: DbId = Field(description="牵头建设部门")
    name: str | None = Field(default=None, max_length=100, description="名称；不填用默认名称")


class LeadIn(_Strict):
    lead_department_id: DbId


class ItemIn(_Strict):
    name: str = Field(min_length=1, max_length=100, description="基础信息项名称")
    source_resource_code: str = Field(
        min_length=1, max_length=32, description="权威来源资源代码（一数一源）"
    )
    source_item: str = Field(min_length=1, max_length=100, description="来源资源中的信息项名称")


class SourceIn(_Strict):
    source_resource_code: str = Field(min_length=1, max_length=32)
    source_item: str = Field(min_length=1, max_length=100)


class ResolveIn(_Strict):
    note: str = Field(max_length=2000, description="处理说明（必填）")


class ItemOut(BaseModel):
    id: int
    name: str
    position: int
    source_resource_code: str
    source_resource_name: str
    source_department_id: int
    source_department_name: str
    source_item: str
    data_type: str | None = Field(description="来源信息项的数据类型；来源已无该项时为空")


class BaseOut(BaseModel):
    kind: str
    label: str
    name: str
    key_name: str
    lead_department_id: int
    table_name: str
    row_count: int
    built_at: datetime | None
    stale_since: datetime | None = Field(description="加载后未能随之更新的时间；为空表示已是最新")
    stale_reason: str = Field(description="未能更新的原因")
    items: list[ItemOut]


class ProvenanceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    load_id: int
    department_id: int
    department_name: str
    resource_code: str
    resource_name: str
    loaded_at: datetime | None


class ValueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item: str
    value: str | None
    provenance: ProvenanceOut | None


class ConflictOut(BaseModel):
    id: int
    base_kind: str
    item_name: str
    subject_key: str
    authoritative_value: str | None
    other_value: str | None
    other_pool_id: int
    other_pool_code: str
    other_department: str
    other_load_id: int | None
    status: str
    detected_at: datetime
    resolved_at: datetime | None
    note: str


class RecordOut(BaseModel):
    kind: str
    base_name: str
    key_name: str
    subject_key: str
    values: list[ValueOut]
    conflicts: list[ConflictOut]


class RepeatedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    department_id: int
    department_name: str
    resource_code: str
    resource_name: str
    item_name: str
    base_kind: str
    base_name: str
    authoritative_department_id: int
    authoritative_department_name: str
    authoritative_resource_code: str
    authoritative_resource_name: str


def _base_out(session: Session, db: BaseDatabase) -> BaseOut:
    return BaseOut(
        kind=db.kind,
        label=BaseKind(db.kind).label,
        name=db.name,
        key_name=db.key_name,
        lead_department_id=db.lead_department_id,
        table_name=db.table_name,
        row_count=db.row_count,
        built_at=db.built_at,
        stale_since=db.stale_since,
        stale_reason=db.stale_reason,
        items=[_item_out(v) for v in base.describe_items(session, db)],
    )


def _item_out(v: base.ItemView) -> ItemOut:
    return ItemOut(
        id=v.item.id,
        name=v.item.name,
        position=v.item.position,
        source_resource_code=v.resource_code,
        source_resource_name=v.resource_name,
        source_department_id=v.department_id,
        source_department_name=v.department_name,
        source_item=v.item.source_item,
        data_type=v.data_type,
    )


def _conflicts_out(
    session: Session, actor: Actor, conflicts: list[BaseConflict]
) -> list[ConflictOut]:
    info = base.describe_conflicts(session, actor, conflicts)
    return [
        ConflictOut(
            id=c.id,
            base_kind=info[c.id].base_kind,
            item_name=info[c.id].item_name,
            subject_key=masking.mask_if(c.subject_key, info[c.id].key_masked),
            authoritative_value=masking.mask_if(c.authoritative_value, info[c.id].values_masked),
            other_value=masking.mask_if(c.other_value, info[c.id].values_masked),
            other_pool_id=c.other_pool_id,
            other_pool_code=info[c.id].other_pool_code,
            other_department=info[c.id].other_department,
            other_load_id=c.other_load_id,
            status=c.status,
            detected_at=c.detected_at,
            resolved_at=c.resolved_at,
            note=c.note,
        )
        for c in conflicts
    ]


def _item_by_name(session: Session, db: BaseDatabase, name: str) -> ItemOut:
    return next(_item_out(v) for v in base.describe_items(session, db) if v.item.name == name)


# --- the bases ---------------------------------------------------------------------------------


@router.get("/bases", response_model=list[BaseOut])
@unit_of_work
def list_bases(session: DbSession, actor: CurrentActor) -> list[BaseOut]:
    return [_base_out(session, db) for db in base.list_bases(session, actor)]


@router.post("/bases", response_model=BaseOut, status_code=201)
@unit_of_work
def define_base(session: DbSession, actor: ApiActor, body: BaseIn) -> BaseOut:
    db = base.define_base(
        session, actor, body.kind, lead_department_id=body.lead_department_id, name=body.name
    )
    return _base_out(session, db)


@router.get("/bases/{kind}", response_model=BaseOut)
@unit_of_work
def get_base(session: DbSession, actor: CurrentActor, kind: BaseKind) -> BaseOut:
    return _base_out(session, base.get_base(session, actor, kind))


@router.put("/bases/{kind}/lead", response_model=BaseOut)
@unit_of_work
def set_lead(session: DbSession, actor: ApiActor, kind: BaseKind, body: LeadIn) -> BaseOut:
    db = base.set_lead(session, actor, kind, lead_department_id=body.lead_department_id)
    return _base_out(session, db)


@router.post("/bases/{kind}/items", response_model=ItemOut, status_code=201)
@unit_of_work
def add_item(session: DbSession, actor: ApiActor, kind: BaseKind, body: ItemIn) -> ItemOut:
    item = base.add_item(
        session,
        actor,
        kind,
        name=body.name,
        source_resource_code=body.source_resource_code,
        source_item=body.source_item,
    )
    return _item_by_name(session, base.get_base(session, actor, kind), item.name)


@router.put("/bases/{kind}/items/{name}", response_model=ItemOut)
@unit_of_work
def set_source(
    session: DbSession, actor: ApiActor, kind: BaseKind, name: ItemName, body: SourceIn
) -> ItemOut:
    item = base.set_source(
        session,
        actor,
        kind,
        name=name,
        source_resource_code=body.source_resource_code,
        source_item=body.source_item,
    )
    return _item_by_name(session, base.get_base(session, actor, kind), item.name)


@router.delete("/bases/{kind}/items/{name}", status_code=204)
@unit_of_work
def remove_item(session: DbSession, actor: ApiActor, kind: BaseKind, name: ItemName) -> Response:
    base.remove_item(session, actor, kind, name=name)
    return Response(status_code=204)


@router.post("/bases/{kind}/build", response_model=BaseOut)
@unit_of_work
def build(session: DbSession, actor: ApiActor, kind: BaseKind) -> BaseOut:
    return _base_out(session, base.build(session, actor, kind))


@router.get("/bases/{kind}/records/{subject_key}", response_model=RecordOut)
@unit_of_work
def record(
    session: DbSession, actor: CurrentActor, kind: BaseKind, subject_key: SubjectKey
) -> RecordOut:
    rec = base.record(session, actor, kind, subject_key)
    return RecordOut(
        kind=rec.kind,
        base_name=rec.base_name,
        key_name=rec.key_name,
        subject_key=rec.subject_key,
        values=[ValueOut.model_validate(v) for v in rec.values],
        conflicts=_conflicts_out(session, actor, rec.conflicts),
    )


# --- conflicts (Art. 16, 20) ----------------------------------------------------------------


@router.get("/base-conflicts", response_model=list[ConflictOut])
@unit_of_work
def list_conflicts(
    session: DbSession,
    actor: CurrentActor,
    kind: BaseKind | None = None,
    status: Literal["open", "resolved", "all"] = "open",
    subject_key: Annotated[str | None, Query(max_length=64)] = None,
    offset: Offset = 0,
    limit: Limit = 200,
) -> list[ConflictOut]:
    wanted = None if status == "all" else ConflictStatus(status)
    conflicts = base.list_conflicts(
        session, actor, kind, wanted, subject_key=subject_key, offset=offset, limit=limit
    )
    return _conflicts_out(session, actor, conflicts)


@router.post("/base-conflicts/{conflict_id}/resolve", response_model=ConflictOut)
@unit_of_work
def resolve_conflict(
    session: DbSession, actor: ApiActor, conflict_id: DbId, body: ResolveIn
) -> ConflictOut:
    conflict = base.resolve_conflict(session, actor, conflict_id, body.note)
    return _conflicts_out(session, actor, [conflict])[0]


# --- repeated collection (Art. 50(3)) --------------------------------------------------------


@router.get("/repeated-collection", response_model=list[RepeatedOut])
@unit_of_work
def repeated_collection(
    session: DbSession, actor: CurrentActor, department_id: DbId | None = None
) -> list[RepeatedOut]:
    return [RepeatedOut.model_validate(r) for r in repeated.find(session, actor, department_id)]
