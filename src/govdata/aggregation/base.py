"""Base databases (基础数据库, Art. 16, 17 ¶2, 18, 25(2)): natural persons, legal persons,
natural resources and geospatial features, electronic licences.

Each base database is led by one department (牵头建设部门, Art. 17 ¶2), which defines its base
items. Every base item has exactly one authoritative source (一数一源, Art. 16): an info item of
one published resource, i.e. a column of that resource's pool. Building merges the authoritative
sources by subject key into one table ``base_<kind>``:

* ``subject_key`` VARCHAR(64) PRIMARY KEY — 公民身份号码, 统一社会信用代码, 要素代码 or 证照编号;
* for each base item id N, ``v<N>`` TEXT (the value, as canonical text) and ``l<N>`` INTEGER (the
  load that wrote it: the provenance, Load → pool → resource, department, finished_at).

A value from a non-authoritative source never overrides the authoritative one; where another
department's pool holds the same item for the same subject with a different value, that
disagreement becomes a ``BaseConflict`` in the city bureau's quality queue (Art. 16, 20).

After each load the pipeline calls ``rebuild_after_load``: only the columns the loaded pool is the
source of are recomputed, and for an incremental (upsert) load only the subjects that load wrote
(Art. 18: the base follows its sources). All statements on the data tables are set-based
(INSERT … SELECT, UPDATE … FROM, NOT EXISTS) and run unchanged on SQLite and PostgreSQL.

Values are compared as canonical text (``as_text``): dates ``YYYY-MM-DD``, times
``YYYY-MM-DD HH:MM:SS``, numbers without trailing zeros, logical values ``true``/``false``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from typing import cast as typed

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    inspect,
    literal,
    null,
    or_,
    select,
    text,
    union,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from govdata.aggregation import policy as agg_policy
from govdata.aggregation import pools
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
from govdata.aggregation.tables import LOAD_COLUMN
from govdata.catalog.models import Resource, ResourceRevision
from govdata.catalog.vocab import ID_NUMBER_ITEM_NAMES, USCC_ITEM_NAMES, ShareType
from govdata.core import audit
from govdata.core.actor import SYSTEM, Actor, Role
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.org import policy as org_policy
from govdata.org.models import Department

KEY_COLUMN = "subject_key"
KEY_LENGTH = 64

# The subject key's item name of each base (Art. 16 for persons and legal persons).
KEY_NAME: dict[BaseKind, str] = {
    BaseKind.PERSON: "公民身份号码",
    BaseKind.LEGAL_ENTITY: "统一社会信用代码",
    BaseKind.GEO: "要素代码",
    BaseKind.LICENCE: "证照编号",
}
# Names a source's key item may carry: the catalog's synonyms of the ID number and the USCC.
KEY_NAMES: dict[BaseKind, frozenset[str]] = {
    BaseKind.PERSON: ID_NUMBER_ITEM_NAMES | {"公民身份号码"},
    BaseKind.LEGAL_ENTITY: USCC_ITEM_NAMES | {"统一社会信用代码"},
    BaseKind.GEO: frozenset({"要素代码"}),
    BaseKind.LICENCE: frozenset({"证照编号"}),
}
TEXT_TYPES = frozenset({"C", "M", "G"})
NUMERIC_TYPES = frozenset({"N", "Y", "B", "F"})
AUTO_CLOSE_NOTE = "来源数据已一致，差异自动消除。"

BASE_NOT_FOUND = "aggregation.base_not_found"


def plain(value: str, what: str) -> str:
    """A text field stripped, without control characters (NUL cannot reach PostgreSQL)."""
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise InvalidInput("aggregation.bad_text", f"{what}含有不允许的控制字符。")
    return value.strip()


# --- who may do what ---------------------------------------------------------------------------


def can_manage(actor: Actor, base: BaseDatabase) -> bool:
    """The lead department's data officers keep a base's items and build it (Art. 17 ¶2); the
    city bureau may on its behalf. People only: a system's token never redefines a base."""
    if org_policy.is_city_admin(actor):
        return True
    return actor.token_id is None and base.lead_department_id in actor.department_ids(
        Role.DEPARTMENT_OFFICER
    )


def require_manage(actor: Actor, base: BaseDatabase) -> None:
    if not can_manage(actor, base):
        raise PermissionDenied(
            "aggregation.cannot_manage_base",
            "只有基础数据库的牵头建设部门或市数据主管部门可以维护该基础数据库（第十七条第二款）。",
        )


def can_read(actor: Actor) -> bool:
    """Base items are every department's common need and shared unconditionally (Art. 25(2)):
    any staff member reads them here; systems obtain them through the sharing system."""
    return actor.token_id is None and not actor.is_public and bool(actor.roles)


def require_read(actor: Actor) -> None:
    if not can_read(actor):
        raise PermissionDenied(
            "aggregation.base_staff_only",
            "基础数据库仅向政务部门工作人员开放；信息系统请通过共享系统获取（第二十三条）。",
        )


def can_resolve(actor: Actor, base: BaseDatabase) -> bool:
    """The city bureau supervises quality (Art. 20 ¶1); the lead department answers for its base."""
    return can_manage(actor, base)


