"""Conditional-open application pages (开放申请, Art. 33 ¶2).

The applicant's: ``/open/applications`` (mine), ``/open/datasets/{code}/apply`` (the form),
``/open/applications/{id}`` (follow the status, withdraw). The provider's and the bureau's:
``/opendata/applications`` (the inbox with due dates, overdue first) and
``/opendata/applications/{id}`` (approve as asked or narrowed, refuse with reason and basis,
extend with the head's approval). Thin: every rule is in ``opendata.applications``. A refused
form is shown again with the message and what was typed; the unit of work is ended first, so
nothing of it is stored.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.vocab import OpenType
from govdata.core import calendar, obligations
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput, NotFound
from govdata.core.types import DbId, Offset
from govdata.core.workdays import MAX_EXTENSION_WORKING_DAYS
from govdata.opendata import applications, datasets, policy, vocab
from govdata.opendata.clocks import clock
from govdata.opendata.models import OpenApplication, OpenApplicationStatus, OpenDataset
from govdata.org.models import Person
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter()
PAGE = 50

FLASHES = {
    "applied": "开放申请已提交，数据提供部门应当自收到之日起10个工作日内答复（第三十三条第二款）。",
    "approved": "已答复：同意开放。",
    "refused": "已答复：不同意开放。",
    "withdrawn": "申请已撤回。",
    "extension_requested": "延期申请已提交，待本部门主要负责人审批。",
    "extended": "已批准延长答复期限。",
    "extension_refused": "已不同意延期申请，答复期限不变。",
}
STATUS_CHOICES = [(s.value, s.label) for s in OpenApplicationStatus]


def _refused(session: Session, exc: DomainError) -> str:
    finish_failed(session, exc)
    return exc.message


def _date(value: str, code: str, message: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(code, message) from None


def _sets(session: Session, rows: list[OpenApplication]) -> dict[int, OpenDataset]:
    ids = sorted({a.dataset_id for a in rows})
    return {d.id: d for d in session.scalars(select(OpenDataset).where(OpenDataset.id.in_(ids)))}


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
    views = [v for v in applications.views(actor) if (v != "mine") == staff]
    if not views:
        raise NotFound("opendata.application_not_found", "未找到该开放申请。")
    current = view if view in views else views[0]
    status_value = status if status in {s.value for s in OpenApplicationStatus} else None
    page = applications.list_applications(
        session, actor, view=current, status=status_value, offset=offset, limit=PAGE
    )
    cal = calendar.load_calendar(session)
    today = calendar.today()
    query = "&".join(f"{k}={v}" for k, v in {"view": current, "status": status_value}.items() if v)
    return render(
        request,
        "opendata/applications_list.html",
        {
            "title": "开放申请",
            "staff": staff,
            "base": "/opendata/applications" if staff else "/open/applications",
            "views": [(v, applications.VIEWS[v]) for v in views],
            "current": current,
            "page": page,
            "clocks": {a.id: clock(a, cal, today) for a in page.items},
            "sets": _sets(session, page.items),
            "overdue": applications.overdue_count(session, actor),
            "status": status_value or "",
            "status_choices": STATUS_CHOICES,
            "base_query": query,
            "Status": OpenApplicationStatus,
        },
    )


@router.get("/open/applications")
def my_applications(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    status: Annotated[str | None, Query(max_length=20)] = None,
    offset: Offset = 0,
) -> Response:
    return _list(request, session, actor, staff=False, view="mine", status=status, offset=offset)


@router.get("/opendata/applications")
def inbox(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    view: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    offset: Offset = 0,
) -> Response:
    return _list(request, session, actor, staff=True, view=view, status=status, offset=offset)


# --- the form (Art. 33 ¶2) --------------------------------------------------------------------


def _form(
    request: Request,
    session: Session,
    actor: Actor,
    dataset: OpenDataset,
    *,
    v: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    today = calendar.today()
    values: dict[str, Any] = {
        "items": [],
        "period_from": today.isoformat(),
        "period_until": date(today.year + 1, today.month, min(today.day, 28)).isoformat(),
    } | (v or {})
    return render(
        request,
        "opendata/applications_form.html",
        {
            "title": f"申请获取：{dataset.name}",
            "dataset": dataset,
            "agreement_version": vocab.AGREEMENT_VERSION,
            "unconditional": dataset.open_type == OpenType.UNCONDITIONAL.value,
            "identified": policy.identity_checked(session, actor),
            "v": values,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/open/datasets/{code:path}/apply")
def apply_form(request: Request, session: DbSession, actor: CurrentActor, code: str) -> Response:
    return _form(request, session, actor, datasets.get_dataset(session, code))


@router.post("/open/datasets/{code:path}/apply")
def apply(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    code: str,
    items: Annotated[list[str] | None, Form()] = None,
    purpose: Annotated[str, Form(max_length=4000)] = "",
    scenario: Annotated[str, Form(max_length=4000)] = "",
    safeguards: Annotated[str, Form(max_length=4000)] = "",
    period_from: Annotated[str, Form(max_length=10)] = "",
    period_until: Annotated[str, Form(max_length=10)] = "",
    agreement: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    chosen = [i for i in (items or []) if len(i) <= 100][:500]
    v = {
        "items": chosen,
        "purpose": purpose,
        "scenario": scenario,
        "safeguards": safeguards,
        "period_from": period_from,
        "period_until": period_until,
    }
    try:
        a = applications.submit(
            session,
            actor,
            applications.Request(
                dataset_code=code,
                items=chosen,
                purpose=purpose,
                scenario=scenario,
                safeguards=safeguards,
                period_from=_date(period_from, "opendata.period_invalid", "请填写起始日期。"),
                period_until=_date(period_until, "opendata.period_invalid", "请填写截止日期。"),
                agreement_version=agreement or None,
            ),
        )
    except DomainError as exc:
        # A signed-in account without a checked identity sees why on the form (Art. 33 ¶3).
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _form(
            request,
            session,
            actor,
            datasets.get_dataset(session, code),
            v=v,
            error=message,
            status_code=401 if exc.status == 401 else 422,
        )
    return RedirectResponse(f"/open/applications/{a.id}?msg=applied", status_code=303)


# --- one application --------------------------------------------------------------------------


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    a: OpenApplication,
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
    ob = applications.obligation_of(session, a)
    pending = a.status == OpenApplicationStatus.PENDING
    extension_open = (
        pending and ob is not None and ob.is_open and ob.extension_days == 0 and today <= ob.due_on
    )
    ids = [x for x in (a.applicant_id, a.decided_by, a.extended_by) if x is not None]
    if ob is not None and ob.extension_requested_by is not None:
        ids.append(ob.extension_requested_by)
    people = {p.id: p.name for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    return render(
        request,
        "opendata/applications_detail.html",
        {
            "title": f"开放申请第 {a.id} 号",
            "a": a,
            "staff": staff,
            "base": "/opendata/applications" if staff else "/open/applications",
            "dataset": applications.dataset_of(session, a),
            "clock": clock(a, cal, today),
            "ob": ob,
            "people": people,
            "Status": OpenApplicationStatus,
            "can_answer": applications.can_answer(actor, a),
            "can_withdraw": applications.can_withdraw(actor, a),
            "can_request_extension": extension_open
            and ob is not None
            and not ob.extension_pending
            and obligations.can_request_extension(actor, ob),
            "can_approve_extension": extension_open
            and ob is not None
            and obligations.can_approve_extension(actor, ob),
            "max_extension": MAX_EXTENSION_WORKING_DAYS,
            "flash": flash,
            "flash_kind": "ok",
            "error": error,
            "error_form": error_form,
            "v": v or {"items": list(a.items)},
        },
        status_code=status_code,
    )


@router.get("/open/applications/{application_id}")
def my_application(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    application_id: DbId,
    msg: Annotated[str | None, Query(max_length=30)] = None,
) -> Response:
    a = applications.get(session, actor, application_id)
    return _detail(request, session, actor, a, staff=False, flash=FLASHES.get(msg or ""))


@router.get("/opendata/applications/{application_id}")
def application_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    application_id: DbId,
    msg: Annotated[str | None, Query(max_length=30)] = None,
) -> Response:
    a = applications.get(session, actor, application_id)
    return _detail(request, session, actor, a, staff=True, flash=FLASHES.get(msg or ""))


def _again(
    request: Request,
    session: Session,
    actor: Actor,
    application_id: int,
    exc: DomainError,
    form: str,
    v: dict[str, Any],
    *,
    staff: bool = True,
) -> Response:
    if exc.status in (401, 403, 404):
        raise exc
    message = _refused(session, exc)
    a = applications.get(session, actor, application_id)
    return _detail(
        request,
        session,
        actor,
        a,
        staff=staff,
        error=message,
        error_form=form,
        v=v,
        status_code=422,
    )


@router.post("/opendata/applications/{application_id}/approve")
def approve(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    application_id: DbId,
    items: Annotated[list[str] | None, Form()] = None,
    granted_from: Annotated[str, Form(max_length=10)] = "",
    granted_until: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    chosen = [i for i in (items or []) if len(i) <= 100][:500]
    v = {"items": chosen, "granted_from": granted_from, "granted_until": granted_until}
    try:
        applications.approve(
            session,
            actor,
            application_id,
            items=chosen,
            granted_from=(
                _date(granted_from, "opendata.period_invalid", "请填写正确的起始日期。")
                if granted_from.strip()
                else None
            ),
            granted_until=(
                _date(granted_until, "opendata.period_invalid", "请填写正确的截止日期。")
                if granted_until.strip()
                else None
            ),
        )
    except DomainError as exc:
        return _again(request, session, actor, application_id, exc, "approve", v)
    return RedirectResponse(
        f"/opendata/applications/{application_id}?msg=approved", status_code=303
    )


@router.post("/opendata/applications/{application_id}/refuse")
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
    return RedirectResponse(f"/opendata/applications/{application_id}?msg=refused", status_code=303)


@router.post("/open/applications/{application_id}/withdraw")
def withdraw(
    request: Request, session: DbSession, actor: CurrentActor, application_id: DbId
) -> Response:
    try:
        applications.withdraw(session, actor, application_id)
    except DomainError as exc:
        return _again(request, session, actor, application_id, exc, "withdraw", {}, staff=False)
    return RedirectResponse(f"/open/applications/{application_id}?msg=withdrawn", status_code=303)


def int_or_none(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdecimal()) or len(text) > 4:
        raise InvalidInput("obligation.extension_days_required", "请填写延长的工作日数。")
    return int(text)


@router.post("/opendata/applications/{application_id}/extension")
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
        n = int_or_none(days)
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
    return RedirectResponse(f"/opendata/applications/{application_id}?msg={msg}", status_code=303)
