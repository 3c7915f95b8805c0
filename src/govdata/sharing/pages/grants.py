"""Grant pages (Art. 26 ¶2, 40, 50(4)(5)): ``/sharing/grants`` (tabs: what the department
obtained, what it provides, all for bureaus and auditors; by state) and ``/sharing/grants/{id}``
(the grant, its calls of the last 30 days, the revoke form for the provider or the bureau, and
the requester's form naming its calling systems).

Thin: the rules are in ``sharing.grants`` and ``sharing.grant_views``. A refused form is shown
again with the message; the unit of work is ended first so that nothing of it is stored.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput
from govdata.core.types import DbId, Offset
from govdata.sharing import grant_views, grants
from govdata.sharing.grants import RowCondition
from govdata.sharing.models import Grant, GrantMode, GrantOrigin
from govdata.web.deps import CurrentActor, DbSession, form_csrf
from govdata.web.templating import render

router = APIRouter(prefix="/sharing", dependencies=[Depends(form_csrf)], include_in_schema=False)
PAGE = 50

FLASHES = {
    "revoked": "授权已撤销，即时生效：使用该授权的调用将被拒绝。",
    "systems": "已更新调用系统：只有所列系统可以使用该授权。",
}
ORIGIN_LABELS = {
    GrantOrigin.REGISTRATION.value: "无条件共享登记",
    GrantOrigin.APPLICATION.value: "有条件共享申请",
    GrantOrigin.ORDER.value: "异议协调决定",
}
STATE_CHOICES = [(s, grants.STATE_LABELS[s]) for s in grant_views.STATES]


def _ctx(**kw: Any) -> dict[str, Any]:
    return {
        "STATE_LABELS": grants.STATE_LABELS,
        "ORIGIN_LABELS": ORIGIN_LABELS,
        "MODE_LABELS": {m.value: m.label for m in GrantMode},
        "row_text": lambda g: (
            c.describe() if (c := RowCondition.of(g.row_condition)) else "全部数据"
        ),
        **kw,
    }


@router.get("/grants")
def grant_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    view: Annotated[str | None, Query(max_length=20)] = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
    offset: Offset = 0,
) -> Response:
    state_value = state if state in grant_views.STATES else None
    current, page = grant_views.list_grants(
        session, actor, view=view, state=state_value, offset=offset, limit=PAGE
    )
    today = calendar.today()
    query = {k: v for k, v in {"view": current, "state": state_value or ""}.items() if v}
    return render(
        request,
        "sharing/grants.html",
        _ctx(
            title="共享授权",
            views=[(v, grant_views.VIEWS[v]) for v in grant_views.views(actor)],
            current=current,
            page=page,
            states={g.id: grants.state(g, today) for g in page.items},
            lb=grant_views.labels(session, page.items),
            state=state_value or "",
            state_choices=STATE_CHOICES,
            base_query=urlencode(query),
        ),
    )


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    g: Grant,
    *,
    flash: str | None = None,
    error: str | None = None,
    error_form: str | None = None,
    v: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    lb = grant_views.labels(session, [g])
    named = {t for t, _ in lb.systems.get(g.id, [])}
    return render(
        request,
        "sharing/grant.html",
        _ctx(
            title=f"共享授权第 {g.id} 号",
            g=g,
            state=grants.state(g, calendar.today()),
            lb=lb,
            calls=grant_views.calls(session, g.id),
            can_revoke=grant_views.can_revoke(session, actor, g),
            can_name=grant_views.can_name_systems(actor, g),
            candidates=grant_views.candidate_systems(session, actor, g),
            named=named,
            flash=flash,
            error=error,
            error_form=error_form,
            v=v or {},
        ),
        status_code=status_code,
    )


@router.get("/grants/{grant_id}")
def grant_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    grant_id: DbId,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    g = grant_views.get_grant(session, actor, grant_id)
    return _detail(request, session, actor, g, flash=FLASHES.get(msg or ""))


def _refused(
    request: Request,
    session: Session,
    actor: Actor,
    grant_id: int,
    exc: DomainError,
    form: str,
    v: dict[str, Any],
) -> Response:
    if exc.status in (403, 404):
        raise exc
    finish_failed(session, exc)
    g = grant_views.get_grant(session, actor, grant_id)
    return _detail(
        request, session, actor, g, error=exc.message, error_form=form, v=v, status_code=422
    )


@router.post("/grants/{grant_id}/revoke")
def revoke(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    grant_id: DbId,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        grant_views.require_read(actor)
        grants.revoke(session, actor, grant_id, reason)
    except DomainError as exc:
        return _refused(request, session, actor, grant_id, exc, "revoke", {"reason": reason})
    return RedirectResponse(f"/sharing/grants/{grant_id}?msg=revoked", status_code=303)


@router.post("/grants/{grant_id}/systems")
def systems(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    grant_id: DbId,
    token_id: Annotated[list[str] | None, Form()] = None,
) -> Response:
    raw = (token_id or [])[:100]
    try:
        grant_views.require_read(actor)
        if not all(x.isascii() and x.isdecimal() and len(x) <= 12 for x in raw):
            raise InvalidInput("sharing.system_invalid", "所选调用系统无效，请刷新页面后重试。")
        grants.set_systems(session, actor, grant_id, [int(x) for x in raw])
    except DomainError as exc:
        return _refused(request, session, actor, grant_id, exc, "systems", {})
    return RedirectResponse(f"/sharing/grants/{grant_id}?msg=systems", status_code=303)
