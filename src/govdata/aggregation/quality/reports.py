"""Reading quality (Art. 20): a pool's trend, a department's page (Art. 20 ¶2) and the
supervisors' overview of the city or a district (Art. 20 ¶1)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from govdata.aggregation import policy, pools
from govdata.aggregation.models import Pool, QualitySnapshot
from govdata.aggregation.quality.timeliness import (
    Timeliness,
    department_in_scope,
    late_flag,
    responsibility_base,
    timeliness_rows,
)
from govdata.catalog import published
from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.core.calendar import today as city_today
from govdata.org import policy as org_policy
from govdata.org.models import Department, Region

WORST_POOLS = 10
LATE_LISTED = 100  # late resources listed on the overview; the count is always complete
DEPARTMENT_TREND_SNAPSHOTS = 500  # the department's trend covers its latest snapshots

# --- a pool's trend -------------------------------------------------------------------------------


def get_pool(session: Session, actor: Actor, pool_id: int) -> Pool:
    """A pool whose quality the actor may read (outside the scope: not found)."""
    policy.require_read_quality(actor)
    return pools.get_pool(session, actor, pool_id)


def trend(session: Session, actor: Actor, pool_id: int, limit: int = 30) -> list[QualitySnapshot]:
    """The pool's latest ``limit`` snapshots, oldest first: its quality over its loads."""
    pool = get_pool(session, actor, pool_id)
    latest = list(
        session.scalars(
            select(QualitySnapshot)
            .where(QualitySnapshot.pool_id == pool.id)
            .order_by(QualitySnapshot.measured_at.desc(), QualitySnapshot.id.desc())
            .limit(limit)
        )
    )
    latest.reverse()
    return latest


# --- departments and the city ----------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    completeness: float | None = None
    validity: float | None = None
    uniqueness: float | None = None
    consistency: float | None = None

    @property
    def score(self) -> float | None:
        """The plain mean of the measures there are (for ranking; product decision)."""
        values = [
            v
            for v in (self.completeness, self.validity, self.uniqueness, self.consistency)
            if v is not None
        ]
        return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class PoolQuality:
    """A pool and its latest snapshot (None before its first measurement)."""

    pool_id: int
    code: str
    name: str
    department_id: int
    update_cycle: str
    rows: int
    loaded_at: datetime | None
    measured_at: datetime | None
    metrics: Metrics


@dataclass(frozen=True)
class TrendPoint:
    """The average of the snapshots measured on one day (a department's trend)."""

    day: date
    snapshots: int
    metrics: Metrics


@dataclass(frozen=True)
class DepartmentSummary:
    department_id: int
    code: str
    name: str
    responsible: int = 0  # resources in its responsibility list
    loaded: int = 0  # of those, loaded at least once
    late: int = 0  # of those, late (never loaded included)
    measured: int = 0  # pools with a snapshot
    averages: Metrics = field(default_factory=Metrics)

    @property
    def never_loaded(self) -> int:
        return self.responsible - self.loaded


@dataclass(frozen=True)
class DepartmentQuality:
    """A department's quality page (Art. 20 ¶2)."""

    summary: DepartmentSummary
    pools: list[PoolQuality]
    timeliness: list[Timeliness]
    trend: list[TrendPoint]
    version_number: int | None
    today: date


@dataclass(frozen=True)
class CityQuality:
    """The supervisor's overview (Art. 20 ¶1): the city, or a district bureau's region."""

    scope: str  # 全市 / the region's name
    departments: list[DepartmentSummary]
    averages: Metrics
    worst_pools: list[PoolQuality]
    late: list[Timeliness]  # at most LATE_LISTED
    late_total: int
    responsible: int
    loaded: int
    version_number: int | None
    today: date


def _latest_snapshot_id() -> Any:
    return (
        select(QualitySnapshot.id)  # the latest measured (ids follow it, except a demo's past)
        .where(QualitySnapshot.pool_id == Pool.id)
        .order_by(QualitySnapshot.measured_at.desc(), QualitySnapshot.id.desc())
        .limit(1)
        .correlate(Pool)
        .scalar_subquery()
    )


def _pool_quality(pool: Pool, snap: QualitySnapshot | None) -> PoolQuality:
    return PoolQuality(
        pool_id=pool.id,
        code=pool.code,
        name=pool.name,
        department_id=pool.department_id,
        update_cycle=pool.update_cycle,
        rows=pool.row_count,
        loaded_at=pool.loaded_at,
        measured_at=snap.measured_at if snap else None,
        metrics=Metrics(snap.completeness, snap.validity, snap.uniqueness, snap.consistency)
        if snap
        else Metrics(),
    )


def _pools_with_latest(scope: ColumnElement[bool]) -> Any:
    return (
        select(Pool, QualitySnapshot)
        .join(Department, Department.id == Pool.department_id)
        .outerjoin(QualitySnapshot, QualitySnapshot.id == _latest_snapshot_id())
        .where(scope)
    )


def _averages_by_department(
    session: Session, scope: ColumnElement[bool]
) -> dict[int, tuple[int, Metrics]]:
    """Per department: pools measured and the mean of their latest snapshots (each pool counts
    once, whatever its size; consistency over the pools that have one)."""
    stmt = (
        select(
            Pool.department_id,
            func.count(QualitySnapshot.id),
            func.avg(QualitySnapshot.completeness),
            func.avg(QualitySnapshot.validity),
            func.avg(QualitySnapshot.uniqueness),
            func.avg(QualitySnapshot.consistency),
        )
        .join(Department, Department.id == Pool.department_id)
        .join(QualitySnapshot, QualitySnapshot.id == _latest_snapshot_id())
        .where(scope)
        .group_by(Pool.department_id)
    )
    return {
        dept: (int(n), Metrics(*(float(v) if v is not None else None for v in (c, va, u, k))))
        for dept, n, c, va, u, k in session.execute(stmt)
    }


