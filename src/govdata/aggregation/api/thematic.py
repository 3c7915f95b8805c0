"""JSON API: thematic databases (Art. 17 ¶3, 18, 25(3)) under ``/api/v1/aggregation/thematic``.

Thin: ``aggregation.thematic`` validates definitions (stable codes), materializes, registers the
catalog resource and decides who may define, refresh and read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from govdata.aggregation import thematic
from govdata.aggregation.models import ThematicDatabase
from govdata.core.types import DbId, Offset
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter(prefix="/thematic")

Limit = Annotated[int, Query(ge=1, le=200)]
Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PoolItemIn(_Strict):
    resource_code: str = Field(min_length=1, max_length=32, description="资源代码")
    item: str = Field(min_length=1, max_length=100, description="信息项名称")
    label: str | None = Field(default=None, max_length=100, description="列名；同名时另设")


class FilterIn(_Strict):
    item: str = Field(min_length=1, max_length=100, description="列名（基础信息项或资源池信息项）")
    op: str = Field(
        min_length=1, max_length=10, description="eq ne gt ge lt le in contains not_null"
    )
    value: Scalar | list[Scalar] | None = Field(default=None, description="取值；in 为列表")


class DefinitionIn(_Strict):
    base_kind: str = Field(min_length=1, max_length=20, description="person / legal_entity …")
    base_items: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=100
    )
    pool_items: list[PoolItemIn] = Field(default_factory=list, max_length=100)
    filters: list[FilterIn] = Field(default_factory=list, max_length=20)


class ThematicIn(_Strict):
    department_id: DbId
    name: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    legal_basis: str = Field(
        default="", max_length=2000, description="登记资源的依据；不填沿用来源资源的依据"
    )
    definition: DefinitionIn


class ColumnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    column: str
    label: str
    origin: str = Field(description="base：基础信息项；pool：资源池信息项")
    item: str
    resource_code: str
    data_type: str


class ThematicOut(BaseModel):
    id: int
    department_id: int
    name: str
    description: str
    definition: dict[str, Any]
    columns: list[ColumnOut]
    resource_id: int | None = Field(description="在目录清单中登记的主题资源")
    row_count: int
    refreshed_at: datetime | None
    stale: bool


class RowsOut(BaseModel):
    key_name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


def _out(session: DbSession, db: ThematicDatabase) -> ThematicOut:
    return ThematicOut(
        id=db.id,
        department_id=db.department_id,
        name=db.name,
        description=db.description,
        definition=db.definition,
        columns=[ColumnOut.model_validate(c) for c in thematic.describe(session, db)],
        resource_id=db.resource_id,
        row_count=db.row_count,
        refreshed_at=db.refreshed_at,
        stale=db.stale,
    )


@router.get("", response_model=list[ThematicOut])
@unit_of_work
def list_thematic(
    session: DbSession, actor: CurrentActor, department_id: DbId | None = None
) -> list[ThematicOut]:
    return [_out(session, db) for db in thematic.list_thematic(session, actor, department_id)]


@router.post("", response_model=ThematicOut, status_code=201)
@unit_of_work
def define(session: DbSession, actor: ApiActor, body: ThematicIn) -> ThematicOut:
    db = thematic.define(
        session,
        actor,
        body.department_id,
        name=body.name,
        description=body.description,
        definition=body.definition.model_dump(exclude_none=True),
        legal_basis=body.legal_basis,
    )
    return _out(session, db)


@router.get("/{thematic_id}", response_model=ThematicOut)
@unit_of_work
def get_thematic(session: DbSession, actor: CurrentActor, thematic_id: DbId) -> ThematicOut:
    return _out(session, thematic.get_thematic(session, actor, thematic_id))


@router.post("/{thematic_id}/refresh", response_model=ThematicOut)
@unit_of_work
def refresh(session: DbSession, actor: ApiActor, thematic_id: DbId) -> ThematicOut:
    return _out(session, thematic.refresh(session, actor, thematic_id))


@router.get("/{thematic_id}/rows", response_model=RowsOut)
@unit_of_work
def rows(
    session: DbSession,
    actor: CurrentActor,
    thematic_id: DbId,
    offset: Offset = 0,
    limit: Limit = 50,
) -> RowsOut:
    page = thematic.rows(session, actor, thematic_id, offset, limit)
    return RowsOut(
        key_name=page.key_name,
        columns=[c.label for c in page.columns],
        rows=page.rows,
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )
