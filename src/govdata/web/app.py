"""The application factory: one FastAPI app serving the JSON API and the zh-CN pages."""

from __future__ import annotations

from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from govdata.core.db import make_engine, make_sessionmaker
from govdata.core.logging import configure_logging
from govdata.core.settings import Settings, get_settings
from govdata.web import errors
from govdata.web.limits import BodySizeLimit

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(json=settings.log_json)
    engine = engine or make_engine(settings.database_url)
    app = FastAPI(
        title="govdata 政务数据资源管理平台",
        version="0.1.0",
        description="依据《重庆市政务数据资源管理暂行办法》建设的政务数据资源管理平台 API。",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    # Requests with a session at once: as many as the pool keeps connections (see get_db).
    pool_size = engine.pool.size() if isinstance(engine.pool, QueuePool) else 5
    app.state.db_limiter = anyio.CapacityLimiter(max(pool_size, 1))

    errors.install(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.max_upload_bytes,
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    from govdata.aggregation import api as aggregation_api
    from govdata.aggregation import pages as aggregation_pages
    from govdata.catalog import api as catalog_api
    from govdata.catalog import pages as catalog_pages
    from govdata.core import api as core_api
    from govdata.org import api as org_api
    from govdata.org import auth
    from govdata.org import pages as org_pages
    from govdata.web import pages as web_pages

    app.state.authenticator = auth  # web.deps.Authenticator: who a request acts for
    app.include_router(org_api.router)
    app.include_router(core_api.router)
    app.include_router(catalog_api.router)
    app.include_router(aggregation_api.router)
    app.include_router(web_pages.router)
    app.include_router(org_pages.router)
    app.include_router(catalog_pages.router)
    app.include_router(aggregation_pages.router)
    return app
