"""The shell's shared pages: sign-in and sign-out, the home page per role (each domain adds its
sections), the account, the audit chain (Art. 49), the statutory calendar."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.app.access_records import list_access_records, require_view_access_records
from govdata.core import calendar as cal
from govdata.core import obligations
from govdata.core.access import AccessFilter
from govdata.core.actor import Actor
from govdata.core.audit_query import (
    AuditFilter,
    list_events,
    platform_checkpoints,
    require_view_audit,
    verify_chain,
)
from govdata.core.db import finish_failed, utcnow
from govdata.core.errors import DomainError, InvalidInput, NotAuthenticated
from govdata.core.types import Offset
from govdata.core.workdays import CalendarEntry
from govdata.org import auth, service, sessions
from govdata.org.auth import FAILURE_LOOKBACK
from govdata.org.models import Department
from govdata.org.passwords import MIN_LENGTH, POLICY_TEXT
from govdata.org.policy import is_city_admin, require_staff
from govdata.org.throttle import (
    INACTIVE_ACCOUNT,
    LOCKED_ACCOUNT,
    THROTTLED,
    WRONG_PASSWORD,
    Throttle,
    failures_since,
)
from govdata.web import charts
from govdata.web.deps import (
    SESSION_COOKIE,
    CurrentActor,
    DbSession,
    OptionalActor,
    form_csrf,
    get_settings,
)
from govdata.web.session_cookie import clear_session_cookie, set_session_cookie
from govdata.web.templating import render

router = APIRouter(dependencies=[Depends(form_csrf)], include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login")
def login_form(request: Request, actor: OptionalActor, next: str | None = None) -> Response:
    if actor is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    settings = get_settings(request)
    try:
        result = auth.sign_in(
            session,
            username,
            password,
            hours=settings.session_hours,
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            # Rotation: the session of the cookie presented ends at a new sign-in.
            previous_secret=request.cookies.get(SESSION_COOKIE),
            throttle=Throttle.from_settings(settings),
        )
    except DomainError as exc:
        finish_failed(session, exc)  # a failed attempt still counts (lockout, throttle)
        response = render(
            request,
            "login.html",
            {"error": exc.message, "username": username, "next": _safe_next(next)},
            status_code=exc.status,
        )
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response
    target = _safe_next(next)
    if result.failed_attempts:
        # Someone else may have been guessing (and locked the account meanwhile): say so.
        target = "/account?" + urlencode({"notice": "failures", "next": target})
    redirect = RedirectResponse(target, status_code=303)
    set_session_cookie(redirect, settings, result.secret)
    return redirect


@router.post("/logout")
def logout(request: Request, session: DbSession) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        auth.sign_out(session, secret)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


# --- the charts' stylesheet ---------------------------------------------------------------------

CHARTS_CSS_MAX_AGE = 3600  # then the browser asks again (If-None-Match): a deploy may change it


@router.get(charts.STYLESHEET_URL)
def chart_stylesheet(request: Request) -> Response:
    """Every chart's stylesheet, one file: the pages' CSP allows no inline style (web.charts).
    The same for everyone and nothing personal: cacheable (web.headers.CACHEABLE_PREFIXES)."""
    etag = charts.stylesheet_etag()
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={CHARTS_CSS_MAX_AGE}"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(charts.stylesheet(), media_type="text/css; charset=utf-8", headers=headers)


TODO_LIMIT = 30


@router.get("/")
def home(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    sections = [
        section
        for domain in request.app.state.domains
        if domain.home_sections is not None
        for section in domain.home_sections()(session, actor)
    ]
    # The actor's own running statutory clocks (the department head's approvals first).
    todos = obligations.open_for(session, actor, limit=TODO_LIMIT)
    flash = {
        "requested": "延期申请已提交，待本部门主要负责人审批。",
        "approved": "已同意延期。",
        "refused": "已不同意延期，申请人将看到理由。",
    }.get(msg or "")
    return render(
        request,
        "home.html",
        {"sections": sections, "todos": todos, "todo_limit": TODO_LIMIT, "flash": flash},
    )


@router.post("/obligations/{obligation_id}/extension/request")
def request_extension(
    session: DbSession,
    actor: CurrentActor,
    obligation_id: int,
    days: Annotated[int, Form(ge=1, le=10)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The owner department's staff ask their head for the one extension (Art. 19 ¶2)."""
    obligations.request_extension(session, actor, obligation_id, days=days, reason=reason)
    return RedirectResponse("/?msg=requested", status_code=303)


