"""Quality of the department pools (Art. 20): measured after every load, read per pool, per
department and for the bureau.

Art. 20 ¶1 has the city bureau supervise the quality of government data; ¶2 makes each
department answerable for its own. So a department's officers and head read their own
department's quality, a district bureau its region's, the city bureau and auditors everything;
the overview of many departments is for the bureaus and auditors only.

Five measures, each a ratio from 0 to 1:

* **completeness** — filled cells / (rows × items) of the pool's current data; NULL is empty, and
  so is a text value that is blank after trimming. Per-item fill rates are kept in
  ``details["items"]``. A pool without rows has no filled cell: 0.
* **validity** — good rows / rows read, for the load just installed: ``(rows_read − rows_bad) /
  rows_read``. Duplicates are good rows (they count against uniqueness, not validity), so this
  equals ``rows_loaded / rows_read`` for a file without duplicates. A file without data rows has
  nothing invalid: 1. Measured without a load (a re-measurement), the previous snapshot's
  validity is carried (``details["validity_basis"] = "carried"``), or 1 when there is none.
* **uniqueness** — distinct subject keys / rows in the file before the pipeline's de-duplication:
  ``rows_loaded / (rows_loaded + duplicates_removed)``. Without a load the previous value is
  carried as for validity. A pool without a subject key (Art. 16 requires one only for persons
  and legal persons) is measured on its data instead: distinct whole rows / rows.
* **consistency** — agreement with the base databases (Art. 16 一数一源, Art. 17 ¶2), from
  ``base.consistency_with_base``; None when no base database takes the pool's items.
* **timeliness** — against the responsibility list (Art. 13, 16, 18): a resource the department
  must collect is late when its pool was last loaded more calendar days ago than its update cycle
  allows (``UpdateCycle.max_days``); never loaded is 未汇聚 and late; an irregular cycle is never
  late. Computed when read, not stored, since it changes with the date.

Everything over the data tables is one set-based statement (counts and ``COUNT(DISTINCT …)``),
the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from govdata.aggregation import pools
from govdata.aggregation.models import Load, Pool, QualitySnapshot
from govdata.aggregation.tables import LOAD_COLUMN, ROW_COLUMN
from govdata.catalog.models import CatalogVersion, CatalogVersionMember, ResourceRevision
from govdata.catalog.vocab import UpdateCycle
from govdata.core import audit
from govdata.core.actor import Actor, Role
from govdata.core.calendar import CITY_TZ
from govdata.core.calendar import today as city_today
from govdata.core.errors import NotFound, PermissionDenied
from govdata.org import policy as org_policy
from govdata.org.models import Department, Region

TEXT_TYPES = frozenset({"C", "M", "G"})  # blank text counts as empty (tables.sql_type)
WORST_POOLS = 10
LATE_LISTED = 100  # late resources listed on the overview; the count is always complete
DEPARTMENT_TREND_SNAPSHOTS = 500  # the department's trend covers its latest snapshots

# --- who reads quality (Art. 20) ----------------------------------------------------------------


def can_read_quality(actor: Actor) -> bool:
    """The city bureau and auditors (all), district bureaus (their region), a department's
    officers and head (their own, Art. 20 ¶2). Not the public, and not system tokens: quality
    reports are for people (product decision: no token scope carries them)."""
    if actor.token_id is not None:
        return False
    return (
        org_policy.sees_everything(actor)
        or bool(actor.region_ids())
        or bool(actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD))
    )


def require_read_quality(actor: Actor) -> None:
    if not can_read_quality(actor):
        raise PermissionDenied(
            "aggregation.quality_forbidden",
            "只有数据主管部门、审计监督人员和政务部门数据人员可以查看数据质量。",
        )


def can_read_overview(actor: Actor) -> bool:
    """The overview of many departments is the supervisors' (Art. 20 ¶1): the city bureau and
    auditors for the city, a district bureau for its region."""
    if actor.token_id is not None:
        return False
    return org_policy.sees_everything(actor) or bool(actor.region_ids())


def require_read_overview(actor: Actor) -> None:
    require_read_quality(actor)
    if not can_read_overview(actor):
        raise PermissionDenied(
            "aggregation.quality_overview_forbidden",
            "质量总览仅向市、区县数据主管部门和审计监督人员开放；请查看本部门的数据质量。",
        )


def can_measure(actor: Actor, department_id: int) -> bool:
    """Measuring again: the city bureau, which supervises quality (Art. 20 ¶1), and the
    department's data officers, who answer for it (Art. 20 ¶2)."""
    if actor.token_id is not None:
        return False
    if org_policy.is_city_admin(actor):
        return True
    return department_id in actor.department_ids(Role.DEPARTMENT_OFFICER)


