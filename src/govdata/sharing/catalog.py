"""The share catalog in use (Art. 24–26): what departments browse before they register or apply.

Built on ``sources.share_catalog`` (every source of the published share catalog: base
databases, thematic databases, departments' pools), each entry adds what an officer needs to
decide: the provider department's name, the share type with its conditions and legal basis
(Art. 25(1)), the note of the rule that applies (base databases unconditional, Art. 25(2);
thematic databases shared by law, Art. 25(3)), freshness against the update cycle (Art. 18, 20),
the pool's latest quality score (Art. 20), and whether it may be applied for at all: a "not
shared" source is listed and marked, with no apply button but an objection link (Art. 24, 27).

Every government staff member browses (``policy.can_browse``); the public never does.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from govdata.aggregation.models import BaseDatabase, Pool, QualitySnapshot, ThematicDatabase
from govdata.aggregation.quality.reports import Metrics
from govdata.catalog import published, vocabularies
from govdata.catalog.vocab import Category, ShareType, UpdateCycle
from govdata.core import calendar
from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.core.errors import PermissionDenied
from govdata.core.pagination import MAX_LIMIT, Page
from govdata.core.spreadsheet_safety import xlsx_row
from govdata.org.models import Department
from govdata.sharing import policy
from govdata.sharing.errors import SourceNotFound
from govdata.sharing.models import Grant, SourceKind
from govdata.sharing.sources import (
    BASE_PREFIX,
    SharedSource,
    SourceItem,
    get_source,
    share_catalog,
)

MAX_QUERY = 100  # characters of a search text

BASE_NOTE = (
    "基础数据库的基础信息项是各政务部门履行行政管理职能的共同需要，"
    "应当无条件共享（第二十五条第（二）项）。"
)
THEMATIC_NOTE = "主题数据库的数据应当依法予以共享（第二十五条第（三）项）。"
RESTRICTED_NOTE = (
    "有条件共享类和不予共享类应当有法律、行政法规或者党中央、国务院政策依据"
    "（第二十五条第（一）项）。"
)


def require_browse(actor: Actor) -> None:
    """Art. 26: government departments obtain data by the share catalog; the public does not."""
    if not policy.can_browse(actor):
        raise PermissionDenied("sharing.browse_forbidden", "共享目录仅向政务部门工作人员开放。")


@dataclass(frozen=True)
class CatalogFilters:
    """What the list is narrowed to; every field optional."""

    q: str = ""  # text in the name, code, an item's name or the provider's name
    department_id: int | None = None  # provider department
    share_type: str | None = None  # ShareType value
    kind: str | None = None  # SourceKind value
    loaded: bool | None = None


@dataclass(frozen=True)
class Freshness:
    """The current data against the update cycle (Art. 18, 20): late when today is past the
    last load (or build) plus the cycle's calendar days, as aggregation's timeliness reckons."""

    loaded_at: datetime | None
    due_on: date | None
    status: str  # never_loaded / irregular / late / on_time

    @property
    def late(self) -> bool:
        return self.status == "late"

    @property
    def label(self) -> str:
        return {
            "never_loaded": "未汇聚",
            "irregular": "不定期更新",
            "late": "已超期",
            "on_time": "按期",
        }[self.status]


def freshness(source: SharedSource, today: date) -> Freshness:
    if source.loaded_at is None:
        return Freshness(None, None, "never_loaded")
    cycle = UpdateCycle.parse(source.update_cycle or "")
    max_days = cycle.max_days if isinstance(cycle, UpdateCycle) else None
    if max_days is None:
        return Freshness(source.loaded_at, None, "irregular")
    loaded_on = source.loaded_at.astimezone(CITY_TZ)
    due = loaded_on.date() + timedelta(days=max_days)
    return Freshness(source.loaded_at, due, "late" if today > due else "on_time")


def _label(share_type: str) -> str:
    return ShareType(share_type).label


@dataclass(frozen=True)
class CatalogEntry:
    """One source of the share catalog as departments see it."""

    source: SharedSource
    department_name: str
    freshness: Freshness
    quality: Metrics | None  # the pool's latest snapshot; None: not measured / not a pool
    quality_measured_at: datetime | None

    @property
    def code(self) -> str:
        return self.source.code

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def kind_label(self) -> str:
        return self.source.kind.label

    @property
    def share_type_label(self) -> str:
        return _label(self.source.share_type)

    @property
    def shared(self) -> bool:
        """Art. 24: a "not shared" source cannot be applied for."""
        return self.source.share_type != ShareType.NONE.value

    @property
    def rule_note(self) -> str:
        """The rule of Art. 25 the source's share type stands on."""
        if self.source.kind is SourceKind.BASE:
            return BASE_NOTE
        if self.source.kind is SourceKind.THEMATIC:
            return THEMATIC_NOTE
        if self.source.share_type != ShareType.UNCONDITIONAL.value:
            return RESTRICTED_NOTE
        return ""

    @property
    def basis_missing(self) -> bool:
        """Art. 25(1): a conditional or not-shared source needs a stated basis."""
        return self.source.share_type != ShareType.UNCONDITIONAL.value and not (
            self.source.legal_basis.strip()
        )

    @property
    def apply_label(self) -> str | None:
        """无条件共享登记 (unconditional: effective at once) or 申请共享 (conditional); None for
        a "not shared" source (Art. 24, 26 ¶2)."""
        if self.source.share_type == ShareType.UNCONDITIONAL.value:
            return "无条件共享登记"
        if self.source.share_type == ShareType.CONDITIONAL.value:
            return "申请共享"
        return None

    @property
    def apply_url(self) -> str:
        return f"/sharing/applications/new?source={quote(self.code, safe='')}"

    @property
    def object_url(self) -> str:
        """Art. 27: object to the share type instead of applying."""
        return f"/sharing/objections/new?source={quote(self.code, safe='')}&kind=share_type"

    @property
    def score(self) -> float | None:
        return self.quality.score if self.quality is not None else None

    def item_label(self, item: SourceItem) -> str:
        return _label(item.share_type)


