"""Pools (部门政务数据资源池, Art. 17 ¶1): one per published resource, its data a typed table.

A pool follows its resource's published revision, read through ``catalog.published``: the
revision's info items are the data table's columns (``tables.py``). A pool is created the first
time data is loaded for it; a resource that is not in the published catalog has no pool (its
department must publish it in its catalog list first, Art. 12).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Index, Table, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from govdata.aggregation import masking, policy, traces
from govdata.aggregation.errors import PoolNotFound, ResourceNotFound, ResourceNotPublished
from govdata.aggregation.models import Load, Pool
from govdata.aggregation.tables import LOAD_COLUMN, ROW_COLUMN, pool_table
from govdata.catalog import published
from govdata.catalog.published import CatalogResource, PublishedResource
from govdata.core import audit, distribution
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import NotFound

#: A data table's layout: ``Pool.columns`` and the subject key's column.
Layout = tuple[list[dict[str, Any]], str | None]


def layout(resource: PublishedResource) -> Layout:
    """The data table's columns for a published resource, and the subject key's column: its
    info items in order (``c1…cN``); the subject key is ``PublishedResource.subject_key``
    (the item marked as such, else the 公民身份号码 or 统一社会信用代码 item, Art. 16)."""
    columns: list[dict[str, Any]] = [
        {
            "name": it.name,
            "column": f"c{i + 1}",
            "data_type": it.data_type.value,
            "length": it.length,
            "is_subject_key": it.is_subject_key,
        }
        for i, it in enumerate(resource.items)
    ]
    key = resource.subject_key
    subject = next(
        (c["column"] for c in columns if key is not None and c["name"] == key.name), None
    )
    return columns, subject


def loadable(found: CatalogResource) -> PublishedResource:
    """A resource's published form, which data may be loaded into; refused when the catalog
    does not carry it (Art. 12) or its withdrawal waits for review."""
    if found.published is None or found.published.withdrawal_pending:
        raise ResourceNotPublished(found.code)
    return found.published


def ensure_pool(session: Session, resource: PublishedResource) -> Pool:
    """The resource's pool, created on first use from its published revision.

    Two first loads of one resource may race: the pool is inserted with ``ON CONFLICT DO
    NOTHING`` on its unique resource, then read, so both get the one pool.
    """
    if resource.withdrawal_pending:
        raise ResourceNotPublished(resource.code)
    pool = session.scalars(
        select(Pool).where(Pool.resource_id == resource.resource_id)
    ).one_or_none()
    if pool is not None:
        return pool
    columns, subject = layout(resource)
    values = {
        "resource_id": resource.resource_id,
        "department_id": resource.department_id,
        "revision_id": resource.revision_id,
        "code": resource.code,
        "name": resource.name,
        "subject_kind": resource.subject_kind.value,
        "update_cycle": resource.update_cycle.value,
        "columns": columns,
        "subject_column": subject,
        "row_count": 0,
        "created_at": utcnow(),
    }
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    session.execute(
        insert(Pool).values(**values).on_conflict_do_nothing(index_elements=["resource_id"])
    )
    return session.scalars(select(Pool).where(Pool.resource_id == resource.resource_id)).one()


def follow_revision(session: Session, pool: Pool) -> bool:
    """Move the pool to its resource's current published revision (before a full load).

    Returns whether the layout changed. Name, cycle and subject kind always follow.
    """
    found = published.resources(session, [pool.resource_id]).get(pool.resource_id)
    assert found is not None
    resource = loadable(found)
    columns, subject = layout(resource)
    changed = columns != pool.columns
    pool.revision_id = resource.revision_id
    pool.name = resource.name
    pool.update_cycle = resource.update_cycle.value
    pool.subject_kind = resource.subject_kind.value
    pool.columns = columns
    pool.subject_column = subject
    return changed


def pending_layout_change(session: Session, pool: Pool) -> bool:
    """Whether the published revision's items differ from the pool's current table."""
    resource = published.get_many(session, [pool.resource_id]).get(pool.resource_id)
    return resource is not None and layout(resource)[0] != pool.columns


def layouts_of(session: Session, resources: Iterable[PublishedResource]) -> dict[int, Layout]:
    """The columns each published resource's data has, by resource id: its pool's layout once
    loaded, else its published revision's. One whose withdrawal waits has none (it is no
    source any more, Art. 12). One query whatever the number."""
    carried = {r.resource_id: r for r in resources if not r.withdrawal_pending}
    if not carried:
        return {}
    loaded = {
        p.resource_id: p
        for p in session.scalars(
            select(Pool).where(Pool.resource_id.in_(carried), Pool.table_name.is_not(None))
        )
    }
    return {
        rid: (loaded[rid].columns, loaded[rid].subject_column) if rid in loaded else layout(r)
        for rid, r in carried.items()
    }


# --- reading ----------------------------------------------------------------------------------


def get_pool(session: Session, actor: Actor, pool_id: int) -> Pool:
    pool = session.scalars(policy.visible_pools(actor).where(Pool.id == pool_id)).one_or_none()
    if pool is None:
        raise PoolNotFound()
    return pool


def pool_by_code(session: Session, actor: Actor, code: str) -> Pool:
    pool = session.scalars(policy.visible_pools(actor).where(Pool.code == code)).one_or_none()
    if pool is None:
        raise PoolNotFound()
    return pool


def resource_for_load(session: Session, actor: Actor, code: str) -> PublishedResource:
    """The resource a load targets, by code: must be the actor's to load, and published."""
    found = published.resource(session, code)
    if found is None:
        raise ResourceNotFound(code)
    policy.require_load(actor, found.department_id)
    return loadable(found)


