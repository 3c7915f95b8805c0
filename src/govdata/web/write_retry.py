"""A safe request that wrote after all, and lost SQLite's write lock, runs again as a writer.

A GET opens a deferred transaction (``web.deps.writes``: reads never queue behind writers),
but many safe requests write too: a page that shows personal data records the read (Art. 40),
a session slides its expiry. When another connection commits between such a request's first
read and its first write, SQLite refuses the write at once ("database is locked" on a stale
snapshot): the busy timeout does not apply, and the request answered 503 ``request.busy``
(seen once or twice in every full browser run). Nothing of it was kept, the transaction rolled
back, so the request can run again, this time beginning with ``BEGIN IMMEDIATE``.

JSON routes of ``unit_of_work`` retry inside their thread-pool call; this does the same for
every other route (pages, downloads): ``errors`` marks the conflict on the request's scope
before answering 503, and this middleware, seeing that mark at the response's start, drops the
answer and runs the request once more with ``as_writer`` set, which ``deps.writes`` honours.
Only for safe methods without a body (nothing to read twice); PostgreSQL never marks.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MARK = "govdata.write_retry"
SAFE = frozenset({"GET", "HEAD"})


def state(scope: Scope) -> dict[str, bool] | None:
    """The request's retry state: ``conflict`` (set by the error handler) and ``as_writer``."""
    found: Any = scope.get(MARK)
    return found if isinstance(found, dict) else None


class RetrySafeAsWriter:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in SAFE:
            await self.app(scope, receive, send)
            return
        retry = {"conflict": False, "as_writer": False}
        scope[MARK] = retry
        dropped = False

        async def first_send(message: Message) -> None:
            nonlocal dropped
            if message["type"] == "http.response.start" and retry["conflict"]:
                dropped = True
            if not dropped:
                await send(message)

        await self.app(scope, receive, first_send)
        if dropped:
            retry["conflict"], retry["as_writer"] = False, True
            await self.app(scope, _replay(receive), send)


def _replay(receive: Receive) -> Receive:
    """The request's (empty) body once more, then the connection's own messages (a
    disconnect)."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return again
