"""A safe request that lost SQLite's write lock on a stale snapshot runs again as a writer
(web.write_retry): a page that records its reads (Art. 40) answers, not 503."""

from __future__ import annotations

import sqlite3

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from govdata.web.deps import writes


def _busy() -> OperationalError:
    orig = sqlite3.OperationalError("database is locked")
    orig.sqlite_errorcode = 5  # type: ignore[attr-defined]  # SQLITE_BUSY
    return OperationalError("INSERT INTO access_records …", {}, orig)


def _conflicting(app: FastAPI, path: str, *, conflicts: int) -> list[bool]:
    """A route that fails like a stale snapshot's write ``conflicts`` times; the ``writes``
    each attempt ran with."""
    seen: list[bool] = []

    def route(request: Request) -> dict[str, bool]:
        seen.append(writes(request))
        if len(seen) <= conflicts:
            raise _busy()
        return {"writer": writes(request)}

    app.add_api_route(path, route, methods=["GET", "POST"])
    return seen


def test_a_get_that_lost_the_write_lock_runs_again_as_a_writer(app: FastAPI) -> None:
    seen = _conflicting(app, "/_test/stale-read-then-write", conflicts=1)
    with TestClient(app) as c:
        r = c.get("/_test/stale-read-then-write")
    assert r.status_code == 200 and r.json() == {"writer": True}
    assert seen == [False, True]  # deferred first, BEGIN IMMEDIATE the second time


def test_a_writer_that_still_finds_the_lock_taken_answers_busy(app: FastAPI) -> None:
    seen = _conflicting(app, "/_test/always-locked", conflicts=5)
    with TestClient(app) as c:
        r = c.get("/_test/always-locked")
    assert r.status_code == 503 and r.json()["error"]["code"] == "request.busy"
    assert "繁忙" in r.json()["error"]["message"] and r.headers["retry-after"] == "5"
    assert seen == [False, True]  # once more, never a loop


def test_unsafe_requests_are_not_run_twice(app: FastAPI) -> None:
    seen = _conflicting(app, "/_test/posted", conflicts=1)
    with TestClient(app) as c:
        r = c.post("/_test/posted")
    assert r.status_code == 503 and r.json()["error"]["code"] == "request.busy"
    assert seen == [True]
