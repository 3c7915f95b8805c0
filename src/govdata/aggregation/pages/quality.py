"""zh-CN pages: quality (Art. 20) under ``/aggregation/quality``.

``/aggregation/quality`` is the supervisors' overview (the city bureau and auditors: the city;
a district bureau: its region); a department's people are taken to their own department's page.
Charts are pygal SVG inline (``aggregation.charts``), each next to a table of the same numbers;
the templates link the charts' stylesheet (``web.charts``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from govdata.aggregation import charts, policy, quality
from govdata.aggregation.quality import overview
from govdata.core.types import DbId
from govdata.org.models import Department
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import LOCAL_TZ, render

router = APIRouter(prefix="/quality")


FLASHES = {"measured": "已重新评估该数据资源池的数据质量。"}
CHART_BARS = 30  # a bar chart shows at most this many groups: the lowest scores


def _lowest(rows: list[Any], score: Callable[[Any], float | None]) -> tuple[list[Any], str]:
    """The rows a bar chart shows, and what its caption adds: all of them in the table's order,
    or, when there are many, the ones of lowest score."""
    if len(rows) <= CHART_BARS:
        return rows, ""
    ranked = sorted(rows, key=lambda r: (score(r) is None, score(r) or 0.0))
    return ranked[:CHART_BARS], f"共 {len(rows)} 项，图中列出平均得分最低的 {CHART_BARS} 项。"


def pct(value: float | None) -> str:
    """A ratio as the pages show it: 97.5%; a missing measure as —."""
    return "—" if value is None else f"{value * 100:.1f}%"


def _page(request: Request, name: str, ctx: dict[str, Any]) -> Response:
    base: dict[str, Any] = {"pct": pct, "can_overview": False}
    base.update(ctx)
    return render(request, name, base)


@router.get("")
def quality_home(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=100)] = "",
    sort: Annotated[str, Query(pattern="^(name|score|late|responsible)$")] = "name",
    show: Annotated[str, Query(pattern="^(data|all)$")] = "data",
) -> Response:
    """The overview for supervisors (Art. 20 ¶1); a department's own page for its people.
    The department table hides departments with no data unless ``show=all``, and is searched
    by ``q`` and sorted by ``sort`` (``quality.overview``)."""
    policy.require_read_quality(actor)
    if not policy.can_read_overview(actor):
        home = policy.quality_home_department(actor)
        assert home is not None  # require_read_quality admits only these
        return RedirectResponse(f"/aggregation/quality/departments/{home}", status_code=303)
    city = quality.city_quality(session, actor)
    shown, more = _lowest([d for d in city.departments if d.measured], lambda d: d.averages.score)
    chart = charts.bar_chart(
        f"各部门数据质量（{city.scope}，最新评估的平均值）",
        [d.name for d in shown],
        charts.metric_series([d.averages for d in shown]),
    )
    return _page(
        request,
        "aggregation/quality_city.html",
        {
            "title": "数据质量",
            "q": city,
            "names": {d.department_id: d.name for d in city.departments},
            "chart": chart,
            "chart_more": more,
            "can_overview": True,
            "table": overview.arrange(city.departments, q=q, sort=sort, show_all=show == "all"),
            "sorts": overview.SORTS,
            "dq": q,
            "sort": sort,
            "show": show,
        },
    )


@router.get("/departments/{department_id}")
def department_page(
    request: Request, session: DbSession, actor: CurrentActor, department_id: DbId
) -> Response:
    dq = quality.department_quality(session, actor, department_id)
    name = dq.summary.name
    trend_chart = charts.line_chart(
        f"{name}数据质量趋势（按评估日期的平均值）",
        [p.day.strftime("%m-%d") for p in dq.trend],
        charts.metric_series([p.metrics for p in dq.trend]),
    )
    shown, more = _lowest([p for p in dq.pools if p.measured_at], lambda p: p.metrics.score)
    pools_chart = charts.bar_chart(
        f"{name}各数据资源池的数据质量",
        [p.name for p in shown],
        charts.metric_series([p.metrics for p in shown]),
    )
    return _page(
        request,
        "aggregation/quality_department.html",
        {
            "title": f"{name} · 数据质量",
            "q": dq,
            "trend_chart": trend_chart,
            "pools_chart": pools_chart,
            "chart_more": more,
            "can_overview": policy.can_read_overview(actor),
        },
    )


@router.get("/pools/{pool_id}")
def pool_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    pool_id: DbId,
    msg: str | None = None,
) -> Response:
    pool = quality.get_pool(session, actor, pool_id)
    snapshots = quality.trend(session, actor, pool.id)
    latest = snapshots[-1] if snapshots else None
    chart = charts.line_chart(
        f"{pool.name}数据质量趋势（按加载）",
        [s.measured_at.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M") for s in snapshots],
        charts.metric_series(snapshots),
    )
    items: dict[str, float] = dict((latest.details or {}).get("items", {})) if latest else {}
    return _page(
        request,
        "aggregation/quality_pool.html",
        {
            "title": f"{pool.name} · 数据质量",
            "pool": pool,
            "department": session.get(Department, pool.department_id),
            "snapshots": snapshots,
            "latest": latest,
            "items": items,
            "timely": quality.pool_timeliness(session, actor, pool),
            "chart": chart,
            "can_measure": policy.can_measure(actor, pool.department_id)
            and pool.table_name is not None,
            "flash": FLASHES.get(msg or ""),
        },
    )


@router.post("/pools/{pool_id}/measure")
def measure_pool(session: DbSession, actor: CurrentActor, pool_id: DbId) -> Response:
    quality.remeasure(session, actor, pool_id)
    return RedirectResponse(f"/aggregation/quality/pools/{pool_id}?msg=measured", status_code=303)