def require_measure(actor: Actor, department_id: int) -> None:
    if not can_measure(actor, department_id):
        raise PermissionDenied(
            "aggregation.cannot_measure", "只有市数据主管部门和本部门数据专职人员可以重新评估质量。"
        )


def _department_scope(actor: Actor) -> ColumnElement[bool]:
    require_read_quality(actor)
    return org_policy.department_filter(actor)


def _own_departments(actor: Actor) -> list[int]:
    """The departments a department's officer or head answers for (Art. 20 ¶2)."""
    return sorted(actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD))


def home_department(actor: Actor) -> int | None:
    """Where the quality entry leads a department's people: their own department's page."""
    own = _own_departments(actor)
    return own[0] if own else None


# --- measuring (after a load) -------------------------------------------------------------------


def _ratio(part: int, whole: int, empty: float) -> float:
    return part / whole if whole > 0 else empty


def _fill_counts(session: Session, pool: Pool) -> tuple[int, dict[str, int]]:
    """Rows of the pool's current data and filled cells per item: one statement."""
    table = pools.current_table(pool)
    if table is None:
        return 0, {c["name"]: 0 for c in pool.columns}
    exprs = []
    for c in pool.columns:
        col = table.c[c["column"]]
        filled = (
            func.count(case((func.trim(col) != "", 1)))
            if c["data_type"] in TEXT_TYPES
            else func.count(col)
        )
        exprs.append(filled.label(c["column"]))
    row = session.execute(select(func.count().label("_rows"), *exprs).select_from(table)).one()
    counts = row._mapping
    return int(counts["_rows"]), {c["name"]: int(counts[c["column"]]) for c in pool.columns}


def _distinct_rows(session: Session, pool: Pool) -> int:
    """Distinct whole records (provenance columns left out): for pools without a subject key."""
    table = pools.current_table(pool)
    if table is None:
        return 0
    data = [col for col in table.c if col.name not in (ROW_COLUMN, LOAD_COLUMN)]
    if not data:
        return 0
    distinct = select(*data).distinct().subquery()
    return int(session.execute(select(func.count()).select_from(distinct)).scalar_one())


def _previous(session: Session, pool_id: int) -> QualitySnapshot | None:
    return session.scalar(
        select(QualitySnapshot)
        .where(QualitySnapshot.pool_id == pool_id)
        .order_by(QualitySnapshot.id.desc())
        .limit(1)
    )


def _consistency(session: Session, pool: Pool) -> float | None:
    """Agreement with the base databases (Art. 16 一数一源): ``base.consistency_with_base``,
    imported late since base builds on pools and loads. None: nothing to compare."""
    from govdata.aggregation import base

    return base.consistency_with_base(session, pool)


def measure(
    session: Session,
    pool: Pool,
    load: Load | None,
    *,
    fill: tuple[int, dict[str, int]] | None = None,
) -> QualitySnapshot:
    """Measure the pool's current data and record a snapshot (Art. 20).

    Called by the load pipeline in the load's own transaction, right after the new table is
    installed, so a load and its quality become visible together. ``load`` is None for a
    re-measurement of the data in place: validity and (for keyed pools) uniqueness describe a
    file, so they are carried from the previous snapshot then (1.0 when there is none).
    The snapshot's metrics are also copied, compactly, into ``load.quality``.

    ``fill`` — (rows, filled cells per item) — is given by a full load, which counted them as
    it wrote the new table (its cleaned values are never blank); otherwise the data is scanned.
    """
    rows, filled = fill if fill is not None else _fill_counts(session, pool)
    items = len(pool.columns)
    completeness = _ratio(sum(filled.values()), rows * items, 0.0)
    previous = _previous(session, pool.id)
    details: dict[str, Any] = {
        "rows": rows,
        "items": {name: round(_ratio(n, rows, 0.0), 6) for name, n in filled.items()},
    }

    if load is not None:
        good = max(load.rows_read - load.rows_bad, 0)
        validity = _ratio(good, load.rows_read, 1.0)
        details.update(
            rows_read=load.rows_read,
            rows_bad=load.rows_bad,
            rows_loaded=load.rows_loaded,
            duplicates_removed=load.duplicates_removed,
            validity_basis="load",
        )
    else:
        validity = previous.validity if previous is not None else 1.0
        details["validity_basis"] = "carried" if previous is not None else "default"

    if pool.subject_column is None:
        distinct = _distinct_rows(session, pool)
        uniqueness = _ratio(distinct, rows, 1.0)
        details.update(uniqueness_basis="rows", distinct_rows=distinct)
    elif load is not None:
        uniqueness = _ratio(load.rows_loaded, load.rows_loaded + load.duplicates_removed, 1.0)
        details["uniqueness_basis"] = "subject_key"
    else:
        uniqueness = previous.uniqueness if previous is not None else 1.0
        details["uniqueness_basis"] = "carried" if previous is not None else "default"

    consistency = _consistency(session, pool)
    details["consistency_basis"] = "base" if consistency is not None else "none"

    snapshot = QualitySnapshot(
        pool_id=pool.id,
        load_id=load.id if load is not None else None,
        department_id=pool.department_id,
        rows=rows,
        completeness=completeness,
        validity=validity,
        uniqueness=uniqueness,
        consistency=consistency,
        details=details,
    )
    session.add(snapshot)
    session.flush()
    if load is not None:
        load.quality = {
            "snapshot_id": snapshot.id,
            "rows": rows,
            "completeness": round(completeness, 4),
            "validity": round(validity, 4),
            "uniqueness": round(uniqueness, 4),
            "consistency": round(consistency, 4) if consistency is not None else None,
        }
        session.flush()
    return snapshot