def _timeliness_by_department(
    session: Session, scope: ColumnElement[bool], version_id: int | None, today: date
) -> dict[int, tuple[int, int, int]]:
    """Per department: resources responsible for, loaded at least once, late."""
    if version_id is None:
        return {}
    members = published.members(version_id)
    late = late_flag(today, members.c.update_cycle)
    stmt = (
        responsibility_base(
            members,
            members.c.department_id,
            func.count(),
            func.count(Pool.loaded_at),
            func.sum(late),
        )
        .where(scope)
        .group_by(members.c.department_id)
    )
    return {
        dept: (int(n), int(loaded), int(n_late or 0))
        for dept, n, loaded, n_late in session.execute(stmt)
    }


def _summaries(
    session: Session, scope: ColumnElement[bool], version_id: int | None, today: date
) -> list[DepartmentSummary]:
    averages = _averages_by_department(session, scope)
    counts = _timeliness_by_department(session, scope, version_id, today)
    ids = set(averages) | set(counts)
    if not ids:
        return []
    depts = session.scalars(
        select(Department).where(Department.id.in_(ids)).order_by(Department.code)
    )
    result = []
    for d in depts:
        measured, avg = averages.get(d.id, (0, Metrics()))
        responsible, loaded, late = counts.get(d.id, (0, 0, 0))
        result.append(
            DepartmentSummary(
                department_id=d.id,
                code=d.code,
                name=d.name,
                responsible=responsible,
                loaded=loaded,
                late=late,
                measured=measured,
                averages=avg,
            )
        )
    return result


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _department_trend(session: Session, department_id: int) -> list[TrendPoint]:
    """Daily means of the department's latest snapshots (Beijing dates), oldest first."""
    snaps = list(
        session.scalars(
            select(QualitySnapshot)
            .where(QualitySnapshot.department_id == department_id)
            .order_by(QualitySnapshot.measured_at.desc(), QualitySnapshot.id.desc())
            .limit(DEPARTMENT_TREND_SNAPSHOTS)
        )
    )
    by_day: dict[date, list[QualitySnapshot]] = defaultdict(list)
    for s in snaps:
        by_day[s.measured_at.astimezone(CITY_TZ).date()].append(s)
    return [
        TrendPoint(
            day=day,
            snapshots=len(group),
            metrics=Metrics(
                _mean([s.completeness for s in group]),
                _mean([s.validity for s in group]),
                _mean([s.uniqueness for s in group]),
                _mean([s.consistency for s in group]),
            ),
        )
        for day, group in sorted(by_day.items())
    ]


def department_quality(
    session: Session, actor: Actor, department_id: int, *, today: date | None = None
) -> DepartmentQuality:
    """One department's quality (Art. 20 ¶2): its pools with their latest measures and means,
    its responsibility list against the update cycles, and the daily trend."""
    dept = department_in_scope(session, actor, department_id)
    day = today or city_today()
    version = published.current_version(session)
    scope = Department.id == dept.id
    summaries = _summaries(session, scope, version.id if version else None, day)
    summary = (
        summaries[0]
        if summaries
        else DepartmentSummary(department_id=dept.id, code=dept.code, name=dept.name)
    )
    rows = session.execute(_pools_with_latest(scope).order_by(Pool.code)).all()
    return DepartmentQuality(
        summary=summary,
        pools=[_pool_quality(p, s) for p, s in rows],
        timeliness=timeliness_rows(session, actor, department_id=dept.id, today=day),
        trend=_department_trend(session, dept.id),
        version_number=version.number if version else None,
        today=day,
    )


def _scope_label(session: Session, actor: Actor) -> str:
    if org_policy.sees_everything(actor):
        return "全市"
    names = session.scalars(
        select(Region.name).where(Region.id.in_(actor.region_ids())).order_by(Region.id)
    )
    return "、".join(names)


def city_quality(session: Session, actor: Actor, *, today: date | None = None) -> CityQuality:
    """The supervisors' overview (Art. 20 ¶1): per department means and late counts, the
    pools of lowest quality, and the late resources; a district bureau sees its region's
    departments only."""
    policy.require_read_overview(actor)
    scope = policy.quality_scope(actor)
    day = today or city_today()
    version = published.current_version(session)
    summaries = _summaries(session, scope, version.id if version else None, day)
    m = QualitySnapshot
    score = (m.completeness + m.validity + m.uniqueness + func.coalesce(m.consistency, 0.0)) / (
        3.0 + case((m.consistency.is_(None), 0.0), else_=1.0)
    )
    worst = session.execute(
        _pools_with_latest(scope)
        .where(m.id.is_not(None))
        .order_by(score, Pool.code)
        .limit(WORST_POOLS)
    ).all()
    latest = session.execute(
        select(
            func.avg(m.completeness),
            func.avg(m.validity),
            func.avg(m.uniqueness),
            func.avg(m.consistency),
        )
        .select_from(Pool)
        .join(Department, Department.id == Pool.department_id)
        .join(m, m.id == _latest_snapshot_id())
        .where(scope)
    ).one()
    return CityQuality(
        scope=_scope_label(session, actor),
        departments=summaries,
        averages=Metrics(*(float(v) if v is not None else None for v in latest)),
        worst_pools=[_pool_quality(p, s) for p, s in worst],
        late=timeliness_rows(
            session, actor, department_id=None, today=day, late_only=True, limit=LATE_LISTED
        ),
        late_total=sum(s.late for s in summaries),
        responsible=sum(s.responsible for s in summaries),
        loaded=sum(s.loaded for s in summaries),
        version_number=version.number if version else None,
        today=day,
    )
