"""Request plumbing: the unit of work, the acting ``Actor``, CSRF protection. Knows no domain.

Who a request acts for is decided by the object the shell puts on
``app.state.authenticator`` (an ``Authenticator``: ``govdata.org.auth`` is one).

JSON routes run their whole unit of work in one thread-pool call (``unit_of_work``, decision
0007); pages use the dependencies ``DbSession``, ``CurrentActor``, ``OptionalActor`` and
``form_csrf`` one by one. Both ask for the same things with the same annotations, so a route's
signature reads the same either way. Only the JSON path accepts a bearer token: pages resolve
the session cookie alone (``optional_actor``), so a token never opens a page.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol, TypeVar, get_args, get_origin

from fastapi import Depends, Request, params
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from govdata.core.actor import Actor
from govdata.core.db import finish_failed, is_write_conflict, open_session
from govdata.core.errors import DomainError, NotAuthenticated
from govdata.core.settings import Settings
from govdata.web import write_retry
from govdata.web.csrf import csrf_valid
from govdata.web.ratelimit import check_actor

SESSION_COOKIE = "govdata_session"
ANON_COOKIE = "govdata_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

R = TypeVar("R")


class Authenticator(Protocol):
    """Resolves a request's credentials to an actor, inside the request's unit of work."""

    def resolve_token(self, session: Session, token: str, /) -> Actor | None:
        """The actor of a bearer token; None if it is unknown, expired or revoked."""

    def resolve_session(self, session: Session, secret: str, /, *, hours: int) -> Actor | None:
        """The actor of a session cookie's secret (sliding ``hours``); None if it is not valid."""


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def writes(request: Request) -> bool:
    """Whether the request's unit of work writes: unsafe methods do (BEGIN IMMEDIATE on SQLite),
    and a safe one run again after it lost the write lock (``web.write_retry``)."""
    retry = write_retry.state(request.scope)
    return request.method in UNSAFE_METHODS or bool(retry and retry["as_writer"])


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
        session = open_session(request.app.state.sessionmaker, write=writes(request))
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


def _has_credentials(request: Request) -> bool:
    return _bearer(request) is not None or bool(request.cookies.get(SESSION_COOKIE))


def resolve_actor(request: Request, session: Session, *, tokens: bool = True) -> Actor | None:
    """The actor of the request: a bearer token, else the session cookie, else nobody.

    ``tokens=False`` (pages) never looks at a bearer token: tokens are for the JSON API only,
    pages are for signed-in people (Art. 39), so a page request with a token and no session
    is anonymous.

    A cookie-authenticated unsafe request owes a CSRF check: met here by the header, else by
    ``form_csrf`` (pages) or refused by ``require_api_csrf`` (the API).
    """
    authenticator: Authenticator = request.app.state.authenticator
    token = _bearer(request) if tokens else None
    actor: Actor | None = None
    if token is not None:
        actor = authenticator.resolve_token(session, token)
        if actor is None:
            raise NotAuthenticated("auth.invalid_token", "接口令牌无效、已过期或已被吊销。")
    else:
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            hours = get_settings(request).session_hours
            actor = authenticator.resolve_session(session, secret, hours=hours)
            if actor is not None and request.method in UNSAFE_METHODS:
                _check_csrf_header_or_form_later(request)
    if actor is not None and request.client is not None:
        actor = dataclasses.replace(actor, address=request.client.host)
    request.state.actor = actor
    if actor is not None:
        check_actor(request, actor)  # per person / per token (Art. 39)
    return actor


def optional_actor(request: Request, session: DbSession) -> Actor | None:
    """Pages' actor: the session cookie only (JSON routes resolve in ``unit_of_work``)."""
    return resolve_actor(request, session, tokens=False)


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
    if not csrf_valid(get_settings(request).secret_key, browser_secret(request), token):
        raise DomainError(
            "auth.csrf_failed", "页面已过期或请求来源不可信，请刷新页面后重试。", status=403
        )


def _refuse_owed_csrf(request: Request) -> None:
    if getattr(request.state, "csrf_owed", False):
        raise DomainError(
            "auth.csrf_failed", "使用登录会话调用接口时须提供 X-CSRF-Token 请求头。", status=403
        )


# The checks below do no I/O: ``async def`` keeps them off the thread pool.
async def require_actor(
    request: Request, actor: Annotated[Actor | None, Depends(optional_actor)]
) -> Actor:
    if actor is None:
        if _bearer(request) is not None:
            # Refused as an anonymous visitor is (a page redirects to sign-in), saying why.
            raise NotAuthenticated(
                "auth.token_not_for_pages",
                "接口令牌只能用于调用接口（/api/v1），访问页面请先登录。",
            )
        raise NotAuthenticated()
    return actor


CurrentActor = Annotated[Actor, Depends(require_actor)]
OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


