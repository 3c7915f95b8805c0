"""Thematic databases (主题数据库, Art. 17 ¶3, 18, 25(3)).

A department defines one declaratively: a base database (its subjects are the rows), the base
items and pool items to show, joined on the subject key, and filters::

    {"base_kind": "person",
     "base_items": ["姓名", "出生日期"],
     "pool_items": [{"resource_code": "…", "item": "…", "label": "…"(optional)}],
     "filters": [{"item": "出生日期", "op": "ge", "value": "1960-01-01"}]}

It is materialized as ``thematic_<id>`` (``subject_key`` and ``t1…tN`` as text, in the order
base items then pool items) with one CREATE TABLE and one INSERT … SELECT; a refresh builds the
next table and swaps it in in the same transaction (``thematic_<id>_<n>``). Rows are the base's
subjects; pool values are left-joined, so a ``not_null`` filter on a pool item keeps only the
subjects that pool holds. Filter values are always bound parameters.

Defining one also registers it in the department's catalog list as a thematic resource (a draft
to submit like any other, Art. 12), whose data must be shared according to law (Art. 25(3)).
Another department's pool items are taken only where they are shared unconditionally: anything
else needs the sharing system's grant (Art. 24, 26), which a definition cannot presume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    MetaData,
    String,
    Table,
    Text,
    cast,
    func,
    insert,
    null,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from govdata.aggregation import base as base_db
from govdata.aggregation import pools
from govdata.aggregation.models import BaseDatabase, BaseItem, BaseKind, Pool, ThematicDatabase
from govdata.catalog import service as catalog_service
from govdata.catalog.models import Resource, ResourceRevision
from govdata.catalog.schemas import InfoItemIn, ResourceIn
from govdata.catalog.vocab import (
    Category,
    DataType,
    OpenType,
    ResourceFormat,
    SecurityLevel,
    ShareType,
    SubjectKind,
    UpdateCycle,
)
from govdata.core import audit
from govdata.core.actor import SYSTEM, Actor, Role
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from govdata.org import policy as org_policy
from govdata.org import service as org_service
from govdata.org.models import Department

OPERATORS: dict[str, str] = {
    "eq": "等于",
    "ne": "不等于",
    "gt": "大于",
    "ge": "大于等于",
    "lt": "小于",
    "le": "小于等于",
    "in": "属于",
    "contains": "包含",
    "not_null": "不为空",
}
MAX_COLUMNS = 100
MAX_FILTERS = 20
MAX_IN_VALUES = 100
NUMERIC_TYPES = frozenset({"N", "Y", "I", "B", "F"})
DEFINITION_KEYS = frozenset({"base_kind", "base_items", "pool_items", "filters"})
# The catalog class of a thematic resource, by its base (Category.THEMATIC / class path).
CLASS_PATHS = {
    BaseKind.PERSON: "自然人",
    BaseKind.LEGAL_ENTITY: "法人",
    BaseKind.GEO: "自然资源和空间地理",
    BaseKind.LICENCE: "电子证照",
}
SUBJECT_KINDS = {
    BaseKind.PERSON: SubjectKind.PERSON,
    BaseKind.LEGAL_ENTITY: SubjectKind.LEGAL_PERSON,
    BaseKind.GEO: SubjectKind.OTHER,
    BaseKind.LICENCE: SubjectKind.OTHER,
}
SECURITY_ORDER = [s.value for s in SecurityLevel]

NOT_FOUND = NotFound("aggregation.thematic_not_found", "未找到该主题数据库。")


def _bad(code: str, message: str) -> InvalidInput:
    return InvalidInput(f"aggregation.thematic_{code}", message)


# --- who may do what ---------------------------------------------------------------------------


def can_define(actor: Actor, department_id: int) -> bool:
    """A department builds its own thematic databases (Art. 17 ¶3): its data officers; the city
    bureau may on its behalf. People only."""
    if org_policy.is_city_admin(actor):
        return True
    return actor.token_id is None and department_id in actor.department_ids(Role.DEPARTMENT_OFFICER)


def require_define(actor: Actor, department_id: int) -> None:
    if not can_define(actor, department_id):
        raise PermissionDenied(
            "aggregation.cannot_define_thematic", "您无权为该部门建立或更新主题数据库。"
        )


def visible(actor: Actor) -> Any:
    """Read in the scope of the owning department (its people, its bureau, oversight); other
    departments obtain the data through the sharing system (Art. 26)."""
    return (
        select(ThematicDatabase)
        .join(Department, Department.id == ThematicDatabase.department_id)
        .where(org_policy.department_filter(actor))
    )


# --- reading ----------------------------------------------------------------------------------


def list_thematic(
    session: Session, actor: Actor, department_id: int | None = None
) -> list[ThematicDatabase]:
    stmt = visible(actor)
    if department_id is not None:
        stmt = stmt.where(ThematicDatabase.department_id == department_id)
    return list(session.scalars(stmt.order_by(ThematicDatabase.department_id, ThematicDatabase.id)))


def get_thematic(session: Session, actor: Actor, thematic_id: int) -> ThematicDatabase:
    db: ThematicDatabase | None = session.scalars(
        visible(actor).where(ThematicDatabase.id == thematic_id)
    ).one_or_none()
    if db is None:
        raise NOT_FOUND
    return db


@dataclass(frozen=True)
class ThematicColumn:
    """One column of a thematic database and where its values come from."""

    column: str  # t1, t2, …
    label: str
    origin: str  # "base" or "pool"
    item: str  # the base item's or the pool item's name
    resource_code: str  # the base item's authoritative source, or the pool's resource
    data_type: str
    length: int | None
    share_type: str


@dataclass(frozen=True)
class ThematicRows:
    key_name: str
    columns: list[ThematicColumn]
    rows: list[dict[str, Any]]  # "subject_key" and one entry per column label
    total: int
    offset: int
    limit: int


def rows(
    session: Session, actor: Actor, thematic_id: int, offset: int = 0, limit: int = 50
) -> ThematicRows:
    """A page of a thematic database's rows, in subject-key order."""
    db = get_thematic(session, actor, thematic_id)
    base = _base_of(session, db.definition)
    columns = describe(session, db)
    offset, limit = max(offset, 0), min(max(limit, 1), 200)
    if db.table_name is None:
        return ThematicRows(base.key_name, columns, [], 0, offset, limit)
    table = _table(db.table_name, len(columns))
    total = int(session.scalar(select(func.count()).select_from(table)) or 0)
    result = session.execute(
        select(table).order_by(table.c.subject_key).offset(offset).limit(limit)
    ).mappings()
    out = []
    for r in result:
        row: dict[str, Any] = {"subject_key": r["subject_key"]}
        for c in columns:
            row[c.label] = r.get(c.column)
        out.append(row)
    return ThematicRows(base.key_name, columns, out, total, offset, limit)


