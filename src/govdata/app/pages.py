"""The shell's shared pages: sign-in and sign-out, the home page per role (each domain adds its
sections), the charts' stylesheet, the statutory calendar. The account and the oversight pages
are in ``account_pages`` and ``audit_pages``."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from govdata.app.forms import parse_date, safe_next
from govdata.core import calendar as cal
from govdata.core import obligations
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput
from govdata.core.workdays import CalendarEntry
from govdata.org import auth
from govdata.org.policy import is_city_admin, require_staff
from govdata.org.throttle import (
    Throttle,
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


@router.get("/login")
def login_form(request: Request, actor: OptionalActor, next: str | None = None) -> Response:
    if actor is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), **_other_ways(request)})


def _other_ways(request: Request) -> dict[str, object]:
    """The domains' other ways to sign in (the city's identity platform, registration)."""
    settings = get_settings(request)
    links = [link for d in request.app.state.domains for link in d.sign_in_links(settings)]
    return {"sign_in_links": links}


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
            {
                "error": exc.message,
                "username": username,
                "next": safe_next(next),
                **_other_ways(request),
            },
            status_code=exc.status,
        )
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response
    target = safe_next(next)
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
        d = cal.deadline(session, parse_date(start, "起算日期") or date.today(), days)
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
    parsed = parse_date(day, "日期")
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
