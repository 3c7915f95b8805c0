"""Where an authenticated request's CPU goes: in-process, one request at a time, no network.

    .venv/bin/python bench/profile_auth.py [--requests 2000] [--repeat 5] [--profile PATH]

Builds the app as ``auth_endpoint.py`` does (fresh SQLite database, demo org, the bare routes and
the prototype of ``prototypes.py``), signs in as ``demo.officer`` and calls the ASGI app directly
from one event loop (uvloop), one request after another. For each endpoint it reports the CPU
time of this process per request (all threads: the event loop and FastAPI's worker threads),
the best of ``--repeat`` batches. Without wrk and without concurrency this is far steadier
than requests/s, and shows the cost of each layer:

- bare async / bare sync: FastAPI and Starlette alone; the difference is one thread-pool hop.
- dep-db: a sync route taking ``DbSession`` (a session; its commit and close, one more hop).
- dep-actor: a sync route taking ``CurrentActor`` (adds the session lookup and role grants).
- /api/v1/me, /api/v1/org/departments/{id}: the real routes.
- the prototype of ``prototypes.py`` (the whole unit of work in one thread-pool call).

It also times the service layer without FastAPI (a transaction, ``resolve_session``,
``get_department``) in a plain loop. ``--profile PATH`` runs cProfile over all threads while
calling PATH and prints the functions with the most own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

import uvloop
from fastapi import Depends

from common import OUT_DIR, fresh_database_url, machine_info, rate_limit_settings, write_json
from govdata.app import create_app
from govdata.core.actor import Actor
from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.migrate import upgrade
from govdata.core.settings import Settings
from govdata.org import auth, service
from govdata.org.demo import load_demo_org
from govdata.org.schemas import DepartmentOut
from govdata.web.deps import DbSession, require_actor
from prototypes import add_prototype_routes

DEMO_PASSWORD = "Demo2026pass"


def build() -> tuple[Any, Any, str, int]:
    url = fresh_database_url("sqlite", "profile_auth")
    engine = make_engine(url)
    upgrade(engine)
    sm = make_sessionmaker(engine)
    with transaction(sm) as session:
        load_demo_org(session)
    with transaction(sm) as session:
        signed = auth.sign_in(session, "demo.officer", DEMO_PASSWORD)
        secret, dept_id = signed.secret, signed.person.department_id
    assert dept_id is not None
    settings = Settings(
        database_url=url,
        secret_key="bench",
        var_dir=OUT_DIR / "var",
        log_json=True,
        **rate_limit_settings(Settings),
    )
    app = create_app(settings, engine)

    @app.get("/bench/bare")
    async def bare():
        return {"ok": True}

    @app.get("/bench/bare-sync")
    def bare_sync():
        return {"ok": True}

    @app.get("/bench/dep-db")
    def dep_db(session: DbSession):
        return {"ok": True}

    @app.get("/bench/dep-actor")
    def dep_actor(actor: Annotated[Actor, Depends(require_actor)]):
        return {"ok": True}

    add_prototype_routes(app)
    return app, sm, secret, dept_id


def make_caller(app: Any, secret: str) -> Callable[[str], Any]:
    cookie = f"govdata_session={secret}".encode()

    async def call(path: str) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bench"), (b"cookie", cookie)],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    return call


def cpu_per_call(fn: Callable[[], Any], n: int, repeat: int) -> float:
    for _ in range(min(n, 200)):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - t0) / n)
    return best * 1e6


async def asgi_cpu(call: Callable[[str], Any], path: str, n: int, repeat: int) -> float:
    status = await call(path)
    if status != 200:
        raise SystemExit(f"{path} returned {status}")
    for _ in range(min(n, 200)):
        await call(path)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(n):
            await call(path)
        best = min(best, (time.process_time() - t0) / n)
    return best * 1e6


def profile_path(call: Callable[[str], Any], path: str, n: int) -> str:
    profiles: list[cProfile.Profile] = []

    def start_in_new_thread(*_: object) -> None:
        prof = cProfile.Profile()
        profiles.append(prof)
        prof.enable()

    threading.setprofile(start_in_new_thread)  # worker threads started from now on

    async def run() -> None:
        main = cProfile.Profile()
        profiles.append(main)
        main.enable()
        for _ in range(n):
            await call(path)
        main.disable()

    uvloop.run(run())
    threading.setprofile(None)  # type: ignore[arg-type]
    buf = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=buf)
    for prof in profiles[1:]:
        stats.add(prof)
    stats.sort_stats("tottime").print_stats(30)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", metavar="PATH", help="cProfile this path, all threads")
    args = parser.parse_args()

    app, sm, secret, dept_id = build()
    call = make_caller(app, secret)
    n, rep = args.requests, args.repeat

    def txn() -> None:
        with transaction(sm) as s:
            s.connection()

    def resolve() -> None:
        with transaction(sm) as s:
            auth.resolve_session(s, secret)

    def full() -> None:
        with transaction(sm) as s:
            actor = auth.resolve_session(s, secret)
            assert actor is not None
            DepartmentOut.model_validate(service.get_department(s, actor, dept_id))

    service_rows = {
        "transaction only (Session, BEGIN, COMMIT, close)": cpu_per_call(txn, n, rep),
        "transaction + auth.resolve_session": cpu_per_call(resolve, n, rep),
        "transaction + resolve_session + get_department + DepartmentOut": cpu_per_call(
            full, n, rep
        ),
    }
    paths = {
        "bare async": "/bench/bare",
        "bare sync": "/bench/bare-sync",
        "sync route + DbSession": "/bench/dep-db",
        "sync route + CurrentActor": "/bench/dep-actor",
        "GET /api/v1/me": "/api/v1/me",
        "GET /api/v1/org/departments/{id}": f"/api/v1/org/departments/{dept_id}",
        "prototype: one thread-pool call per request": f"/bench/proto/onehop/departments/{dept_id}",
    }

    async def measure() -> dict[str, float]:
        return {name: await asgi_cpu(call, path, n, rep) for name, path in paths.items()}

    asgi_rows = uvloop.run(measure())

    print(f"CPU per call, best of {rep} x {n} (µs)")
    print("service layer, no HTTP:")
    for name, us in service_rows.items():
        print(f"  {name:<66} {us:8.1f}")
    print("through the ASGI app, one request at a time:")
    for name, us in asgi_rows.items():
        print(f"  {name:<66} {us:8.1f}")

    report = None
    if args.profile:
        path = args.profile.replace("{id}", str(dept_id))
        report = profile_path(call, path, n)
        print(f"\ncProfile of {path}, all threads, {n} requests:\n{report}")

    out = write_json(
        "profile_auth.json",
        {
            "benchmark": "profile_auth",
            "machine": machine_info(),
            "requests": n,
            "repeat": rep,
            "service_cpu_us": service_rows,
            "asgi_cpu_us": asgi_rows,
            "profile": report,
        },
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