def describe(session: Session, db: ThematicDatabase) -> list[ThematicColumn]:
    """The columns of a definition as they stand now (a gone source keeps its label)."""
    try:
        return _columns(session, db.definition, strict=False)
    except DomainError:
        return []


# --- the definition ---------------------------------------------------------------------------


def _base_of(session: Session, definition: dict[str, Any]) -> BaseDatabase:
    kind = definition.get("base_kind")
    try:
        value = BaseKind(str(kind)).value
    except ValueError:
        raise _bad("unknown_base", f"“{kind}”不是基础数据库的种类。") from None
    base = session.scalars(select(BaseDatabase).where(BaseDatabase.kind == value)).one_or_none()
    if base is None:
        raise _bad("unknown_base", f"尚未建立{BaseKind(value).label}，不能以其为主题数据库的基础。")
    return base


def _resource(session: Session, code: str) -> tuple[Resource, ResourceRevision]:
    resource = session.scalars(select(Resource).where(Resource.code == code)).one_or_none()
    if resource is None:
        raise _bad("resource_unknown", f"未找到代码为 {code} 的政务数据资源。")
    revision = base_db.published_revision(session, resource)
    if revision is None:
        raise _bad(
            "resource_not_published",
            f"资源“{resource.name}”（{code}）不在已发布的政务数据资源目录中（第十二条）。",
        )
    return resource, revision