def _matches(source: SharedSource, dept_name: str, flt: CatalogFilters) -> bool:
    if flt.department_id is not None and source.provider_department_id != flt.department_id:
        return False
    if flt.share_type is not None and source.share_type != flt.share_type:
        return False
    if flt.kind is not None and source.kind.value != flt.kind:
        return False
    if flt.loaded is not None and source.loaded != flt.loaded:
        return False
    text = flt.q.strip().casefold()
    if text:
        haystack = [source.name, source.code, dept_name, *(i.name for i in source.items)]
        if not any(text in h.casefold() for h in haystack):
            return False
    return True


def _department_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(Department.id, Department.name).where(Department.id.in_(wanted)))
    return {row.id: row.name for row in rows}


def _latest_quality(
    session: Session, pool_ids: Sequence[int]
) -> dict[int, tuple[Metrics, datetime]]:
    """The latest quality snapshot of each pool (Art. 20), by pool id."""
    ids = sorted({p for p in pool_ids if p})
    if not ids:
        return {}
    # The latest measured (ids follow it, except for a demo's past).
    newer, q = aliased(QualitySnapshot), QualitySnapshot
    latest = select(q).where(
        q.pool_id.in_(ids),
        ~exists().where(
            newer.pool_id == q.pool_id,
            (newer.measured_at > q.measured_at)
            | ((newer.measured_at == q.measured_at) & (newer.id > q.id)),
        ),
    )
    out: dict[int, tuple[Metrics, datetime]] = {}
    for s in session.scalars(latest):
        out[s.pool_id] = (
            Metrics(s.completeness, s.validity, s.uniqueness, s.consistency),
            s.measured_at,
        )
    return out


def _entries(
    session: Session, sources: Sequence[SharedSource], names: dict[int, str], today: date
) -> list[CatalogEntry]:
    quality = _latest_quality(
        session, [s.object_id for s in sources if s.kind is SourceKind.POOL and s.object_id]
    )
    out = []
    for s in sources:
        q = quality.get(s.object_id) if s.kind is SourceKind.POOL else None
        out.append(
            CatalogEntry(
                source=s,
                department_name=names.get(s.provider_department_id, "—"),
                freshness=freshness(s, today),
                quality=q[0] if q else None,
                quality_measured_at=q[1] if q else None,
            )
        )
    return out


def _filtered(
    session: Session, actor: Actor, flt: CatalogFilters
) -> tuple[list[SharedSource], dict[int, str]]:
    """Every source the filters keep, read in full (the spreadsheet)."""
    require_browse(actor)
    sources = share_catalog(session)
    names = _department_names(session, (s.provider_department_id for s in sources))
    flt = _clipped(flt)
    kept = [s for s in sources if _matches(s, names.get(s.provider_department_id, ""), flt)]
    return kept, names


