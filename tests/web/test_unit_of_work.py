"""JSON routes run their unit of work in one thread-pool call (decision 0007), and on SQLite
write transactions wait for their turn instead of failing with "database is locked"."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update
from sqlalchemy.exc import OperationalError

from govdata.app import create_app
from govdata.core.actor import Actor
from govdata.core.db import is_sqlite, is_write_conflict, utcnow
from govdata.core.errors import InvalidInput
from govdata.core.settings import Settings
from govdata.org import auth
from govdata.org.models import Department, WebSession
from govdata.web.deps import (
    ApiActor,
    Authenticator,
    CurrentActor,
    DbSession,
    OptionalActor,
    unit_of_work,
)
from tests.live import LiveDb, in_thread, live_database
from tests.pgcluster import PgCluster
from tests.world import PASSWORD, World

# The org domain's sign-in module is what the shell hands to web as its authenticator.
AUTHENTICATOR: Authenticator = auth

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: this thread may already run an event loop (after
    the browser tests, under xdist), where ``asyncio.run`` refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _sync_calls(dependant: Dependant) -> list[str]:
    """Every callable of a route that FastAPI would run in its thread pool."""
    out = []
    for dep in dependant.dependencies:
        out.extend(_sync_calls(dep))
    call = dependant.call
    if call is not None and not (
        inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
    ):
        out.append(getattr(call, "__qualname__", repr(call)))
    return out


def test_every_json_route_makes_at_most_one_thread_pool_call(app: FastAPI) -> None:
    routes = [
        r
        for r in iter_route_contexts(app.routes)
        if isinstance(r.original_route, APIRoute) and (r.path or "").startswith("/api/")
    ]
    assert len(routes) > 60
    hops = {f"{sorted(r.methods or ())} {r.path}": _sync_calls(r.dependant) for r in routes}
    assert {route: calls for route, calls in hops.items() if calls} == {}


def test_an_authenticated_read_crosses_threads_once(
    sign_in, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = sign_in("officer")
    calls: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        calls.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, **kw)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    r = c.get(f"/api/v1/org/departments/{world.police}")
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "市公安局"
    assert len(calls) == 1, calls


def test_no_credentials_is_401_before_the_parameters_are_checked(client: TestClient) -> None:
    r = client.get("/api/v1/org/departments/not-a-number")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.required"


def test_an_invalid_token_is_401(client: TestClient) -> None:
    r = client.get("/api/v1/org/departments/1", headers={"Authorization": "Bearer gd_x_y"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.invalid_token"


def test_the_open_catalog_needs_no_sign_in(client: TestClient) -> None:
    # OptionalActor: nobody is a valid actor (Art. 32), so no 401 and no session lookup.
    r = client.get("/api/v1/catalog/open-catalog")
    assert r.status_code in (200, 404), r.text  # 404: no published version in this world


def test_a_refusal_rolls_back_and_a_kept_refusal_commits(
    app: FastAPI, sign_in, test_sessionmaker: Any, world: World
) -> None:
    router = APIRouter()

    @router.post("/api/test/rename/{keep}")
    @unit_of_work
    def rename(session: DbSession, actor: ApiActor, keep: bool) -> dict[str, bool]:
        session.execute(
            update(Department).where(Department.id == world.market).values(name="改名了")
        )
        raise InvalidInput("test.refused", "拒绝。", keep_changes=keep)

    app.include_router(router)
    c = sign_in("city")

    def name() -> str:
        with test_sessionmaker() as s:
            return s.scalar(select(Department.name).where(Department.id == world.market)) or ""

    r = c.post("/api/test/rename/false")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "test.refused")
    assert name() == "市市场监督管理局"
    r = c.post("/api/test/rename/true")
    assert r.status_code == 400
    assert name() == "改名了"


def test_cookie_write_without_the_csrf_header_is_refused_before_the_route_runs(
    app: FastAPI, sign_in
) -> None:
    ran: list[Actor] = []
    router = APIRouter()

    @router.post("/api/test/write")
    @unit_of_work
    def write(session: DbSession, actor: ApiActor) -> dict[str, bool]:
        ran.append(actor)
        return {"ok": True}

    app.include_router(router)
    c = sign_in("city")
    r = c.client.post("/api/test/write")  # the cookie, no header
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "auth.csrf_failed"
    assert ran == []
    assert c.post("/api/test/write").status_code == 200
    assert len(ran) == 1


def test_unit_of_work_takes_sync_routes_with_a_session_or_an_actor() -> None:
    async def coroutine(session: DbSession) -> None:
        return None

    def nothing(x: int) -> None:
        return None

    def two_actors(a: CurrentActor, b: OptionalActor) -> None:
        return None

    for route in (coroutine, nothing, two_actors):
        with pytest.raises(TypeError):
            unit_of_work(route)


# --- SQLite: writers wait for the lock ---------------------------------------------------------


@pytest.fixture
def live(pg_cluster: PgCluster | None, tmp_path: Path, worker: str) -> Any:
    with live_database(pg_cluster, tmp_path, f"govdata_uow_{worker}") as db:
        yield db


async def _signed_in(app: FastAPI, username: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    r = await client.post("/api/v1/auth/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client, r.json()["csrf_token"]


def test_concurrent_writers_all_succeed(live: LiveDb, settings: Settings) -> None:
    # Eight clients create departments at once, three times over: each unit of work runs in a
    # worker thread on its own connection. With a deferred BEGIN, SQLite refused a writer that
    # had read before another committed ("database is locked", a 500 within milliseconds).
    app = create_app(settings, live.engine)

    async def main() -> list[httpx.Response]:
        client, csrf = await _signed_in(app, "city")
        try:

            async def create(n: int) -> httpx.Response:
                return await client.post(
                    "/api/v1/org/departments",
                    json={
                        "code": f"C-{n:03d}",
                        "name": f"并发部门{n}",
                        "region_id": live.world.city,
                    },
                    headers={"X-CSRF-Token": csrf},
                )

            out: list[httpx.Response] = []
            for round_ in range(3):
                out.extend(await asyncio.gather(*(create(round_ * 8 + i) for i in range(8))))
            return out
        finally:
            await client.aclose()

    responses = _run(main())
    assert [r.status_code for r in responses] == [201] * 24, [r.text for r in responses]
    with live.factory() as s:
        names = s.scalars(select(Department.name).where(Department.name.like("并发部门%")))
        assert len(set(names)) == 24


def test_a_read_that_must_write_waits_for_a_writer_and_succeeds(
    live: LiveDb, settings: Settings
) -> None:
    # A GET starts deferred (reads never queue behind writers), but the session's sliding
    # expiry makes it write. When a writer commits between its read and its write, SQLite
    # refuses that write at once: the unit of work runs again as a writer instead of a 500.
    if not is_sqlite(live.engine):
        pytest.skip("SQLite's lock upgrade; PostgreSQL updates rows under row locks")
    app = create_app(settings, live.engine)

    async def sign_in() -> str:
        client, _ = await _signed_in(app, "officer")
        await client.aclose()
        return client.cookies["govdata_session"]

    secret = _run(sign_in())
    stale = utcnow() - timedelta(hours=1)
    with live.engine.begin() as conn:  # last seen an hour ago: the next request slides it
        conn.execute(update(WebSession).values(last_seen_at=stale))

    touching = threading.Event()

    @event.listens_for(live.engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE web_sessions"):
            touching.set()

    writer = live.engine.raw_connection()
    cursor = writer.cursor()
    cursor.execute("BEGIN IMMEDIATE")
    cursor.execute(
        "UPDATE departments SET name = name || '' WHERE id = ?", (live.world.city_bureau,)
    )

    async def read() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        cookies = {"govdata_session": secret}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=cookies
        ) as client:
            return await client.get(f"/api/v1/org/departments/{live.world.police}")

    thread, out = in_thread(lambda: asyncio.run(read()))
    assert touching.wait(30), "the GET never tried to slide its session"
    time.sleep(0.2)  # it now waits for the writer's lock in SQLite's busy handler
    cursor.execute("COMMIT")
    writer.close()
    thread.join(30)
    assert "error" not in out, out.get("error")
    response = out["result"]
    assert isinstance(response, httpx.Response)
    assert response.status_code == 200, response.text
    with live.factory() as s:
        seen = s.scalar(select(WebSession.last_seen_at))
        assert seen is not None and seen > stale


def test_is_write_conflict_knows_sqlite_busy_codes() -> None:
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = 517  # type: ignore[attr-defined]  # SQLITE_BUSY_SNAPSHOT
    assert is_write_conflict(OperationalError("UPDATE", {}, busy))
    other = sqlite3.OperationalError("no such table")
    other.sqlite_errorcode = 1  # type: ignore[attr-defined]
    assert not is_write_conflict(OperationalError("SELECT", {}, other))
    assert not is_write_conflict(ValueError())