# --- canonical text ----------------------------------------------------------------------------


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def as_text(dialect: str, col: ColumnElement[Any], data_type: str) -> ColumnElement[Any]:
    """A typed pool column as the canonical text both engines agree on (Art. 16: one value)."""
    pg = dialect == "postgresql"
    if data_type in TEXT_TYPES:
        return col
    if data_type == "D":
        return func.to_char(col, "YYYY-MM-DD") if pg else func.substr(cast(col, Text), 1, 10)
    if data_type == "T":
        if pg:
            return func.to_char(col, "YYYY-MM-DD HH24:MI:SS")
        return func.substr(cast(col, Text), 1, 19)
    if data_type == "L":
        return case((col.is_(None), null()), (col, literal("true")), else_=literal("false"))
    if data_type == "I":
        return cast(col, Text)
    if data_type in NUMERIC_TYPES:
        if pg:
            return cast(func.trim_scale(cast(col, Numeric())), Text)
        as_int = cast(col, Integer)
        return case((col == as_int, cast(as_int, Text)), else_=cast(col, Text))
    return cast(col, Text)


# --- layout helpers ----------------------------------------------------------------------------


def base_table(base: BaseDatabase, item_ids: Iterable[int]) -> Table:
    """The Core table of a base database with the given items (``v<N>``, ``l<N>``)."""
    cols: list[Column[Any]] = [Column(KEY_COLUMN, String(KEY_LENGTH), primary_key=True)]
    for n in item_ids:
        cols += [Column(f"v{n}", Text), Column(f"l{n}", Integer)]
    return Table(base.table_name, MetaData(), *cols)


def key_item(columns: list[dict[str, Any]], subject_column: str | None) -> dict[str, Any] | None:
    if subject_column is None:
        return None
    return next((c for c in columns if c["column"] == subject_column), None)


def fits(kind: BaseKind | str, columns: list[dict[str, Any]], subject_column: str | None) -> bool:
    """A source fits a base when its subject key is an item named as the base's key (Art. 16)."""
    key = key_item(columns, subject_column)
    return key is not None and key["name"] in KEY_NAMES[BaseKind(kind)]


def pool_fits(base: BaseDatabase, pool: Pool) -> bool:
    return fits(base.kind, pool.columns, pool.subject_column)


def published_revision(session: Session, resource: Resource) -> ResourceRevision | None:
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
    return pools.layout(revision)


def _column(columns: list[dict[str, Any]], item_name: str) -> dict[str, Any] | None:
    return next((c for c in columns if c["name"] == item_name), None)


# --- reading the definitions ------------------------------------------------------------------


def list_bases(session: Session, actor: Actor) -> list[BaseDatabase]:
    require_read(actor)
    return list(session.scalars(select(BaseDatabase).order_by(BaseDatabase.id)))


def get_base(session: Session, actor: Actor, kind: BaseKind | str) -> BaseDatabase:
    require_read(actor)
    return _base(session, kind)


def _base(session: Session, kind: BaseKind | str) -> BaseDatabase:
    try:
        value = BaseKind(kind).value
    except ValueError:
        raise NotFound(BASE_NOT_FOUND, "未找到该基础数据库。") from None
    base = session.scalars(select(BaseDatabase).where(BaseDatabase.kind == value)).one_or_none()
    if base is None:
        raise NotFound(BASE_NOT_FOUND, f"尚未建立{BaseKind(value).label}。")
    return base


def items_of(session: Session, base: BaseDatabase) -> list[BaseItem]:
    return list(
        session.scalars(
            select(BaseItem)
            .where(BaseItem.base_id == base.id)
            .order_by(BaseItem.position, BaseItem.id)
        )
    )


@dataclass(frozen=True)
class ItemView:
    """A base item with its authoritative source, for pages and the API."""

    item: BaseItem
    resource_code: str
    resource_name: str
    department_id: int
    department_name: str
    data_type: str | None  # None when the source no longer has the item


def describe_items(session: Session, base: BaseDatabase) -> list[ItemView]:
    items = items_of(session, base)
    resources = {
        r.id: r
        for r in session.scalars(
            select(Resource).where(Resource.id.in_({i.source_resource_id for i in items}))
        )
    }
    depts = _department_names(session, {r.department_id for r in resources.values()})
    views = []
    for item in items:
        res = resources[item.source_resource_id]
        layout = source_layout(session, res)
        col = _column(layout[0], item.source_item) if layout else None
        views.append(
            ItemView(
                item=item,
                resource_code=res.code,
                resource_name=res.name,
                department_id=res.department_id,
                department_name=depts.get(res.department_id, ""),
                data_type=str(col["data_type"]) if col else None,
            )
        )
    return views


def _department_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Department.id, Department.name).where(Department.id.in_(ids)))
    return {int(i): str(n) for i, n in rows}


@dataclass(frozen=True)
class SourceOption:
    """A published resource that may be a base's source: its key fits the base."""

    resource_id: int
    code: str
    name: str
    department_name: str
    items: list[str]


def source_options(session: Session, actor: Actor, kind: BaseKind | str) -> list[SourceOption]:
    """Published resources whose subject key fits the base, with their items (for the form)."""
    require_read(actor)
    base = _base(session, kind)
    rows = session.execute(
        select(Resource, ResourceRevision)
        .join(ResourceRevision, ResourceRevision.id == Resource.published_revision_id)
        .where(Resource.withdrawn.is_(False), ResourceRevision.category != "thematic")
        .order_by(Resource.code)
    ).all()
    depts = _department_names(session, {r.department_id for r, _ in rows})
    options = []
    for res, rev in rows:
        columns, subject = pools.layout(rev)
        if not fits(base.kind, columns, subject):
            continue
        options.append(
            SourceOption(
                resource_id=res.id,
                code=res.code,
                name=res.name,
                department_name=depts.get(res.department_id, ""),
                items=[c["name"] for c in columns if c["column"] != subject],
            )
        )
    return options


# --- defining a base and its items (Art. 16, 17 ¶2) ------------------------------------------


