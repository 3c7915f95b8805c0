"""Application pages (共享申请, Art. 24, 26 ¶2) under ``/sharing/applications``: what the
department asked for, the provider's inbox with deadlines (overdue first), everything for the
bureau and auditors; the form (registration or application, adapting to the source's and
items' share types); an application's page with its clock, the provider's answer form with
narrowing controls, the requester's withdrawal, and the extension (staff ask, the head
approves).

Thin: every rule is in ``sharing.applications`` and ``sharing.policy``. A refused form is shown
again with the message and what was typed; the unit of work is ended first, so nothing of it is
stored.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import calendar, obligations
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput, PermissionDenied
from govdata.core.types import DbId, Offset
from govdata.core.workdays import MAX_EXTENSION_WORKING_DAYS
from govdata.org.models import Department, Person
from govdata.sharing import applications, catalog, grants, policy
from govdata.sharing.deadlines import clock
from govdata.sharing.models import (
    ApplicationKind,
    ApplicationStatus,
    GrantMode,
    ShareApplication,
)
from govdata.sharing.sources import SharedSource, get_source
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter()
PAGE = 50
CHOICES = 20  # sources found by a search on the application form
BASE = "/sharing/applications"

FLASHES = {
    "registered": "无条件共享登记已生效，授权已生成。",
    "applied": "共享申请已提交，数据提供部门应当自收到之日起10个工作日内答复。",
    "approved": "已答复：同意共享，授权已生成。",
    "refused": "已答复：不予共享。",
    "withdrawn": "申请已撤回。",
    "extension_requested": "延期申请已提交，待本部门主要负责人审批。",
    "extended": "已批准延长答复期限。",
    "extension_refused": "已不同意延期申请，答复期限不变。",
}
SHARE_TYPE_LABELS = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
STATUS_CHOICES = [(s.value, s.label) for s in ApplicationStatus]


def _ctx(**kw: Any) -> dict[str, Any]:
    return {
        "ApplicationStatus": ApplicationStatus,
        "ApplicationKind": ApplicationKind,
        "GrantMode": GrantMode,
        "SHARE_TYPE_LABELS": SHARE_TYPE_LABELS,
        "describe_rows": lambda raw: c.describe() if (c := grants.RowCondition.of(raw)) else "",
        **kw,
    }


def _refused(session: Session, exc: DomainError) -> str:
    finish_failed(session, exc)
    return exc.message


def _depts(session: Session, items: list[ShareApplication]) -> dict[int, Department]:
    return applications.departments(
        session, [x for a in items for x in (a.requester_department_id, a.provider_department_id)]
    )


# --- the list ---------------------------------------------------------------------------------


@router.get("/sharing/applications")
def application_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    view: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    offset: Offset = 0,
) -> Response:
    applications.require_person(actor)
    views = applications.views(actor)
    # A provider with applications waiting for its answer opens on its inbox (Art. 26 ¶2).
    default = views[0]
    if "incoming" in views and applications.waiting_count(session, actor):
        default = "incoming"
    current = view if view in views else default
    status_value = status if status in {s.value for s in ApplicationStatus} else None
    page = applications.list_applications(
        session, actor, view=current, status=status_value, offset=offset, limit=PAGE
    )
    cal = calendar.load_calendar(session)
    today = calendar.today()
    query = {k: v for k, v in {"view": current, "status": status_value or ""}.items() if v}
    return render(
        request,
        "sharing/applications.html",
        _ctx(
            title="共享申请",
            views=[(v, applications.VIEWS[v]) for v in views],
            current=current,
            page=page,
            clocks={a.id: clock(a, cal, today) for a in page.items},
            overdue=applications.overdue_count(session, actor, view=current),
            status=status_value or "",
            status_choices=STATUS_CHOICES,
            base_query=urlencode(query),
            can_apply=policy.can_apply(actor),
            depts=_depts(session, page.items),
        ),
    )


# --- the form (Art. 24, 26 ¶2) ----------------------------------------------------------------


def _new_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    code: str,
    q: str = "",
    v: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    if not policy.can_apply(actor) or actor.token_id is not None:
        raise PermissionDenied("sharing.apply_forbidden", "只能以本部门名义申请共享数据。")
    source: SharedSource | None = get_source(session, code) if code else None
    own = sorted(policy.department_ids(actor))
    # Without a source: a search of the share catalog (thousands of sources: never one list).
    found = (
        catalog.browse(session, actor, catalog.CatalogFilters(q=q), limit=CHOICES)
        if source is None and q
        else None
    )
    today = calendar.today()
    values: dict[str, Any] = {
        "department_id": str(own[0]) if own else "",
        "items": [],
        "mode": GrantMode.DATA.value,
        "period_from": today.isoformat(),
        "period_until": date(today.year + 1, today.month, min(today.day, 28)).isoformat(),
    } | (v or {})
    return render(
        request,
        "sharing/application_new.html",
        _ctx(
            title="申请共享数据",
            code=code,
            source=source,
            unknown=bool(code) and source is None,
            q=q,
            found=found,
            departments=applications.departments(session, own),
            systems=applications.candidate_systems(session, own),
            v=values,
            error=error,
        ),
        status_code=status_code,
    )


@router.get("/sharing/applications/new")
def application_form(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    source: Annotated[str, Query(max_length=64)] = "",
    q: Annotated[str, Query(max_length=catalog.MAX_QUERY)] = "",
) -> Response:
    return _new_page(request, session, actor, code=source.strip(), q=q.strip())


def _date(value: str, code: str, message: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(code, message) from None


def _int(value: str, code: str, message: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdecimal()) or len(text) > 10:
        raise InvalidInput(code, message)
    return int(text)


def _rows(item: str, values: str) -> dict[str, Any] | None:
    if not item.strip():
        return None
    parts = [p.strip() for p in values.replace("，", ",").replace("、", ",").split(",")]
    return {"item": item.strip(), "values": [p for p in parts if p]}


@router.post("/sharing/applications")
def submit(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    source: Annotated[str, Form(max_length=64)] = "",
    department_id: Annotated[str, Form(max_length=12)] = "",
    items: Annotated[list[str] | None, Form()] = None,
    duty: Annotated[str, Form(max_length=4000)] = "",
    legal_basis: Annotated[str, Form(max_length=4000)] = "",
    purpose: Annotated[str, Form(max_length=4000)] = "",
    purpose_code: Annotated[str, Form(max_length=64)] = "",
    calling_system: Annotated[str, Form(max_length=200)] = "",
    token_ids: Annotated[list[str] | None, Form()] = None,
    period_from: Annotated[str, Form(max_length=10)] = "",
    period_until: Annotated[str, Form(max_length=10)] = "",
    scenario: Annotated[str, Form(max_length=4000)] = "",
    expected_daily_calls: Annotated[str, Form(max_length=12)] = "",
    row_item: Annotated[str, Form(max_length=100)] = "",
    row_values: Annotated[str, Form(max_length=2000)] = "",
    mode: Annotated[str, Form(max_length=12)] = "data",
) -> Response:
    chosen = [i for i in (items or []) if len(i) <= 100][:500]
    tokens = [t for t in (token_ids or []) if t.isascii() and t.isdecimal() and len(t) <= 10]
    v: dict[str, Any] = {
        "department_id": department_id,
        "items": chosen,
        "duty": duty,
        "legal_basis": legal_basis,
        "purpose": purpose,
        "purpose_code": purpose_code,
        "calling_system": calling_system,
        "token_ids": tokens,
        "period_from": period_from,
        "period_until": period_until,
        "scenario": scenario,
        "expected_daily_calls": expected_daily_calls,
        "row_item": row_item,
        "row_values": row_values,
        "mode": mode,
    }
    try:
        dept = _int(department_id, "sharing.department_required", "请选择申请部门。")
        if dept is None:
            raise InvalidInput("sharing.department_required", "请选择申请部门。")
        if mode not in {m.value for m in GrantMode}:
            raise InvalidInput("sharing.mode_invalid", "请选择共享方式。")
        a = applications.submit(
            session,
            actor,
            applications.Request(
                department_id=dept,
                source_code=source,
                items=chosen,
                duty=duty,
                legal_basis=legal_basis,
                purpose=purpose,
                purpose_code=purpose_code,
                calling_system=calling_system,
                period_from=_date(period_from, "sharing.period_from_invalid", "请填写起始日期。"),
                period_until=_date(
                    period_until, "sharing.period_until_required", "请填写使用期限的截止日期。"
                ),
                token_ids=[int(t) for t in tokens],
                scenario=scenario,
                expected_daily_calls=_int(
                    expected_daily_calls,
                    "sharing.daily_calls_invalid",
                    "预计每日调用次数须为正整数。",
                ),
                row_condition=_rows(row_item, row_values),
                mode=GrantMode(mode),
            ),
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        message = _refused(session, exc)
        return _new_page(
            request, session, actor, code=source.strip(), v=v, error=message, status_code=422
        )
    msg = "registered" if a.kind == ApplicationKind.REGISTRATION else "applied"
    return RedirectResponse(f"{BASE}/{a.id}?msg={msg}", status_code=303)


# --- one application: answer, withdraw, extend ------------------------------------------------


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    a: ShareApplication,
    *,
    flash: str | None = None,
    error: str | None = None,
    error_form: str | None = None,
    v: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    cal = calendar.load_calendar(session)
    today = calendar.today()
    clk = clock(a, cal, today)
    ob = applications.obligation_of(session, a)
    pending = a.status == ApplicationStatus.PENDING
    can_answer = applications.can_answer(actor, a)
    extension_open = (
        pending and ob is not None and ob.is_open and ob.extension_days == 0 and today <= ob.due_on
    )
    people = {
        p.id: p.name
        for p in session.scalars(
            select(Person).where(
                Person.id.in_(
                    [
                        x
                        for x in (
                            a.decided_by,
                            a.extended_by,
                            ob.extension_requested_by if ob else None,
                        )
                        if x is not None
                    ]
                )
            )
        )
    }
    source = get_source(session, a.source_code) if can_answer else None
    return render(
        request,
        "sharing/application.html",
        _ctx(
            title=f"共享申请第 {a.id} 号",
            a=a,
            clock=clk,
            ob=ob,
            people=people,
            depts=_depts(session, [a]),
            can_answer=can_answer,
            can_withdraw=applications.can_withdraw(actor, a),
            can_request_extension=extension_open
            and ob is not None
            and not ob.extension_pending
            and obligations.can_request_extension(actor, ob),
            can_approve_extension=extension_open
            and ob is not None
            and obligations.can_approve_extension(actor, ob),
            max_extension=MAX_EXTENSION_WORKING_DAYS,
            row_items=[i.name for i in source.items] if source else [],
            flash=flash,
            flash_kind="ok",
            error=error,
            error_form=error_form,
            v=v or {"items": list(a.items)},
        ),
        status_code=status_code,
    )


@router.get("/sharing/applications/{application_id}")
def application_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    application_id: DbId,
    msg: Annotated[str | None, Query(max_length=30)] = None,
) -> Response:
    a = applications.get(session, actor, application_id)
    return _detail(request, session, actor, a, flash=FLASHES.get(msg or ""))


def _again(
    request: Request,
    session: Session,
    actor: Actor,
    application_id: int,
    exc: DomainError,
    form: str,
    v: dict[str, Any],
) -> Response:
    if exc.status in (403, 404):
        raise exc
    message = _refused(session, exc)
    a = applications.get(session, actor, application_id)
    return _detail(request, session, actor, a, error=message, error_form=form, v=v, status_code=422)


@router.post("/sharing/applications/{application_id}/approve")
def approve(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    application_id: DbId,
    items: Annotated[list[str] | None, Form()] = None,
    row_item: Annotated[str, Form(max_length=100)] = "",
    row_values: Annotated[str, Form(max_length=2000)] = "",
    period_until: Annotated[str, Form(max_length=10)] = "",
    daily_quota: Annotated[str, Form(max_length=12)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    chosen = [i for i in (items or []) if len(i) <= 100][:500]
    v = {
        "items": chosen,
        "row_item": row_item,
        "row_values": row_values,
        "period_until": period_until,
        "daily_quota": daily_quota,
        "note": note,
    }
    try:
        applications.approve(
            session,
            actor,
            application_id,
            items=chosen,
            row_condition=_rows(row_item, row_values),
            period_until=(
                _date(period_until, "sharing.period_invalid", "请填写正确的截止日期。")
                if period_until.strip()
                else None
            ),
            daily_quota=_int(daily_quota, "sharing.quota_invalid", "每日调用限额须为正整数。"),
            note=note,
        )
    except DomainError as exc:
        return _again(request, session, actor, application_id, exc, "approve", v)
    return RedirectResponse(f"{BASE}/{application_id}?msg=approved", status_code=303)


@router.post("/sharing/applications/{application_id}/refuse")
def refuse(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    application_id: DbId,
    reason: Annotated[str, Form(max_length=4000)] = "",
    basis: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        applications.refuse(session, actor, application_id, reason=reason, basis=basis)
    except DomainError as exc:
        v = {"reason": reason, "basis": basis}
        return _again(request, session, actor, application_id, exc, "refuse", v)
    return RedirectResponse(f"{BASE}/{application_id}?msg=refused", status_code=303)


@router.post("/sharing/applications/{application_id}/withdraw")
def withdraw(
    request: Request, session: DbSession, actor: CurrentActor, application_id: DbId
) -> Response:
    try:
        applications.withdraw(session, actor, application_id)
    except DomainError as exc:
        return _again(request, session, actor, application_id, exc, "withdraw", {})
    return RedirectResponse(f"{BASE}/{application_id}?msg=withdrawn", status_code=303)


@router.post("/sharing/applications/{application_id}/extension")
def extend(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    application_id: DbId,
    action: Annotated[str, Form(max_length=10)] = "",
    days: Annotated[str, Form(max_length=4)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    v = {"days": days, "reason": reason}
    try:
        n = _int(days, "obligation.extension_days_required", "请填写延长的工作日数。")
        if action == "refuse":
            applications.refuse_extension(session, actor, application_id, reason=reason)
            msg = "extension_refused"
        elif action == "request":
            if n is None:
                raise InvalidInput("obligation.extension_days_required", "请填写延长的工作日数。")
            applications.request_extension(session, actor, application_id, days=n, reason=reason)
            msg = "extension_requested"
        else:
            applications.approve_extension(
                session, actor, application_id, days=n, reason=reason or None
            )
            msg = "extended"
    except DomainError as exc:
        return _again(request, session, actor, application_id, exc, "extension", v)
    return RedirectResponse(f"{BASE}/{application_id}?msg={msg}", status_code=303)
