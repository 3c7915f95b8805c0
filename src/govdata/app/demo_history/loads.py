"""A year of loads into the demo pools, each with the quality measured after it (Art. 17 ¶1,
18, 20): the six pools of the aggregation demo monthly (one refused file among them), the
open-data demo's pools quarterly.

History is written as the load pipeline leaves a finished load: a ``Load`` row with its times,
counts and ``quality``, the bad cells of its file (``LoadProblem``, the rows kept aside with
them) and a ``QualitySnapshot``. The data those files held was replaced by the next full load,
as a pool's older data is; today's loads (made by the real pipeline) stay the pools' current
data. The figures are derived from each pool's load of today: a pool grows over the year and
its quality improves towards today's measure, with seeded variation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govdata.aggregation.models import (
    BadRowPolicy,
    Load,
    LoadMode,
    LoadProblem,
    LoadStatus,
    Pool,
    QualitySnapshot,
    QuarantinedRow,
)
from govdata.app.demo_history.months import office_time, working_day
from govdata.core.workdays import WorkCalendar

MONTHLY_POOLS = 8  # pools with the most rows are loaded every month, the others quarterly
_MAX_COPIED_PROBLEMS = 60


@dataclass
class _Today:
    """A pool's load of today: the measure the history grows towards."""

    load: Load
    snapshot: QualitySnapshot
    problems: list[LoadProblem]
    quarantined: list[QuarantinedRow]
    rejected: Load | None  # a refused file of today, if any


def _today(session: Session, pool: Pool) -> _Today | None:
    if pool.current_load_id is None:
        return None
    load = session.get(Load, pool.current_load_id)
    snapshot = session.scalar(
        select(QualitySnapshot)
        .where(QualitySnapshot.pool_id == pool.id)
        .order_by(QualitySnapshot.measured_at.desc(), QualitySnapshot.id.desc())
        .limit(1)
    )
    if load is None or snapshot is None:
        return None
    first = session.scalar(
        select(Load)
        .where(Load.pool_id == pool.id, Load.mode == LoadMode.REPLACE)
        .where(Load.status == LoadStatus.SUCCEEDED)
        .order_by(Load.id)
        .limit(1)
    )
    base = first or load  # the full load of today (an incremental one may have followed)
    problems = list(
        session.scalars(
            select(LoadProblem)
            .where(LoadProblem.load_id == base.id, LoadProblem.kind == "error")
            .order_by(LoadProblem.id)
            .limit(_MAX_COPIED_PROBLEMS)
        )
    )
    quarantined = list(
        session.scalars(
            select(QuarantinedRow)
            .where(QuarantinedRow.load_id == base.id)
            .order_by(QuarantinedRow.id)
            .limit(_MAX_COPIED_PROBLEMS)
        )
    )
    rejected = session.scalar(
        select(Load).where(Load.pool_id == pool.id, Load.status == LoadStatus.REJECTED).limit(1)
    )
    return _Today(base, snapshot, problems, quarantined, rejected)


def _clamp(x: float) -> float:
    return round(max(0.0, min(1.0, x)), 4)


