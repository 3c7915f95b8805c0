"""Oversight pages (Art. 40, 49): the audit chain with its checkpoints, and the access records."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from govdata.app.access_records import list_access_records, require_view_access_records
from govdata.app.forms import parse_date
from govdata.core.access import AccessFilter
from govdata.core.audit_query import (
    AuditFilter,
    list_events,
    platform_checkpoints,
    require_view_audit,
    verify_chain,
)
from govdata.core.types import Offset
from govdata.org.models import Department
from govdata.web.deps import (
    CurrentActor,
    DbSession,
    form_csrf,
    get_settings,
)
from govdata.web.templating import render

router = APIRouter(dependencies=[Depends(form_csrf)], include_in_schema=False)


# --- audit (Art. 49: oversight) ----------------------------------------------------------------


@router.get("/audit")
def audit_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    action: Annotated[str | None, Query(max_length=80)] = None,
    actor_name: Annotated[str | None, Query(max_length=100)] = None,
    object_type: Annotated[str | None, Query(max_length=60)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    offset: Offset = 0,
    verify: bool = False,
) -> Response:
    require_view_audit(actor)
    f = AuditFilter(
        action=action or None,
        actor_name=actor_name or None,
        object_type=object_type or None,
        since=parse_date(since, "起始日期"),
        until=parse_date(until, "截止日期"),
    )
    page = list_events(session, actor, f, offset=offset, limit=50)
    source = platform_checkpoints(get_settings(request))
    result = verify_chain(session, actor, source) if verify else None
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "verify")}
    return render(
        request,
        "audit.html",
        {
            "page": page,
            "f": f,
            "since": since or "",
            "until": until or "",
            "result": result,
            "base_query": urlencode(params),
        },
    )


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
        },
    )
