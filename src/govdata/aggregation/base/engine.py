"""Building a base database (Art. 16, 17 ¶2, 18): the merge of the authoritative sources by
subject key, and the incremental recomputation after a load or a correction.

Building merges the authoritative sources into ``base_<kind>`` (``tables.base_table``). After
each load the pipeline calls ``rebuild_after_load``: only the columns the loaded pool is the
source of are recomputed, and for an incremental (upsert) load only the subjects that load wrote
(Art. 18: the base follows its sources). Conflicts are recomputed alongside
(``conflicts.recompute``). All statements on the data tables are set-based (INSERT … SELECT,
UPDATE … FROM, NOT EXISTS) and run unchanged on SQLite and PostgreSQL.

The thematic databases built on a base follow it (Art. 18): a full build refreshes them
(``thematic.refresh_for_base``). Thematic databases read bases through ``aggregation.subjects``,
never this package, so the dependency runs one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Table,
    case,
    delete,
    exists,
    func,
    insert,
    inspect,
    null,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from govdata.aggregation import policy, pools, thematic
from govdata.aggregation.base import conflicts
from govdata.aggregation.base.scope import Scope, where
from govdata.aggregation.models import (
    BaseConflict,
    BaseDatabase,
    BaseItem,
    BaseKind,
    ConflictStatus,
    Load,
    LoadMode,
    Pool,
)
from govdata.aggregation.subjects import (
    KEY_COLUMN,
    base_table,
    column_named,
    dialect_name,
    items_of,
    key_expr,
    pool_fits,
    raw_column,
    require_base,
    value_expr,
)
from govdata.aggregation.tables import LOAD_COLUMN
from govdata.core import audit
from govdata.core.actor import SYSTEM, Actor
from govdata.core.db import utcnow

# --- the sources ----------------------------------------------------------------------------------


def _authoritative_pool(session: Session, base: BaseDatabase, item: BaseItem) -> Pool | None:
    """The pool of the item's source, when it has data and its key still fits the base."""
    pool = session.scalars(
        select(Pool).where(Pool.resource_id == item.source_resource_id)
    ).one_or_none()
    if pool is None or pool.table_name is None or not pool_fits(base, pool):
        return None
    return pool


def _fitting_pools(session: Session, base: BaseDatabase) -> list[Pool]:
    """Pools with data whose subject key fits the base (read once per operation)."""
    return [
        pool
        for pool in session.scalars(
            select(Pool).where(Pool.table_name.is_not(None)).order_by(Pool.id)
        )
        if pool_fits(base, pool)
    ]


def _carriers(item: BaseItem, candidates: Sequence[Pool]) -> list[Pool]:
    """Pools other than the source that carry an item of the same name for the same subjects."""
    found = []
    for pool in candidates:
        if pool.resource_id == item.source_resource_id:
            continue
        col = column_named(pool.columns, item.name)
        if col is not None and col["column"] != pool.subject_column:
            found.append(pool)
    return found


def _lock(session: Session, base: BaseDatabase) -> None:
    """One rebuild of a base at a time (PostgreSQL row lock until the transaction ends;
    SQLite serializes writers anyway): concurrent loads never race on the same subject."""
    session.execute(
        select(BaseDatabase.id).where(BaseDatabase.id == base.id).with_for_update()
    ).all()


def _by_source(
    session: Session, base: BaseDatabase, items: Sequence[BaseItem]
) -> tuple[dict[int, tuple[Pool, list[BaseItem]]], list[BaseItem]]:
    """Items grouped by their authoritative pool, and the items whose source has no data."""
    grouped: dict[int, tuple[Pool, list[BaseItem]]] = {}
    orphans: list[BaseItem] = []
    for item in items:
        pool = _authoritative_pool(session, base, item)
        if pool is None:
            orphans.append(item)
            continue
        grouped.setdefault(pool.id, (pool, []))[1].append(item)
    return grouped, orphans


