"""Bench-only prototypes of the fixes BENCHMARKS.md recommends for ``src/`` (measured, not used).

``auth_endpoint.py --prototypes`` (and ``profile_auth.py``) add a route beside the real
``GET /api/v1/org/departments/{id}`` that does what it does (same service calls, same response
model) with the request's plumbing changed:

- ``/bench/proto/onehop/departments/{id}``: an ``async def`` route whose whole unit of work
  (transaction, ``auth.resolve_session``, ``get_department``, commit) is one thread-pool call
  under the app's ``db_limiter``, so a request crosses threads once instead of three times
  (``get_db``'s exit, ``optional_actor``, the route).

(The first two fixes measured here, an ``async`` ``get_db`` behind a pool-sized limiter with
``require_actor`` as ``async def``, and prebuilt statements in ``auth.resolve_session``, are in
``src/`` since 01:40 on 2026-11-25; BENCHMARKS.md keeps their before/after figures.)

The faster ``audit.verify`` (range-parallel over processes, since 02:04) and the cheaper
``audit.record`` measured here as ``record_fast`` (prebuilt Core statements, since 02:55) are in
``src/`` now.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from govdata.core.db import finish_failed
from govdata.core.errors import NotAuthenticated
from govdata.org import auth, policy, service
from govdata.org.schemas import DepartmentOut
from govdata.web.deps import SESSION_COOKIE, get_settings


def add_prototype_routes(app: FastAPI) -> None:
    @app.get("/bench/proto/onehop/departments/{department_id}", response_model=DepartmentOut)
    async def proto_onehop(request: Request, department_id: int) -> DepartmentOut:
        secret = request.cookies.get(SESSION_COOKIE)
        hours = get_settings(request).session_hours
        factory = request.app.state.sessionmaker

        def unit_of_work() -> DepartmentOut:
            session: Session = factory()
            try:
                actor = auth.resolve_session(session, secret, hours=hours) if secret else None
                if actor is None:
                    raise NotAuthenticated()
                policy.require_scope(actor, "org:read")
                out = DepartmentOut.model_validate(
                    service.get_department(session, actor, department_id)
                )
                session.commit()
                return out
            except BaseException as exc:
                finish_failed(session, exc)
                raise
            finally:
                session.close()

        async with request.app.state.db_limiter:
            return await run_in_threadpool(unit_of_work)