def _revision_item(revision: ResourceRevision, name: str) -> dict[str, Any] | None:
    return next((i for i in revision.data.get("items", []) if i["name"] == name), None)


def _columns(
    session: Session,
    definition: dict[str, Any],
    *,
    strict: bool = True,
    department_id: int | None = None,
) -> list[ThematicColumn]:
    """Resolve a (normalized) definition's columns. ``strict`` refuses a source that no longer
    fits; ``department_id`` also applies the sharing rule to other departments' items."""
    base = _base_of(session, definition)
    items = {i.name: i for i in base_db.items_of(session, base)}
    columns: list[ThematicColumn] = []
    labels: set[str] = {base.key_name, "subject_key"}

    def add(col: ThematicColumn) -> None:
        if col.label in labels:
            raise _bad(
                "duplicate_column",
                f"列“{col.label}”重复；同名的资源池信息项请另设列名（label）。",
            )
        labels.add(col.label)
        columns.append(col)

    for name in definition.get("base_items", []):
        item = items.get(name)
        if item is None:
            raise _bad("unknown_base_item", f"{base.name}没有基础信息项“{name}”。")
        source = session.get(Resource, item.source_resource_id)
        assert source is not None
        layout = base_db.source_layout(session, source)
        col = base_db._column(layout[0], item.source_item) if layout else None
        add(
            ThematicColumn(
                column=f"t{len(columns) + 1}",
                label=item.name,
                origin="base",
                item=item.name,
                resource_code=source.code,
                data_type=str(col["data_type"]) if col else "C",
                length=col.get("length") if col else None,
                share_type=ShareType.UNCONDITIONAL.value,  # Art. 25(2)
            )
        )
    for entry in definition.get("pool_items", []):
        code, name = entry["resource_code"], entry["item"]
        label = entry.get("label") or name
        try:
            resource, revision = _resource(session, code)
        except InvalidInput:
            if strict:
                raise
            add(ThematicColumn(f"t{len(columns) + 1}", label, "pool", name, code, "C", None, ""))
            continue
        layout = base_db.source_layout(session, resource)
        assert layout is not None
        cols, subject = layout
        if strict and not base_db.fits(base.kind, cols, subject):
            raise _bad(
                "key_mismatch",
                f"资源“{resource.name}”的主体标识不是“{base.key_name}”，不能与{base.name}关联。",
            )
        col = base_db._column(cols, name)
        if strict and (col is None or col["column"] == subject):
            raise _bad("pool_item_unknown", f"资源“{resource.name}”没有信息项“{name}”。")
        rev_item = _revision_item(revision, name) or {}
        share = str(rev_item.get("share_type") or revision.share_type)
        if (
            department_id is not None
            and resource.department_id != department_id
            and share != ShareType.UNCONDITIONAL.value
        ):
            raise _bad(
                "item_not_shared",
                f"资源“{resource.name}”的信息项“{name}”不是无条件共享的，须通过共享系统申请"
                "后使用（第二十四条、第二十六条）。",
            )
        add(
            ThematicColumn(
                column=f"t{len(columns) + 1}",
                label=label,
                origin="pool",
                item=name,
                resource_code=resource.code,
                data_type=str(col["data_type"]) if col else "C",
                length=col.get("length") if col else None,
                share_type=share,
            )
        )
    return columns