def _apply_source(
    session: Session,
    base: BaseDatabase,
    btable: Table,
    pool: Pool,
    items: Sequence[BaseItem],
    scope: Scope,
) -> None:
    """Recompute the columns of ``items`` from their authoritative ``pool`` for the keys in
    ``scope``. An incremental (load) scope only adds or updates; a full or one-key scope also
    clears values whose subject left the pool (a replace load, a correction)."""
    dialect = dialect_name(session)
    table = pools.current_table(pool)
    assert table is not None
    key = key_expr(dialect, pool, table)
    # New subjects first, so that they receive their values below.
    inner = btable.alias("known")
    session.execute(
        insert(btable).from_select(
            [KEY_COLUMN],
            select(key)
            .distinct()
            .where(
                key.is_not(None),
                ~exists().where(inner.c[KEY_COLUMN] == key),
                *where(scope.rows(dialect, pool, table, key)),
            ),
        )
    )
    with_col = [i for i in items if value_expr(dialect, pool, table, i.source_item) is not None]
    without = [i for i in items if i not in with_col]
    if scope.load_id is None or scope.pool is None or scope.pool.id != pool.id:
        # Subjects the pool no longer holds lose these values (never someone else's value).
        gone = table.alias("present")
        cleared = {f"v{i.id}": null() for i in with_col} | {f"l{i.id}": null() for i in with_col}
        if cleared:
            session.execute(
                update(btable)
                .where(
                    ~exists().where(key_expr(dialect, pool, gone) == btable.c[KEY_COLUMN]),
                    *where(scope.keys(dialect, btable.c[KEY_COLUMN])),
                )
                .values(cleared)
            )
    if without:
        session.execute(
            update(btable)
            .where(*where(scope.keys(dialect, btable.c[KEY_COLUMN])))
            .values({f"v{i.id}": null() for i in without} | {f"l{i.id}": null() for i in without})
        )
    if with_col:
        values: dict[str, Any] = {}
        for i in with_col:
            values[f"v{i.id}"] = value_expr(dialect, pool, table, i.source_item)
            values[f"l{i.id}"] = case(
                (raw_column(pool, table, i.source_item).is_not(None), table.c[LOAD_COLUMN]),
                else_=null(),
            )
        session.execute(
            update(btable)
            .where(btable.c[KEY_COLUMN] == key, *where(scope.rows(dialect, pool, table, key)))
            .values(values)
        )


def clear(session: Session, btable: Table, items: Sequence[BaseItem], scope: Scope) -> None:
    """Items whose source has no data (yet, or any more) have no values."""
    if not items:
        return
    dialect = dialect_name(session)
    session.execute(
        update(btable)
        .where(*where(scope.keys(dialect, btable.c[KEY_COLUMN])))
        .values({f"v{i.id}": null() for i in items} | {f"l{i.id}": null() for i in items})
    )


def prune(
    session: Session, base: BaseDatabase, btable: Table, items: Sequence[BaseItem], scope: Scope
) -> None:
    """Subjects that no authoritative source holds leave the base (keys = union of sources)."""
    dialect = dialect_name(session)
    grouped, _ = _by_source(session, base, items)
    conds: list[ColumnElement[bool]] = []
    for pool, _items in grouped.values():
        table = pools.current_table(pool)
        assert table is not None
        alias = table.alias(f"src{pool.id}")
        conds.append(~exists().where(key_expr(dialect, pool, alias) == btable.c[KEY_COLUMN]))
    session.execute(delete(btable).where(*conds, *where(scope.keys(dialect, btable.c[KEY_COLUMN]))))


def count(session: Session, base: BaseDatabase, btable: Table) -> None:
    base.row_count = int(session.scalar(select(func.count()).select_from(btable)) or 0)
    base.built_at = utcnow()


