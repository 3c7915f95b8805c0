"""JSON API: the share catalog in use (Art. 24–26) under ``/api/v1/sharing/catalog``.

Staff read it (``policy.can_browse``); a department system's token needs ``catalog:read``, the
scope of the published catalog it is part of. Thin: ``sharing.catalog`` decides.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from govdata.catalog.vocab import ShareType
from govdata.core.pagination import PageOut
from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId, Offset
from govdata.org.policy import require_scope
from govdata.sharing import catalog
from govdata.sharing.models import SourceKind
from govdata.web.deps import CurrentActor, DbSession, unit_of_work

router = APIRouter(responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=200)]
CATALOG_SCOPE = "catalog:read"


class ItemOut(BaseModel):
    name: str
    data_type: str
    share_type: str
    share_type_label: str
    is_subject_key: bool


class QualityOut(BaseModel):
    score: float | None = Field(description="各项指标的平均值（0–1）")
    completeness: float | None
    validity: float | None
    uniqueness: float | None
    consistency: float | None
    measured_at: datetime | None


class CatalogEntryOut(BaseModel):
    code: str
    name: str
    kind: str = Field(description="base 基础数据库 / thematic 主题数据库 / pool 部门资源池")
    kind_label: str
    provider_department_id: int
    provider_department_name: str
    share_type: str
    share_type_label: str
    share_conditions: str
    legal_basis: str
    rule_note: str = Field(description="所依据的第二十五条规定")
    shared: bool = Field(description="false：不予共享类，不能申请，可提出异议（第二十七条）")
    apply_label: str | None
    update_cycle: str | None
    loaded: bool
    loaded_at: datetime | None
    due_on: date | None = Field(description="按更新周期应当更新的最后日期")
    freshness: str = Field(description="never_loaded / irregular / late / on_time")
    freshness_label: str
    late: bool
    row_count: int
    quality: QualityOut | None
    items: list[ItemOut]

    @classmethod
    def of(cls, e: catalog.CatalogEntry) -> CatalogEntryOut:
        s = e.source
        q = e.quality
        return cls(
            code=s.code,
            name=s.name,
            kind=s.kind.value,
            kind_label=s.kind.label,
            provider_department_id=s.provider_department_id,
            provider_department_name=e.department_name,
            share_type=s.share_type,
            share_type_label=e.share_type_label,
            share_conditions=s.share_conditions,
            legal_basis=s.legal_basis,
            rule_note=e.rule_note,
            shared=e.shared,
            apply_label=e.apply_label,
            update_cycle=s.update_cycle,
            loaded=s.loaded,
            loaded_at=s.loaded_at,
            due_on=e.freshness.due_on,
            freshness=e.freshness.status,
            freshness_label=e.freshness.label,
            late=e.freshness.late,
            row_count=s.row_count,
            quality=QualityOut(
                score=q.score,
                completeness=q.completeness,
                validity=q.validity,
                uniqueness=q.uniqueness,
                consistency=q.consistency,
                measured_at=e.quality_measured_at,
            )
            if q is not None
            else None,
            items=[
                ItemOut(
                    name=i.name,
                    data_type=i.data_type,
                    share_type=i.share_type,
                    share_type_label=e.item_label(i),
                    is_subject_key=i.is_subject_key,
                )
                for i in s.items
            ],
        )


@router.get("/catalog", response_model=PageOut[CatalogEntryOut])
@unit_of_work
def list_catalog(
    session: DbSession,
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=catalog.MAX_QUERY)] = "",
    department_id: DbId | None = None,
    share_type: ShareType | None = None,
    kind: SourceKind | None = None,
    loaded: bool | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[CatalogEntryOut]:
    """The share catalog (Art. 26 ¶1): search by name, code, item or provider; filter by
    provider, share type, source kind and whether it is loaded."""
    require_scope(actor, CATALOG_SCOPE)
    page = catalog.browse(
        session,
        actor,
        catalog.CatalogFilters(
            q=q,
            department_id=department_id,
            share_type=share_type.value if share_type else None,
            kind=kind.value if kind else None,
            loaded=loaded,
        ),
        offset=offset,
        limit=limit,
    )
    return PageOut[CatalogEntryOut](
        items=[CatalogEntryOut.of(e) for e in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/catalog/{code:path}", response_model=CatalogEntryOut)
@unit_of_work
def get_catalog_entry(session: DbSession, actor: CurrentActor, code: str) -> CatalogEntryOut:
    """One source of the share catalog with its info items (Art. 24, 25)."""
    require_scope(actor, CATALOG_SCOPE)
    return CatalogEntryOut.of(catalog.get_entry(session, actor, code[:64]))