def define_base(
    session: Session,
    actor: Actor,
    kind: BaseKind,
    *,
    lead_department_id: int,
    name: str | None = None,
) -> BaseDatabase:
    """Set up a base database and name its lead department (Art. 17 ¶2): the city bureau only."""
    agg_policy.require_bureau(actor)
    kind = BaseKind(kind)
    if session.scalar(select(BaseDatabase.id).where(BaseDatabase.kind == kind.value)):
        raise Conflict("aggregation.base_exists", f"{kind.label}已经建立。")
    dept = session.get(Department, lead_department_id)
    if dept is None:
        raise NotFound("aggregation.department_not_found", "未找到该牵头建设部门。")
    label = plain(name or "", "名称") or kind.label
    if len(label) > 100:
        raise InvalidInput("aggregation.base_name_too_long", "基础数据库名称不能超过100个字。")
    base = BaseDatabase(
        kind=kind.value,
        name=label,
        lead_department_id=dept.id,
        key_name=KEY_NAME[kind],
        table_name=f"base_{kind.value}",
        row_count=0,
    )
    session.add(base)
    session.flush()
    conn = session.connection()
    pools.drop_table(conn, base.table_name)  # a table left behind by nothing we know of
    base_table(base, []).create(conn)
    audit.record(
        session,
        actor,
        "aggregation.base.define",
        object_type="base_database",
        object_id=kind.value,
        summary=f"建立{label}，牵头建设部门：{dept.name}",
        change={"kind": kind.value, "name": label, "lead_department_id": dept.id},
        department_id=dept.id,
    )
    return base


def set_lead(
    session: Session, actor: Actor, kind: BaseKind | str, *, lead_department_id: int
) -> BaseDatabase:
    """Hand a base database to another lead department (the city bureau, Art. 17 ¶2)."""
    agg_policy.require_bureau(actor)
    base = _base(session, kind)
    dept = session.get(Department, lead_department_id)
    if dept is None:
        raise NotFound("aggregation.department_not_found", "未找到该牵头建设部门。")
    old = base.lead_department_id
    base.lead_department_id = dept.id
    audit.record(
        session,
        actor,
        "aggregation.base.lead",
        object_type="base_database",
        object_id=base.kind,
        summary=f"{base.name}的牵头建设部门改为{dept.name}",
        change={"from": old, "to": dept.id},
        department_id=dept.id,
    )
    return base


def _check_source(
    session: Session, base: BaseDatabase, name: str, resource_code: str, source_item: str
) -> Resource:
    """The source must be a published resource with the item, keyed as the base (Art. 16)."""
    resource_code = plain(resource_code, "资源代码")
    source_item = plain(source_item, "信息项名称")
    resource = session.scalars(select(Resource).where(Resource.code == resource_code)).one_or_none()
    if resource is None:
        raise NotFound(
            "aggregation.resource_not_found", f"未找到代码为 {resource_code} 的政务数据资源。"
        )
    revision = published_revision(session, resource)
    layout = source_layout(session, resource)
    if revision is None or layout is None:
        raise InvalidInput(
            "aggregation.source_not_published",
            f"资源 {resource.code} 不在已发布的政务数据资源目录中，不能作为权威来源（第十二条）。",
        )
    columns, subject = layout
    if not fits(base.kind, columns, subject):
        raise InvalidInput(
            "aggregation.base_key_mismatch",
            f"资源“{resource.name}”的主体标识不是“{base.key_name}”，不能作为{base.name}的来源"
            "（第十六条）。",
        )
    col = _column(columns, source_item)
    if col is None:
        raise InvalidInput(
            "aggregation.source_item_unknown",
            f"资源“{resource.name}”没有信息项“{source_item}”。",
        )
    if col["column"] == subject:
        raise InvalidInput(
            "aggregation.source_item_is_key",
            f"“{source_item}”是主体标识，不能作为基础信息项的来源。",
        )
    item = next((i for i in revision.data.get("items", []) if i["name"] == source_item), None)
    if item is not None and item.get("share_type") != ShareType.UNCONDITIONAL.value:
        raise InvalidInput(
            "aggregation.base_item_not_shared",
            f"信息项“{source_item}”未设为无条件共享；基础数据库的基础信息项应当无条件共享"
            "（第二十五条第二项）。",
        )
    return resource


def _clean_name(name: str, base: BaseDatabase) -> str:
    name = plain(name, "基础信息项名称")
    if not name or len(name) > 100:
        raise InvalidInput("aggregation.base_item_name", "基础信息项名称须为1至100个字。")
    if name in KEY_NAMES[BaseKind(base.kind)]:
        raise InvalidInput(
            "aggregation.base_item_is_key",
            f"“{name}”是{base.name}的主体标识，不需另设基础信息项。",
        )
    return name


def _item(session: Session, base: BaseDatabase, name: str) -> BaseItem:
    name = plain(name, "基础信息项名称")
    item = session.scalars(
        select(BaseItem).where(BaseItem.base_id == base.id, BaseItem.name == name)
    ).one_or_none()
    if item is None:
        raise NotFound("aggregation.base_item_not_found", f"{base.name}没有基础信息项“{name}”。")
    return item


