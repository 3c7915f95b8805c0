"""The data access API's lookup and verification, dispatched to the hot path before routing.

Starlette matches a request against the platform's routes one by one: with every domain's
pages and APIs that matching was a third of a lookup's CPU on the hot path, and what kept the
p99 at a steady 500 req/s far above its target (BENCHMARKS.md F1). This pure ASGI middleware
sits innermost of the platform's middlewares (inside the rate limits, the body size limit and
the security headers), recognizes exactly the two hot routes by their path and method, and
hands a call with a bearer token straight to ``HotPath.serve`` (decision 0014).

It never answers anything the routes would answer differently: the inputs are validated with
the routes' own constraints (``api.data``'s annotated types and ``VerifyIn``); anything that does
not validate, any other method or path, a call without a bearer token and a platform without
the hot path all go on to the router untouched (a verification's body is replayed), so a 422,
a 405 or the ordinary path's answers stay exactly what FastAPI gives.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govdata.core.types import DbId
from govdata.sharing import hotpath
from govdata.sharing.api.data import LookupQuery, VerifyIn, requested_items

_PREFIX = "/api/v1/sharing/data/"
_LOOKUP = re.compile(r"/api/v1/sharing/data/([^/]+)/subjects/([^/]+)")
_VERIFY = re.compile(r"/api/v1/sharing/data/([^/]+)/verify")

_grant_id: TypeAdapter[int] = TypeAdapter(DbId)


def _lookup_args(request: Request, raw_grant: str, raw_key: str) -> tuple[Any, ...] | None:
    """The lookup route's parameters, validated as FastAPI validates them, or None."""
    query = request.query_params
    try:
        grant_id = _grant_id.validate_python(raw_grant)
        args = LookupQuery.model_validate(
            {"subject_key": raw_key, "purpose": query.get("purpose"), "items": query.get("items")}
        )
    except ValidationError:
        return None
    return grant_id, args.subject_key, args.purpose, requested_items(args.items)


class HotDispatch:
    def __init__(self, app: ASGIApp, **_: Any) -> None:
        self.app = app
        self._fastapi: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(_PREFIX):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        hot = hotpath.for_app(request.app)
        if hot is None or not hotpath.has_bearer(request):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "GET" and (m := _LOOKUP.fullmatch(path)) is not None:
            args = _lookup_args(request, m.group(1), m.group(2))
            if args is not None:
                grant_id, key, purpose, items = args
                call = hot.serve(request, "lookup", grant_id, key, purpose, items)
                await _answer(request, call, scope, receive, send)
                return
        elif method == "POST" and (m := _VERIFY.fullmatch(path)) is not None:
            await self._verify(scope, receive, send, request, hot, m.group(1))
            return
        await self.app(scope, receive, send)

    async def _verify(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        hot: hotpath.HotPath,
        raw_grant: str,
    ) -> None:
        body = await request.body()
        json_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if json_type != "application/json":
                raise ValueError(json_type)
            grant_id = _grant_id.validate_python(raw_grant)
            parsed = VerifyIn.model_validate_json(body)
        except (ValidationError, ValueError):
            await self.app(scope, _replay(body), send)
            return
        call = hot.serve(
            request,
            "verify",
            grant_id,
            parsed.subject_key,
            parsed.purpose,
            None,
            values=dict(parsed.values),
        )
        await _answer(request, call, scope, receive, send)


async def _answer(
    request: Request, call: Awaitable[Response], scope: Scope, receive: Receive, send: Send
) -> None:
    """The hot path's response; an error it raises (an invalid token, the per-token rate
    limit) is answered by the app's own handler for it, as inside the router."""
    try:
        response = await call
    except Exception as exc:
        handler = _handler(request, exc)
        if handler is None:
            raise
        answer = handler(request, exc)
        response = await answer if inspect.isawaitable(answer) else answer
    await response(scope, receive, send)


def _handler(request: Request, exc: Exception) -> Any:
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


def _replay(body: bytes) -> Receive:
    """A ``receive`` that gives the already-read body once, then waits as a client would."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