def normalize(session: Session, department_id: int, definition: Any) -> dict[str, Any]:
    """Check a definition and return it in its stored form, or refuse it with a stable code."""
    if not isinstance(definition, dict) or set(definition) - DEFINITION_KEYS:
        raise _bad(
            "bad_definition",
            "主题数据库定义只能包含 base_kind、base_items、pool_items、filters。",
        )
    base_items = definition.get("base_items") or []
    pool_items = definition.get("pool_items") or []
    filters = definition.get("filters") or []
    if not all(isinstance(x, list) for x in (base_items, pool_items, filters)):
        raise _bad("bad_definition", "base_items、pool_items、filters 须为列表。")
    norm: dict[str, Any] = {
        "base_kind": base_db.plain(str(definition.get("base_kind") or ""), "基础数据库种类"),
        "base_items": [],
        "pool_items": [],
        "filters": [],
    }
    for name in base_items:
        if not isinstance(name, str) or not name.strip():
            raise _bad("bad_definition", "基础信息项须为名称。")
        norm["base_items"].append(base_db.plain(name, "基础信息项"))
    for entry in pool_items:
        if (
            not isinstance(entry, dict)
            or set(entry) - {"resource_code", "item", "label"}
            or not isinstance(entry.get("resource_code"), str)
            or not isinstance(entry.get("item"), str)
            or not entry["resource_code"].strip()
            or not entry["item"].strip()
            or not isinstance(entry.get("label", ""), str)
        ):
            raise _bad("bad_definition", "资源池信息项须写明资源代码和信息项名称。")
        clean = {
            "resource_code": base_db.plain(entry["resource_code"], "资源代码"),
            "item": base_db.plain(entry["item"], "信息项"),
        }
        label = base_db.plain(str(entry.get("label") or ""), "列名")
        if label:
            if len(label) > 100:
                raise _bad("bad_definition", "列名不能超过100个字。")
            clean["label"] = label
        norm["pool_items"].append(clean)
    if not norm["base_items"] and not norm["pool_items"]:
        raise _bad("empty", "请至少选择一个基础信息项或资源池信息项。")
    if len(norm["base_items"]) + len(norm["pool_items"]) > MAX_COLUMNS:
        raise _bad("too_many", f"一个主题数据库最多 {MAX_COLUMNS} 列。")
    if len(filters) > MAX_FILTERS:
        raise _bad("too_many", f"筛选条件最多 {MAX_FILTERS} 个。")
    columns = _columns(session, norm, department_id=department_id)
    by_label = {c.label: c for c in columns}
    for f in filters:
        if not isinstance(f, dict) or set(f) - {"item", "op", "value"}:
            raise _bad("bad_filter", "筛选条件须包含 item、op、value。")
        item = base_db.plain(str(f.get("item") or ""), "筛选条件")
        op = base_db.plain(str(f.get("op") or ""), "筛选运算")
        col = by_label.get(item)
        if col is None:
            raise _bad("bad_filter", f"筛选条件中的“{item}”不是本主题数据库选取的列。")
        if op not in OPERATORS:
            raise _bad(
                "bad_operator",
                f"“{op}”不是允许的筛选运算；可用：{'、'.join(OPERATORS)}。",
            )
        norm["filters"].append({"item": item, "op": op, "value": _filter_value(col, op, f)})
    return norm


def _filter_value(col: ThematicColumn, op: str, f: dict[str, Any]) -> Any:
    value = f.get("value")
    if op == "not_null":
        return None
    if op == "in":
        if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES:
            raise _bad(
                "bad_filter_value",
                f"“属于”条件须给出 1 至 {MAX_IN_VALUES} 个取值的列表（{col.label}）。",
            )
        return [_one_value(col, v) for v in value]
    return _one_value(col, value)


def _one_value(col: ThematicColumn, value: Any) -> Any:
    if value is None or isinstance(value, dict | list):
        raise _bad("bad_filter_value", f"筛选条件“{col.label}”须给出一个取值。")
    if col.data_type in NUMERIC_TYPES:
        if isinstance(value, bool):
            raise _bad("bad_filter_value", f"“{col.label}”是数值，筛选取值须为数字。")
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            raise _bad(
                "bad_filter_value", f"“{col.label}”是数值，筛选取值“{value}”不是数字。"
            ) from None
    if col.data_type == "L":
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value).strip().lower()
        if text in ("true", "是", "1"):
            return "true"
        if text in ("false", "否", "0"):
            return "false"
        raise _bad("bad_filter_value", f"“{col.label}”是逻辑值，筛选取值须为“是”或“否”。")
    text = str(value)
    base_db.plain(text, "筛选取值")
    if len(text) > 200:
        raise _bad("bad_filter_value", "筛选取值不能超过200个字。")
    return text