def browse(
    session: Session,
    actor: Actor,
    filters: CatalogFilters | None = None,
    *,
    offset: int = 0,
    limit: int = 50,
    today: date | None = None,
) -> Page[CatalogEntry]:
    """The share catalog (Art. 26 ¶1), filtered and paged: base databases first, then
    resources in code order. "Not shared" sources are listed too, marked (Art. 24, 27)."""
    return browse_with_providers(session, actor, filters, offset=offset, limit=limit, today=today)[
        0
    ]


def browse_with_providers(
    session: Session,
    actor: Actor,
    filters: CatalogFilters | None = None,
    *,
    offset: int = 0,
    limit: int = 50,
    today: date | None = None,
) -> tuple[Page[CatalogEntry], list[tuple[int, str]]]:
    """``browse`` and the provider departments of the whole catalog by name (the filter's
    choices). Filters run over a light index of the catalog; only the page's sources are read
    in full (a catalog of thousands: ``bench/share_catalog.py``)."""
    require_browse(actor)
    flt = _clipped(filters or CatalogFilters())
    rows = _index(session, with_item_names=bool(flt.q.strip()))
    kept = [r for r in rows if _row_matches(r, flt)]
    offset = max(offset, 0)
    limit = min(max(limit, 1), MAX_LIMIT)
    window: list[SharedSource] = []
    for r in kept[offset : offset + limit]:
        source = r.source if r.source is not None else get_source(session, r.code)
        if source is not None:
            window.append(source)
    names = {r.department_id: r.department_name for r in rows}
    page = Page(
        items=_entries(session, window, names, today or calendar.today()),
        total=len(kept),
        offset=offset,
        limit=limit,
    )
    return page, sorted(names.items(), key=lambda kv: kv[1])


@dataclass(frozen=True)
class _Row:
    """What the filters need of one source; ``source`` already read for base databases."""

    code: str
    name: str
    kind: SourceKind
    department_id: int
    department_name: str
    share_type: str
    loaded: bool
    item_names: tuple[str, ...]
    source: SharedSource | None


def _index(session: Session, *, with_item_names: bool) -> list[_Row]:
    """The share catalog's sources in ``share_catalog``'s order (base databases, then
    resources by code), light: the same kind, share type and loaded state, without reading
    any snapshot in full."""
    bases = [
        s
        for kind in session.scalars(select(BaseDatabase.kind).order_by(BaseDatabase.id))
        if (s := get_source(session, BASE_PREFIX + kind)) is not None
    ]
    base_names = _department_names(session, (s.provider_department_id for s in bases))
    rows = [
        _Row(
            code=s.code,
            name=s.name,
            kind=s.kind,
            department_id=s.provider_department_id,
            department_name=base_names.get(s.provider_department_id, "—"),
            share_type=s.share_type,
            loaded=s.loaded,
            item_names=tuple(i.name for i in s.items),
            source=s,
        )
        for s in bases
    ]
    pools = {
        rid: table is not None
        for rid, table in session.execute(select(Pool.resource_id, Pool.table_name))
    }
    thematic = {
        rid: table is not None and refreshed is not None
        for rid, table, refreshed in session.execute(
            select(
                ThematicDatabase.resource_id,
                ThematicDatabase.table_name,
                ThematicDatabase.refreshed_at,
            )
        )
    }
    for r in published.index(session, with_item_names=with_item_names):
        if r.withdrawal_pending:
            continue  # as ``sources.share_catalog``
        is_thematic = r.resource_id in thematic and r.category == Category.THEMATIC.value
        rows.append(
            _Row(
                code=r.code,
                name=r.name,
                kind=SourceKind.THEMATIC if is_thematic else SourceKind.POOL,
                department_id=r.department_id,
                department_name=r.department_name,
                share_type=r.share_type,
                loaded=thematic[r.resource_id] if is_thematic else pools.get(r.resource_id, False),
                item_names=r.item_names,
                source=None,
            )
        )
    return rows