def add_item(
    session: Session,
    actor: Actor,
    kind: BaseKind | str,
    *,
    name: str,
    source_resource_code: str,
    source_item: str,
) -> BaseItem:
    """Define a base item and its one authoritative source (一数一源, Art. 16).

    A second source for the same item is refused: change the source with ``set_source``. The
    base's table gains the item's columns and is filled from the source at once.
    """
    base = _base(session, kind)
    require_manage(actor, base)
    name = _clean_name(name, base)
    existing = session.scalars(
        select(BaseItem).where(BaseItem.base_id == base.id, BaseItem.name == name)
    ).one_or_none()
    if existing is not None:
        res = session.get(Resource, existing.source_resource_id)
        raise Conflict(
            "aggregation.base_item_has_source",
            f"基础信息项“{name}”已有权威来源（{res.name if res else ''}）；一数一源，"
            "如需更换请使用“更换来源”（第十六条）。",
        )
    resource = _check_source(session, base, name, source_resource_code, source_item)
    position = (
        session.scalar(select(func.max(BaseItem.position)).where(BaseItem.base_id == base.id)) or 0
    ) + 1
    item = BaseItem(
        base_id=base.id,
        name=name,
        position=position,
        source_resource_id=resource.id,
        source_item=source_item.strip(),
        defined_by=actor.person_id,
    )
    session.add(item)
    session.flush()
    conn = session.connection()
    conn.execute(text(f'ALTER TABLE "{base.table_name}" ADD COLUMN v{item.id} TEXT'))
    conn.execute(text(f'ALTER TABLE "{base.table_name}" ADD COLUMN l{item.id} INTEGER'))
    _refresh_item(session, base, item)
    _mark_thematic_stale(session, base)
    audit.record(
        session,
        actor,
        "aggregation.base.item.add",
        object_type="base_item",
        object_id=f"{base.kind}:{name}",
        summary=f"{base.name}新增基础信息项“{name}”，权威来源：{resource.name}（{resource.code}）"
        f"的“{item.source_item}”",
        change={"name": name, "resource": resource.code, "item": item.source_item},
        department_id=base.lead_department_id,
    )
    return item


def set_source(
    session: Session,
    actor: Actor,
    kind: BaseKind | str,
    *,
    name: str,
    source_resource_code: str,
    source_item: str,
) -> BaseItem:
    """Change a base item's one authoritative source; its values are taken from the new source
    and the old source becomes an ordinary one, checked for conflicts (Art. 16)."""
    base = _base(session, kind)
    require_manage(actor, base)
    item = _item(session, base, name)
    resource = _check_source(session, base, item.name, source_resource_code, source_item)
    old = session.get(Resource, item.source_resource_id)
    old_item = item.source_item
    if resource.id == item.source_resource_id and source_item.strip() == old_item:
        return item
    item.source_resource_id = resource.id
    item.source_item = source_item.strip()
    session.flush()
    _refresh_item(session, base, item)
    _mark_thematic_stale(session, base)
    audit.record(
        session,
        actor,
        "aggregation.base.item.source",
        object_type="base_item",
        object_id=f"{base.kind}:{item.name}",
        summary=f"{base.name}基础信息项“{item.name}”的权威来源由"
        f"{old.name if old else ''}（{old.code if old else ''}）更换为"
        f"{resource.name}（{resource.code}）",
        change={
            "name": item.name,
            "from": {"resource": old.code if old else None, "item": old_item},
            "to": {"resource": resource.code, "item": item.source_item},
        },
        department_id=base.lead_department_id,
    )
    return item


def remove_item(session: Session, actor: Actor, kind: BaseKind | str, *, name: str) -> None:
    """Remove a base item: its columns and its conflicts go; subjects no remaining source
    knows leave the base."""
    base = _base(session, kind)
    require_manage(actor, base)
    item = _item(session, base, name)
    item_id, item_name = item.id, item.name
    session.execute(delete(BaseConflict).where(BaseConflict.item_id == item_id))
    session.delete(item)
    session.flush()
    conn = session.connection()
    conn.execute(text(f'ALTER TABLE "{base.table_name}" DROP COLUMN v{item_id}'))
    conn.execute(text(f'ALTER TABLE "{base.table_name}" DROP COLUMN l{item_id}'))
    items = items_of(session, base)
    btable = base_table(base, [i.id for i in items])
    _prune(session, base, btable, items, _Scope())
    _count(session, base, btable)
    _mark_thematic_stale(session, base)
    audit.record(
        session,
        actor,
        "aggregation.base.item.remove",
        object_type="base_item",
        object_id=f"{base.kind}:{item_name}",
        summary=f"{base.name}删除基础信息项“{item_name}”",
        department_id=base.lead_department_id,
    )


# --- the data plane ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """Which subject keys a recomputation covers: all, the rows one load wrote, or one key."""

    key: str | None = None
    pool: Pool | None = None
    load_id: int | None = None

    @property
    def everything(self) -> bool:
        return self.key is None and self.load_id is None

    def keys(self, dialect: str, key_col: ColumnElement[Any]) -> ColumnElement[bool] | None:
        """A condition on ``key_col`` (a base key, a conflict's key) for the covered keys."""
        if self.key is not None:
            return key_col == self.key
        if self.load_id is not None and self.pool is not None:
            table = pools.current_table(self.pool)
            if table is None:
                return literal(False)
            alias = table.alias("scope_rows")
            return key_col.in_(
                select(_key(dialect, self.pool, alias)).where(alias.c[LOAD_COLUMN] == self.load_id)
            )
        return None

    def rows(
        self, dialect: str, pool: Pool, table: Any, key: ColumnElement[Any]
    ) -> ColumnElement[bool] | None:
        """A condition on the rows of ``pool``'s ``table`` (or an alias of it)."""
        if self.key is not None:
            return key == self.key
        if self.load_id is not None and self.pool is not None:
            if self.pool.id == pool.id:
                return typed(ColumnElement[bool], table.c[LOAD_COLUMN] == self.load_id)
            return self.keys(dialect, key)
        return None


