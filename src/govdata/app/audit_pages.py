"""Oversight pages (Art. 40, 49): the audit chain with its checkpoints, and the access records."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from govdata.app import audit_view
from govdata.app.access_records import list_access_records, require_view_access_records
from govdata.app.forms import parse_date
from govdata.core.access import AccessFilter
from govdata.core.audit_labels import ACTION_LABELS, action_groups
from govdata.core.audit_query import (
    AuditFilter,
    list_events,
    platform_checkpoints,
    require_view_audit,
    verify_chain,
)
from govdata.core.errors import NotFound
from govdata.core.types import Offset
from govdata.org.models import Department
from govdata.org.policy import can_view_audit
from govdata.web.deps import (
    CurrentActor,
    DbSession,
    form_csrf,
    get_settings,
    unit_of_work,
)
from govdata.web.download import content_disposition, export_name
from govdata.web.templating import render

router = APIRouter(dependencies=[Depends(form_csrf)], include_in_schema=False)


# --- audit (Art. 49: oversight) ----------------------------------------------------------------


AuditQuery = Annotated[str | None, Query(max_length=80)]
NameQuery = Annotated[str | None, Query(max_length=100)]
TypeQuery = Annotated[str | None, Query(max_length=60)]
DateQuery = Annotated[str | None, Query(max_length=10)]


def _filter(
    action: str | None,
    actor_name: str | None,
    object_type: str | None,
    since: str | None,
    until: str | None,
) -> AuditFilter:
    return audit_view.audit_filter(
        action=action,
        actor_name=actor_name,
        object_type=object_type,
        since=parse_date(since, "起始日期"),
        until=parse_date(until, "截止日期"),
    )


@router.get("/audit")
def audit_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    action: AuditQuery = None,
    actor_name: NameQuery = None,
    object_type: TypeQuery = None,
    since: DateQuery = None,
    until: DateQuery = None,
    offset: Offset = 0,
    verify: bool = False,
) -> Response:
    require_view_audit(actor)
    f = _filter(action, actor_name, object_type, since, until)
    page = list_events(session, actor, f, offset=offset, limit=50)
    source = platform_checkpoints(get_settings(request))
    result = verify_chain(session, actor, source) if verify else None
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "verify")}
    export_query = urlencode({k: v for k, v in params.items() if v})
    return render(
        request,
        "audit.html",
        {
            "page": page,
            "rows": audit_view.rows(session, page.items),
            "f": f,
            "action": action or "",
            "groups": action_groups(),
            "known_action": (action or "") in ACTION_LABELS
            or any((action or "") == g.prefix for g in action_groups()),
            "object_choices": audit_view.object_choices(),
            "since": since or "",
            "until": until or "",
            "result": result,
            "base_query": urlencode(params),
            "export_query": export_query,
            "export_limit": audit_view.EXPORT_LIMIT,
        },
    )


@router.get("/audit/export.{fmt}")
@unit_of_work  # a GET that writes (its audit event): on SQLite, run again as a writer if it lost
def audit_export(
    session: DbSession,
    actor: CurrentActor,
    fmt: str,
    action: AuditQuery = None,
    actor_name: NameQuery = None,
    object_type: TypeQuery = None,
    since: DateQuery = None,
    until: DateQuery = None,
) -> Response:
    """What the page's filter shows, as xlsx or CSV (Excel-safe); the export is audited."""
    require_view_audit(actor)
    if fmt not in audit_view.EXPORT_FORMATS:
        raise NotFound("not_found", "不支持该导出格式。")
    f = _filter(action, actor_name, object_type, since, until)
    content, count = audit_view.export(session, actor, f, fmt, action_text=action)
    name = export_name("审计日志", ext=fmt)
    return Response(
        content,
        media_type=MEDIA[fmt],
        headers={
            "Content-Disposition": content_disposition(
                name, fallback=export_name("audit-log", ext=fmt)
            ),
            "Cache-Control": "no-store",
            "X-Export-Rows": str(count),
        },
    )


MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@router.get("/audit/access")
def access_records_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    actor_name: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=80)] = None,
    personal: Annotated[str | None, Query(pattern="^(|yes|no)$")] = None,
    outcome: Annotated[str | None, Query(pattern="^(|allowed|refused)$")] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    offset: Offset = 0,
) -> Response:
    """Who read which data, how many rows, allowed or refused (Art. 40; oversight, Art. 49)."""
    require_view_access_records(actor)
    f = AccessFilter(
        actor_name=actor_name or None,
        action=action or None,
        since=parse_date(since, "起始日期"),
        until=parse_date(until, "截止日期"),
        personal={"yes": True, "no": False}.get(personal or ""),
        outcome="allowed" if outcome == "allowed" else "refused" if outcome == "refused" else None,
    )
    page = list_access_records(session, actor, f, offset=offset, limit=50)
    ids = {i for r in page.items for i in (r.actor_department_id, r.owner_department_id) if i}
    names = dict(
        session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all()
    )
    params = {k: v for k, v in request.query_params.items() if k != "offset"}
    return render(
        request,
        "access_records.html",
        {
            "page": page,
            "f": f,
            "personal": personal or "",
            "outcome": outcome or "",
            "since": since or "",
            "until": until or "",
            "departments": names,
            "base_query": urlencode(params),
            # A district bureau reads its region's access records but not the audit chain.
            "can_view_audit": can_view_audit(actor),
        },
    )
