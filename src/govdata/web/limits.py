"""A pure ASGI middleware that refuses request bodies over the configured size (413)."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    # An HTTPException, so that FastAPI's body parsing re-raises it as it is instead of
    # turning it into a 400 "error parsing the body".
    def __init__(self) -> None:
        super().__init__(status_code=413)


def too_large_message(limit: int) -> str:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return f"请求内容过大，上限为 {size}。"


def _error_body(limit: int) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": "request.too_large",
                "message": too_large_message(limit),
                "detail": {"limit_bytes": limit},
            }
        },
        ensure_ascii=False,
    ).encode("utf-8")


class BodySizeLimit:
    """``max_bytes`` for every request, except data-file uploads (paths ending in one of
    ``upload_suffixes``), which may carry up to ``upload_max_bytes``: they are spooled to disk
    by the multipart parser, never held in memory."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        upload_max_bytes: int | None = None,
        upload_suffixes: tuple[str, ...] = ("/loads",),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes
        self.upload_suffixes = upload_suffixes

    def _limit(self, scope: Scope) -> int:
        path = str(scope.get("path", ""))
        if path.endswith(self.upload_suffixes):
            return self.upload_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_large = int(length) > limit
            except ValueError:
                too_large = False
            if too_large:
                await self._refuse(send, limit)
                return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Any, limit: int) -> None:
        body = _error_body(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


_NUL_BODY = json.dumps(
    {
        "error": {
            "code": "request.bad_text",
            "message": "请求地址含有不允许的控制字符（NUL）。",
            "detail": None,
        }
    },
    ensure_ascii=False,
).encode("utf-8")


class RefuseNulInUrl:
    """400 for a URL whose path or query holds a NUL character: PostgreSQL cannot hold NUL in
    text, so a parameter carrying one would fail in the driver (a 500) wherever a route passes
    it on; no valid request has one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"")
        ):
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", b"application/json; charset=utf-8"),
                        (b"content-length", str(len(_NUL_BODY)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _NUL_BODY})
            return
        await self.app(scope, receive, send)