def _where(*conds: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    return [c for c in conds if c is not None]


def _key(dialect: str, pool: Pool, table: Any) -> ColumnElement[Any]:
    key = key_item(pool.columns, pool.subject_column)
    assert key is not None
    return as_text(dialect, table.c[key["column"]], str(key["data_type"]))


def _value(dialect: str, pool: Pool, table: Any, item_name: str) -> ColumnElement[Any] | None:
    col = _column(pool.columns, item_name)
    if col is None or col["column"] == pool.subject_column:
        return None
    return as_text(dialect, table.c[col["column"]], str(col["data_type"]))


def _raw(pool: Pool, table: Any, item_name: str) -> ColumnElement[Any]:
    col = _column(pool.columns, item_name)
    assert col is not None
    return table.c[col["column"]]  # type: ignore[no-any-return]


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
        col = _column(pool.columns, item.name)
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
    scope: _Scope,
) -> None:
    """Recompute the columns of ``items`` from their authoritative ``pool`` for the keys in
    ``scope``. An incremental (load) scope only adds or updates; a full or one-key scope also
    clears values whose subject left the pool (a replace load, a correction)."""
    dialect = dialect_name(session)
    table = pools.current_table(pool)
    assert table is not None
    key = _key(dialect, pool, table)
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
                *_where(scope.rows(dialect, pool, table, key)),
            ),
        )
    )
    with_col = [i for i in items if _value(dialect, pool, table, i.source_item) is not None]
    without = [i for i in items if i not in with_col]
    if scope.load_id is None or scope.pool is None or scope.pool.id != pool.id:
        # Subjects the pool no longer holds lose these values (never someone else's value).
        gone = table.alias("present")
        cleared = {f"v{i.id}": null() for i in with_col} | {f"l{i.id}": null() for i in with_col}
        if cleared:
            session.execute(
                update(btable)
                .where(
                    ~exists().where(_key(dialect, pool, gone) == btable.c[KEY_COLUMN]),
                    *_where(scope.keys(dialect, btable.c[KEY_COLUMN])),
                )
                .values(cleared)
            )
    if without:
        session.execute(
            update(btable)
            .where(*_where(scope.keys(dialect, btable.c[KEY_COLUMN])))
            .values({f"v{i.id}": null() for i in without} | {f"l{i.id}": null() for i in without})
        )
    if with_col:
        values: dict[str, Any] = {}
        for i in with_col:
            values[f"v{i.id}"] = _value(dialect, pool, table, i.source_item)
            values[f"l{i.id}"] = case(
                (_raw(pool, table, i.source_item).is_not(None), table.c[LOAD_COLUMN]),
                else_=null(),
            )
        session.execute(
            update(btable)
            .where(btable.c[KEY_COLUMN] == key, *_where(scope.rows(dialect, pool, table, key)))
            .values(values)
        )


def _clear(session: Session, btable: Table, items: Sequence[BaseItem], scope: _Scope) -> None:
    """Items whose source has no data (yet, or any more) have no values."""
    if not items:
        return
    dialect = dialect_name(session)
    session.execute(
        update(btable)
        .where(*_where(scope.keys(dialect, btable.c[KEY_COLUMN])))
        .values({f"v{i.id}": null() for i in items} | {f"l{i.id}": null() for i in items})
    )


def _prune(
    session: Session, base: BaseDatabase, btable: Table, items: Sequence[BaseItem], scope: _Scope
) -> None:
    """Subjects that no authoritative source holds leave the base (keys = union of sources)."""
    dialect = dialect_name(session)
    grouped, _ = _by_source(session, base, items)
    conds: list[ColumnElement[bool]] = []
    for pool, _items in grouped.values():
        table = pools.current_table(pool)
        assert table is not None
        alias = table.alias(f"src{pool.id}")
        conds.append(~exists().where(_key(dialect, pool, alias) == btable.c[KEY_COLUMN]))
    session.execute(
        delete(btable).where(*conds, *_where(scope.keys(dialect, btable.c[KEY_COLUMN])))
    )


