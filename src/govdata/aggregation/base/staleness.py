"""A base database that missed a load (Art. 17 ¶2, 18): marked stale, shown, caught up.

The rebuild after a load runs in a transaction of its own (``aggregation.tasks``): when it
fails the load stands, and the bases the pool feeds no longer follow their sources. They are
marked stale with when and why (an audit event by the system); their pages say so; the next
rebuild of a stale base is a full build, which clears the mark (``engine``). On PostgreSQL the
rebuild job is retried by procrastinate; a manual full build by the lead department also
catches up.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from govdata.aggregation.base.engine import bases_fed_by
from govdata.aggregation.models import BaseDatabase, Load, Pool
from govdata.core import audit
from govdata.core.actor import SYSTEM
from govdata.core.db import utcnow


def stale_reason(pool: Pool, load: Load) -> str:
    return (
        f"资源池“{pool.name}”第{load.id}号加载完成后，基础数据库未能随之更新，"
        "尚未包含该次加载的数据"
    )


def mark_stale(session: Session, load_id: int) -> list[BaseDatabase]:
    """Mark the bases fed by the load's pool stale (keeping when they first fell behind)."""
    load = session.get(Load, load_id)
    if load is None:
        return []
    pool = session.get(Pool, load.pool_id)
    if pool is None or pool.table_name is None:
        return []
    marked = bases_fed_by(session, pool)
    reason = stale_reason(pool, load)
    for b in marked:
        if b.stale_since is None:
            b.stale_since = utcnow()
        b.stale_reason = reason
    if marked:
        audit.record(
            session,
            SYSTEM,
            "aggregation.base.stale",
            object_type="pool",
            object_id=pool.code,
            summary=reason + "：" + "、".join(b.name for b in marked),
            change={"load_id": load.id, "bases": [b.kind for b in marked]},
            department_id=pool.department_id,
        )
    return marked
