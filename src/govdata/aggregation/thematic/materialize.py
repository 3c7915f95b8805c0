"""Materializing thematic databases (Art. 17 ¶3, 18) and keeping them up to date.

A definition is materialized as ``thematic_<id>`` (``subject_key`` and ``t1…tN`` as text, in the
order base items then pool items, ``tables.thematic_table``) with one CREATE TABLE and one
INSERT … SELECT; a refresh builds the next table and swaps it in in the same transaction
(``thematic_<id>_<n>``). Rows are the base's subjects; pool values are left-joined, so a
``not_null`` filter on a pool item keeps only the subjects that pool holds. Filter values are
always bound parameters.

A thematic database follows its sources (Art. 18): refreshed after a load of a pool it reads or
that feeds its base, and after its base is rebuilt; marked stale when its base's items change.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Float, Text, cast, func, insert, null, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from govdata.aggregation import policy, pools, tables
from govdata.aggregation.errors import ThematicInvalid
from govdata.aggregation.models import BaseDatabase, BaseItem, Pool, ThematicDatabase
from govdata.aggregation.subjects import (
    KEY_COLUMN,
    base_table,
    dialect_name,
    items_of,
    key_expr,
    pool_fits,
    value_expr,
)
from govdata.aggregation.thematic import definition
from govdata.aggregation.thematic.definition import NUMERIC_TYPES, Filter, ThematicColumn
from govdata.aggregation.thematic.reading import get_thematic
from govdata.core import audit
from govdata.core.actor import SYSTEM, Actor
from govdata.core.db import utcnow
from govdata.core.errors import DomainError


def _condition(expr: ColumnElement[Any], col: ThematicColumn, f: Filter) -> Any:
    op, value = f.op, f.value
    numeric = col.data_type in NUMERIC_TYPES
    target: Any = cast(expr, Float) if numeric else expr
    if op == "not_null":
        return expr.is_not(None)
    if op == "eq":
        return target == value
    if op == "ne":
        return target.is_distinct_from(value)
    if op == "gt":
        return target > value
    if op == "ge":
        return target >= value
    if op == "lt":
        return target < value
    if op == "le":
        return target <= value
    if op == "in":
        return target.in_(value)
    if op == "contains":
        return expr.contains(str(value), autoescape=True)
    raise ThematicInvalid("bad_operator", f"“{op}”不是允许的筛选运算。")


# --- materializing -----------------------------------------------------------------------------


def _next_name(db: ThematicDatabase) -> str:
    if db.table_name is None:
        return f"thematic_{db.id}"
    match = re.fullmatch(rf"thematic_{db.id}(?:_(\d+))?", db.table_name)
    number = int(match.group(1) or 0) + 1 if match else 1
    return f"thematic_{db.id}_{number}"


def materialize(session: Session, db: ThematicDatabase) -> None:
    """CREATE TABLE + one INSERT … SELECT (base ⟕ pools on the subject key, filtered), then
    swap it in for the previous table in the same transaction."""
    # One refresh of a thematic database at a time; the current table name as committed.
    session.refresh(db, with_for_update=True)
    dialect = dialect_name(session)
    spec = definition.of(db)
    base = definition.base_of(session, spec)
    columns = definition.resolve(session, spec, strict=True)
    items = {i.name: i for i in items_of(session, base)}
    btable = base_table(base, [i.id for i in items.values()]).alias("b")
    key = btable.c[KEY_COLUMN]
    joined: Any = btable
    aliases: dict[int, Any] = {}
    exprs: dict[str, ColumnElement[Any]] = {}
    for col in columns:
        if col.origin == "base":
            exprs[col.label] = btable.c[f"v{items[col.item].id}"]
            continue
        pool = session.scalars(select(Pool).where(Pool.code == col.resource_code)).one_or_none()
        table = pools.current_table(pool) if pool is not None else None
        if pool is None or table is None or not pool_fits(base, pool):
            exprs[col.label] = cast(null(), Text)
            continue
        alias = aliases.get(pool.id)
        if alias is None:
            alias = aliases[pool.id] = table.alias(f"p{pool.id}")
            joined = joined.outerjoin(alias, key_expr(dialect, pool, alias) == key)
        value = value_expr(dialect, pool, alias, col.item)
        exprs[col.label] = value if value is not None else cast(null(), Text)
    by_label = {c.label: c for c in columns}
    conditions = [_condition(exprs[f.item], by_label[f.item], f) for f in spec.filters]
    name = _next_name(db)
    conn = session.connection()
    pools.drop_table(conn, name)
    target = tables.thematic_table(name, len(columns))
    pools.create_table(conn, target, KEY_COLUMN)
    stmt = select(key, *[exprs[c.label] for c in columns]).select_from(joined).where(*conditions)
    session.execute(insert(target).from_select(["subject_key", *[c.column for c in columns]], stmt))
    old = db.table_name
    db.table_name = name
    db.row_count = int(session.scalar(select(func.count()).select_from(target)) or 0)
    db.refreshed_at = utcnow()
    db.stale = False
    session.flush()
    if old and old != name:
        pools.drop_table(conn, old)


def refresh(session: Session, actor: Actor, thematic_id: int) -> ThematicDatabase:
    """Rebuild a thematic database from its sources now (Art. 18)."""
    db = get_thematic(session, actor, thematic_id)
    policy.require_define_thematic(actor, db.department_id)
    with session.begin_nested():
        materialize(session, db)
    audit.record(
        session,
        actor,
        "aggregation.thematic.refresh",
        object_type="thematic_database",
        object_id=db.id,
        summary=f"更新主题数据库“{db.name}”（{db.row_count} 行）",
        change={"rows": db.row_count},
        department_id=db.department_id,
    )
    return db


# --- following the sources (Art. 18) --------------------------------------------------------


def _dependents(session: Session, pool: Pool) -> list[ThematicDatabase]:
    """Thematic databases reading ``pool`` directly or a base database it feeds."""
    kinds = set(
        session.scalars(
            select(BaseDatabase.kind)
            .join(BaseItem, BaseItem.base_id == BaseDatabase.id)
            .where(BaseItem.source_resource_id == pool.resource_id)
        )
    )
    out = []
    for db in session.scalars(select(ThematicDatabase).order_by(ThematicDatabase.id)):
        spec = definition.of(db)
        reads_pool = any(p.resource_code == pool.code for p in spec.pool_items)
        if reads_pool or spec.base_kind in kinds:
            out.append(db)
    return out


def _of_base(session: Session, base: BaseDatabase) -> list[ThematicDatabase]:
    return [
        db
        for db in session.scalars(select(ThematicDatabase).order_by(ThematicDatabase.id))
        if definition.of(db).base_kind == base.kind
    ]


def of_base(session: Session, base: BaseDatabase) -> list[ThematicDatabase]:
    """The thematic databases built on ``base`` (a full build refreshes them all)."""
    return _of_base(session, base)


def _refresh_all(session: Session, dbs: list[ThematicDatabase], why: str) -> list[ThematicDatabase]:
    """Refresh each in its own savepoint; one whose sources broke stays marked stale."""
    done = []
    for db in dbs:
        try:
            with session.begin_nested():
                materialize(session, db)
        except DomainError:
            db.stale = True
            session.flush()
            continue
        done.append(db)
    if done:
        audit.record(
            session,
            SYSTEM,
            "aggregation.thematic.refresh",
            object_type="thematic_database",
            object_id=",".join(str(d.id) for d in done)[:80],
            summary=f"{why}后更新主题数据库：" + "、".join(d.name for d in done),
        )
    return done


def refresh_dependents(session: Session, pool: Pool) -> list[ThematicDatabase]:
    """After a load of ``pool`` (and the base rebuild it caused): refresh the thematic
    databases that read it or a base it feeds. Returns those refreshed."""
    return _refresh_all(session, _dependents(session, pool), f"资源池“{pool.name}”加载")


def refresh_for_base(session: Session, base: BaseDatabase) -> list[ThematicDatabase]:
    """After a full build of ``base``: refresh the thematic databases built on it."""
    return _refresh_all(session, _of_base(session, base), f"{base.name}重建")


def mark_stale(session: Session, pool: Pool) -> list[ThematicDatabase]:
    """Flag the dependents of ``pool`` as out of date (when refreshing is deferred)."""
    dbs = _dependents(session, pool)
    for db in dbs:
        db.stale = True
    session.flush()
    return dbs


def mark_base_stale(session: Session, base: BaseDatabase) -> list[ThematicDatabase]:
    """A base's items changed: its thematic databases need a refresh (or a new definition)."""
    dbs = _of_base(session, base)
    for db in dbs:
        db.stale = True
    session.flush()
    return dbs
