"""Measuring a pool's quality (Art. 20): after every load, in the load's own transaction, and
again on request (the bureau or the department's officers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govdata.aggregation import base, policy, pools
from govdata.aggregation.errors import PoolNotLoaded
from govdata.aggregation.models import Load, LoadMode, Pool, QualitySnapshot
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


def _merged(session: Session, pool: Pool) -> tuple[float, float | None]:
    """Validity and (keyed pools) uniqueness of the pool as it stands after a merge: each
    load's figures weighted by the rows it still holds in the pool (one GROUP BY on the
    provenance column, joined to the loads)."""
    table = pools.current_table(pool)
    assert table is not None
    held = (
        select(table.c[LOAD_COLUMN].label("load_id"), func.count().label("n"))
        .group_by(table.c[LOAD_COLUMN])
        .subquery("held")
    )
    read = func.coalesce(Load.rows_read, 0)
    good = case((read > 0, (read - Load.rows_bad) * 1.0 / read), else_=1.0)
    kept = Load.rows_loaded + Load.duplicates_removed
    unique = case((kept > 0, Load.rows_loaded * 1.0 / kept), else_=1.0)
    row = session.execute(
        select(
            func.sum(held.c.n),
            func.sum(held.c.n * good),
            func.sum(held.c.n * unique),
        ).select_from(held.outerjoin(Load, Load.id == held.c.load_id))
    ).one()
    rows = int(row[0] or 0)
    if rows == 0:
        return 1.0, 1.0
    return float(row[1] if row[1] is not None else rows) / rows, float(
        row[2] if row[2] is not None else rows
    ) / rows


def _load_figures(
    pool: Pool, load: Load, load_fill: tuple[int, dict[str, int]] | None
) -> dict[str, Any]:
    """The load's own figures (its file), for its report: an incremental load is measured
    apart from the pool it was merged into."""
    figures: dict[str, Any] = {
        "validity": _ratio(max(load.rows_read - load.rows_bad, 0), load.rows_read, 1.0),
        "uniqueness": _ratio(load.rows_loaded, load.rows_loaded + load.duplicates_removed, 1.0),
    }
    if load_fill is not None:
        rows, filled = load_fill
        figures["completeness"] = _ratio(sum(filled.values()), rows * len(pool.columns), 0.0)
    return figures


def _previous(session: Session, pool_id: int) -> QualitySnapshot | None:
    return session.scalar(
        select(QualitySnapshot)
        .where(QualitySnapshot.pool_id == pool_id)
        .order_by(QualitySnapshot.measured_at.desc(), QualitySnapshot.id.desc())
        .limit(1)
    )


def measure(
    session: Session,
    pool: Pool,
    load: Load | None,
    *,
    fill: tuple[int, dict[str, int]] | None = None,
    load_fill: tuple[int, dict[str, int]] | None = None,
) -> QualitySnapshot:
    """Measure the pool's current data and record a snapshot (Art. 20).

    Called by the load pipeline in the load's own transaction, right after the new table is
    installed, so a load and its quality become visible together. ``load`` is None for a
    re-measurement of the data in place: validity and (for keyed pools) uniqueness describe a
    file, so they are carried from the previous snapshot then (1.0 when there is none).
    The snapshot's metrics are also copied, compactly, into ``load.quality``.

    ``fill`` — (rows, filled cells per item) — is given by a full load, which counted them as
    it wrote the new table (its cleaned values are never blank); otherwise the data is scanned.

    After an incremental (upsert) load the snapshot measures the pool as it now stands: its
    completeness by the scan, its validity and uniqueness as each load's figures weighted by
    the rows it still holds (``_merged``). The load's own figures — of its file, with
    ``load_fill`` (rows written, filled cells per item) for its completeness — go to its
    report (``load.quality``) and the snapshot's details, not to the pool's measures.
    """
    rows, filled = fill if fill is not None else _fill_counts(session, pool)
    items = len(pool.columns)
    completeness = _ratio(sum(filled.values()), rows * items, 0.0)
    previous = _previous(session, pool.id)
    details: dict[str, Any] = {
        "rows": rows,
        "items": {name: round(_ratio(n, rows, 0.0), 6) for name, n in filled.items()},
    }

    merged = load is not None and load.mode == LoadMode.UPSERT.value
    own: dict[str, Any] | None = None
    merged_uniqueness: float | None = None
    if load is not None:
        own = _load_figures(pool, load, load_fill)
        details.update(
            rows_read=load.rows_read,
            rows_bad=load.rows_bad,
            rows_loaded=load.rows_loaded,
            duplicates_removed=load.duplicates_removed,
        )
        if merged:
            validity, merged_uniqueness = _merged(session, pool)
            details.update(validity_basis="pool", load={k: round(v, 6) for k, v in own.items()})
        else:
            validity = own["validity"]
            details["validity_basis"] = "load"
    else:
        validity = previous.validity if previous is not None else 1.0
        details["validity_basis"] = "carried" if previous is not None else "default"

    if pool.subject_column is None:
        distinct = _distinct_rows(session, pool)
        uniqueness = _ratio(distinct, rows, 1.0)
        details.update(uniqueness_basis="rows", distinct_rows=distinct)
    elif merged_uniqueness is not None:
        uniqueness = merged_uniqueness
        details["uniqueness_basis"] = "pool"
    elif own is not None:
        uniqueness = own["uniqueness"]
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
        assert own is not None
        # The load's report: a full load's figures are the pool's; an incremental one's are
        # its own file's (the pool's are the snapshot's).
        load.quality = {
            "snapshot_id": snapshot.id,
            "rows": load.rows_loaded if merged else rows,
            "completeness": round(own.get("completeness", completeness), 4),
            "validity": round(own["validity"], 4),
            "uniqueness": round(own["uniqueness"] if merged else uniqueness, 4),
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
