"""What departments obtain through the sharing system (Art. 24–26): *sources*.

A source is a published resource's pool (Art. 17), a thematic database registered in the
catalog (Art. 17 ¶3, 25(3)), or a base database (Art. 16, 25(2)). Each has a stable code (the
resource code; ``base.person`` … for base databases), a providing department, info items with
their share type, the data table that holds its current data (``None`` until loaded) and the
column holding the subject key. Everything in sharing names sources by this code.

Base databases' items are unconditional (Art. 25(2)): their share type is ``unconditional``
whatever the source resource says. Thematic databases are shared by law (Art. 25(3)): their
registered resource's share type applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from govdata.aggregation.models import BaseDatabase, BaseKind, Pool, ThematicDatabase
from govdata.aggregation.subjects import items_of
from govdata.aggregation.tables import KEY_COLUMN, base_table, pool_table, thematic_table
from govdata.aggregation.thematic.reading import describe
from govdata.catalog import published
from govdata.catalog.published import PublishedResource
from govdata.catalog.vocab import Category, ShareType
from govdata.sharing.models import SourceKind

BASE_PREFIX = "base."


@dataclass(frozen=True)
class SourceItem:
    name: str
    column: str  # its column in the data table
    data_type: str
    share_type: str  # ShareType value: the item's own, else the source's (Art. 24)
    is_subject_key: bool


@dataclass(frozen=True)
class SharedSource:
    code: str  # resource code, or ``base.<kind>``
    kind: SourceKind
    name: str
    provider_department_id: int
    share_type: str  # ShareType value of the source as a whole
    share_conditions: str
    legal_basis: str
    update_cycle: str | None
    subject_kind: str | None  # person / legal_person / …; base kind for base databases
    key_name: str | None  # the subject key's item name
    items: tuple[SourceItem, ...]
    table_name: str | None  # the current data's table; None until loaded
    key_column: str | None  # the subject key's column in that table
    loaded_at: datetime | None  # last load or build (freshness)
    row_count: int
    resource_id: int | None  # the catalog resource (pools, thematic databases)
    object_id: int  # the pool's, base database's or thematic database's id

    def item(self, name: str) -> SourceItem | None:
        return next((i for i in self.items if i.name == name), None)

    @property
    def loaded(self) -> bool:
        return self.table_name is not None

    @property
    def shareable_items(self) -> tuple[SourceItem, ...]:
        """Items that may be shared at all: not ``none`` (Art. 24)."""
        return tuple(i for i in self.items if i.share_type != ShareType.NONE.value)


def _pool_source(res: PublishedResource, pool: Pool | None) -> SharedSource:
    by_name = {i.name: i for i in res.items}
    if pool is not None and pool.table_name is not None:
        columns = pool.columns
        key_column = pool.subject_column
    else:
        from govdata.aggregation.pools import layout

        columns, key_column = layout(res)
    items = tuple(
        SourceItem(
            name=c["name"],
            column=c["column"],
            data_type=c["data_type"],
            share_type=(
                by_name[c["name"]].share_type.value if c["name"] in by_name else ShareType.NONE
            ),
            is_subject_key=c["column"] == key_column,
        )
        for c in columns
    )
    key_name = next((i.name for i in items if i.is_subject_key), None)
    return SharedSource(
        code=res.code,
        kind=SourceKind.POOL,
        name=res.name,
        provider_department_id=res.department_id,
        share_type=res.share_type.value,
        share_conditions=res.share_conditions,
        legal_basis=res.legal_basis,
        update_cycle=res.update_cycle.value,
        subject_kind=res.subject_kind.value,
        key_name=key_name,
        items=items,
        table_name=pool.table_name if pool is not None else None,
        key_column=key_column,
        loaded_at=pool.loaded_at if pool is not None else None,
        row_count=pool.row_count if pool is not None else 0,
        resource_id=res.resource_id,
        object_id=pool.id if pool is not None else 0,
    )


def _thematic_source(
    session: Session, res: PublishedResource, db: ThematicDatabase
) -> SharedSource:
    columns = describe(session, db)

    def share_type(label: str) -> str:
        # Shared by law (Art. 25(3)): the registered resource's type, item by item.
        item = res.item(label)
        return (item.share_type if item is not None else res.share_type).value

    items = tuple(
        SourceItem(
            name=c.label,
            column=c.column,
            data_type=c.data_type,
            share_type=share_type(c.label),
            is_subject_key=False,
        )
        for c in columns
    )
    return SharedSource(
        code=res.code,
        kind=SourceKind.THEMATIC,
        name=res.name,
        provider_department_id=db.department_id,
        share_type=res.share_type.value,
        share_conditions=res.share_conditions,
        legal_basis=res.legal_basis,
        update_cycle=res.update_cycle.value,
        subject_kind=res.subject_kind.value,
        key_name=None,
        items=items,
        table_name=db.table_name if db.refreshed_at is not None else None,
        key_column=KEY_COLUMN,
        loaded_at=db.refreshed_at,
        row_count=db.row_count,
        resource_id=res.resource_id,
        object_id=db.id,
    )


def _base_source(session: Session, base: BaseDatabase) -> SharedSource:
    items = items_of(session, base)
    return SharedSource(
        code=BASE_PREFIX + base.kind,
        kind=SourceKind.BASE,
        name=base.name,
        provider_department_id=base.lead_department_id,
        # Base items are the common need of every department: unconditional (Art. 25(2)).
        share_type=ShareType.UNCONDITIONAL.value,
        share_conditions="",
        legal_basis="《重庆市政务数据资源管理暂行办法》第二十五条第（二）项",
        update_cycle=None,
        subject_kind=base.kind,
        key_name=base.key_name,
        items=(
            SourceItem(
                name=base.key_name,
                column=KEY_COLUMN,
                data_type="C",
                share_type=ShareType.UNCONDITIONAL.value,
                is_subject_key=True,
            ),
            *(
                SourceItem(
                    name=i.name,
                    column=f"v{i.id}",
                    data_type="C",
                    share_type=ShareType.UNCONDITIONAL.value,
                    is_subject_key=False,
                )
                for i in items
            ),
        ),
        table_name=base.table_name if base.built_at is not None else None,
        key_column=KEY_COLUMN,
        loaded_at=base.built_at,
        row_count=base.row_count,
        resource_id=None,
        object_id=base.id,
    )


def share_catalog(session: Session) -> list[SharedSource]:
    """Every source of the published share catalog (Art. 26 ¶1), base databases first, then
    resources in code order. "Not shared" sources are listed too: departments see that they
    exist and may object (Art. 27), but cannot apply (Art. 24)."""
    bases = [
        _base_source(session, b)
        for b in session.scalars(select(BaseDatabase).order_by(BaseDatabase.id))
    ]
    resources = published.listing(session)
    return bases + _resource_sources(session, resources)


def _resource_sources(session: Session, resources: list[PublishedResource]) -> list[SharedSource]:
    ids = [r.resource_id for r in resources]
    if not ids:
        return []
    pools = {
        p.resource_id: p for p in session.scalars(select(Pool).where(Pool.resource_id.in_(ids)))
    }
    thematic = {
        t.resource_id: t
        for t in session.scalars(
            select(ThematicDatabase).where(ThematicDatabase.resource_id.in_(ids))
        )
    }
    out: list[SharedSource] = []
    for r in resources:
        if r.withdrawal_pending:
            continue
        if r.resource_id in thematic and r.category is Category.THEMATIC:
            out.append(_thematic_source(session, r, thematic[r.resource_id]))
        else:
            out.append(_pool_source(r, pools.get(r.resource_id)))
    return out


def get_source(session: Session, code: str) -> SharedSource | None:
    """The source with ``code`` in the share catalog; None when it is not there."""
    if code.startswith(BASE_PREFIX):
        kind = code[len(BASE_PREFIX) :]
        if kind not in {k.value for k in BaseKind}:
            return None
        base = session.scalars(select(BaseDatabase).where(BaseDatabase.kind == kind)).one_or_none()
        return _base_source(session, base) if base is not None else None
    res = published.find(session, code)
    if res is None:
        return None
    found = _resource_sources(session, [res])
    return found[0] if found else None


def data_table(source: SharedSource) -> Table | None:
    """The Core table holding the source's current data (None before it is loaded). Columns
    are ``SourceItem.column``; pools also have ``_row`` and ``_load_id``."""
    if source.table_name is None:
        return None
    if source.kind is SourceKind.POOL:
        columns = [
            {"name": i.name, "column": i.column, "data_type": i.data_type, "length": None}
            for i in source.items
        ]
        return pool_table(source.table_name, columns, source.key_column)
    if source.kind is SourceKind.THEMATIC:
        return thematic_table(source.table_name, len(source.items))
    return base_table_for(source)


def base_table_for(source: SharedSource) -> Table:
    """A base database's table with every item of the source (``v<N>`` values)."""
    ids = [int(i.column[1:]) for i in source.items if i.column.startswith("v")]
    return base_table(source.table_name or "", ids)
