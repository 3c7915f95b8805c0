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

``audit_chain.py --prototypes`` times ``record_fast``, a cheaper ``audit.record``. (The faster
``audit.verify`` prototyped here first, range-parallel over processes, is in ``src/`` since 02:04
on 2026-11-25.)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import finish_failed, utcnow
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


# --- audit append ----------------------------------------------------------------------------

_HEAD_ADVANCE = (
    update(audit.AuditHead)
    .where(audit.AuditHead.id == 1)
    .values(seq=audit.AuditHead.seq + 1)
    .returning(audit.AuditHead.seq, audit.AuditHead.hash)
)
_HEAD_SET = update(audit.AuditHead).where(audit.AuditHead.id == 1).values(hash=bindparam("h"))
_EVENT_INSERT = insert(audit.AuditEvent)


def record_fast(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_id: str | int,
    summary: str,
    change: dict[str, Any] | None = None,
    region_id: int | None = None,
    department_id: int | None = None,
) -> audit.AuditEvent:
    """Prototype of ``audit.record``: same chain, same lock order, Core statements built once.

    ``audit.record`` runs its two ``UPDATE audit_head`` statements through ``Session.execute``,
    which treats them as ORM bulk updates (statement set-up, "synchronize session" evaluation,
    an autoflush each), and adds the event to the unit of work. Here they and the event's
    INSERT go straight to the transaction's connection.
    """
    conn = session.connection()
    head = conn.execute(_HEAD_ADVANCE).one_or_none()
    if head is None:  # no head row yet (a database not made by the migrations)
        return audit.record(
            session,
            actor,
            action,
            object_type=object_type,
            object_id=object_id,
            summary=summary,
            change=change,
            region_id=region_id,
            department_id=department_id,
        )
    seq, prev_hash = head
    at = utcnow()
    digest = audit.change_digest(change or {})
    oid = str(object_id)
    event_hash = audit.sm3(
        audit._event_bytes(
            prev_hash,
            seq,
            audit._at_text(at),
            actor.person_id,
            actor.name,
            action,
            object_type,
            oid,
            region_id,
            department_id,
            summary,
            digest,
        )
    ).hex()
    values = {
        "seq": seq,
        "at": at,
        "actor_id": actor.person_id,
        "actor_name": actor.name,
        "action": action,
        "object_type": object_type,
        "object_id": oid,
        "region_id": region_id,
        "department_id": department_id,
        "summary": summary,
        "digest": digest,
        "prev_hash": prev_hash,
        "hash": event_hash,
    }
    conn.execute(_EVENT_INSERT, values)
    conn.execute(_HEAD_SET, {"h": event_hash})
    return audit.AuditEvent(**values)
