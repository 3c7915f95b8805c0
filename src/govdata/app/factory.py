"""The application factory: one FastAPI app serving the JSON API and the zh-CN pages of every
registered domain."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import configure_mappers
from sqlalchemy.pool import QueuePool

from govdata.app.domains import all_domains, install
from govdata.app.nav import navigator
from govdata.core import ratelimit
from govdata.core.db import make_engine, make_sessionmaker
from govdata.core.logging import configure_logging
from govdata.core.settings import Settings, get_settings
from govdata.org import auth
from govdata.web import errors
from govdata.web.deps import Authenticator
from govdata.web.domain import Domain
from govdata.web.headers import HeaderedFastAPI
from govdata.web.limits import BodySizeLimit, RefuseNulInUrl
from govdata.web.ratelimit import RateLimit
from govdata.web.write_retry import RetrySafeAsWriter

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


def _favicon() -> FileResponse:
    # Browsers ask for /favicon.ico whatever the page says: an answer, not a 404 in the logs.
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At shutdown, release what serving opened: the domains' own pools (the sharing hot
    path's) and the rate limiter's connections. The engine is the caller's to dispose."""
    try:
        yield
    finally:
        for domain in app.state.domains:
            if domain.shutdown is not None:
                await domain.shutdown(app)
        if app.state.rate_limiter is not None:
            app.state.rate_limiter.close()


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    domains: Sequence[Domain] | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    domains = list(domains if domains is not None else all_domains())
    install(domains)
    configure_logging(json=settings.log_json)
    engine = engine or make_engine(settings.database_url)
    # Security headers outermost, on every response (web/headers.py; Art. 39).
    app = HeaderedFastAPI(
        title="govdata 政务数据资源管理平台",
        version="0.1.0",
        description="依据《重庆市政务数据资源管理暂行办法》建设的政务数据资源管理平台 API。",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.domains = domains
    app.state.navigation = navigator(domains)
    # web.deps.Authenticator: who a request acts for (sessions and tokens are org's).
    authenticator: Authenticator = auth  # mypy checks that org.auth fits the protocol
    app.state.authenticator = authenticator
    # Requests with a session at once: as many as the pool keeps connections (see get_db).
    pool_size = engine.pool.size() if isinstance(engine.pool, QueuePool) else 5
    app.state.db_limiter = anyio.CapacityLimiter(max(pool_size, 1))

    errors.install(app)
    # Innermost: a safe request that lost SQLite's write lock runs again as a writer, inside
    # every limit (it counts once).
    app.add_middleware(RetrySafeAsWriter)
    # Added first, so innermost of the middlewares: the platform's limits still apply to them.
    for domain in domains:
        for middleware in domain.asgi_middleware():
            app.add_middleware(middleware)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(RefuseNulInUrl)
    # Rate limits (Art. 39, decision 0011): outermost, before a body is read.
    budgets = ratelimit.budgets_from(settings)
    app.state.rate_limiter = ratelimit.make_limiter(budgets, engine) if budgets else None
    if app.state.rate_limiter is not None:
        app.add_middleware(RateLimit, limiter=app.state.rate_limiter)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/favicon.ico", _favicon, include_in_schema=False)
    # JSON APIs first, then pages, each in the domains' order.
    for domain in domains:
        for router in domain.api_routers():
            app.include_router(router)
    for domain in domains:
        for router in domain.page_routers():
            app.include_router(router)
    return app


def ready_to_serve(app: FastAPI) -> FastAPI:
    """What a process does once before it serves ``app``.

    - The ORM's mappers are configured now: configured lazily, by whichever request first built
      an ORM object, they took 0.3 s of the event loop on the sharing hot path's first call.
    - The objects of start-up (routes, models, templates' environment, the ORM's registry) are
      collected once, then moved out of the cyclic collector's reach (``gc.freeze``): its full
      collections walked all of them every few seconds under load, each a 150-180 ms pause of
      the event loop, the whole of the hot path's p99 at 500 req/s (BENCHMARKS.md F1).
    Not in ``create_app``: tests build hundreds of apps in one process, and frozen objects are
    never collected.
    """
    configure_mappers()
    gc.collect()
    gc.freeze()
    return app


def create_served_app() -> FastAPI:
    """``create_app`` for a process that serves (``govdata serve --workers N``)."""
    return ready_to_serve(create_app())
