"""Rate limits in the request path (Art. 39 控制; decision 0011). Knows no domain.

A pure ASGI middleware charges every request to its network address before anything else
runs (anonymous ones too: the sign-in page and the API's sign-in), and binds the app's limiter
for the request, so that services recording a read of personal data charge the reader's
personal-data budget (``core.access.record_access``). The per-person and per-token budget is
charged once the credential is resolved (``check_actor``, from ``web.deps.resolve_actor``).
"""

from __future__ import annotations

from anyio import to_thread
from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from govdata.core.actor import Actor
from govdata.core.ratelimit import Limiter, RateLimited, bound
from govdata.web.errors import rate_limited_response

# Static assets are not data and a page pulls several of them.
EXEMPT_PREFIXES = ("/static/",)


class RateLimit:
    def __init__(self, app: ASGIApp, limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        if client and not str(scope.get("path", "")).startswith(EXEMPT_PREFIXES):
            try:
                if self.limiter.blocking:  # a database round trip: not in the event loop
                    await to_thread.run_sync(self.limiter.check_address, client[0])
                else:
                    self.limiter.check_address(client[0])
            except RateLimited as exc:
                response = rate_limited_response(Request(scope, receive), exc)
                await response(scope, receive, send)
                return
        with bound(self.limiter):
            await self.app(scope, receive, send)


def check_actor(request: Request, actor: Actor) -> None:
    """Charge the request to its person or token (raises ``RateLimited``); called in a worker
    thread, once the credential is resolved."""
    limiter: Limiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.check_actor(actor)
