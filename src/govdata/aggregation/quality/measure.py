"""Measuring a pool's quality (Art. 20): after every load, in the load's own transaction, and
again on request (the bureau or the department's officers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govdata.aggregation import base, policy, pools
from govdata.aggregation.errors import PoolNotLoaded
from govdata.aggregation.models import Load, Pool, QualitySnapshot
from govdata.aggregation.tables import LOAD_COLUMN, ROW_COLUMN
from govdata.core import audit
from govdata.core.actor import Actor

TEXT_TYPES = frozenset({"C", "M", "G"})  # blank text counts as empty (tables.sql_type)


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

    consistency = base.consistency_with_base(session, pool)
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
    policy.require_read_quality(actor)
    pool = pools.get_pool(session, actor, pool_id)
    policy.require_measure(actor, pool.department_id)
    if pool.table_name is None:
        raise PoolNotLoaded()
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