def refresh_item(session: Session, base: BaseDatabase, item: BaseItem) -> None:
    """One item in full: its values from its source, its conflicts with every other pool."""
    _lock(session, base)
    items = items_of(session, base)
    btable = base_table(base, [i.id for i in items])
    pool = _authoritative_pool(session, base, item)
    scope = Scope()
    if pool is None:
        clear(session, btable, [item], scope)
    else:
        _apply_source(session, base, btable, pool, [item], scope)
    prune(session, base, btable, items, scope)
    # Conflicts of this item with its former source (now an ordinary one) or the new one.
    session.execute(
        update(BaseConflict)
        .where(
            BaseConflict.item_id == item.id,
            BaseConflict.status == ConflictStatus.OPEN.value,
            BaseConflict.other_pool_id == (pool.id if pool else -1),
        )
        .values(
            status=ConflictStatus.RESOLVED.value,
            resolved_at=utcnow(),
            note=conflicts.AUTO_CLOSE_NOTE,
        )
    )
    for other in _carriers(item, _fitting_pools(session, base)):
        conflicts.recompute(session, base, btable, item, other, scope)
    count(session, base, btable)


# --- building -----------------------------------------------------------------------------------


def _ensure_layout(session: Session, base: BaseDatabase, btable: Table) -> None:
    """The physical table has exactly the columns of the items (recreated otherwise)."""
    conn = session.connection()
    wanted = [c.name for c in btable.columns]
    insp = inspect(conn)
    if insp.has_table(base.table_name):
        have = [c["name"] for c in insp.get_columns(base.table_name)]
        if sorted(have) == sorted(wanted):
            return
        pools.drop_table(conn, base.table_name)
    pools.create_table(conn, btable, KEY_COLUMN)


def build(session: Session, actor: Actor, kind: BaseKind | str) -> BaseDatabase:
    """Full (re)build: the union of the authoritative sources' subjects, each item's value
    from its one source (Art. 16, 17 ¶2), conflicts recomputed against every other pool.

    Atomic: everything happens in one savepoint of the caller's transaction, so a failure
    midway leaves the previous base as it was, and readers see the old base until the commit.
    """
    base = require_base(session, kind)
    policy.require_manage_base(actor, base)
    with session.begin_nested():
        _full_build(session, base)
    thematic.refresh_for_base(session, base)
    audit.record(
        session,
        actor,
        "aggregation.base.build",
        object_type="base_database",
        object_id=base.kind,
        summary=f"重建{base.name}：{base.row_count} 个主体",
        change={"rows": base.row_count},
        department_id=base.lead_department_id,
    )
    return base


def _full_build(session: Session, base: BaseDatabase) -> None:
    _lock(session, base)
    dialect = dialect_name(session)
    items = items_of(session, base)
    btable = base_table(base, [i.id for i in items])
    _ensure_layout(session, base, btable)
    session.execute(delete(btable))
    grouped, _orphans = _by_source(session, base, items)
    if grouped:
        aliases: dict[int, Any] = {}
        key_selects = []
        for pool, _items in grouped.values():
            table = pools.current_table(pool)
            assert table is not None
            alias = aliases[pool.id] = table.alias(f"s{pool.id}")
            k = key_expr(dialect, pool, alias)
            key_selects.append(select(k.label("k")).where(k.is_not(None)))
        keys = union(*key_selects).subquery("keys")
        joined: Any = keys
        for pool, _items in grouped.values():
            alias = aliases[pool.id]
            joined = joined.outerjoin(alias, key_expr(dialect, pool, alias) == keys.c.k)
        columns: list[str] = [KEY_COLUMN]
        exprs: list[ColumnElement[Any]] = [keys.c.k]
        for pool, pool_items in grouped.values():
            alias = aliases[pool.id]
            for i in pool_items:
                value = value_expr(dialect, pool, alias, i.source_item)
                columns += [f"v{i.id}", f"l{i.id}"]
                if value is None:
                    exprs += [null(), null()]
                    continue
                raw = raw_column(pool, alias, i.source_item)
                exprs += [value, case((raw.is_not(None), alias.c[LOAD_COLUMN]), else_=null())]
        session.execute(insert(btable).from_select(columns, select(*exprs).select_from(joined)))
    scope = Scope()
    candidates = _fitting_pools(session, base)
    for item in items:
        for other in _carriers(item, candidates):
            conflicts.recompute(session, base, btable, item, other, scope)
    count(session, base, btable)
    # Whole again: whatever a failed rebuild missed is in it now.
    base.stale_since = None
    base.stale_reason = ""