def list_pools(session: Session, actor: Actor, department_id: int | None = None) -> list[Pool]:
    stmt = policy.visible_pools(actor).order_by(Pool.code)
    if department_id is not None:
        stmt = stmt.where(Pool.department_id == department_id)
    return list(session.scalars(stmt))


def current_table(pool: Pool) -> Table | None:
    """The Core table holding the pool's current data, or None before the first load."""
    if pool.table_name is None:
        return None
    return pool_table(pool.table_name, pool.columns, pool.subject_column)


@dataclass(frozen=True)
class PoolRows:
    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]  # item name -> value, plus "_row" and "_load_id"
    total: int
    # Each row's subject key as stored (for the "校核中" marks; never shown when masked).
    keys: list[str | None] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)  # item names shown masked (auditors)


def read_rows(
    session: Session,
    actor: Actor,
    pool_id: int,
    *,
    subject_key: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> PoolRows:
    """A page of a pool's current data, by subject key when given (for the pool page).

    The read is recorded with the rows it returned (Art. 40; ``traces``)."""
    pool = get_pool(session, actor, pool_id)
    table = current_table(pool)
    if table is None:
        return PoolRows(pool.columns, [], 0)
    stmt = select(table)
    count = select(func.count()).select_from(table)
    if subject_key and pool.subject_column:
        cond = table.c[pool.subject_column] == subject_key.strip()
        stmt, count = stmt.where(cond), count.where(cond)
    total = int(session.execute(count).scalar_one())
    result = session.execute(stmt.order_by(table.c[ROW_COLUMN]).offset(offset).limit(limit))
    rows = []
    for r in result.mappings():
        row = {c["name"]: r[c["column"]] for c in pool.columns}
        row[ROW_COLUMN] = r[ROW_COLUMN]
        row[LOAD_COLUMN] = r[LOAD_COLUMN]
        rows.append(row)
    key_name = next((c["name"] for c in pool.columns if c["column"] == pool.subject_column), None)
    keys = [str(r[key_name]) if key_name and r[key_name] is not None else None for r in rows]
    fields = None
    masked: list[str] = []
    if policy.masks_personal(actor):
        masked = masking.personal_columns(pool)
        fields = masking.mask_rows(pool, rows)
    traces.pool_read(
        session, actor, "aggregation.pool_rows.read", pool, rows=len(rows), fields=fields
    )
    return PoolRows(pool.columns, rows, total, keys, masked)


@dataclass(frozen=True)
class Revealed:
    row: dict[str, Any]  # item name -> value, plus "_row" and "_load_id"
    reason: str
    items: list[str]  # the personal items it shows


def reveal_row(
    session: Session, actor: Actor, pool_id: int, row_number: int, reason: str
) -> Revealed:
    """One row of the pool's current data unmasked, for an auditor who states why (issue 16,
    Art. 41, 42, 49): audited (``aggregation.pool_row.reveal``, with the reason) and recorded
    as a read of the personal items (Art. 40). Only for those who read pools masked."""
    pool = get_pool(session, actor, pool_id)
    policy.require_reveal(actor)
    why = masking.require_reason(reason)
    table = current_table(pool)
    found = (
        session.execute(select(table).where(table.c[ROW_COLUMN] == row_number)).mappings().first()
        if table is not None
        else None
    )
    if found is None:
        raise NotFound(
            "aggregation.row_not_found", f"该数据资源池的当前数据中没有第 {row_number} 行。"
        )
    row = {c["name"]: found[c["column"]] for c in pool.columns}
    row[ROW_COLUMN] = found[ROW_COLUMN]
    row[LOAD_COLUMN] = found[LOAD_COLUMN]
    items = masking.personal_columns(pool)
    key_name = next((c["name"] for c in pool.columns if c["column"] == pool.subject_column), None)
    audit.record(
        session,
        actor,
        "aggregation.pool_row.reveal",
        object_type="pool",
        object_id=pool.id,
        summary=f"{actor.name}查看了{pool.name}第 {row_number} 行未遮盖的个人信息，理由：{why}",
        change={
            "pool_id": pool.id,
            "row": row_number,
            "subject_key": str(row[key_name]) if key_name and row.get(key_name) else None,
            "items": items,
            "reason": why,
        },
        department_id=pool.department_id,
    )
    masking.record_reveal_access(
        session,
        actor,
        object_type="pool_row",
        object_id=f"{pool.id}:{row_number}",
        department_id=pool.department_id,
        items=items,
        reason=why,
    )
    return Revealed(row, why, items)


# --- the data tables --------------------------------------------------------------------------


def create_data_table(
    conn: Connection, name: str, columns: list[dict[str, Any]], key: str | None = None
) -> Table:
    """A pool's data (or staging) table; on Citus distributed on its subject key, or on its row
    number when the resource has no subject key (nothing joins it by key)."""
    return create_table(conn, pool_table(name, columns, key), key or ROW_COLUMN)


def create_table(conn: Connection, table: Table, distribution_column: str) -> Table:
    """Create a data-plane table (pool, base or thematic database) and, on Citus, distribute it
    on ``distribution_column`` (its subject key: co-located with the other data tables)."""
    table.create(conn)
    distribution.distribute(conn, table.name, distribution_column)
    return table


def index_subject(conn: Connection, table: Table, subject_column: str | None) -> None:
    """A unique index on the subject key (one record per person or legal person, Art. 16)."""
    if subject_column is None:
        return
    Index(f"ux_{table.name}_key", table.c[subject_column], unique=True).create(conn)


def drop_table(conn: Connection, name: str) -> None:
    conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))


def install(session: Session, pool: Pool, load: Load, table_name: str, row_count: int) -> None:
    """Make ``table_name`` the pool's current data and drop the one it replaces (same
    transaction: readers see the old table until the commit, then the new one)."""
    old = pool.table_name
    pool.table_name = table_name
    pool.current_load_id = load.id
    pool.row_count = row_count
    pool.loaded_at = load.finished_at or utcnow()
    session.flush()
    if old and old != table_name:
        drop_table(session.connection(), old)
