"""Request-scoped dependencies: the unit of work, the acting ``Actor``, CSRF protection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, NotAuthenticated
from govdata.core.settings import Settings
from govdata.org import auth

SESSION_COOKIE = "govdata_session"
ANON_COOKIE = "govdata_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _finish(session: Session, exc: BaseException | None) -> None:
    try:
        if exc is None:
            session.commit()
        else:
            finish_failed(session, exc)
    finally:
        session.close()


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent (scope=function).

    A request first takes a slot of a limiter as large as the connection pool, waiting in the
    event loop: otherwise, under more concurrent requests than pooled connections, requests
    holding a connection wait for a worker thread while every worker thread waits for a
    connection (a deadlock, seen at 100 clients). Creating the Session does no I/O, so it needs
    no thread; commit and close run in one thread-pool call.
    """
    async with request.app.state.db_limiter:
        session: Session = request.app.state.sessionmaker()
        try:
            yield session
        except BaseException as exc:
            await run_in_threadpool(_finish, session, exc)
            raise
        await run_in_threadpool(_finish, session, None)


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return None


def optional_actor(request: Request, session: DbSession) -> Actor | None:
    """The actor of the request: a bearer token, else the session cookie, else nobody."""
    settings = get_settings(request)
    token = _bearer(request)
    actor: Actor | None = None
    if token is not None:
        actor = auth.resolve_token(session, token)
        if actor is None:
            raise NotAuthenticated("auth.invalid_token", "接口令牌无效、已过期或已被吊销。")
    else:
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            actor = auth.resolve_session(session, secret, hours=settings.session_hours)
            if actor is not None and request.method in UNSAFE_METHODS:
                _check_csrf_header_or_form_later(request)
    request.state.actor = actor
    return actor


def _check_csrf_header_or_form_later(request: Request) -> None:
    # JSON clients using the cookie must send the header; forms are checked by ``form_csrf``,
    # which can read the body. Mark that a check is owed so no route can forget it.
    request.state.csrf_owed = True
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        _verify_csrf(request, header)
        request.state.csrf_owed = False


def browser_secret(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE)


def _verify_csrf(request: Request, token: str | None) -> None:
    if not auth.csrf_valid(get_settings(request).secret_key, browser_secret(request), token):
        raise DomainError(
            "auth.csrf_failed", "页面已过期或请求来源不可信，请刷新页面后重试。", status=403
        )


# The checks below do no I/O: ``async def`` keeps them off the thread pool.
async def require_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    if actor is None:
        raise NotAuthenticated()
    return actor


CurrentActor = Annotated[Actor, Depends(require_actor)]
OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


async def require_api_csrf(request: Request, actor: CurrentActor) -> Actor:
    """API routes: a cookie-authenticated unsafe request must have passed the header check."""
    if getattr(request.state, "csrf_owed", False):
        raise DomainError(
            "auth.csrf_failed", "使用登录会话调用接口时须提供 X-CSRF-Token 请求头。", status=403
        )
    return actor


ApiActor = Annotated[Actor, Depends(require_api_csrf)]


async def form_csrf(request: Request) -> None:
    """Page routers: every unsafe request carries the form field (or the header)."""
    if request.method not in UNSAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    _verify_csrf(request, token)
    request.state.csrf_owed = False