def rebuild_after_load(session: Session, pool: Pool, load: Load) -> list[BaseDatabase]:
    """Bring the bases up to date after a successful load of ``pool`` (Art. 18).

    Incremental: only the columns this pool is the authoritative source of are recomputed, and
    after an upsert load only the subjects that load wrote; a replace load recomputes those
    columns whole (a subject gone from the pool loses its value). Conflicts are recomputed for
    the items this pool carries without being their source, and for the items it is the source
    of against the other pools. Set-based; in a savepoint of the pipeline's transaction.
    """
    if pool.table_name is None:
        return []
    incremental = load.mode == LoadMode.UPSERT.value
    scope = Scope(pool=pool, load_id=load.id) if incremental else Scope()
    touched: list[BaseDatabase] = []
    with session.begin_nested():
        for base in session.scalars(select(BaseDatabase).order_by(BaseDatabase.id)).all():
            if base.stale_since is not None and _relevant(session, base, pool)[1]:
                # A rebuild missed a load: incremental steps cannot catch up, a full build does.
                _full_build(session, base)
                touched.append(base)
            elif _rebuild_base(session, base, pool, scope):
                touched.append(base)
    if touched:
        audit.record(
            session,
            SYSTEM,
            "aggregation.base.rebuild",
            object_type="pool",
            object_id=pool.code,
            summary=f"资源池“{pool.name}”加载后更新"
            + "、".join(b.name for b in touched)
            + ("（增量）" if incremental else ""),
            change={"load_id": load.id, "bases": [b.kind for b in touched]},
            department_id=pool.department_id,
        )
    return touched


def refresh_subject(session: Session, pool: Pool, subject_key: str) -> None:
    """After a correction changed one value of ``pool`` (Art. 19): refresh that subject's
    values and conflicts in every base this pool feeds or is checked against."""
    if pool.table_name is None:
        return
    with session.begin_nested():
        for base in session.scalars(select(BaseDatabase).order_by(BaseDatabase.id)).all():
            _rebuild_base(session, base, pool, Scope(key=subject_key.strip()))


def _relevant(
    session: Session, base: BaseDatabase, pool: Pool
) -> tuple[list[BaseItem], bool, list[BaseItem], list[BaseItem]]:
    """The base's items; whether ``pool`` feeds or is checked against it; the items it is the
    source of (``own``) and those it carries without being their source (``carried``)."""
    items = items_of(session, base)
    own = [i for i in items if i.source_resource_id == pool.resource_id]
    fit = pool_fits(base, pool)
    carried = [
        i
        for i in items
        if i.source_resource_id != pool.resource_id
        and fit
        and (col := column_named(pool.columns, i.name)) is not None
        and col["column"] != pool.subject_column
    ]
    return items, bool(own or carried), own, carried


def bases_fed_by(session: Session, pool: Pool) -> list[BaseDatabase]:
    """The bases a load of ``pool`` changes: those it is a source of or checked against."""
    bases = session.scalars(select(BaseDatabase).order_by(BaseDatabase.id)).all()
    return [b for b in bases if _relevant(session, b, pool)[1]]


def _rebuild_base(session: Session, base: BaseDatabase, pool: Pool, scope: Scope) -> bool:
    items, relevant, own, carried = _relevant(session, base, pool)
    fit = pool_fits(base, pool)
    if not relevant:
        return False
    _lock(session, base)
    btable = base_table(base, [i.id for i in items])
    if own:
        if fit:
            _apply_source(session, base, btable, pool, own, scope)
        else:
            clear(session, btable, own, scope)
        if not scope.incremental:
            prune(session, base, btable, items, scope)
        candidates = _fitting_pools(session, base)
        for item in own:
            for other in _carriers(item, candidates):
                conflicts.recompute(session, base, btable, item, other, scope)
    for item in carried:
        conflicts.recompute(session, base, btable, item, pool, scope)
    count(session, base, btable)
    return True
