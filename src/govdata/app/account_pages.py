"""The account page (Art. 39): one's own details, devices signed in, recent failed sign-ins,
changing one's password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from govdata.app.forms import safe_next
from govdata.core.actor import Actor
from govdata.core.db import finish_failed, utcnow
from govdata.core.errors import DomainError, InvalidInput, NotAuthenticated
from govdata.org import service, sessions
from govdata.org.auth import FAILURE_LOOKBACK
from govdata.org.models import Department
from govdata.org.passwords import MIN_LENGTH, POLICY_TEXT
from govdata.org.throttle import (
    INACTIVE_ACCOUNT,
    LOCKED_ACCOUNT,
    THROTTLED,
    WRONG_PASSWORD,
    failures_since,
)
from govdata.web.deps import (
    SESSION_COOKIE,
    CurrentActor,
    DbSession,
    form_csrf,
)
from govdata.web.session_cookie import clear_session_cookie
from govdata.web.templating import render

router = APIRouter(dependencies=[Depends(form_csrf)], include_in_schema=False)


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
            next_url=safe_next(next),
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
