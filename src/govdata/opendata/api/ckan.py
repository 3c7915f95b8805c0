"""The CKAN-compatible action API (issue 14 §7; Art. 32, 33): ``/api/3/action/{action}`` and
``/api/action/{action}``, GET with query parameters or POST with a JSON body, in CKAN's envelope.

``{"help": url, "success": true, "result": …}``; a refusal is
``{"help": url, "success": false, "error": {"__type", "message", "code"}}`` with CKAN's status:
*Not Found Error* 404, *Authorization Error* 403 (also for a missing identity: CKAN has no 401),
*Validation Error* 409 (with the parameter's problems), *Search Query Error* 400; an unknown
action is CKAN's 400 "Bad request - Action name not known". Thin: ``opendata.ckan`` decides.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from govdata.core.actor import Actor
from govdata.core.db import finish_failed, is_write_conflict, open_session
from govdata.core.errors import DomainError
from govdata.opendata.api_auth import api_caller, presented_key
from govdata.opendata.ckan import ACTIONS, WRITING_ACTIONS
from govdata.opendata.keys import KEY_PREFIX
from govdata.web.deps import CSRF_HEADER, resolve_actor

router = APIRouter(tags=["ckan"])

MAX_BODY = 64 * 1024


def _caller(request: Request, session: Session) -> Actor | None:
    """Who calls: a developer key (CKAN's headers, charged to its daily quota:
    ``opendata.api_auth.api_caller``), a department system's bearer token, a signed-in person's
    session cookie, else an anonymous caller (charged to its address's budget, 429 past it).

    A POST carrying only the cookie and no CSRF header is anonymous: a cross-site form must not
    read (and leave records) in a signed-in person's name."""
    secret = presented_key(request) or ""
    if secret and not secret.startswith(KEY_PREFIX) and _bearer(request):
        return resolve_actor(request, session)  # a department system's token (gd_…)
    if secret:
        return api_caller(request, session)  # a developer key (invalid: 401)
    if not (request.method == "POST" and request.headers.get(CSRF_HEADER) is None):
        person = resolve_actor(request, session, tokens=False)
        if person is not None:
            return person
    return api_caller(request, session)  # anonymous: the per-address budget


def _bearer(request: Request) -> bool:
    scheme, _, rest = request.headers.get("authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(rest.strip())


def _help(request: Request, action: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/3/action/help_show?name={action}"


_TYPES = {404: "Not Found Error", 401: "Authorization Error", 403: "Authorization Error"}


def _error(request: Request, action: str, exc: DomainError) -> JSONResponse:
    status = exc.status
    if exc.code == "opendata.ckan_search_query":
        kind = "Search Query Error"
    elif status == 429:
        kind = "Rate Limit Error"  # a key's daily quota or an address's budget (issue 14 §9)
    elif status in _TYPES:
        kind = _TYPES[status]
        status = 403 if status == 401 else status
    else:
        kind, status = "Validation Error", 409
    label = {
        "Not Found Error": "Not found",
        "Authorization Error": "Access denied",
        "Search Query Error": "Search Query is invalid",
        "Validation Error": "Validation error",
        "Rate Limit Error": "Too many requests",
    }[kind]
    error: dict[str, Any] = {"__type": kind, "message": f"{label}: {exc.message}", "code": exc.code}
    if kind == "Validation Error" and isinstance(exc.detail, dict):
        error.update({k: v for k, v in exc.detail.items() if k not in error})
    body = {"help": _help(request, action), "success": False, "error": error}
    response = JSONResponse(body, status_code=status)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _attempt(request: Request, action: str, params: dict[str, Any], *, write: bool) -> Any:
    session = open_session(request.app.state.sessionmaker, write=write)
    try:
        actor = _caller(request, session)
        result = ACTIONS[action](session, actor, params, str(request.base_url))
        session.commit()
        return result
    except BaseException as exc:
        finish_failed(session, exc)
        raise
    finally:
        session.close()


def _run(request: Request, action: str, params: dict[str, Any]) -> Any:
    write = action in WRITING_ACTIONS
    try:
        return _attempt(request, action, params, write=write)
    except Exception as exc:
        if write or not is_write_conflict(exc):
            raise
    # A read wrote after all (a key's last use) and lost SQLite's write lock: again, as a writer.
    return _attempt(request, action, params, write=True)


class _BadBody(Exception):
    pass


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        params[key] = values[0] if len(values) == 1 else values
    if request.method == "POST":
        body = await request.body()
        if len(body) > MAX_BODY:
            raise _BadBody("请求体过大。")
        if body.strip():
            ctype = request.headers.get("content-type", "")
            if "form" in ctype:
                form = await request.form()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
            else:
                try:
                    data = json.loads(body)
                except ValueError as exc:
                    raise _BadBody("请求体不是有效的 JSON。") from exc
                if not isinstance(data, dict):
                    raise _BadBody("请求体应为 JSON 对象。")
                params.update(data)
    return params


async def _action(request: Request, action: str) -> JSONResponse:
    if action not in ACTIONS:
        return JSONResponse(f"Bad request - Action name not known: {action}", status_code=400)
    try:
        params = await _params(request)
    except _BadBody as exc:
        return JSONResponse(f"Bad request - {exc}", status_code=400)
    try:
        async with request.app.state.db_limiter:
            result = await run_in_threadpool(_run, request, action, params)
    except DomainError as exc:
        return _error(request, action, exc)
    return JSONResponse({"help": _help(request, action), "success": True, "result": result})


_CKAN_ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request - 未知的操作名或无效的请求体（CKAN 的答复形式）"},
    403: {"description": "Authorization Error：未认证身份、密钥无效、无权获取（CKAN 的 403）"},
    404: {"description": "Not Found Error：数据集、资源或发布版本不存在"},
    409: {"description": "Validation Error：参数不符合要求"},
    429: {
        "description": "Rate Limit Error：密钥当日调用次数已用完或匿名调用过于频繁（Retry-After）"
    },
}


def _routes(prefix: str, name: str) -> None:
    """GET with query parameters and POST with a JSON body, as CKAN serves its actions."""

    async def get(request: Request, action: str) -> JSONResponse:
        return await _action(request, action)

    async def post(request: Request, action: str) -> JSONResponse:
        return await _action(request, action)

    for method, endpoint in (("GET", get), ("POST", post)):
        router.add_api_route(
            f"{prefix}/{{action}}",
            endpoint,
            methods=[method],
            summary="CKAN 兼容接口",
            operation_id=f"ckan_{name}_{method.lower()}",
            responses=_CKAN_ANSWERS,
        )


_routes("/api/3/action", "v3")
_routes("/api/action", "plain")