def _row_matches(row: _Row, flt: CatalogFilters) -> bool:
    if flt.department_id is not None and row.department_id != flt.department_id:
        return False
    if flt.share_type is not None and row.share_type != flt.share_type:
        return False
    if flt.kind is not None and row.kind.value != flt.kind:
        return False
    if flt.loaded is not None and row.loaded != flt.loaded:
        return False
    text = flt.q.strip().casefold()
    if text:
        haystack = [row.name, row.code, row.department_name, *row.item_names]
        if not any(text in h.casefold() for h in haystack):
            return False
    return True


def _clipped(flt: CatalogFilters) -> CatalogFilters:
    return CatalogFilters(
        q=flt.q[:MAX_QUERY],
        department_id=flt.department_id,
        share_type=flt.share_type,
        kind=flt.kind,
        loaded=flt.loaded,
    )


def entries(
    session: Session, actor: Actor, filters: CatalogFilters | None = None
) -> list[CatalogEntry]:
    """Every entry the filters keep (the spreadsheet)."""
    kept, names = _filtered(session, actor, filters or CatalogFilters())
    return _entries(session, kept, names, calendar.today())


def get_entry(session: Session, actor: Actor, code: str) -> CatalogEntry:
    """One source of the share catalog; not in it (or withdrawn): not found."""
    require_browse(actor)
    source = get_source(session, code)
    if source is None:
        raise SourceNotFound()
    names = _department_names(session, [source.provider_department_id])
    return _entries(session, [source], names, calendar.today())[0]


def own_grants(session: Session, actor: Actor, code: str, limit: int = 50) -> list[Grant]:
    """Grants on this source the actor's departments hold or give (its grants' scope,
    ``policy.visible_grants``), newest first."""
    if actor.token_id is not None:
        return []
    return list(
        session.scalars(
            policy.visible_grants(actor)
            .where(Grant.source_code == code)
            .order_by(Grant.id.desc())
            .limit(limit)
        )
    )


# --- the spreadsheet officers keep ------------------------------------------------------------

SOURCE_HEADERS = (
    "资源代码",
    "资源名称",
    "来源类型",
    "提供部门",
    "共享属性",
    "共享条件",
    "共享依据",
    "更新周期",
    "最近更新",
    "时效",
    "质量评分",
    "是否已汇聚",
    "数据量（行）",
    "信息项数",
)
ITEM_HEADERS = ("资源代码", "资源名称", "信息项", "数据类型", "共享属性", "主体标识")
_SOURCE_WIDTHS = (24, 30, 12, 24, 12, 30, 36, 10, 20, 10, 10, 10, 12, 10)
_ITEM_WIDTHS = (24, 30, 24, 10, 12, 10)


def _local(at: datetime | None) -> str:
    if at is None:
        return ""
    return at.astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M")


def export_xlsx(session: Session, actor: Actor, filters: CatalogFilters | None = None) -> bytes:
    """The share catalog as officers keep it in spreadsheets: one sheet of sources, one of info
    items. Every text goes through ``xlsx_row``: never a live formula (Art. 39)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    rows = entries(session, actor, filters)
    cycle_label = vocabularies.label_function(session, vocabularies.UPDATE_CYCLE)
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    sheets: list[Any] = []
    for title, headers, widths in (
        ("共享目录", SOURCE_HEADERS, _SOURCE_WIDTHS),
        ("信息项", ITEM_HEADERS, _ITEM_WIDTHS),
    ):
        ws = wb.create_sheet(title)
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A2"
        header = []
        for text in headers:
            cell = WriteOnlyCell(ws, text)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        sheets.append(ws)
    sources_ws, items_ws = sheets
    for e in rows:
        s = e.source
        sources_ws.append(
            xlsx_row(
                sources_ws,
                [
                    s.code,
                    s.name,
                    s.kind.label,
                    e.department_name,
                    e.share_type_label,
                    s.share_conditions,
                    s.legal_basis,
                    cycle_label(s.update_cycle),
                    _local(s.loaded_at),
                    e.freshness.label,
                    round(e.score * 100, 1) if e.score is not None else None,
                    "是" if s.loaded else "否",
                    s.row_count,
                    len(s.items),
                ],
            )
        )
        for i in s.items:
            items_ws.append(
                xlsx_row(
                    items_ws,
                    [
                        s.code,
                        s.name,
                        i.name,
                        i.data_type,
                        _label(i.share_type),
                        "是" if i.is_subject_key else "",
                    ],
                )
            )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
