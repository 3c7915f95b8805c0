"""The usage dashboard ``/sharing/usage`` (共享调用; Art. 40, 41, 49, 50(4)(5)): who read what
of whose data, per day, department, source, grant and system, refusals by code, three charts,
the filtered records with paging, and their xlsx export."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from govdata.core.actor import Actor, Role
from govdata.core.types import Offset
from govdata.sharing import charts, usage, usage_export
from govdata.web.deps import CurrentActor, DbSession, form_csrf
from govdata.web.download import content_disposition, export_name
from govdata.web.templating import render

router = APIRouter(
    prefix="/sharing/usage", dependencies=[Depends(form_csrf)], include_in_schema=False
)

PAGE_SIZE = 50
Text = Annotated[str | None, Query(max_length=80)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _view(actor: Actor) -> str:
    """Whose view the page explains (the numbers are scoped by ``policy.usage_scope``)."""
    if actor.has(Role.CITY_BUREAU_ADMIN):
        return "全市"
    if actor.has(Role.AUDITOR):
        return "全市（审计监督，只读）"
    if actor.region_ids():
        return "本区县"
    return "本部门"


@router.get("")
def usage_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    since: Text = None,
    until: Text = None,
    requester: Text = None,
    provider: Text = None,
    source: Text = None,
    grant: Text = None,
    outcome: Text = None,
    action: Text = None,
    offset: Offset = 0,
) -> Response:
    f = usage.parse_filter(
        since=since,
        until=until,
        requester=requester,
        provider=provider,
        source=source,
        grant=grant,
        outcome=outcome,
        action=action,
    )
    s = usage.summary(session, actor, f)
    page = usage.list_records(session, actor, f, offset=offset, limit=PAGE_SIZE)
    period = f"{s.since.isoformat()} 至 {s.until.isoformat()}"
    query = f.query()
    return render(
        request,
        "sharing/usage.html",
        {
            "title": "共享调用",
            "f": f,
            "s": s,
            "page": page,
            "view": _view(actor),
            "period": period,
            "actions": usage.ACTIONS,
            "outcomes": usage.OUTCOMES,
            "requesters": usage.by_department(s.requesters),
            "providers": usage.by_department(s.providers),
            "per_day_chart": charts.calls_per_day(f"每日调用次数（{period}）", s.days),
            "requester_chart": charts.top_bars("调用次数最多的使用部门", s.requesters),
            "source_chart": charts.top_bars("各数据资源的调用次数", s.sources),
            "export_url": "/sharing/usage/export.xlsx?" + urlencode(query),
            "export_max": usage_export.EXPORT_MAX_ROWS,
            "prev_url": "?" + urlencode({**query, "offset": max(offset - PAGE_SIZE, 0)}),
            "next_url": "?" + urlencode({**query, "offset": offset + PAGE_SIZE}),
        },
    )


@router.get("/export.xlsx")
def usage_export_xlsx(
    session: DbSession,
    actor: CurrentActor,
    since: Text = None,
    until: Text = None,
    requester: Text = None,
    provider: Text = None,
    source: Text = None,
    grant: Text = None,
    outcome: Text = None,
    action: Text = None,
) -> Response:
    f = usage.parse_filter(
        since=since,
        until=until,
        requester=requester,
        provider=provider,
        source=source,
        grant=grant,
        outcome=outcome,
        action=action,
    )
    export = usage_export.export_xlsx(session, actor, f)
    since_d, until_d = f.period()
    period = f"{since_d.isoformat()}至{until_d.isoformat()}"
    name = export_name("共享调用记录", period, ext="xlsx", dated=False)
    fallback = export_name(
        "sharing-usage", since_d.isoformat(), until_d.isoformat(), ext="xlsx", dated=False
    )
    return Response(
        export.content,
        media_type=XLSX,
        headers={
            "Content-Disposition": content_disposition(name, fallback=fallback),
            "X-Export-Rows": str(export.rows),
            "X-Export-Total": str(export.total),
        },
    )