def _recompute_conflicts(
    session: Session,
    base: BaseDatabase,
    btable: Table,
    item: BaseItem,
    other: Pool,
    scope: _Scope,
) -> None:
    """Disagreements between ``other`` and the authoritative value of ``item`` (Art. 16, 20).

    Open conflicts whose disagreement is gone are closed; new disagreements become open
    conflicts, never twice the same open one, and one a person resolved comes back only when
    the other source loads the disagreeing value again. The base's value is never touched.
    """
    dialect = dialect_name(session)
    table = pools.current_table(other)
    if table is None:
        return
    conflicts = typed(Table, BaseConflict.__table__)
    key = _key(dialect, other, table)
    other_value = _value(dialect, other, table, item.name)
    if other_value is None:
        return
    authoritative = btable.c[f"v{item.id}"]
    now = utcnow()
    # 1. Close open conflicts that no longer hold.
    still = table.alias("still")
    still_key = _key(dialect, other, still)
    still_value = _value(dialect, other, still, item.name)
    assert still_value is not None
    bstill = btable.alias("bstill")
    session.execute(
        update(conflicts)
        .where(
            conflicts.c.item_id == item.id,
            conflicts.c.other_pool_id == other.id,
            conflicts.c.status == ConflictStatus.OPEN.value,
            ~exists()
            .select_from(bstill.join(still, still_key == bstill.c[KEY_COLUMN]))
            .where(
                bstill.c[KEY_COLUMN] == conflicts.c.subject_key,
                bstill.c[f"v{item.id}"] == conflicts.c.authoritative_value,
                still_value == conflicts.c.other_value,
            ),
            *_where(scope.keys(dialect, conflicts.c.subject_key)),
        )
        .values(
            status=ConflictStatus.RESOLVED.value,
            resolved_at=now,
            note=AUTO_CLOSE_NOTE,
        )
    )
    _expire_conflicts(session)
    # 2. Open the new ones.
    known = conflicts.alias("known")
    session.execute(
        insert(conflicts).from_select(
            [
                "base_id",
                "item_id",
                "subject_key",
                "authoritative_value",
                "other_value",
                "other_pool_id",
                "other_load_id",
                "status",
                "detected_at",
                "note",
            ],
            select(
                literal(base.id),
                literal(item.id),
                btable.c[KEY_COLUMN],
                authoritative,
                other_value,
                literal(other.id),
                table.c[LOAD_COLUMN],
                literal(ConflictStatus.OPEN.value),
                literal(now, type_=conflicts.c.detected_at.type),
                literal(""),
            )
            .select_from(btable.join(table, key == btable.c[KEY_COLUMN]))
            .where(
                authoritative.is_not(None),
                other_value.is_not(None),
                authoritative != other_value,
                ~exists().where(
                    known.c.item_id == item.id,
                    known.c.other_pool_id == other.id,
                    known.c.subject_key == btable.c[KEY_COLUMN],
                    known.c.authoritative_value == authoritative,
                    known.c.other_value == other_value,
                    or_(
                        known.c.status == ConflictStatus.OPEN.value,
                        and_(
                            known.c.resolved_by.is_not(None),
                            known.c.other_load_id == table.c[LOAD_COLUMN],
                        ),
                    ),
                ),
                *_where(scope.keys(dialect, btable.c[KEY_COLUMN])),
            ),
        )
    )


