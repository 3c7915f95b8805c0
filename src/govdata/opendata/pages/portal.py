"""The public open-data portal under ``/open`` (Art. 29, 32, 33): home, search with facets,
a dataset's page, departments, statistics and the terms. Browsing needs no sign-in (Art. 32);
a page resolves the visitor only to say whether the preview may be shown.

Thin: the rules are in ``opendata.portal``, ``search``, ``downloads`` and ``entitlement``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from govdata.catalog import vocabularies
from govdata.catalog.vocab import DataType, OpenType
from govdata.core.types import Offset
from govdata.opendata import (
    charts,
    portal,
    routing,  # noqa: F401 - registers {code:dataset_code}
    search,
)
from govdata.opendata.vocab import AGREEMENT_VERSION, DEFAULT_LICENCE, LICENCES
from govdata.web.charts import STYLESHEET_URL
from govdata.web.deps import DbSession, OptionalActor
from govdata.web.templating import render

router = APIRouter(prefix="/open")
PAGE = 20
CSS = (Path(__file__).resolve().parent.parent / "static" / "portal.css").read_text("utf-8")
SORT_LABELS = {
    "relevance": "相关度",
    "newest": "最近更新",
    "downloads": "下载最多",
    "name": "名称",
}
Q = Annotated[str, Query(max_length=100)]
Short = Annotated[str, Query(max_length=64)]


# Facets whose codes are those of a list the city bureau keeps (catalog.vocabularies).
LIST_KINDS = {"format": vocabularies.RESOURCE_FORMAT, "update_cycle": vocabularies.UPDATE_CYCLE}


def labeller(session: Session) -> Callable[[str, str], str]:
    """A facet value's zh-CN label: the format and update cycle by the city bureau's current
    lists (a retired code by its last label; read once, when first needed), the open type by
    the national guide's."""
    vocabs: dict[str, vocabularies.Vocabulary] = {}

    def label(kind: str, value: str) -> str:
        name = LIST_KINDS.get(kind)
        if name is not None:
            if not vocabs:
                vocabs.update(vocabularies.current_all(session))
            return vocabs[name].label_of(value) if value else value
        if kind == "open_type":
            parsed = OpenType.parse(value)
            return parsed.label if parsed is not None else value
        return value

    return label


def type_label(code: str) -> str:
    parsed = DataType.parse(code)
    return parsed.label if parsed is not None else code


def _ctx(session: Session, **kw: Any) -> dict[str, Any]:
    return {"label": labeller(session), "type_label": type_label, "licences": LICENCES, **kw}


@router.get("/portal.css")
def stylesheet() -> Response:
    """The portal's own rules (phone layouts): a file, the CSP allows no inline style."""
    return Response(
        CSS,
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("")
def home(request: Request, session: DbSession, actor: OptionalActor) -> Response:
    return render(
        request,
        "opendata/portal_home.html",
        _ctx(session, title="开放数据门户", h=portal.home(session)),
    )


def _one(chosen: dict[str, str], key: str) -> tuple[str, ...]:
    return (chosen[key],) if key in chosen else ()


FACET_TITLES = {
    "department": "数据提供部门",
    "theme": "主题",
    "format": "格式",
    "open_type": "开放属性",
    "update_cycle": "更新周期",
}


@router.get("/datasets")
def datasets_page(
    request: Request,
    session: DbSession,
    actor: OptionalActor,
    q: Q = "",
    department: Short = "",
    theme: Short = "",
    format: Short = "",
    open_type: Short = "",
    update_cycle: Short = "",
    sort: Short = "",
    offset: Offset = 0,
) -> Response:
    chosen = {
        "department": department,
        "theme": theme,
        "format": format,
        "open_type": open_type,
        "update_cycle": update_cycle,
    }
    chosen = {k: v.strip() for k, v in chosen.items() if v.strip()}
    flt = search.DatasetFilter(
        department_codes=_one(chosen, "department"),
        themes=_one(chosen, "theme"),
        formats=_one(chosen, "format"),
        open_types=_one(chosen, "open_type"),
        update_cycles=_one(chosen, "update_cycle"),
    )
    order: search.Sort = sort if sort in SORT_LABELS else ("relevance" if q.strip() else "newest")  # type: ignore[assignment]
    page = search.search(session, q, flt, sort=order, offset=offset, limit=PAGE)
    base = {"q": q.strip(), **chosen, "sort": sort if sort in SORT_LABELS else ""}

    def link(**change: str) -> str:
        values = {**base, **change}
        return "/open/datasets?" + urlencode({k: v for k, v in values.items() if v})

    return render(
        request,
        "opendata/portal_search.html",
        _ctx(
            session,
            title="数据集",
            page=page,
            q=q.strip(),
            chosen=chosen,
            sort=order,
            sorts=SORT_LABELS,
            facet_titles=FACET_TITLES,
            link=link,
            prev_offset=max(offset - PAGE, 0) if offset > 0 else None,
            next_offset=offset + PAGE if offset + PAGE < page.total else None,
        ),
    )


@router.get("/datasets/{code:dataset_code}")
def dataset_page(request: Request, session: DbSession, actor: OptionalActor, code: str) -> Response:
    view = portal.dataset_view(session, actor, code[:64])
    d = view.dataset
    return render(
        request,
        "opendata/portal_dataset.html",
        _ctx(
            session,
            title=d.name,
            v=view,
            d=d,
            licence=LICENCES.get(d.licence) or LICENCES[DEFAULT_LICENCE],
            theme=search.theme_of(d.class_path),
            signed_in=actor is not None,
        ),
    )


@router.get("/departments")
def departments_page(request: Request, session: DbSession, actor: OptionalActor) -> Response:
    return render(
        request,
        "opendata/portal_departments.html",
        _ctx(session, title="数据提供部门", rows=portal.departments(session)),
    )


@router.get("/departments/{code}")
def department_page(
    request: Request, session: DbSession, actor: OptionalActor, code: str, offset: Offset = 0
) -> Response:
    dept = portal.department(session, code[:32])
    flt = search.DatasetFilter(department_codes=(dept.code,))
    page = search.search(session, "", flt, sort="newest", offset=offset, limit=PAGE)
    return render(
        request,
        "opendata/portal_department.html",
        _ctx(
            session,
            title=dept.name,
            dept=dept,
            page=page,
            prev_offset=max(offset - PAGE, 0) if offset > 0 else None,
            next_offset=offset + PAGE if offset + PAGE < page.total else None,
        ),
    )


@router.get("/stats")
def stats_page(request: Request, session: DbSession, actor: OptionalActor) -> Response:
    s = portal.stats(session)
    return render(
        request,
        "opendata/portal_stats.html",
        _ctx(
            session,
            title="开放统计",
            s=s,
            charts_css=STYLESHEET_URL,
            per_department=charts.bars("各部门开放数据集数量", s.by_department),
            per_theme=charts.bars("各主题开放数据集数量", s.by_theme),
            per_type=charts.pie("开放属性", s.by_open_type),
            per_day=charts.per_day(f"近 {portal.STATS_DAYS} 天下载次数", s.downloads_by_day),
        ),
    )


@router.get("/terms")
def terms_page(request: Request, session: DbSession, actor: OptionalActor) -> Response:
    return render(
        request,
        "opendata/portal_terms.html",
        _ctx(session, title="许可协议与数据利用协议", agreement_version=AGREEMENT_VERSION),
    )
