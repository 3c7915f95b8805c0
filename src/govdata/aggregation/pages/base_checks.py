"""zh-CN pages of the base databases' checks under ``/aggregation/base``: the conflict queue
(Art. 16, 20), resolved one by one or in bulk and a way to a 校核 (Art. 19), and repeated
collection (Art. 50(3)), summarized per department before the paged detail (issue 16).

Registered before ``pages.base``, whose ``/base/{kind}`` would otherwise take these paths.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from govdata.aggregation import base, charts, masking, policy, repeated
from govdata.aggregation.models import ConflictStatus
from govdata.aggregation.pages.base import KindText, _ctx, _flash, _kind, _refused
from govdata.core.actor import Actor
from govdata.core.errors import DomainError
from govdata.core.pagination import Page
from govdata.core.types import DbId, Offset
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter()
PAGE = 50  # conflicts per page
REPEATED_PAGE = 50  # repeated items per page


# --- conflicts (Art. 16, 20) ------------------------------------------------------------------


def _conflicts_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    kind: str,
    status: str,
    offset: int,
    msg: str | None = None,
    error: str | None = None,
    error_id: int | None = None,
    status_code: int = 200,
) -> Response:
    wanted = None if status == "all" else ConflictStatus(status)
    kind_value = _kind(kind) if kind else None
    conflicts = base.list_conflicts(
        session, actor, kind_value, wanted, offset=offset, limit=PAGE + 1
    )
    more = len(conflicts) > PAGE
    conflicts = conflicts[:PAGE]
    info = base.describe_conflicts(session, actor, conflicts)
    # Auditors read personal values masked (issue 16): a person's key and values, a legal
    # person's personal items (``base.describe_conflicts``); the record page reveals with a reason.
    hide_keys = {c.id for c in conflicts if info[c.id].key_masked}
    hide_values = {c.id for c in conflicts if info[c.id].values_masked}
    return render(
        request,
        "aggregation/base_conflicts.html",
        _ctx(
            title="基础数据冲突",
            conflicts=conflicts,
            info=info,
            resolvable=[c.id for c in conflicts if info[c.id].can_resolve],
            hide_keys=hide_keys,
            hide_values=hide_values,
            mask=masking.mask,
            bases=base.list_bases(session, actor),
            kind=kind,
            status=status,
            offset=offset,
            more=more,
            page=PAGE,
            flash=_flash(msg),
            error=error,
            error_id=error_id,
        ),
        status_code=status_code,
    )


Status = Annotated[str, Query(pattern="^(open|resolved|all)$")]


@router.get("/base/conflicts")
def conflicts(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: KindText = "",
    status: Status = "open",
    offset: Offset = 0,
    msg: str | None = None,
) -> Response:
    return _conflicts_page(
        request, session, actor, kind=kind, status=status, offset=offset, msg=msg
    )


@router.post("/base/conflicts/resolve")
def resolve_many(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    ids: Annotated[list[DbId], Form(max_length=base.MAX_BULK)] = [],  # noqa: B006
    note: Annotated[str, Form(max_length=4000)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The checked conflicts closed with one note, all or nothing (issue 16)."""
    try:
        done = base.resolve_conflicts(session, actor, ids, note)
    except DomainError as exc:
        message = _refused(session, exc)
        return _conflicts_page(
            request,
            session,
            actor,
            kind=kind,
            status="open",
            offset=0,
            error=message,
            status_code=422,
        )
    query = urlencode({"kind": kind, "msg": "resolved_many", "n": len(done)})
    return RedirectResponse(f"/aggregation/base/conflicts?{query}", status_code=303)


@router.post("/base/conflicts/{conflict_id}/resolve")
def resolve(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    conflict_id: DbId,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        base.resolve_conflict(session, actor, conflict_id, note)
    except DomainError as exc:
        message = _refused(session, exc)
        return _conflicts_page(
            request,
            session,
            actor,
            kind="",
            status="open",
            offset=0,
            error=message,
            error_id=conflict_id,
            status_code=422,
        )
    return RedirectResponse("/aggregation/base/conflicts?msg=resolved", status_code=303)


# --- repeated collection (Art. 50(3)) ---------------------------------------------------------


@router.get("/base/repeated")
def repeated_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId | None = None,
    offset: Offset = 0,
) -> Response:
    """A summary per department with a chart first, then the flagged items, paged (issue 16:
    3,787 rows in one page before)."""
    flags = repeated.find(session, actor)
    summary = repeated.summarize(flags)
    shown = [f for f in flags if department_id is None or f.department_id == department_id]
    page = Page(shown[offset : offset + REPEATED_PAGE], len(shown), offset, REPEATED_PAGE)
    chart = (
        charts.count_bars(
            "重复采集信息项最多的部门",
            [(s.department_name, s.items) for s in summary],
            "重复的信息项",
        )
        if len(summary) > 1
        else None
    )
    return render(
        request,
        "aggregation/repeated.html",
        _ctx(
            title="重复采集核查",
            page=page,
            summary=summary,
            chart=chart,
            total_items=len(flags),
            sees_all=policy.sees_all_repeated(actor),
            department_id=department_id,
            department_name=next(
                (s.department_name for s in summary if s.department_id == department_id), None
            ),
        ),
    )