def remeasure(session: Session, actor: Actor, pool_id: int) -> QualitySnapshot:
    """Measure a pool's current data again (Art. 20): after a base database is rebuilt the
    consistency changes without a load. Validity and uniqueness of the last file are carried."""
    require_read_quality(actor)
    pool = pools.get_pool(session, actor, pool_id)
    require_measure(actor, pool.department_id)
    if pool.table_name is None:
        raise NotFound("aggregation.pool_not_loaded", "该数据资源池尚未汇聚数据，无法评估质量。")
    snapshot = measure(session, pool, None)
    audit.record(
        session,
        actor,
        "aggregation.quality.measure",
        object_type="pool",
        object_id=pool.id,
        summary=f"重新评估数据资源池 {pool.code}（{pool.name}）的数据质量",
        change={"snapshot_id": snapshot.id, **_metrics_dict(snapshot)},
        department_id=pool.department_id,
    )
    return snapshot


def _metrics_dict(s: QualitySnapshot) -> dict[str, Any]:
    return {
        "completeness": s.completeness,
        "validity": s.validity,
        "uniqueness": s.uniqueness,
        "consistency": s.consistency,
    }


# --- reading: a pool's trend --------------------------------------------------------------------


def get_pool(session: Session, actor: Actor, pool_id: int) -> Pool:
    """A pool whose quality the actor may read (outside the scope: not found)."""
    require_read_quality(actor)
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


# --- timeliness (Art. 13, 16, 18) --------------------------------------------------------------


@dataclass(frozen=True)
class Timeliness:
    """One resource of a responsibility list against its update cycle."""

    resource_id: int
    code: str
    name: str
    department_id: int
    update_cycle: str
    max_days: int | None
    pool_id: int | None
    loaded_at: datetime | None
    due_on: date | None  # the last day the current data is on time; None: never loaded/irregular
    late: bool
    today: date

    @property
    def status(self) -> str:
        if self.loaded_at is None:
            return "never_loaded"
        if self.max_days is None:
            return "irregular"
        return "late" if self.late else "on_time"

    @property
    def status_label(self) -> str:
        return {
            "never_loaded": "未汇聚",
            "irregular": "不定期更新",
            "late": "已超期",
            "on_time": "按期",
        }[self.status]

    @property
    def days_overdue(self) -> int | None:
        if self.due_on is None or not self.late:
            return None
        return (self.today - self.due_on).days

    @property
    def cycle_label(self) -> str:
        cycle = UpdateCycle.parse(self.update_cycle)
        return cycle.label if cycle is not None else self.update_cycle


def _cycle_days(cycle: str) -> int | None:
    """The cycle's calendar days; an unknown cycle is treated as irregular (never late)."""
    try:
        return UpdateCycle(cycle).max_days
    except ValueError:
        return None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), CITY_TZ).astimezone(UTC)


def _late_flag(today: date) -> ColumnElement[int]:
    """1 when the resource is late on ``today``, else 0, as SQL over the current revision's
    cycle and its pool's ``loaded_at``.

    Late means today > loaded_on + max_days (calendar days, Beijing dates), that is: loaded
    before the start of day ``today − max_days``. Never loaded is late; irregular never is.
    """
    whens = []
    for cycle in UpdateCycle:
        if cycle.max_days is None:
            continue
        threshold = _local_midnight(today - timedelta(days=cycle.max_days))
        whens.append(
            (
                and_(
                    ResourceRevision.update_cycle == cycle.value,
                    or_(Pool.loaded_at.is_(None), Pool.loaded_at < threshold),
                ),
                literal(1),
            )
        )
    return case(*whens, else_=literal(0))


def _current_version(session: Session) -> CatalogVersion | None:
    return session.scalar(select(CatalogVersion).order_by(CatalogVersion.number.desc()).limit(1))