def _expire_conflicts(session: Session) -> None:
    """Conflicts loaded in the session before a set-based UPDATE reload on next access."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, BaseConflict):
            session.expire(obj)


def _count(session: Session, base: BaseDatabase, btable: Table) -> None:
    base.row_count = int(session.scalar(select(func.count()).select_from(btable)) or 0)
    base.built_at = utcnow()


def _refresh_item(session: Session, base: BaseDatabase, item: BaseItem) -> None:
    """One item in full: its values from its source, its conflicts with every other pool."""
    _lock(session, base)
    items = items_of(session, base)
    btable = base_table(base, [i.id for i in items])
    pool = _authoritative_pool(session, base, item)
    scope = _Scope()
    if pool is None:
        _clear(session, btable, [item], scope)
    else:
        _apply_source(session, base, btable, pool, [item], scope)
    _prune(session, base, btable, items, scope)
    # Conflicts of this item with its former source (now an ordinary one) or the new one.
    session.execute(
        update(BaseConflict)
        .where(
            BaseConflict.item_id == item.id,
            BaseConflict.status == ConflictStatus.OPEN.value,
            BaseConflict.other_pool_id == (pool.id if pool else -1),
        )
        .values(status=ConflictStatus.RESOLVED.value, resolved_at=utcnow(), note=AUTO_CLOSE_NOTE)
    )
    for other in _carriers(item, _fitting_pools(session, base)):
        _recompute_conflicts(session, base, btable, item, other, scope)
    _count(session, base, btable)


def _mark_thematic_stale(session: Session, base: BaseDatabase) -> None:
    from govdata.aggregation import thematic

    thematic.mark_base_stale(session, base)


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
    btable.create(conn)


def build(session: Session, actor: Actor, kind: BaseKind | str) -> BaseDatabase:
    """Full (re)build: the union of the authoritative sources' subjects, each item's value
    from its one source (Art. 16, 17 ¶2), conflicts recomputed against every other pool.

    Atomic: everything happens in one savepoint of the caller's transaction, so a failure
    midway leaves the previous base as it was, and readers see the old base until the commit.
    """
    base = _base(session, kind)
    require_manage(actor, base)
    with session.begin_nested():
        _full_build(session, base)
    _refresh_thematic(session, base)
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
            k = _key(dialect, pool, alias)
            key_selects.append(select(k.label("k")).where(k.is_not(None)))
        keys = union(*key_selects).subquery("keys")
        joined: Any = keys
        for pool, _items in grouped.values():
            alias = aliases[pool.id]
            joined = joined.outerjoin(alias, _key(dialect, pool, alias) == keys.c.k)
        columns: list[str] = [KEY_COLUMN]
        exprs: list[ColumnElement[Any]] = [keys.c.k]
        for pool, pool_items in grouped.values():
            alias = aliases[pool.id]
            for i in pool_items:
                value = _value(dialect, pool, alias, i.source_item)
                columns += [f"v{i.id}", f"l{i.id}"]
                if value is None:
                    exprs += [null(), null()]
                    continue
                raw = _raw(pool, alias, i.source_item)
                exprs += [value, case((raw.is_not(None), alias.c[LOAD_COLUMN]), else_=null())]
        session.execute(insert(btable).from_select(columns, select(*exprs).select_from(joined)))
    scope = _Scope()
    candidates = _fitting_pools(session, base)
    for item in items:
        for other in _carriers(item, candidates):
            _recompute_conflicts(session, base, btable, item, other, scope)
    _count(session, base, btable)


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
    scope = _Scope(pool=pool, load_id=load.id) if incremental else _Scope()
    touched: list[BaseDatabase] = []
    with session.begin_nested():
        for base in session.scalars(select(BaseDatabase).order_by(BaseDatabase.id)).all():
            if _rebuild_base(session, base, pool, scope):
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
            _rebuild_base(session, base, pool, _Scope(key=subject_key.strip()))


def _rebuild_base(session: Session, base: BaseDatabase, pool: Pool, scope: _Scope) -> bool:
    items = items_of(session, base)
    own = [i for i in items if i.source_resource_id == pool.resource_id]
    fit = pool_fits(base, pool)
    carried = [
        i
        for i in items
        if i.source_resource_id != pool.resource_id
        and fit
        and (col := _column(pool.columns, i.name)) is not None
        and col["column"] != pool.subject_column
    ]
    if not own and not carried:
        return False
    _lock(session, base)
    btable = base_table(base, [i.id for i in items])
    if own:
        if fit:
            _apply_source(session, base, btable, pool, own, scope)
        else:
            _clear(session, btable, own, scope)
        if not (scope.load_id is not None and scope.pool is not None):
            _prune(session, base, btable, items, scope)
        candidates = _fitting_pools(session, base)
        for item in own:
            for other in _carriers(item, candidates):
                _recompute_conflicts(session, base, btable, item, other, scope)
    for item in carried:
        _recompute_conflicts(session, base, btable, item, pool, scope)
    _count(session, base, btable)
    return True


def _refresh_thematic(session: Session, base: BaseDatabase) -> None:
    from govdata.aggregation import thematic

    thematic.refresh_for_base(session, base)


# --- quality (Art. 20) ----------------------------------------------------------------------


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
        key = _key(dialect, pool, table)
        for item in items:
            if item.source_resource_id == pool.resource_id:
                # The pool is this item's source: its values are the authoritative ones, as
                # the base holds them once rebuilt (quality is measured before the rebuild).
                source = _column(pool.columns, item.source_item)
                if source is not None and source["column"] != pool.subject_column:
                    filled = table.c[source["column"]].is_not(None)
                    n = int(session.scalar(select(func.count()).where(filled)) or 0)
                    total, agree = total + n, agree + n
                continue
            value = _value(dialect, pool, table, item.name)
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


# --- conflicts (Art. 16, 20) ----------------------------------------------------------------


def _visible_conflicts(actor: Actor) -> Any:
    stmt = select(BaseConflict).join(BaseDatabase, BaseDatabase.id == BaseConflict.base_id)
    if org_policy.sees_everything(actor):
        return stmt
    depts = actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)
    if not depts or actor.token_id is not None:
        return stmt.where(literal(False))
    other_dept = select(Pool.department_id).where(Pool.id == BaseConflict.other_pool_id)
    source_dept = (
        select(Resource.department_id)
        .join(BaseItem, BaseItem.source_resource_id == Resource.id)
        .where(BaseItem.id == BaseConflict.item_id)
    )
    return stmt.where(
        or_(
            BaseDatabase.lead_department_id.in_(depts),
            other_dept.scalar_subquery().in_(depts),
            source_dept.scalar_subquery().in_(depts),
        )
    )


def list_conflicts(
    session: Session,
    actor: Actor,
    kind: BaseKind | str | None = None,
    status: ConflictStatus | str | None = ConflictStatus.OPEN,
    *,
    subject_key: str | None = None,
    offset: int = 0,
    limit: int = 200,
) -> list[BaseConflict]:
    """The quality queue (Art. 20): the bureau and auditors see all; a department sees the
    conflicts of the bases it leads and those involving its own data."""
    require_read(actor)
    stmt = _visible_conflicts(actor)
    if kind is not None:
        stmt = stmt.where(BaseDatabase.kind == BaseKind(kind).value)
    if status is not None:
        stmt = stmt.where(BaseConflict.status == ConflictStatus(status).value)
    if subject_key:
        stmt = stmt.where(BaseConflict.subject_key == plain(subject_key, "主体标识"))
    stmt = stmt.order_by(BaseConflict.detected_at.desc(), BaseConflict.id.desc())
    return list(session.scalars(stmt.offset(max(offset, 0)).limit(min(max(limit, 1), 500))))


def count_conflicts(session: Session, actor: Actor, status: ConflictStatus | None) -> int:
    require_read(actor)
    stmt = _visible_conflicts(actor)
    if status is not None:
        stmt = stmt.where(BaseConflict.status == status.value)
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


@dataclass(frozen=True)
class ConflictInfo:
    """What a conflict's row shows besides its values."""

    base_kind: str
    base_name: str
    item_name: str
    authoritative_resource: str
    authoritative_department: str
    other_pool_code: str
    other_pool_name: str
    other_department: str
    can_resolve: bool


def describe_conflicts(
    session: Session, actor: Actor, conflicts: Sequence[BaseConflict]
) -> dict[int, ConflictInfo]:
    if not conflicts:
        return {}
    bases = {b.id: b for b in session.scalars(select(BaseDatabase))}
    items = {
        i.id: i
        for i in session.scalars(
            select(BaseItem).where(BaseItem.id.in_({c.item_id for c in conflicts}))
        )
    }
    pool_rows = {
        p.id: p
        for p in session.scalars(
            select(Pool).where(Pool.id.in_({c.other_pool_id for c in conflicts}))
        )
    }
    resources = {
        r.id: r
        for r in session.scalars(
            select(Resource).where(Resource.id.in_({i.source_resource_id for i in items.values()}))
        )
    }
    depts = _department_names(
        session,
        {p.department_id for p in pool_rows.values()}
        | {r.department_id for r in resources.values()},
    )
    out = {}
    for c in conflicts:
        base = bases[c.base_id]
        item = items[c.item_id]
        res = resources[item.source_resource_id]
        other = pool_rows[c.other_pool_id]
        out[c.id] = ConflictInfo(
            base_kind=base.kind,
            base_name=base.name,
            item_name=item.name,
            authoritative_resource=f"{res.name}（{res.code}）",
            authoritative_department=depts.get(res.department_id, ""),
            other_pool_code=other.code,
            other_pool_name=other.name,
            other_department=depts.get(other.department_id, ""),
            can_resolve=can_resolve(actor, base) and c.status == ConflictStatus.OPEN.value,
        )
    return out