def _condition(expr: ColumnElement[Any], col: ThematicColumn, f: dict[str, Any]) -> Any:
    op, value = f["op"], f["value"]
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
    raise _bad("bad_operator", f"“{op}”不是允许的筛选运算。")


# --- materializing -----------------------------------------------------------------------------


def _table(name: str, n: int) -> Table:
    cols: list[Column[Any]] = [Column("subject_key", String(base_db.KEY_LENGTH), primary_key=True)]
    cols += [Column(f"t{i + 1}", Text) for i in range(n)]
    return Table(name, MetaData(), *cols)


def _next_name(db: ThematicDatabase) -> str:
    if db.table_name is None:
        return f"thematic_{db.id}"
    match = re.fullmatch(rf"thematic_{db.id}(?:_(\d+))?", db.table_name)
    number = int(match.group(1) or 0) + 1 if match else 1
    return f"thematic_{db.id}_{number}"


def _materialize(session: Session, db: ThematicDatabase) -> None:
    """CREATE TABLE + one INSERT … SELECT (base ⟕ pools on the subject key, filtered), then
    swap it in for the previous table in the same transaction."""
    # One refresh of a thematic database at a time; the current table name as committed.
    session.refresh(db, with_for_update=True)
    dialect = base_db.dialect_name(session)
    base = _base_of(session, db.definition)
    columns = _columns(session, db.definition, strict=True)
    items = {i.name: i for i in base_db.items_of(session, base)}
    btable = base_db.base_table(base, [i.id for i in items.values()]).alias("b")
    key = btable.c[base_db.KEY_COLUMN]
    joined: Any = btable
    aliases: dict[int, Any] = {}
    exprs: dict[str, ColumnElement[Any]] = {}
    for col in columns:
        if col.origin == "base":
            exprs[col.label] = btable.c[f"v{items[col.item].id}"]
            continue
        pool = session.scalars(
            select(Pool)
            .join(Resource, Resource.id == Pool.resource_id)
            .where(Resource.code == col.resource_code)
        ).one_or_none()
        table = pools.current_table(pool) if pool is not None else None
        if pool is None or table is None or not base_db.pool_fits(base, pool):
            exprs[col.label] = cast(null(), Text)
            continue
        alias = aliases.get(pool.id)
        if alias is None:
            alias = aliases[pool.id] = table.alias(f"p{pool.id}")
            joined = joined.outerjoin(alias, base_db._key(dialect, pool, alias) == key)
        value = base_db._value(dialect, pool, alias, col.item)
        exprs[col.label] = value if value is not None else cast(null(), Text)
    by_label = {c.label: c for c in columns}
    conditions = [
        _condition(exprs[f["item"]], by_label[f["item"]], f)
        for f in db.definition.get("filters", [])
    ]
    name = _next_name(db)
    conn = session.connection()
    pools.drop_table(conn, name)
    target = _table(name, len(columns))
    target.create(conn)
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


# --- registration in the catalog (Art. 11, 12, 25(3)) -----------------------------------------


def _values(enum: type[StrEnum]) -> set[str]:
    return {m.value for m in enum}


