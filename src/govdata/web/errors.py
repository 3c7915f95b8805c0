"""One handler maps every error to JSON (``{"error": {code, message, detail}}``) or a page."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from govdata.core.access import record_access
from govdata.core.actor import Actor
from govdata.core.db import is_write_conflict, transaction
from govdata.core.errors import DomainError
from govdata.core.ratelimit import RateLimited
from govdata.web import write_retry
from govdata.web.limits import BodyTooLarge, too_large_message

log = structlog.get_logger("govdata.web")

HTTP_MESSAGES = {
    400: ("request.malformed", "请求格式有误，无法解析。"),
    401: ("auth.required", "请先登录。"),
    403: ("auth.forbidden", "您没有访问此页面的权限。"),
    404: ("not_found", "您访问的页面不存在。"),
    405: ("request.method_not_allowed", "不支持该请求方法。"),
    413: ("request.too_large", "请求内容过大。"),
    415: ("request.unsupported_media_type", "不支持该内容类型。"),
    429: ("request.too_many", "请求过于频繁，请稍后再试。"),
}

VALIDATION_MESSAGES = {
    "missing": "缺少必填项",
    "extra_forbidden": "不允许的字段",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "bool_parsing": "应为是或否",
    "bool_type": "应为是或否",
    "string_type": "应为文本",
    "enum": "不是允许的取值",
    "literal_error": "不是允许的取值",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "应为对象",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "too_long": "条目过多",
    "too_short": "条目过少",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "date_from_datetime_parsing": "不是有效的日期",
    "date_parsing": "不是有效的日期",
    "value_error": "取值无效",
}


def wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(
    request: Request, status: int, code: str, message: str, detail: Any = None
) -> Response:
    if wants_html(request):
        if status == 401:
            target = quote(request.url.path)
            return RedirectResponse(f"/login?next={target}", status_code=303)
        from govdata.web.templating import render

        return render(
            request,
            "error.html",
            {"status": status, "code": code, "message": message, "detail": detail},
            status_code=status,
        )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message, "detail": detail}},
        status_code=status,
        headers=headers,
    )


def rate_limited_response(request: Request, exc: RateLimited) -> Response:
    """429 with ``Retry-After`` (seconds), as JSON or a zh-CN page (Art. 39)."""
    response = error_response(request, exc.status, exc.code, exc.message, exc.detail)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        kind = str(err.get("type", ""))
        out.append(
            {
                "field": ".".join(loc[1:] if loc and loc[0] in ("body", "query", "path") else loc),
                "in": loc[0] if loc else "",
                "type": kind,
                "message": VALIDATION_MESSAGES.get(kind, "取值无效"),
            }
        )
    return out


# --- refusals as access records (Art. 39: monitoring; the security domain's "probing") ------

REFUSED_ACTION = "request.refused"
# 401s that say something about the caller: a token that is wrong, expired or revoked. Not
# "please sign in" (every anonymous visit), nor failed sign-ins (org records those itself).
RECORDED_401 = frozenset({"auth.invalid_token"})


def is_recorded_refusal(exc: DomainError) -> bool:
    """Whether a refusal goes to the access records: 403, 404 and a bad token. A refusal with
    ``keep_changes`` was recorded by its service in the kept transaction already."""
    if exc.keep_changes:
        return False
    return exc.status in (403, 404) or (exc.status == 401 and exc.code in RECORDED_401)


def _write_refusal(request: Request, exc: DomainError) -> None:
    address = request.client.host if request.client is not None else None
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        name = "无效令牌" if exc.status == 401 else "匿名访问者"
        actor = Actor(person_id=None, name=name, address=address)
    elif actor.address is None:
        actor = dataclasses.replace(actor, address=address)
    # Its own short transaction: the request's own was rolled back with the refusal.
    with transaction(request.app.state.sessionmaker) as session:
        record_access(
            session,
            actor,
            REFUSED_ACTION,
            object_type="request",
            object_id=f"{request.method} {request.url.path}",
            outcome="refused",
            reason=exc.code,
        )


async def record_refusal(request: Request, exc: DomainError) -> None:
    """Record a refused request; a failure to record is logged and never changes the answer."""
    try:
        async with request.app.state.db_limiter:
            await run_in_threadpool(_write_refusal, request, exc)
    except Exception:
        log.warning("refusal_not_recorded", path=request.url.path, code=exc.code, exc_info=True)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if is_recorded_refusal(exc):
            await record_refusal(request, exc)
        response = error_response(request, exc.status, exc.code, exc.message, exc.detail)
        retry_after = getattr(exc, "retry_after", None)  # TooManyRequests: when to try again
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RateLimited)
    async def _rate_limited(request: Request, exc: RateLimited) -> Response:
        return rate_limited_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        detail = _validation_detail(exc)
        fields = "、".join(f"{d['field'] or d['in']}（{d['message']}）" for d in detail[:5])
        return error_response(
            request, 422, "request.invalid", f"请求内容不符合要求：{fields}。", detail
        )

    @app.exception_handler(ValidationError)
    async def _form_validation(request: Request, exc: ValidationError) -> Response:
        # Page handlers build the service's input schema from form fields: a field that
        # breaks the schema is the user's input error, as with a JSON body.
        return await _validation(request, RequestValidationError(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code, message = HTTP_MESSAGES.get(exc.status_code, ("http.error", "请求无法处理。"))
        response = error_response(request, exc.status_code, code, message)
        if exc.status_code == 405 and exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        limit = request.app.state.settings.max_body_bytes
        return error_response(request, 413, "request.too_large", too_large_message(limit))

    @app.exception_handler(UnicodeDecodeError)
    async def _bad_encoding(request: Request, exc: UnicodeDecodeError) -> Response:
        return error_response(
            request, 400, "request.bad_encoding", "请求内容不是有效的 UTF-8 编码文本。"
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # A constraint refused the write: a concurrent request took the same name or code
        # first, or removed what this one refers to. Services that know the constraint say
        # which with their own code; this is every other case.
        log.warning("integrity_conflict", path=request.url.path, error=str(exc.orig)[:300])
        return error_response(
            request, 409, "request.conflict", "数据已被其他操作同时修改，请刷新后重试。"
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> Response:
        if not is_write_conflict(exc):
            return _internal_error(request)
        retry = write_retry.state(request.scope)
        if retry is not None and not retry["as_writer"]:
            # A safe request that wrote on a stale snapshot: web.write_retry runs it again as a
            # writer instead of sending this answer.
            retry["conflict"] = True
            log.info("write_conflict_retried", path=request.url.path, method=request.method)
        else:
            # SQLite's write lock stayed taken for the whole busy timeout.
            log.warning("database_busy", path=request.url.path, method=request.method)
        response = error_response(request, 503, "request.busy", "系统繁忙，请稍后重试。")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return _internal_error(request)


def _internal_error(request: Request) -> Response:
    log.exception("unhandled_error", path=request.url.path, method=request.method)
    return error_response(
        request, 500, "internal_error", "系统内部错误，请稍后再试；如持续出现请联系管理员。"
    )