@router.post("/obligations/{obligation_id}/extension/approve")
def approve_extension(session: DbSession, actor: CurrentActor, obligation_id: int) -> Response:
    """The owner department's head approves the requested extension (Art. 19 ¶2, 32 ¶3, 33 ¶2)."""
    obligations.approve_extension(session, actor, obligation_id)
    return RedirectResponse("/?msg=approved", status_code=303)


@router.post("/obligations/{obligation_id}/extension/refuse")
def refuse_extension(
    session: DbSession,
    actor: CurrentActor,
    obligation_id: int,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    obligations.refuse_extension(session, actor, obligation_id, reason=reason)
    return RedirectResponse("/?msg=refused", status_code=303)


ACCOUNT_FLASHES = {
    "password": "密码已修改，您在其他设备上的登录已全部退出。",
    "session_ended": "已退出该设备上的登录。",
}
FAILURE_REASONS = {
    WRONG_PASSWORD: "密码错误",
    LOCKED_ACCOUNT: "账户临时锁定期间",
    THROTTLED: "尝试过于频繁，被拒绝",
    INACTIVE_ACCOUNT: "账户已停用",
}
FAILURES_SHOWN = 10


def _account_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    flash: str | None = None,
    flash_kind: str | None = None,
    error: str | None = None,
    next_url: str | None = None,
    status_code: int = 200,
) -> Response:
    if actor.person_id is None:
        raise InvalidInput("auth.not_a_person", "接口令牌没有个人账户页面。")
    person = service.get_person(session, actor, actor.person_id)
    # One's own department, whatever one's roles (a person without roles still has one).
    department = session.get(Department, person.department_id) if person.department_id else None
    now = utcnow()
    return render(
        request,
        "account.html",
        {
            "person": person,
            "department": department,
            "grants": sorted(actor.roles),
            "flash": flash,
            "flash_kind": flash_kind,
            "next_url": next_url,
            "error": error,
            "password_policy": POLICY_TEXT,
            "min_length": MIN_LENGTH,
            "sessions": sessions.list_sessions(
                session, actor, current_secret=request.cookies.get(SESSION_COOKIE), now=now
            ),
            "failures": failures_since(session, person.username, now - FAILURE_LOOKBACK)[
                :FAILURES_SHOWN
            ],
            "failure_reasons": FAILURE_REASONS,
        },
        status_code=status_code,
    )


