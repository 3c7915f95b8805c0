"""Objection pages (异议, Art. 27) under ``/sharing/objections``: the lists by side (raised by
us, about our data, ours to coordinate), the form (``?application=ID`` or ``?source=CODE``
with ``kind``), and an objection's page with its notes, the clock, and the steps the actor may
take (note, take up, settle with an order, extend, withdraw).

Thin: every rule is in ``sharing.objections``. A refused form is shown again with the message
and what was typed; the unit of work is ended first so that nothing of it is stored.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput
from govdata.core.types import MAX_DB_ID, DbId, Offset
from govdata.core.workdays import MAX_EXTENSION_WORKING_DAYS
from govdata.org.models import ApiToken
from govdata.sharing import objection_deadlines, objections, policy
from govdata.sharing.errors import ApplicationNotFound
from govdata.sharing.models import (
    ApplicationStatus,
    Objection,
    ObjectionKind,
    ObjectionResult,
    ObjectionStatus,
    ShareApplication,
)
from govdata.sharing.sources import SharedSource, get_source
from govdata.web.deps import CurrentActor, DbSession, form_csrf
from govdata.web.templating import render

router = APIRouter(dependencies=[Depends(form_csrf)], include_in_schema=False)
PAGE = 50
BASE = "/sharing/objections"

FLASHES = {
    "raised": "异议已提交，由数据主管部门会同数据提供部门协调处理（第二十七条）。",
    "value": "异议已提交，并已向数据提供部门申请校核（第十九条第二款）。",
    "noted": "已记录协调意见。",
    "taken": "已受理，开始协调。",
    "settled": "已办结。",
    "withdrawn": "已撤回异议。",
    "extended": "已延长协调期限。",
}
SHARE_TYPE_LABELS = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}


def _ctx(**kw: Any) -> dict[str, Any]:
    return {
        "ObjectionKind": ObjectionKind,
        "ObjectionStatus": ObjectionStatus,
        "ObjectionResult": ObjectionResult,
        "ApplicationStatus": ApplicationStatus,
        "ORDER_LABELS": objections.ORDER_LABELS,
        "SHARE_TYPE_LABELS": SHARE_TYPE_LABELS,
        **kw,
    }


def _refused(session: Session, exc: DomainError) -> str:
    finish_failed(session, exc)
    return exc.message


def _id_param(value: str | None) -> int | None:
    if value and value.isascii() and value.isdecimal() and 1 <= int(value) <= MAX_DB_ID:
        return int(value)
    return None


# --- the list ------------------------------------------------------------------------------


@router.get(BASE)
def objection_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    side: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    offset: Offset = 0,
) -> Response:
    sides = objections.sides(actor)
    current = side if side in sides else (sides[0] if sides else None)
    status_value = status if status in {s.value for s in ObjectionStatus} else None
    page = objections.list_objections(
        session, actor, side=current, status=status_value, offset=offset, limit=PAGE
    )
    cal = calendar.load_calendar(session)
    today = calendar.today()
    query = {k: v for k, v in {"side": current or "", "status": status_value or ""}.items() if v}
    return render(
        request,
        "sharing/objections.html",
        _ctx(
            title="共享异议",
            sides=[(s, objections.SIDES[s]) for s in sides],
            current=current,
            page=page,
            clocks={o.id: objections.clock_of(session, o, cal, today) for o in page.items},
            depts=objections.departments(
                session,
                [x for o in page.items for x in (o.department_id, o.provider_department_id)],
            ),
            status=status_value or "",
            status_choices=[(s.value, s.label) for s in ObjectionStatus],
            base_query=urlencode(query),
            may_object=bool(policy.department_ids(actor)),
        ),
    )


# --- the form ------------------------------------------------------------------------------


def _new_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    application_id: int | None,
    source_code: str,
    kind: str,
    v: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    app: ShareApplication | None = None
    source: SharedSource | None = None
    if application_id is not None:
        app = session.scalar(
            policy.visible_applications(actor).where(ShareApplication.id == application_id)
        )
        if app is None:
            raise ApplicationNotFound()
        source = get_source(session, app.source_code)
        kinds = [ObjectionKind.REFUSAL, ObjectionKind.NARROWING]
        default = (
            ObjectionKind.NARROWING
            if app.status == ApplicationStatus.NARROWED
            else ObjectionKind.REFUSAL
        )
    else:
        source = get_source(session, source_code) if source_code else None
        kinds = [ObjectionKind.SHARE_TYPE, ObjectionKind.VALUE]
        default = ObjectionKind.SHARE_TYPE
    chosen = ObjectionKind(kind) if kind in {k.value for k in kinds} else default
    return render(
        request,
        "sharing/objection_new.html",
        _ctx(
            title="提出共享异议",
            app=app,
            source=source,
            source_code=source_code,
            kinds=kinds,
            kind=chosen,
            departments=objections.departments(session, sorted(policy.department_ids(actor))),
            v=v or {},
            error=error,
        ),
        status_code=status_code,
    )


@router.get(f"{BASE}/new")
def objection_form(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    application: Annotated[str | None, Query(max_length=12)] = None,
    source: Annotated[str, Query(max_length=64)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    objections.require_department_person(actor)
    return _new_page(
        request,
        session,
        actor,
        application_id=_id_param(application),
        source_code=source.strip(),
        kind=kind,
    )


@router.post(BASE)
def raise_objection(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: Annotated[str, Form(max_length=20)] = "",
    application: Annotated[str, Form(max_length=12)] = "",
    source: Annotated[str, Form(max_length=64)] = "",
    item: Annotated[str, Form(max_length=100)] = "",
    key: Annotated[str, Form(max_length=64)] = "",
    proposed_value: Annotated[str, Form(max_length=4000)] = "",
    evidence: Annotated[str, Form(max_length=4000)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    requested: Annotated[str, Form(max_length=4000)] = "",
    department: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    objections.require_department_person(actor)
    app_id = _id_param(application)
    v = {
        "item": item,
        "key": key,
        "proposed_value": proposed_value,
        "evidence": evidence,
        "reason": reason,
        "requested": requested,
    }
    try:
        if kind not in {k.value for k in ObjectionKind}:
            raise InvalidInput("sharing.objection_kind_required", "请选择异议类型。")
        chosen = ObjectionKind(kind)
        o = objections.object_to(
            session,
            actor,
            kind=chosen,
            reason=reason,
            requested=requested,
            application_id=app_id,
            source_code=source,
            item_name=item,
            value=objections.ValueChallenge(key, proposed_value or None, evidence)
            if chosen == ObjectionKind.VALUE
            else None,
            department_id=_id_param(department),
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _new_page(
            request,
            session,
            actor,
            application_id=app_id,
            source_code=source.strip(),
            kind=kind,
            v=v,
            error=message,
            status_code=422,
        )
    msg = "value" if o.correction_id else "raised"
    return RedirectResponse(f"{BASE}/{o.id}?msg={msg}", status_code=303)


# --- one objection -------------------------------------------------------------------------


def _tokens(session: Session, department_id: int) -> list[ApiToken]:
    """The objector's systems an ordered grant may name (``sharing:read``, not revoked)."""
    return [
        t
        for t in session.scalars(
            select(ApiToken)
            .where(ApiToken.department_id == department_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
        if policy.SHARING_SCOPE in t.scope_list
    ]


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    o: Objection,
    *,
    flash: str | None = None,
    error: str | None = None,
    error_form: str | None = None,
    v: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    cal = calendar.load_calendar(session)
    today = calendar.today()
    clk = objections.clock_of(session, o, cal, today)
    live = o.status in objections.LIVE
    coordinator = live and policy.can_coordinate(actor, o.region_id)
    source = get_source(session, o.source_code) if o.source_code else None
    app = session.get(ShareApplication, o.application_id) if o.application_id else None
    ob = objection_deadlines.obligation_of(session, o)
    return render(
        request,
        "sharing/objection.html",
        _ctx(
            title=f"共享异议第 {o.id} 号",
            o=o,
            clock=clk,
            obligation=ob,
            app=app,
            source=source,
            correction=objections.correction_of(session, actor, o),
            notes=objections.notes(session, o.id),
            depts=objections.departments(session, [o.department_id, o.provider_department_id]),
            can_note=objections.can_note(actor, o),
            can_take_up=coordinator and o.status == ObjectionStatus.OPEN,
            can_settle=coordinator and o.status == ObjectionStatus.COORDINATING,
            can_order=o.kind != ObjectionKind.VALUE,
            can_withdraw=objections.can_withdraw(actor, o),
            can_extend=live
            and ob is not None
            and ob.extension_days == 0
            and today <= ob.due_on
            and objection_deadlines.can_extend(actor),
            tokens=_tokens(session, o.department_id) if coordinator else [],
            max_extension=MAX_EXTENSION_WORKING_DAYS,
            today=today,
            flash=flash,
            error=error,
            error_form=error_form,
            v=v or {},
        ),
        status_code=status_code,
    )


@router.get(BASE + "/{objection_id}")
def objection_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    objection_id: DbId,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    o = objections.get(session, actor, objection_id)
    return _detail(request, session, actor, o, flash=FLASHES.get(msg or ""))


def _step_refused(
    request: Request,
    session: Session,
    actor: Actor,
    objection_id: int,
    exc: DomainError,
    form: str,
    v: dict[str, Any],
) -> Response:
    if exc.status in (403, 404):
        raise exc
    message = _refused(session, exc)
    o = objections.get(session, actor, objection_id)
    return _detail(request, session, actor, o, error=message, error_form=form, v=v, status_code=422)


def _done(objection_id: int, msg: str) -> Response:
    return RedirectResponse(f"{BASE}/{objection_id}?msg={msg}", status_code=303)


@router.post(BASE + "/{objection_id}/notes")
def add_note(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    objection_id: DbId,
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        objections.add_note(session, actor, objection_id, text)
    except DomainError as exc:
        return _step_refused(request, session, actor, objection_id, exc, "note", {"text": text})
    return _done(objection_id, "noted")


@router.post(BASE + "/{objection_id}/take-up")
def take_up(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    objection_id: DbId,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        objections.take_up(session, actor, objection_id, note)
    except DomainError as exc:
        return _step_refused(request, session, actor, objection_id, exc, "take_up", {"note": note})
    return _done(objection_id, "taken")


def _date(value: str, label: str, *, required: bool) -> date | None:
    text = value.strip()
    if not text:
        if required:
            raise InvalidInput("sharing.order_date_required", f"请填写{label}。")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("sharing.order_date_invalid", f"{label}格式应为YYYY-MM-DD。") from None


def _order(
    order: str,
    items: list[str],
    valid_from: str,
    expires_on: str,
    systems: list[str],
    quota: str,
    purpose_code: str,
) -> objections.GrantOrder | None:
    if order != "grant":
        return None
    start = _date(valid_from, "生效日期", required=True)
    assert start is not None
    token_ids = [i for i in (_id_param(s) for s in systems) if i is not None]
    daily: int | None = None
    if quota.strip():
        if not (quota.strip().isascii() and quota.strip().isdecimal()):
            raise InvalidInput("sharing.quota_invalid", "每日调用限额须为正整数。")
        daily = int(quota.strip())
    return objections.GrantOrder(
        items=[i for i in items if i],
        valid_from=start,
        expires_on=_date(expires_on, "截止日期", required=False),
        token_ids=token_ids,
        daily_quota=daily,
        purpose_code=purpose_code,
    )


@router.post(BASE + "/{objection_id}/settle")
def settle(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    objection_id: DbId,
    result: Annotated[str, Form(max_length=12)] = "",
    outcome: Annotated[str, Form(max_length=4000)] = "",
    order: Annotated[str, Form(max_length=20)] = "",
    items: Annotated[list[str], Form(max_length=500)] = [],  # noqa: B006 - FastAPI form list
    valid_from: Annotated[str, Form(max_length=10)] = "",
    expires_on: Annotated[str, Form(max_length=10)] = "",
    systems: Annotated[list[str], Form(max_length=50)] = [],  # noqa: B006 - FastAPI form list
    daily_quota: Annotated[str, Form(max_length=9)] = "",
    purpose_code: Annotated[str, Form(max_length=64)] = "",
    catalog_change: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    v: dict[str, Any] = {
        "result": result,
        "outcome": outcome,
        "order": order,
        "items": items,
        "valid_from": valid_from,
        "expires_on": expires_on,
        "systems": systems,
        "daily_quota": daily_quota,
        "purpose_code": purpose_code,
        "catalog_change": catalog_change,
    }
    try:
        if result not in {r.value for r in ObjectionResult}:
            raise InvalidInput("sharing.result_required", "请选择协调处理结论。")
        if order not in ("", "grant", "catalog_change"):
            raise InvalidInput("sharing.order_invalid", "请选择处理措施。")
        objections.settle(
            session,
            actor,
            objection_id,
            result=ObjectionResult(result),
            outcome=outcome,
            grant=_order(order, items, valid_from, expires_on, systems, daily_quota, purpose_code),
            catalog_change=catalog_change if order == "catalog_change" else "",
        )
    except DomainError as exc:
        return _step_refused(request, session, actor, objection_id, exc, "settle", v)
    return _done(objection_id, "settled")


@router.post(BASE + "/{objection_id}/withdraw")
def withdraw(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    objection_id: DbId,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        objections.withdraw(session, actor, objection_id, reason)
    except DomainError as exc:
        return _step_refused(
            request, session, actor, objection_id, exc, "withdraw", {"reason": reason}
        )
    return _done(objection_id, "withdrawn")


@router.post(BASE + "/{objection_id}/extension")
def extend(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    objection_id: DbId,
    days: Annotated[str, Form(max_length=4)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    v = {"days": days, "reason": reason}
    try:
        if not (days.isascii() and days.strip().isdecimal()):
            raise InvalidInput("sharing.extension_days_required", "请填写延长的工作日数。")
        objections.extend(session, actor, objection_id, days=int(days), reason=reason)
    except DomainError as exc:
        return _step_refused(request, session, actor, objection_id, exc, "extension", v)
    return _done(objection_id, "extended")