def _register(
    session: Session,
    actor: Actor,
    db: ThematicDatabase,
    columns: list[ThematicColumn],
    legal_basis: str,
) -> Resource:
    base = _base_of(session, db.definition)
    kind = BaseKind(base.kind)
    codes = {c.resource_code for c in columns}
    revisions = list(
        session.scalars(
            select(ResourceRevision)
            .join(Resource, Resource.published_revision_id == ResourceRevision.id)
            .where(Resource.code.in_(codes))
        )
    )
    bases = [str(r.data.get("legal_basis") or "").strip() for r in revisions]
    basis = legal_basis.strip() or "；".join(dict.fromkeys(b for b in bases if b))
    levels = [str(r.data.get("security_level") or "internal") for r in revisions]
    security = max(
        levels or ["internal"], key=lambda s: SECURITY_ORDER.index(s) if s in SECURITY_ORDER else 1
    )
    cycles = [
        UpdateCycle(r.update_cycle) for r in revisions if r.update_cycle in _values(UpdateCycle)
    ]
    timed = [c for c in cycles if c.max_days is not None]
    cycle = min(timed, key=lambda c: c.max_days or 0) if timed else UpdateCycle.IRREGULAR
    items = [
        InfoItemIn(
            name=base.key_name,
            data_type=DataType.C,
            length=base_db.KEY_LENGTH,
            is_subject_key=True,
        )
    ]
    for c in columns:
        data_type = DataType(c.data_type) if c.data_type in _values(DataType) else DataType.C
        length = c.length if c.length else (255 if data_type is DataType.C else None)
        share = (
            ShareType(c.share_type)
            if c.share_type in _values(ShareType)
            else ShareType.UNCONDITIONAL
        )
        items.append(
            InfoItemIn(
                name=c.label,
                data_type=data_type,
                length=length,
                share_type=None if share is ShareType.UNCONDITIONAL else share,
            )
        )
    data = ResourceIn(
        category=Category.THEMATIC,
        class_path=CLASS_PATHS[kind],
        name=db.name,
        abstract=db.description
        or f"{db.name}（主题数据库，汇聚自{base.name}和部门政务数据资源池）",
        format=ResourceFormat.DATABASE,
        share_type=ShareType.UNCONDITIONAL,  # Art. 25(3)
        share_method="共享系统",
        open_type=OpenType.NONE,
        legal_basis=basis,
        update_cycle=cycle,
        security_level=SecurityLevel(security),
        subject_kind=SUBJECT_KINDS[kind],
        items=items,
    )
    return catalog_service.create_resource(session, actor, db.department_id, data)


def define(
    session: Session,
    actor: Actor,
    department_id: int,
    *,
    name: str,
    description: str,
    definition: dict[str, Any],
    legal_basis: str = "",
) -> ThematicDatabase:
    """Define, materialize and register a thematic database (Art. 17 ¶3, 25(3)).

    ``legal_basis`` is what the registered resource cites; blank takes the sources' own bases.
    All or nothing: a refused registration leaves neither the database nor its table.
    """
    dept = org_service.get_department(session, actor, department_id)
    require_define(actor, dept.id)
    name = base_db.plain(name, "主题数据库名称")
    if not 2 <= len(name) <= 200:
        raise _bad("name", "主题数据库名称须为2至200个字。")
    description = base_db.plain(description, "说明")
    legal_basis = base_db.plain(legal_basis, "法律法规依据")
    if len(description) > 4000 or len(legal_basis) > 2000:
        raise _bad("description", "说明不能超过4000个字，依据不能超过2000个字。")
    if session.scalar(
        select(ThematicDatabase.id).where(
            ThematicDatabase.department_id == dept.id, ThematicDatabase.name == name
        )
    ):
        raise Conflict("aggregation.thematic_name_taken", f"本部门已有名为“{name}”的主题数据库。")
    norm = normalize(session, dept.id, definition)
    columns = _columns(session, norm, department_id=dept.id)
    with session.begin_nested():
        db = ThematicDatabase(
            department_id=dept.id,
            name=name,
            description=description,
            definition=norm,
            created_by=actor.person_id,
            row_count=0,
            stale=True,
        )
        session.add(db)
        session.flush()
        _materialize(session, db)
        resource = _register(session, actor, db, columns, legal_basis)
        db.resource_id = resource.id
        session.flush()
    audit.record(
        session,
        actor,
        "aggregation.thematic.define",
        object_type="thematic_database",
        object_id=db.id,
        summary=f"建立主题数据库“{name}”（{db.row_count} 行），登记为目录资源 {resource.code}",
        change={"name": name, "definition": norm, "resource": resource.code},
        department_id=dept.id,
    )
    return db


def refresh(session: Session, actor: Actor, thematic_id: int) -> ThematicDatabase:
    """Rebuild a thematic database from its sources now (Art. 18)."""
    db = get_thematic(session, actor, thematic_id)
    require_define(actor, db.department_id)
    with session.begin_nested():
        _materialize(session, db)
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
        d = db.definition or {}
        reads_pool = any(p.get("resource_code") == pool.code for p in d.get("pool_items", []))
        if reads_pool or d.get("base_kind") in kinds:
            out.append(db)
    return out


