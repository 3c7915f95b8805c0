"""Base databases (基础数据库, Art. 16, 17 ¶2, 25(2)): setting one up and defining its items.

Each base database is led by one department (牵头建设部门, Art. 17 ¶2), which defines its base
items. Every base item has exactly one authoritative source (一数一源, Art. 16): an info item of
one published resource, i.e. a column of that resource's pool. Adding an item or changing its
source fills it at once (``engine.refresh_item``); the thematic databases built on the base are
marked out of date (Art. 18).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from govdata.aggregation import collected, policy, pools, thematic
from govdata.aggregation.base import engine
from govdata.aggregation.base.scope import Scope
from govdata.aggregation.errors import BaseItemNotFound, DepartmentNotFound, ResourceNotFound
from govdata.aggregation.models import BaseConflict, BaseDatabase, BaseItem, BaseKind
from govdata.aggregation.subjects import (
    KEY_COLUMN,
    KEY_NAME,
    KEY_NAMES,
    base_table,
    column_named,
    fits,
    items_of,
    require_base,
)
from govdata.aggregation.text import plain
from govdata.catalog import published
from govdata.catalog.published import CatalogResource
from govdata.catalog.vocab import ShareType
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.errors import Conflict, InvalidInput
from govdata.core.pagination import MAX_LIMIT, Page
from govdata.org.models import Department

# --- reading the definitions ------------------------------------------------------------------


def list_bases(session: Session, actor: Actor) -> list[BaseDatabase]:
    policy.require_read_bases(actor)
    return list(session.scalars(select(BaseDatabase).order_by(BaseDatabase.id)))


def get_base(session: Session, actor: Actor, kind: BaseKind | str) -> BaseDatabase:
    policy.require_read_bases(actor)
    return require_base(session, kind)


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
    sources = published.resources(session, {i.source_resource_id for i in items})
    layouts = pools.layouts_of(session, (r.published for r in sources.values() if r.published))
    views = []
    for item in items:
        res = sources[item.source_resource_id]
        layout = layouts.get(res.resource_id)
        col = column_named(layout[0], item.source_item) if layout else None
        views.append(
            ItemView(
                item=item,
                resource_code=res.code,
                resource_name=res.name,
                department_id=res.department_id,
                department_name=res.department_name,
                data_type=str(col["data_type"]) if col else None,
            )
        )
    return views


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
    policy.require_read_bases(actor)
    base = require_base(session, kind)
    options = []
    for res, (columns, subject) in collected.current(session).fitting(base.kind):
        if res.withdrawal_pending:
            continue
        options.append(
            SourceOption(
                resource_id=res.resource_id,
                code=res.code,
                name=res.name,
                department_name=res.department_name,
                items=[c["name"] for c in columns if c["column"] != subject],
            )
        )
    return options


OPTION_SORTS = ("department", "name", "code")


def find_source_options(
    session: Session,
    actor: Actor,
    kind: BaseKind | str,
    *,
    q: str = "",
    sort: str = "department",
    offset: int = 0,
    limit: int = 50,
) -> Page[SourceOption]:
    """A page of ``source_options`` (issue 16: the person base has ~900 of them): those whose
    name, code, department or an item contains ``q``, sorted by department, name or code."""
    options = source_options(session, actor, kind)
    needle = q.strip()
    if needle:
        options = [
            o
            for o in options
            if needle in o.name
            or needle in o.code
            or needle in o.department_name
            or any(needle in i for i in o.items)
        ]
    if sort == "name":
        options.sort(key=lambda o: (o.name, o.code))
    elif sort == "code":
        options.sort(key=lambda o: o.code)
    else:
        options.sort(key=lambda o: (o.department_name, o.name, o.code))
    offset = max(offset, 0)
    limit = min(max(limit, 1), MAX_LIMIT)
    return Page(options[offset : offset + limit], len(options), offset, limit)


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
    policy.require_bureau(actor)
    kind = BaseKind(kind)
    if session.scalar(select(BaseDatabase.id).where(BaseDatabase.kind == kind.value)):
        raise Conflict("aggregation.base_exists", f"{kind.label}已经建立。")
    dept = session.get(Department, lead_department_id)
    if dept is None:
        raise DepartmentNotFound("未找到该牵头建设部门。")
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
    pools.create_table(conn, base_table(base, []), KEY_COLUMN)
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
    policy.require_bureau(actor)
    base = require_base(session, kind)
    dept = session.get(Department, lead_department_id)
    if dept is None:
        raise DepartmentNotFound("未找到该牵头建设部门。")
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
) -> CatalogResource:
    """The source must be a published resource with the item, keyed as the base (Art. 16)."""
    resource_code = plain(resource_code, "资源代码")
    source_item = plain(source_item, "信息项名称")
    resource = published.resource(session, resource_code)
    if resource is None:
        raise ResourceNotFound(resource_code)
    carried = resource.published
    layout = pools.layouts_of(session, [carried]).get(resource.resource_id) if carried else None
    if carried is None or layout is None:
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
    col = column_named(columns, source_item)
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
    item = carried.item(source_item)
    if item is not None and item.share_type != ShareType.UNCONDITIONAL:
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
        raise BaseItemNotFound(base.name, name)
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
    base = require_base(session, kind)
    policy.require_manage_base(actor, base)
    name = _clean_name(name, base)
    existing = session.scalars(
        select(BaseItem).where(BaseItem.base_id == base.id, BaseItem.name == name)
    ).one_or_none()
    if existing is not None:
        res = published.resources(session, [existing.source_resource_id]).get(
            existing.source_resource_id
        )
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
        source_resource_id=resource.resource_id,
        source_item=source_item.strip(),
        defined_by=actor.person_id,
    )
    session.add(item)
    session.flush()
    conn = session.connection()
    conn.execute(text(f'ALTER TABLE "{base.table_name}" ADD COLUMN v{item.id} TEXT'))
    conn.execute(text(f'ALTER TABLE "{base.table_name}" ADD COLUMN l{item.id} INTEGER'))
    engine.refresh_item(session, base, item)
    thematic.mark_base_stale(session, base)
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
    base = require_base(session, kind)
    policy.require_manage_base(actor, base)
    item = _item(session, base, name)
    resource = _check_source(session, base, item.name, source_resource_code, source_item)
    old = published.resources(session, [item.source_resource_id]).get(item.source_resource_id)
    old_item = item.source_item
    if resource.resource_id == item.source_resource_id and source_item.strip() == old_item:
        return item
    item.source_resource_id = resource.resource_id
    item.source_item = source_item.strip()
    session.flush()
    engine.refresh_item(session, base, item)
    thematic.mark_base_stale(session, base)
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
    base = require_base(session, kind)
    policy.require_manage_base(actor, base)
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
    engine.prune(session, base, btable, items, Scope())
    engine.count(session, base, btable)
    thematic.mark_base_stale(session, base)
    audit.record(
        session,
        actor,
        "aggregation.base.item.remove",
        object_type="base_item",
        object_id=f"{base.kind}:{item_name}",
        summary=f"{base.name}删除基础信息项“{item_name}”",
        department_id=base.lead_department_id,
    )