def _history_load(
    session: Session,
    pool: Pool,
    now: _Today,
    month: date,
    age: float,
    cal: WorkCalendar,
    rng: random.Random,
) -> Load:
    """One finished load of ``month``; ``age`` is 1.0 a year ago, near 0 last month."""
    t = now.load
    day = working_day(cal, month, 3 + (pool.id * 5 + month.month) % 15)
    started = office_time(day, 30 + (pool.id * 37) % 360 + rng.randrange(20))
    took = timedelta(seconds=2 + t.rows_read // 1500 + rng.randrange(4))
    rows_read = max(1, round(t.rows_read * (1 - 0.15 * age) * (1 + rng.uniform(-0.02, 0.02))))
    dups = round(t.duplicates_removed * (1 + age * rng.uniform(0.5, 2)))
    quarantine = t.policy == BadRowPolicy.QUARANTINE and bool(now.problems)
    bad = 0
    if quarantine:  # fewer bad rows as the department improved its file over the year
        bad = min(len(now.problems), max(1, round(len(now.problems) * (0.5 + age * rng.random()))))
        bad = min(bad, rows_read - 1)
    loaded = rows_read - bad - dups
    suffix = t.filename.rsplit(".", 1)[-1] if "." in t.filename else t.file_format
    load = Load(
        pool_id=pool.id,
        department_id=pool.department_id,
        status=LoadStatus.SUCCEEDED,
        policy=t.policy,
        mode=LoadMode.REPLACE,
        channel="api" if (pool.id + month.month) % 4 == 0 else t.channel,
        filename=f"{pool.name}_{day.strftime('%Y%m%d')}.{suffix}",
        file_format=t.file_format,
        encoding=t.encoding,
        file_bytes=max(1, round(t.file_bytes * rows_read / max(1, t.rows_read))),
        created_by=t.created_by,
        created_by_name=t.created_by_name,
        created_at=started - timedelta(seconds=3),
        started_at=started,
        finished_at=started + took,
        heartbeat_at=started + took,
        rows_read=rows_read,
        rows_estimated=rows_read,
        rows_loaded=loaded,
        rows_bad=bad,
        duplicates_removed=dups,
        problems_recorded=bad,
        quality={},
    )
    return load


def _follow_up(load: Load, pool: Pool, now: _Today, age: float, rng: random.Random) -> list[Any]:
    """What the pipeline writes after a load (it has its id): the bad cells of its file, the
    rows kept aside, and the quality measured on the loaded data."""
    bad = load.rows_bad
    rows: list[Any] = [
        LoadProblem(
            load_id=load.id,
            row_number=p.row_number,
            column=p.column,
            code=p.code,
            message=p.message,
            value=p.value,
            kind="error",
        )
        for p in now.problems[:bad]
    ]
    rows += [
        QuarantinedRow(load_id=load.id, row_number=q.row_number, data=q.data)
        for q in now.quarantined[:bad]
    ]
    s = now.snapshot
    completeness = _clamp(s.completeness - age * rng.uniform(0.01, 0.06))
    consistency = None if s.consistency is None else _clamp(s.consistency - age * 0.05)
    rows.append(
        QualitySnapshot(
            pool_id=pool.id,
            load_id=load.id,
            department_id=pool.department_id,
            measured_at=load.finished_at,
            rows=load.rows_loaded,
            completeness=completeness,
            validity=_clamp((load.rows_read - bad) / load.rows_read),
            uniqueness=_clamp(s.uniqueness - age * rng.uniform(0.0, 0.006)),
            consistency=consistency,
            details=_details(s.details, completeness / max(s.completeness, 0.0001), load),
        )
    )
    return rows


def _details(details: dict[str, Any], ratio: float, load: Load) -> dict[str, Any]:
    items = {k: _clamp(float(v) * ratio) for k, v in dict(details.get("items", {})).items()}
    out = {k: v for k, v in details.items() if k != "load"}
    out |= {
        "rows": load.rows_loaded,
        "items": items,
        "rows_read": load.rows_read,
        "rows_bad": load.rows_bad,
        "rows_loaded": load.rows_loaded,
        "duplicates_removed": load.duplicates_removed,
    }
    return out


def _refused(session: Session, pool: Pool, now: _Today, month: date, cal: WorkCalendar) -> Load:
    """The refused file of today had a predecessor: the same department's file refused once
    before in the year (reject-file policy, Art. 18), corrected and loaded the next day."""
    r = now.rejected
    assert r is not None
    day = working_day(cal, month, 2)
    started = office_time(day, 45)
    load = Load(
        pool_id=pool.id,
        department_id=pool.department_id,
        status=LoadStatus.REJECTED,
        policy=r.policy,
        mode=r.mode,
        channel=r.channel,
        filename=f"{pool.name}_{day.strftime('%Y%m%d')}.{r.file_format}",
        file_format=r.file_format,
        encoding=r.encoding,
        file_bytes=r.file_bytes,
        created_by=r.created_by,
        created_by_name=r.created_by_name,
        created_at=started - timedelta(seconds=3),
        started_at=started,
        finished_at=started + timedelta(seconds=3),
        heartbeat_at=started + timedelta(seconds=3),
        rows_read=r.rows_read,
        rows_estimated=r.rows_read,
        rows_loaded=0,
        rows_bad=r.rows_bad,
        duplicates_removed=0,
        problems_recorded=r.problems_recorded,
        error_code=r.error_code,
        error_message=r.error_message,
        quality={},
    )
    return load


def _refused_problems(session: Session, load: Load, now: _Today) -> list[Any]:
    assert now.rejected is not None
    return [
        LoadProblem(
            load_id=load.id,
            row_number=p.row_number,
            column=p.column,
            code=p.code,
            message=p.message,
            value=p.value,
            kind=p.kind,
        )
        for p in session.scalars(
            select(LoadProblem)
            .where(LoadProblem.load_id == now.rejected.id)
            .order_by(LoadProblem.id)
        )
    ]


def write_loads(
    session: Session, months: list[date], cal: WorkCalendar, rng: random.Random
) -> tuple[int, int]:
    """Write the year's loads and quality snapshots; (loads, snapshots) written."""
    pools = list(session.scalars(select(Pool).order_by(Pool.id)))
    todays = [(p, t) for p in pools if (t := _today(session, p)) is not None]
    by_size = sorted(todays, key=lambda pt: -pt[1].load.rows_read)
    monthly = {p.id for p, _t in by_size[:MONTHLY_POOLS]}
    planned: list[tuple[Load, Pool, _Today, float]] = []
    refused: list[tuple[Load, _Today]] = []
    for pool, now in todays:
        for i, month in enumerate(months):
            if pool.id not in monthly and (i + pool.id) % 3 != 0:
                continue
            age = (len(months) - i) / len(months)
            if now.rejected is not None and i == len(months) // 2:
                refused.append((_refused(session, pool, now, month, cal), now))
            planned.append(
                (_history_load(session, pool, now, month, age, cal, rng), pool, now, age)
            )
    # Written in three set-wise steps (loads; their problems and snapshots; the loads' quality
    # summary), not one load at a time: the demo stays quick.
    session.add_all([load for load, *_ in planned] + [load for load, _ in refused])
    session.flush()
    follow: list[Any] = []
    for load, pool, now, age in planned:
        follow += _follow_up(load, pool, now, age, rng)
    for load, now in refused:
        follow += _refused_problems(session, load, now)
    session.add_all(follow)
    session.flush()
    snapshots = [s for s in follow if isinstance(s, QualitySnapshot)]
    session.execute(
        update(Load),
        [
            {
                "id": s.load_id,
                "quality": {
                    "snapshot_id": s.id,
                    "rows": s.rows,
                    "completeness": s.completeness,
                    "validity": s.validity,
                    "uniqueness": s.uniqueness,
                    "consistency": s.consistency,
                },
            }
            for s in snapshots
        ],
    )
    return len(planned) + len(refused), len(snapshots)
