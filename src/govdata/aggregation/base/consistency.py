"""Consistency of a pool with the base databases (Art. 16 一数一源, Art. 20): the measure the
quality report takes from the bases."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govdata.aggregation import pools
from govdata.aggregation.models import BaseDatabase, Pool
from govdata.aggregation.subjects import (
    KEY_COLUMN,
    base_table,
    column_named,
    dialect_name,
    items_of,
    key_expr,
    pool_fits,
    value_expr,
)


def consistency_with_base(session: Session, pool: Pool) -> float | None:
    """Share of this pool's (row, item) pairs that agree with the base databases (Art. 20).

    Counted over the pool's items that are base items of a base its key fits, for the rows
    where both the pool's value and the base's value are present. Where the pool is the item's
    authoritative source its present values agree by definition, so the measure does not
    depend on whether the base was rebuilt after the load yet. None when the pool has no such
    items or no such pair. Set-based: one aggregate per item.
    """
    table = pools.current_table(pool)
    if table is None:
        return None
    dialect = dialect_name(session)
    total = agree = 0
    for base in session.scalars(select(BaseDatabase).order_by(BaseDatabase.id)).all():
        if not pool_fits(base, pool):
            continue
        items = items_of(session, base)
        btable = base_table(base, [i.id for i in items])
        key = key_expr(dialect, pool, table)
        for item in items:
            if item.source_resource_id == pool.resource_id:
                # The pool is this item's source: its values are the authoritative ones, as
                # the base holds them once rebuilt (quality is measured before the rebuild).
                source = column_named(pool.columns, item.source_item)
                if source is not None and source["column"] != pool.subject_column:
                    filled = table.c[source["column"]].is_not(None)
                    n = int(session.scalar(select(func.count()).where(filled)) or 0)
                    total, agree = total + n, agree + n
                continue
            value = value_expr(dialect, pool, table, item.name)
            if value is None:
                continue
            bvalue = btable.c[f"v{item.id}"]
            row = session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((bvalue == value, 1), else_=0)), 0),
                )
                .select_from(table.join(btable, btable.c[KEY_COLUMN] == key))
                .where(bvalue.is_not(None), value.is_not(None))
            ).one()
            total += int(row[0])
            agree += int(row[1])
    if total == 0:
        return None
    return agree / total