@router.get("/account")
def account(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    msg: Annotated[str | None, Query(max_length=20)] = None,
    notice: Annotated[str | None, Query(max_length=20)] = None,
    next: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    if notice == "failures":
        return _account_page(
            request,
            session,
            actor,
            flash="自您上次登录以来，有人使用您的用户名登录失败（账户可能因此被临时锁定过），"
            "详见下方“最近的失败登录”。如果不是您本人所为，请立即修改密码。",
            flash_kind="warn",
            next_url=_safe_next(next),
        )
    return _account_page(request, session, actor, flash=ACCOUNT_FLASHES.get(msg or ""))


@router.post("/account/password")
def change_password(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
) -> Response:
    """Change one's own password: the rule lives in the service (current password required,
    a wrong one counts towards the lockout; one's other sessions end, this one stays)."""
    if actor.person_id is None:
        raise InvalidInput("auth.not_a_person", "接口令牌不能修改密码。")
    try:
        service.reset_password(
            session,
            actor,
            actor.person_id,
            new,
            current_password=current,
            current_session=request.cookies.get(SESSION_COOKIE),
        )
    except NotAuthenticated as exc:
        # Locked by wrong current passwords: every session has ended, this one too.
        finish_failed(session, exc)
        request.state.actor = None
        response = render(
            request, "login.html", {"error": exc.message, "next": "/account"}, status_code=401
        )
        clear_session_cookie(response)
        return response
    except DomainError as exc:
        finish_failed(session, exc)  # a wrong current password still counts
        return _account_page(request, session, actor, error=exc.message, status_code=exc.status)
    return RedirectResponse("/account?msg=password", status_code=303)


@router.post("/account/sessions/{session_id}/end")
def end_session(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    session_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> Response:
    """退出该设备: end one of one's own sessions; ending this one signs out."""
    ended = sessions.end_session(
        session, actor, session_id, current_secret=request.cookies.get(SESSION_COOKIE)
    )
    if ended.current:
        response = RedirectResponse("/login", status_code=303)
        clear_session_cookie(response)
        return response
    return RedirectResponse("/account?msg=session_ended", status_code=303)


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
        since=_parse_date(since, "起始日期"),
        until=_parse_date(until, "截止日期"),
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
        since=_parse_date(since, "起始日期"),
        until=_parse_date(until, "截止日期"),
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


def _parse_date(value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or not date(1900, 1, 1) <= parsed <= date(9998, 12, 31):
        raise InvalidInput("request.bad_date", f"{label}“{value}”不是有效日期（YYYY-MM-DD）。")
    return parsed


# --- statutory calendar -------------------------------------------------------------------------


def _calendar_page(
    request: Request,
    session: Session,
    actor: CurrentActor,
    year: int,
    *,
    flash: str | None = None,
    calc: dict[str, object] | None = None,
) -> Response:
    years = cal.published_years(session)
    published = {y.year for y in years}
    return render(
        request,
        "workdays.html",
        {
            "year": year,
            "days": cal.days_of_year(session, year),
            "years": years,
            "published": year in published,
            "can_edit": is_city_admin(actor),
            "flash": flash,
            "calc": calc,
        },
    )


@router.get("/workdays")
def workdays_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    year: Annotated[int | None, Query(ge=2004, le=2200)] = None,
    start: Annotated[str | None, Query(max_length=10)] = None,
    days: Annotated[int | None, Query(ge=0, le=366)] = None,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    require_staff(actor)
    calc = None
    if start and days is not None:
        d = cal.deadline(session, _parse_date(start, "起算日期") or date.today(), days)
        calc = {"deadline": d, "start": start, "days": days}
    flash = {"day": "已登记。", "imported": "已导入该年度节假日安排。"}.get(msg or "")
    return _calendar_page(
        request, session, actor, year or date.today().year, calc=calc, flash=flash
    )


@router.post("/workdays/days")
def workdays_set_day(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    day: Annotated[str, Form(max_length=10)],
    kind: Annotated[str, Form(pattern="^(holiday|workday)$")],
    name: Annotated[str, Form(max_length=60)],
) -> Response:
    parsed = _parse_date(day, "日期")
    assert parsed is not None
    cal.set_day(session, actor, CalendarEntry(parsed, kind == "workday", name))
    return RedirectResponse(f"/workdays?year={parsed.year}&msg=day", status_code=303)


@router.post("/workdays/import")
def workdays_import(
    session: DbSession,
    actor: CurrentActor,
    year: Annotated[int, Form(ge=2004, le=2200)],
    text: Annotated[str, Form(max_length=100_000)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if file is not None and file.filename:
        try:
            text = file.file.read(1_000_000).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(
                "workdays.bad_encoding", "节假日文件须为 UTF-8 编码的 CSV。"
            ) from None
    result = cal.import_year(session, actor, year, cal.parse_calendar_csv(text), source="page")
    return RedirectResponse(
        f"/workdays?year={year}&msg=imported&n={result.holidays}-{result.makeup_workdays}",
        status_code=303,
    )


@router.post("/workdays/years/{year}/publish")
def workdays_publish(
    request: Request, session: DbSession, actor: CurrentActor, year: int
) -> Response:
    cal.publish_year(session, actor, year)
    return RedirectResponse(f"/workdays?year={year}", status_code=303)
