"""Open-catalog correction request pages (更正申请, Art. 32 ¶2–3).

The requester's ``/open/corrections`` (mine), ``/open/datasets/{code}/correct`` (the form) and
``/open/corrections/{id}``; the provider's and the bureau's ``/opendata/corrections`` (the
inbox, overdue first; the bureau's "待纳入下一版目录的更正" at ``?view=next``) and
``/opendata/corrections/{id}`` (agree, refuse with reason and basis, extend). Thin: the rules
are in ``opendata.corrections``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import calendar, obligations
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput, NotFound
from govdata.core.types import DbId, Offset
from govdata.core.workdays import MAX_EXTENSION_WORKING_DAYS
from govdata.opendata import applications, corrections, datasets, policy
from govdata.opendata.clocks import clock
from govdata.opendata.models import (
    CatalogCorrectionRequest,
    CorrectionRequestStatus,
    OpenDataset,
)
from govdata.opendata.pages.applications import int_or_none
from govdata.org.models import Person
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter()
PAGE = 50

FLASHES = {
    "submitted": (
        "更正申请已提交，数据提供部门应当自收到之日起10个工作日内答复（第三十二条第三款）。"
    ),
    "agreed": "已答复：同意更正，已提请数据主管部门变更开放目录。",
    "refused": "已答复：不同意更正。",
    "extension_requested": "延期申请已提交，待本部门主要负责人审批。",
    "extended": "已批准延长答复期限。",
    "extension_refused": "已不同意延期申请，答复期限不变。",
}
STATUS_CHOICES = [(s.value, s.label) for s in CorrectionRequestStatus]
NEXT = "next"  # the bureau's list of agreed corrections for the next catalog version


def _sets(session: Session, rows: list[CatalogCorrectionRequest]) -> dict[int, OpenDataset]:
    ids = sorted({r.dataset_id for r in rows})
    return {d.id: d for d in session.scalars(select(OpenDataset).where(OpenDataset.id.in_(ids)))}


def _views(actor: Actor, *, staff: bool) -> list[tuple[str, str]]:
    out = [
        (v, applications.VIEWS[v].replace("申请", "更正申请")) for v in applications.views(actor)
    ]
    out = [(k, label) for k, label in out if (k != "mine") == staff]
    if staff and policy.is_bureau(actor):
        out.append((NEXT, "待纳入下一版目录的更正"))
    return out


def _list(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    staff: bool,
    view: str | None,
    status: str | None,
    offset: int,
) -> Response:
    views = _views(actor, staff=staff)
    if not views:
        raise NotFound("opendata.correction_not_found", "未找到该更正申请。")
    keys = [k for k, _ in views]
    current = view if view in keys else keys[0]
    status_value = status if status in {s.value for s in CorrectionRequestStatus} else None
    if current == NEXT:
        rows = corrections.pending_for_next_version(session, actor)
        items, has_prev, has_next = rows, False, False
    else:
        page = corrections.list_requests(
            session, actor, view=current, status=status_value, offset=offset, limit=PAGE
        )
        items, has_prev, has_next = page.items, page.has_prev, page.has_next
    cal = calendar.load_calendar(session)
    today = calendar.today()
    return render(
        request,
        "opendata/corrections_list.html",
        {
            "title": "开放目录更正申请",
            "base": "/opendata/corrections" if staff else "/open/corrections",
            "views": views,
            "current": current,
            "items": items,
            "offset": offset,
            "has_prev": has_prev,
            "has_next": has_next,
            "clocks": {r.id: clock(r, cal, today) for r in items},
            "sets": _sets(session, items),
            "overdue": corrections.overdue_count(session, actor),
            "status": status_value or "",
            "status_choices": STATUS_CHOICES,
            "FIELDS": corrections.FIELDS,
            "Status": CorrectionRequestStatus,
        },
    )


@router.get("/open/corrections")
def my_corrections(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    status: Annotated[str | None, Query(max_length=20)] = None,
    offset: Offset = 0,
) -> Response:
    return _list(request, session, actor, staff=False, view="mine", status=status, offset=offset)


@router.get("/opendata/corrections")
def inbox(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    view: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    offset: Offset = 0,
) -> Response:
    return _list(request, session, actor, staff=True, view=view, status=status, offset=offset)


# --- the form (Art. 32 ¶2) --------------------------------------------------------------------


def _form(
    request: Request,
    dataset: OpenDataset,
    *,
    v: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "opendata/corrections_form.html",
        {
            "title": f"申请更正开放目录：{dataset.name}",
            "dataset": dataset,
            "FIELDS": corrections.FIELDS,
            "current": {f: corrections.current_value(dataset, f) for f in corrections.FIELDS},
            "v": v or {"field": "abstract"},
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/open/datasets/{code:path}/correct")
def correct_form(request: Request, session: DbSession, actor: CurrentActor, code: str) -> Response:
    return _form(request, datasets.get_dataset(session, code))


@router.post("/open/datasets/{code:path}/correct")
def correct(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    code: str,
    field: Annotated[str, Form(max_length=32)] = "",
    proposed_value: Annotated[str, Form(max_length=4000)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        r = corrections.submit(
            session,
            actor,
            dataset_code=code,
            field=field,
            proposed_value=proposed_value,
            reason=reason,
        )
    except DomainError as exc:
        # A signed-in account without a checked identity sees why on the form (Art. 33 ¶3).
        if exc.status in (403, 404):
            raise
        finish_failed(session, exc)
        v = {"field": field, "proposed_value": proposed_value, "reason": reason}
        return _form(
            request,
            datasets.get_dataset(session, code),
            v=v,
            error=exc.message,
            status_code=401 if exc.status == 401 else 422,
        )
    return RedirectResponse(f"/open/corrections/{r.id}?msg=submitted", status_code=303)


# --- one request ------------------------------------------------------------------------------


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    r: CatalogCorrectionRequest,
    *,
    staff: bool,
    flash: str | None = None,
    error: str | None = None,
    error_form: str | None = None,
    v: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    cal = calendar.load_calendar(session)
    today = calendar.today()
    ob = corrections.obligation_of(session, r)
    extension_open = (
        r.status == CorrectionRequestStatus.PENDING
        and ob is not None
        and ob.is_open
        and ob.extension_days == 0
        and today <= ob.due_on
    )
    ids = [x for x in (r.requester_id, r.decided_by, r.extended_by) if x is not None]
    if ob is not None and ob.extension_requested_by is not None:
        ids.append(ob.extension_requested_by)
    people = {p.id: p.name for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    return render(
        request,
        "opendata/corrections_detail.html",
        {
            "title": f"更正申请第 {r.id} 号",
            "r": r,
            "staff": staff,
            "base": "/opendata/corrections" if staff else "/open/corrections",
            "dataset": corrections.dataset_of(session, r),
            "clock": clock(r, cal, today),
            "ob": ob,
            "people": people,
            "FIELDS": corrections.FIELDS,
            "Status": CorrectionRequestStatus,
            "can_answer": corrections.can_answer(actor, r),
            "can_request_extension": extension_open
            and ob is not None
            and not ob.extension_pending
            and obligations.can_request_extension(actor, ob),
            "can_approve_extension": extension_open
            and ob is not None
            and obligations.can_approve_extension(actor, ob),
            "max_extension": MAX_EXTENSION_WORKING_DAYS,
            "extension_action": f"/opendata/corrections/{r.id}/extension",
            "flash": flash,
            "flash_kind": "ok",
            "error": error,
            "error_form": error_form,
            "v": v or {},
        },
        status_code=status_code,
    )


@router.get("/open/corrections/{request_id}")
def my_correction(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    request_id: DbId,
    msg: Annotated[str | None, Query(max_length=30)] = None,
) -> Response:
    r = corrections.get(session, actor, request_id)
    return _detail(request, session, actor, r, staff=False, flash=FLASHES.get(msg or ""))


@router.get("/opendata/corrections/{request_id}")
def correction_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    request_id: DbId,
    msg: Annotated[str | None, Query(max_length=30)] = None,
) -> Response:
    r = corrections.get(session, actor, request_id)
    return _detail(request, session, actor, r, staff=True, flash=FLASHES.get(msg or ""))


def _again(
    request: Request,
    session: Session,
    actor: Actor,
    request_id: int,
    exc: DomainError,
    form: str,
    v: dict[str, Any],
) -> Response:
    if exc.status in (401, 403, 404):
        raise exc
    finish_failed(session, exc)
    r = corrections.get(session, actor, request_id)
    return _detail(
        request,
        session,
        actor,
        r,
        staff=True,
        error=exc.message,
        error_form=form,
        v=v,
        status_code=422,
    )


@router.post("/opendata/corrections/{request_id}/agree")
def agree(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    request_id: DbId,
    answer: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        corrections.agree(session, actor, request_id, answer=answer)
    except DomainError as exc:
        return _again(request, session, actor, request_id, exc, "agree", {"answer": answer})
    return RedirectResponse(f"/opendata/corrections/{request_id}?msg=agreed", status_code=303)


@router.post("/opendata/corrections/{request_id}/refuse")
def refuse(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    request_id: DbId,
    reason: Annotated[str, Form(max_length=4000)] = "",
    basis: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        corrections.refuse(session, actor, request_id, reason=reason, basis=basis)
    except DomainError as exc:
        v = {"reason": reason, "basis": basis}
        return _again(request, session, actor, request_id, exc, "refuse", v)
    return RedirectResponse(f"/opendata/corrections/{request_id}?msg=refused", status_code=303)


@router.post("/opendata/corrections/{request_id}/extension")
def extend(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    request_id: DbId,
    action: Annotated[str, Form(max_length=10)] = "",
    days: Annotated[str, Form(max_length=4)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    v = {"days": days, "reason": reason}
    try:
        n = int_or_none(days)
        if action == "refuse":
            corrections.refuse_extension(session, actor, request_id, reason=reason)
            msg = "extension_refused"
        elif action == "request":
            if n is None:
                raise InvalidInput("obligation.extension_days_required", "请填写延长的工作日数。")
            corrections.request_extension(session, actor, request_id, days=n, reason=reason)
            msg = "extension_requested"
        else:
            corrections.approve_extension(session, actor, request_id, days=n, reason=reason or None)
            msg = "extended"
    except DomainError as exc:
        return _again(request, session, actor, request_id, exc, "extension", v)
    return RedirectResponse(f"/opendata/corrections/{request_id}?msg={msg}", status_code=303)
