"""What a full rebuild of a base, or removing one of its items, will do, said with counts before
it is done (issue 16: bulk and destructive actions ask for confirmation and say what they will
do). Read-only: the same permission as the action itself, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.aggregation import policy, thematic
from govdata.aggregation.base.definitions import ItemView, describe_items
from govdata.aggregation.errors import BaseItemNotFound
from govdata.aggregation.models import BaseConflict, BaseDatabase, ConflictStatus, Pool
from govdata.aggregation.subjects import base_table, items_of, require_base
from govdata.core.actor import Actor


@dataclass(frozen=True)
class SourceState:
    """One authoritative source as a rebuild will read it: its pool's current data."""

    resource_code: str
    resource_name: str
    department_name: str
    items: list[str]  # the base items it is the source of
    rows: int | None  # None: no data loaded yet (its items stay empty)
    loaded_at: datetime | None


@dataclass(frozen=True)
class BuildPreview:
    base: BaseDatabase
    items: int
    sources: list[SourceState]
    rows_now: int
    built_at: datetime | None
    open_conflicts: int
    thematic: list[str]  # the thematic databases refreshed after it


def _open_conflicts(session: Session, base: BaseDatabase, item_id: int | None = None) -> int:
    stmt = select(func.count(BaseConflict.id)).where(
        BaseConflict.base_id == base.id, BaseConflict.status == ConflictStatus.OPEN.value
    )
    if item_id is not None:
        stmt = stmt.where(BaseConflict.item_id == item_id)
    return int(session.scalar(stmt) or 0)


def build_preview(session: Session, actor: Actor, kind: str) -> BuildPreview:
    """What ``build`` will do (Art. 16, 17 ¶2, 18): which sources it reads with how many rows,
    how many subjects the base has now and since when, the open conflicts it recomputes and the
    thematic databases it refreshes."""
    base = require_base(session, kind)
    policy.require_manage_base(actor, base)
    views = describe_items(session, base)
    by_resource: dict[str, list[ItemView]] = {}
    for v in views:
        by_resource.setdefault(v.resource_code, []).append(v)
    pools = {
        p.resource_id: p
        for p in session.scalars(
            select(Pool).where(Pool.resource_id.in_({v.item.source_resource_id for v in views}))
        )
    }
    sources = []
    for listed in by_resource.values():
        pool = pools.get(listed[0].item.source_resource_id)
        loaded = pool is not None and pool.table_name is not None
        sources.append(
            SourceState(
                resource_code=listed[0].resource_code,
                resource_name=listed[0].resource_name,
                department_name=listed[0].department_name,
                items=[v.item.name for v in listed],
                rows=pool.row_count if loaded and pool is not None else None,
                loaded_at=pool.loaded_at if loaded and pool is not None else None,
            )
        )
    return BuildPreview(
        base=base,
        items=len(views),
        sources=sources,
        rows_now=base.row_count,
        built_at=base.built_at,
        open_conflicts=_open_conflicts(session, base),
        thematic=[db.name for db in thematic.of_base(session, base)],
    )


@dataclass(frozen=True)
class RemovePreview:
    base: BaseDatabase
    item: ItemView
    values: int  # subjects holding a value of the item now (their values go)
    open_conflicts: int  # its open conflicts, deleted with it
    thematic: list[str]  # thematic databases on the base, marked out of date


def remove_item_preview(session: Session, actor: Actor, kind: str, name: str) -> RemovePreview:
    """What ``remove_item`` will do: the values of the item that go, its open conflicts that
    are deleted, the thematic databases marked out of date (subjects no remaining source knows
    leave the base)."""
    base = require_base(session, kind)
    policy.require_manage_base(actor, base)
    wanted = name.strip()
    view = next((v for v in describe_items(session, base) if v.item.name == wanted), None)
    if view is None:
        raise BaseItemNotFound(base.name, wanted)
    btable = base_table(base, [i.id for i in items_of(session, base)])
    column = btable.c[f"v{view.item.id}"]
    values = session.scalar(select(func.count()).select_from(btable).where(column.is_not(None)))
    return RemovePreview(
        base=base,
        item=view,
        values=int(values or 0),
        open_conflicts=_open_conflicts(session, base, view.item.id),
        thematic=[db.name for db in thematic.of_base(session, base)],
    )