def resolve_conflict(session: Session, actor: Actor, conflict_id: int, note: str) -> BaseConflict:
    """Close a conflict with a note (the bureau or the base's lead department, Art. 20 ¶1).

    Resolving records how the disagreement was handled; the authoritative value stays (a wrong
    authoritative value is corrected at its source, Art. 19).
    """
    require_read(actor)
    conflict: BaseConflict | None = session.scalars(
        _visible_conflicts(actor).where(BaseConflict.id == conflict_id)
    ).one_or_none()
    if conflict is None:
        raise NotFound("aggregation.conflict_not_found", "未找到该数据冲突。")
    base = session.get(BaseDatabase, conflict.base_id)
    assert base is not None
    if not can_resolve(actor, base):
        raise PermissionDenied(
            "aggregation.cannot_resolve_conflict",
            "只有市数据主管部门或该基础数据库的牵头建设部门可以处理数据冲突。",
        )
    if conflict.status != ConflictStatus.OPEN.value:
        raise Conflict("aggregation.conflict_closed", "该数据冲突已处理。")
    note = plain(note, "处理说明")
    if not note:
        raise InvalidInput("aggregation.conflict_note_required", "处理数据冲突须填写处理说明。")
    if len(note) > 2000:
        raise InvalidInput("aggregation.conflict_note_too_long", "处理说明不能超过2000个字。")
    conflict.status = ConflictStatus.RESOLVED.value
    conflict.resolved_by = actor.person_id
    conflict.resolved_at = utcnow()
    conflict.note = note
    item = session.get(BaseItem, conflict.item_id)
    audit.record(
        session,
        actor,
        "aggregation.base.conflict.resolve",
        object_type="base_conflict",
        object_id=conflict.id,
        summary=f"处理{base.name}“{item.name if item else ''}”的数据冲突"
        f"（主体 {conflict.subject_key}）",
        change={"note": note},
        department_id=base.lead_department_id,
    )
    return conflict


# --- a record with its provenance -------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    """Where a value came from: the load, its pool's resource and department, and when."""

    load_id: int
    department_id: int
    department_name: str
    resource_code: str
    resource_name: str
    loaded_at: datetime | None


@dataclass(frozen=True)
class RecordValue:
    item: str
    value: str | None
    provenance: Provenance | None


@dataclass(frozen=True)
class BaseRecord:
    kind: str
    base_name: str
    key_name: str
    subject_key: str
    values: list[RecordValue]
    conflicts: list[BaseConflict] = field(default_factory=list)


def record(session: Session, actor: Actor, kind: BaseKind | str, subject_key: str) -> BaseRecord:
    """One subject's base record, every value with its provenance (Art. 16, 25(2)).

    Staff read it; public accounts and systems are refused. The lookup is recorded in the
    audit chain: it reads a person's or an organization's data.
    """
    require_read(actor)
    base = _base(session, kind)
    key = plain(subject_key, base.key_name)
    if not key or len(key) > KEY_LENGTH:
        raise InvalidInput("aggregation.subject_key_invalid", f"请输入有效的{base.key_name}。")
    items = items_of(session, base)
    btable = base_table(base, [i.id for i in items])
    row = session.execute(select(btable).where(btable.c[KEY_COLUMN] == key)).mappings().first()
    if row is None:
        raise NotFound(
            "aggregation.base_record_not_found",
            f"{base.name}中没有{base.key_name}为 {key} 的主体。",
        )
    load_ids = {int(row[f"l{i.id}"]) for i in items if row[f"l{i.id}"] is not None}
    provenance = _provenance(session, load_ids)
    values = [
        RecordValue(
            item=i.name,
            value=row[f"v{i.id}"],
            provenance=provenance.get(int(row[f"l{i.id}"]))
            if row[f"l{i.id}"] is not None
            else None,
        )
        for i in items
    ]
    conflicts = list(
        session.scalars(
            select(BaseConflict)
            .where(
                BaseConflict.base_id == base.id,
                BaseConflict.subject_key == key,
                BaseConflict.status == ConflictStatus.OPEN.value,
            )
            .order_by(BaseConflict.id)
        )
    )
    audit.record(
        session,
        actor,
        "aggregation.base.record.read",
        object_type="base_record",
        object_id=f"{base.kind}:{key}",
        summary=f"查阅{base.name}主体记录",
    )
    return BaseRecord(
        kind=base.kind,
        base_name=base.name,
        key_name=base.key_name,
        subject_key=key,
        values=values,
        conflicts=conflicts,
    )


def _provenance(session: Session, load_ids: set[int]) -> dict[int, Provenance]:
    if not load_ids:
        return {}
    rows = session.execute(
        select(Load.id, Load.finished_at, Pool.department_id, Resource.code, Resource.name)
        .join(Pool, Pool.id == Load.pool_id)
        .join(Resource, Resource.id == Pool.resource_id)
        .where(Load.id.in_(load_ids))
    ).all()
    depts = _department_names(session, {int(r[2]) for r in rows})
    return {
        int(r[0]): Provenance(
            load_id=int(r[0]),
            department_id=int(r[2]),
            department_name=depts.get(int(r[2]), ""),
            resource_code=str(r[3]),
            resource_name=str(r[4]),
            loaded_at=r[1],
        )
        for r in rows
    }
