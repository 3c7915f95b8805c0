"""JSON API: quality (Art. 20) under ``/api/v1/aggregation/quality``.

Read by the bureaus and auditors (the overview), and by a department's people (their own
department, Art. 20 ¶2); a department outside the actor's scope is 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from govdata.aggregation import quality
from govdata.core.types import DbId
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter(prefix="/quality")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MetricsOut(_Out):
    completeness: float | None = Field(description="完整性：已填单元格 / (行数 × 信息项数)")
    validity: float | None = Field(description="有效性：正确行 / 读取行")
    uniqueness: float | None = Field(description="唯一性：不同主体标识 / 去重前行数")
    consistency: float | None = Field(description="一致性：与基础数据库一致的比例；无可比较时为空")


class SnapshotOut(_Out):
    id: int
    pool_id: int
    load_id: int | None
    department_id: int
    measured_at: datetime
    rows: int
    completeness: float
    validity: float
    uniqueness: float
    consistency: float | None
    details: dict[str, Any]


class TimelinessOut(_Out):
    resource_id: int
    code: str
    name: str
    department_id: int
    update_cycle: str
    cycle_label: str
    max_days: int | None = Field(description="更新周期允许的最长日历天数；不定期为空")
    pool_id: int | None
    loaded_at: datetime | None = Field(description="最近一次汇聚时间；从未汇聚为空")
    due_on: date | None = Field(description="当前数据按期的最后一天")
    late: bool
    status: str = Field(description="on_time / late / never_loaded / irregular")
    status_label: str
    days_overdue: int | None


class PoolQualityOut(_Out):
    pool_id: int
    code: str
    name: str
    department_id: int
    update_cycle: str
    rows: int
    loaded_at: datetime | None
    measured_at: datetime | None
    metrics: MetricsOut


class TrendPointOut(_Out):
    day: date
    snapshots: int
    metrics: MetricsOut


class DepartmentSummaryOut(_Out):
    department_id: int
    code: str
    name: str
    responsible: int = Field(description="责任清单中的资源数")
    loaded: int = Field(description="其中已汇聚的资源数")
    late: int = Field(description="其中超期（含未汇聚）的资源数")
    never_loaded: int
    measured: int = Field(description="已评估质量的数据资源池数")
    averages: MetricsOut


class DepartmentQualityOut(_Out):
    summary: DepartmentSummaryOut
    pools: list[PoolQualityOut]
    timeliness: list[TimelinessOut]
    trend: list[TrendPointOut]
    version_number: int | None
    today: date


class CityQualityOut(_Out):
    scope: str
    departments: list[DepartmentSummaryOut]
    averages: MetricsOut
    worst_pools: list[PoolQualityOut]
    late: list[TimelinessOut] = Field(description=f"超期资源（最多 {quality.LATE_LISTED} 条）")
    late_total: int
    responsible: int
    loaded: int
    version_number: int | None
    today: date


TrendLimit = Annotated[int, Query(ge=1, le=500)]


@router.get("/city", response_model=CityQualityOut)
@unit_of_work
def city_quality(session: DbSession, actor: CurrentActor) -> CityQualityOut:
    return CityQualityOut.model_validate(quality.city_quality(session, actor))


@router.get("/departments/{department_id}", response_model=DepartmentQualityOut)
@unit_of_work
def department_quality(
    session: DbSession, actor: CurrentActor, department_id: DbId
) -> DepartmentQualityOut:
    return DepartmentQualityOut.model_validate(
        quality.department_quality(session, actor, department_id)
    )


@router.get("/timeliness", response_model=list[TimelinessOut])
@unit_of_work
def timeliness(
    session: DbSession, actor: CurrentActor, department_id: DbId | None = None
) -> list[TimelinessOut]:
    rows = quality.timeliness(session, actor, department_id=department_id)
    return [TimelinessOut.model_validate(r) for r in rows]


@router.get("/pools/{pool_id}/trend", response_model=list[SnapshotOut])
@unit_of_work
def pool_trend(
    session: DbSession, actor: CurrentActor, pool_id: DbId, limit: TrendLimit = 30
) -> list[SnapshotOut]:
    return [SnapshotOut.model_validate(s) for s in quality.trend(session, actor, pool_id, limit)]


@router.post("/pools/{pool_id}/measure", response_model=SnapshotOut, status_code=201)
@unit_of_work
def measure_pool(session: DbSession, actor: ApiActor, pool_id: DbId) -> SnapshotOut:
    return SnapshotOut.model_validate(quality.remeasure(session, actor, pool_id))
