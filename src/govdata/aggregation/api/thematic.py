"""JSON API: thematic databases (Art. 17 ¶3, 18, 25(3)) under ``/api/v1/aggregation/thematic``.

Thin: the body's definition is ``thematic.ThematicDefinition``, the model the page builds and the
database stores; ``aggregation.thematic`` checks what it refers to (stable codes), materializes,
registers the catalog resource, and ``aggregation.policy`` decides who may define and read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from govdata.aggregation import thematic
from govdata.aggregation.models import ThematicDatabase
from govdata.core.types import DbId, Offset
from govdata.web.deps import ApiActor, CurrentActor, DbSession

router = APIRouter(prefix="/thematic")

Limit = Annotated[int, Query(ge=1, le=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ThematicIn(_Strict):
    department_id: DbId
    name: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    legal_basis: str = Field(
        default="", max_length=2000, description="登记资源的依据；不填沿用来源资源的依据"
    )
    definition: thematic.ThematicDefinition


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
    definition: thematic.ThematicDefinition
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
        definition=thematic.ThematicDefinition.parse(db.definition),
        columns=[ColumnOut.model_validate(c) for c in thematic.describe(session, db)],
        resource_id=db.resource_id,
        row_count=db.row_count,
        refreshed_at=db.refreshed_at,
        stale=db.stale,
    )


@router.get("", response_model=list[ThematicOut])
def list_thematic(
    session: DbSession, actor: CurrentActor, department_id: DbId | None = None
) -> list[ThematicOut]:
    return [_out(session, db) for db in thematic.list_thematic(session, actor, department_id)]


@router.post("", response_model=ThematicOut, status_code=201)
def define(session: DbSession, actor: ApiActor, body: ThematicIn) -> ThematicOut:
    db = thematic.define(
        session,
        actor,
        body.department_id,
        name=body.name,
        description=body.description,
        definition=body.definition,
        legal_basis=body.legal_basis,
    )
    return _out(session, db)


@router.get("/{thematic_id}", response_model=ThematicOut)
def get_thematic(session: DbSession, actor: CurrentActor, thematic_id: DbId) -> ThematicOut:
    return _out(session, thematic.get_thematic(session, actor, thematic_id))


@router.post("/{thematic_id}/refresh", response_model=ThematicOut)
def refresh(session: DbSession, actor: ApiActor, thematic_id: DbId) -> ThematicOut:
    return _out(session, thematic.refresh(session, actor, thematic_id))


@router.get("/{thematic_id}/rows", response_model=RowsOut)
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
