"""Pools (部门政务数据资源池, Art. 17 ¶1): one per published resource, its data a typed table.

A pool follows its resource's published revision: the revision's info items are the data
table's columns (``tables.py``). A pool is created the first time data is loaded for it; a
resource that is not in the published catalog has no pool (its department must publish it in
its catalog list first, Art. 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Index, Table, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from govdata.aggregation import policy
from govdata.aggregation.errors import PoolNotFound, ResourceNotFound, ResourceNotPublished
from govdata.aggregation.models import Load, Pool
from govdata.aggregation.tables import LOAD_COLUMN, ROW_COLUMN, pool_table
from govdata.catalog.models import Resource, ResourceRevision
from govdata.catalog.vocab import ID_NUMBER_ITEM_NAMES, USCC_ITEM_NAMES, SubjectKind
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput


def layout(revision: ResourceRevision) -> tuple[list[dict[str, Any]], str | None]:
    """The data table's columns for a published revision, and the subject key's column.

    The subject key is the item marked as such in the catalog; failing that, the resource's
    公民身份号码 (persons) or 统一社会信用代码 (legal persons) item (Art. 16).
    """
    items = list(revision.data.get("items", []))
    columns = [
        {
            "name": it["name"],
            "column": f"c{i + 1}",
            "data_type": it["data_type"],
            "length": it.get("length"),
            "is_subject_key": bool(it.get("is_subject_key")),
        }
        for i, it in enumerate(items)
    ]
    subject = next((c["column"] for c in columns if c["is_subject_key"]), None)
    if subject is None:
        kind = str(revision.data.get("subject_kind", ""))
        names = {
            SubjectKind.PERSON.value: ID_NUMBER_ITEM_NAMES,
            SubjectKind.LEGAL_PERSON.value: USCC_ITEM_NAMES,
        }
        wanted = names.get(kind)
        if wanted:
            subject = next((c["column"] for c in columns if c["name"] in wanted), None)
    return columns, subject


def _published_revision(session: Session, resource: Resource) -> ResourceRevision:
    if resource.published_revision_id is None or resource.withdrawn:
        raise ResourceNotPublished(resource.code)
    revision = session.get(ResourceRevision, resource.published_revision_id)
    assert revision is not None
    if revision.withdrawn:
        raise InvalidInput(
            "aggregation.resource_not_published",
            f"资源 {resource.code} 已从目录中撤销，不能加载数据。",
        )
    return revision


def ensure_pool(session: Session, resource: Resource) -> Pool:
    """The resource's pool, created on first use from its published revision.

    Two first loads of one resource may race: the pool is inserted with ``ON CONFLICT DO
    NOTHING`` on its unique resource, then read, so both get the one pool.
    """
    revision = _published_revision(session, resource)
    pool = session.scalars(select(Pool).where(Pool.resource_id == resource.id)).one_or_none()
    if pool is not None:
        return pool
    columns, subject = layout(revision)
    values = {
        "resource_id": resource.id,
        "department_id": resource.department_id,
        "revision_id": revision.id,
        "code": revision.code,
        "name": revision.name,
        "subject_kind": str(revision.data.get("subject_kind", SubjectKind.OTHER)),
        "update_cycle": revision.update_cycle,
        "columns": columns,
        "subject_column": subject,
        "row_count": 0,
        "created_at": utcnow(),
    }
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    session.execute(
        insert(Pool).values(**values).on_conflict_do_nothing(index_elements=["resource_id"])
    )
    return session.scalars(select(Pool).where(Pool.resource_id == resource.id)).one()


def follow_revision(session: Session, pool: Pool) -> bool:
    """Move the pool to its resource's current published revision (before a full load).

    Returns whether the layout changed. Name, cycle and subject kind always follow.
    """
    resource = session.get(Resource, pool.resource_id)
    assert resource is not None
    revision = _published_revision(session, resource)
    columns, subject = layout(revision)
    changed = columns != pool.columns
    pool.revision_id = revision.id
    pool.name = revision.name
    pool.update_cycle = revision.update_cycle
    pool.subject_kind = str(revision.data.get("subject_kind", SubjectKind.OTHER))
    pool.columns = columns
    pool.subject_column = subject
    return changed


def pending_layout_change(session: Session, pool: Pool) -> bool:
    """Whether the published revision's items differ from the pool's current table."""
    resource = session.get(Resource, pool.resource_id)
    if resource is None or resource.published_revision_id is None:
        return False
    revision = session.get(ResourceRevision, resource.published_revision_id)
    return revision is not None and layout(revision)[0] != pool.columns


def published_revision(session: Session, resource: Resource) -> ResourceRevision | None:
    """The resource's revision in the published catalog; None outside it (Art. 12)."""
    if resource.published_revision_id is None or resource.withdrawn:
        return None
    revision = session.get(ResourceRevision, resource.published_revision_id)
    if revision is None or revision.withdrawn:
        return None
    return revision


def source_layout(
    session: Session, resource: Resource
) -> tuple[list[dict[str, Any]], str | None] | None:
    """The columns a resource's data has: its pool's layout, else its published revision's;
    None when the resource is not in the published catalog (Art. 12)."""
    revision = published_revision(session, resource)
    if revision is None:
        return None
    pool = session.scalars(select(Pool).where(Pool.resource_id == resource.id)).one_or_none()
    if pool is not None and pool.table_name is not None:
        return pool.columns, pool.subject_column
    return layout(revision)


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


def resource_for_load(session: Session, actor: Actor, code: str) -> Resource:
    """The resource a load targets, by code: must be the actor's to load, and published."""
    resource = session.scalars(select(Resource).where(Resource.code == code)).one_or_none()
    if resource is None:
        raise ResourceNotFound(code)
    policy.require_load(actor, resource.department_id)
    _published_revision(session, resource)
    return resource


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


def read_rows(
    session: Session,
    actor: Actor,
    pool_id: int,
    *,
    subject_key: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> PoolRows:
    """A page of a pool's current data, by subject key when given (for the pool page)."""
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
    return PoolRows(pool.columns, rows, total)


# --- the data tables --------------------------------------------------------------------------


def create_data_table(
    conn: Connection, name: str, columns: list[dict[str, Any]], key: str | None = None
) -> Table:
    table = pool_table(name, columns, key)
    table.create(conn)
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