def _of_base(session: Session, base: BaseDatabase) -> list[ThematicDatabase]:
    return [
        db
        for db in session.scalars(select(ThematicDatabase).order_by(ThematicDatabase.id))
        if (db.definition or {}).get("base_kind") == base.kind
    ]


def _refresh_all(session: Session, dbs: list[ThematicDatabase], why: str) -> list[ThematicDatabase]:
    """Refresh each in its own savepoint; one whose sources broke stays marked stale."""
    done = []
    for db in dbs:
        try:
            with session.begin_nested():
                _materialize(session, db)
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


# --- the define form --------------------------------------------------------------------------

FILTER_SYMBOLS = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    "<>": "ne",
    ">": "gt",
    ">=": "ge",
    "<": "lt",
    "<=": "le",
    **{label: op for op, label in OPERATORS.items()},
    **{op: op for op in OPERATORS},
}


def parse_form(
    base_kind: str, base_items: list[str], pool_lines: str, filter_lines: str
) -> dict[str, Any]:
    """The define form's text fields as a definition.

    Pool items, one per line: ``资源代码 信息项 [列名]``. Filters, one per line:
    ``列 运算 取值`` where 运算 is a code (``ge``), a symbol (``>=``) or its label (``大于等于``);
    ``属于`` takes comma-separated values and ``不为空`` none.
    """
    pool_items: list[dict[str, Any]] = []
    for n, line in enumerate(pool_lines.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (2, 3):
            raise _bad("bad_definition", f"资源池信息项第 {n} 行应为“资源代码 信息项 [列名]”。")
        entry = {"resource_code": parts[0], "item": parts[1]}
        if len(parts) == 3:
            entry["label"] = parts[2]
        pool_items.append(entry)
    filters: list[dict[str, Any]] = []
    for n, line in enumerate(filter_lines.splitlines(), start=1):
        parts = line.split(maxsplit=2)
        if not parts:
            continue
        if len(parts) < 2:
            raise _bad("bad_filter", f"筛选条件第 {n} 行应为“列 运算 取值”。")
        op = FILTER_SYMBOLS.get(parts[1])
        if op is None:
            raise _bad(
                "bad_operator",
                f"筛选条件第 {n} 行的“{parts[1]}”不是允许的运算；可用："
                + "、".join(OPERATORS.values())
                + "。",
            )
        value: Any = parts[2].strip() if len(parts) > 2 else None
        if op == "in" and value is not None:
            value = [v.strip() for v in re.split(r"[,，、]", value) if v.strip()]
        if op != "not_null" and value in (None, "", []):
            raise _bad("bad_filter_value", f"筛选条件第 {n} 行缺少取值。")
        filters.append({"item": parts[0], "op": op, "value": value})
    return {
        "base_kind": base_kind,
        "base_items": [b for b in base_items if b.strip()],
        "pool_items": pool_items,
        "filters": filters,
    }


def definition_text(definition: dict[str, Any]) -> tuple[str, str]:
    """A stored definition's pool items and filters as the form's text lines."""
    pool_lines = "\n".join(
        " ".join(filter(None, [p["resource_code"], p["item"], p.get("label", "")]))
        for p in definition.get("pool_items", [])
    )
    filter_lines = []
    for f in definition.get("filters", []):
        value = f.get("value")
        if isinstance(value, list):
            value = "，".join(str(v) for v in value)
        filter_lines.append(" ".join(str(x) for x in (f["item"], f["op"], value) if x is not None))
    return pool_lines, "\n".join(filter_lines)


def filter_label(f: dict[str, Any]) -> str:
    value = f.get("value")
    if isinstance(value, list):
        value = "、".join(str(v) for v in value)
    op = OPERATORS.get(str(f.get("op")), str(f.get("op")))
    return f"{f.get('item')} {op}" + (f" {value}" if value is not None else "")


def registered_resource(session: Session, db: ThematicDatabase) -> Resource | None:
    return session.get(Resource, db.resource_id) if db.resource_id else None