async def require_api_csrf(request: Request, actor: CurrentActor) -> Actor:
    """API routes: a cookie-authenticated unsafe request must have passed the header check."""
    _refuse_owed_csrf(request)
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


# --- one thread-pool call per request (decision 0007) ----------------------------------------

_ActorNeed = Literal["optional", "required", "api"]
_NEEDS: dict[Callable[..., Any], Literal["session"] | _ActorNeed] = {
    get_db: "session",
    optional_actor: "optional",
    require_actor: "required",
    require_api_csrf: "api",
}


@dataclass(frozen=True)
class _Plan:
    """What a route asked for, by parameter name."""

    endpoint: Callable[..., Any]
    session_params: tuple[str, ...]
    actor_param: str | None
    actor_need: _ActorNeed | None


def _need_of(param: inspect.Parameter) -> Literal["session"] | _ActorNeed | None:
    depends = param.default if isinstance(param.default, params.Depends) else None
    if get_origin(param.annotation) is Annotated:
        for meta in get_args(param.annotation)[1:]:
            if isinstance(meta, params.Depends):
                depends = meta
    if depends is None or depends.dependency is None:
        return None
    return _NEEDS.get(depends.dependency)


async def _request(request: Request) -> Request:
    return request


async def _request_with_credentials(request: Request) -> Request:
    # Without any credentials the answer is known without the database: 401, as before the
    # request's parameters are validated (as the page dependencies answer it).
    if not _has_credentials(request):
        raise NotAuthenticated()
    return request


def _attempt(request: Request, plan: _Plan, kwargs: dict[str, Any], *, write: bool) -> Any:
    session = open_session(request.app.state.sessionmaker, write=write)
    try:
        if plan.actor_need is not None:
            actor = resolve_actor(request, session)
            if actor is None and plan.actor_need != "optional":
                raise NotAuthenticated()
            if plan.actor_need == "api":
                _refuse_owed_csrf(request)
            assert plan.actor_param is not None
            kwargs[plan.actor_param] = actor
        for name in plan.session_params:
            kwargs[name] = session
        result = plan.endpoint(**kwargs)
        session.commit()
        return result
    except BaseException as exc:
        finish_failed(session, exc)
        raise
    finally:
        session.close()


def _run(request: Request, plan: _Plan, kwargs: dict[str, Any]) -> Any:
    """The unit of work, in a worker thread: session, actor, CSRF, route, commit, close."""
    write = writes(request)
    try:
        return _attempt(request, plan, dict(kwargs), write=write)
    except Exception as exc:
        if write or not is_write_conflict(exc):
            raise
    # A safe request wrote after all (a session's sliding expiry, a token's last use) and lost
    # the race for SQLite's write lock: nothing was kept, so run it again as a writer.
    return _attempt(request, plan, dict(kwargs), write=True)


def unit_of_work(endpoint: Callable[..., R]) -> Callable[..., Awaitable[R]]:
    """Run a sync JSON route as one unit of work in one thread-pool call (decision 0007).

    The route is written as any sync route, taking ``DbSession`` and one of ``CurrentActor``,
    ``ApiActor`` or ``OptionalActor``; this decorator (placed under the router's) turns it into
    an ``async def`` that waits for a ``db_limiter`` slot in the event loop and then runs, in a
    single worker-thread call: the session (``BEGIN IMMEDIATE`` on SQLite if the method writes),
    actor resolution, the CSRF rule of ``ApiActor``, the route, and commit or ``finish_failed``
    and close. FastAPI still validates every other parameter and the response model, and sees
    the same OpenAPI operation. A request without any credentials is refused with 401 before
    that, in the event loop.
    """
    if inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__qualname__}: unit_of_work takes a sync route")
    signature = inspect.signature(endpoint, eval_str=True)
    kept: list[inspect.Parameter] = []
    session_params: list[str] = []
    actor_params: list[tuple[str, _ActorNeed]] = []
    for param in signature.parameters.values():
        need = _need_of(param)
        if need is None:
            kept.append(param)
        elif need == "session":
            session_params.append(param.name)
        else:
            actor_params.append((param.name, need))
    if len(actor_params) > 1 or not (session_params or actor_params):
        raise TypeError(f"{endpoint.__qualname__}: takes DbSession and at most one actor")
    actor_param, actor_need = actor_params[0] if actor_params else (None, None)
    plan = _Plan(endpoint, tuple(session_params), actor_param, actor_need)
    precheck = _request if actor_need in (None, "optional") else _request_with_credentials

    async def route(uow_request_: Request, **kwargs: Any) -> R:
        async with uow_request_.app.state.db_limiter:
            result: R = await run_in_threadpool(_run, uow_request_, plan, kwargs)
            return result

    uow = inspect.Parameter(
        "uow_request_",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[Request, Depends(precheck)],
    )
    route.__signature__ = signature.replace(parameters=[uow, *kept])  # type: ignore[attr-defined]
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(route, attr, getattr(endpoint, attr))
    return route