def _responsibility_base(version_id: int, *columns: Any) -> Any:
    """``columns`` over the revisions of a version, their department and their pool (outer):
    the responsibility lists (Art. 13) joined to what was loaded."""
    return (
        select(*columns)
        .select_from(ResourceRevision)
        .join(CatalogVersionMember, CatalogVersionMember.revision_id == ResourceRevision.id)
        .join(Department, Department.id == ResourceRevision.department_id)
        .outerjoin(Pool, Pool.resource_id == ResourceRevision.resource_id)
        .where(CatalogVersionMember.version_id == version_id)
    )


def _timeliness_rows(
    session: Session,
    actor: Actor,
    *,
    department_id: int | None,
    today: date,
    resource_id: int | None = None,
    late_only: bool = False,
    limit: int | None = None,
) -> list[Timeliness]:
    version = _current_version(session)
    if version is None:
        return []
    late = _late_flag(today)
    stmt = (
        _responsibility_base(
            version.id,
            ResourceRevision.resource_id,
            ResourceRevision.code,
            ResourceRevision.name,
            ResourceRevision.department_id,
            ResourceRevision.update_cycle,
            Pool.id,
            Pool.loaded_at,
            late.label("late"),
        )
        .where(_department_scope(actor))
        .order_by(Department.code, ResourceRevision.code)
    )
    if department_id is not None:
        stmt = stmt.where(ResourceRevision.department_id == department_id)
    if resource_id is not None:
        stmt = stmt.where(ResourceRevision.resource_id == resource_id)
    if late_only:
        stmt = stmt.where(late == 1)
    if limit is not None:
        stmt = stmt.limit(limit)
    result = []
    for rid, code, name, dept, cycle, pool_id, loaded_at, is_late in session.execute(stmt):
        max_days = _cycle_days(cycle)
        due = None
        if loaded_at is not None and max_days is not None:
            due = loaded_at.astimezone(CITY_TZ).date() + timedelta(days=max_days)
        result.append(
            Timeliness(
                resource_id=rid,
                code=code,
                name=name,
                department_id=dept,
                update_cycle=cycle,
                max_days=max_days,
                pool_id=pool_id,
                loaded_at=loaded_at,
                due_on=due,
                late=bool(is_late),
                today=today,
            )
        )
    return result


def timeliness(
    session: Session,
    actor: Actor,
    *,
    department_id: int | None = None,
    today: date | None = None,
) -> list[Timeliness]:
    """Each resource of the current published catalog that a department in the actor's scope
    must collect (its responsibility list, Art. 13), with its last load, due date and whether
    it is late (Art. 16, 18, 20). ``department_id`` narrows to one department, which must be in
    the scope (else not found). Ordered by department code and resource code."""
    if department_id is not None:
        _department(session, actor, department_id)
    return _timeliness_rows(
        session, actor, department_id=department_id, today=today or city_today()
    )


def pool_timeliness(
    session: Session, actor: Actor, pool: Pool, *, today: date | None = None
) -> Timeliness | None:
    """A pool's resource against its update cycle; None when it is not in the current catalog
    (withdrawn: no longer on a responsibility list)."""
    rows = _timeliness_rows(
        session,
        actor,
        department_id=pool.department_id,
        today=today or city_today(),
        resource_id=pool.resource_id,
    )
    return rows[0] if rows else None


# --- reading: departments and the city -------------------------------------------------------


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


def _department(session: Session, actor: Actor, department_id: int) -> Department:
    dept = session.scalar(
        select(Department).where(Department.id == department_id, _department_scope(actor))
    )
    if dept is None:
        raise NotFound("aggregation.department_not_found", "未找到该部门。")
    return dept


def _latest_snapshot_id() -> Any:
    return (
        select(func.max(QualitySnapshot.id))
        .where(QualitySnapshot.pool_id == Pool.id)
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
    late = _late_flag(today)
    stmt = (
        _responsibility_base(
            version_id,
            ResourceRevision.department_id,
            func.count(),
            func.count(Pool.loaded_at),
            func.sum(late),
        )
        .where(scope)
        .group_by(ResourceRevision.department_id)
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
    dept = _department(session, actor, department_id)
    day = today or city_today()
    version = _current_version(session)
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
        timeliness=_timeliness_rows(session, actor, department_id=dept.id, today=day),
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
    require_read_overview(actor)
    scope = _department_scope(actor)
    day = today or city_today()
    version = _current_version(session)
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
        late=_timeliness_rows(
            session, actor, department_id=None, today=day, late_only=True, limit=LATE_LISTED
        ),
        late_total=sum(s.late for s in summaries),
        responsible=sum(s.responsible for s in summaries),
        loaded=sum(s.loaded for s in summaries),
        version_number=version.number if version else None,
        today=day,
    )
