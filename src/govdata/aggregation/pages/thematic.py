"""zh-CN pages of the thematic databases (Art. 17 ¶3, 18, 25(3)) under ``/aggregation/thematic``:
the list with the define form, and one database's definition, rows and refresh.

Handlers translate HTTP to ``aggregation.thematic`` and back; a refused definition is shown again
with the zh-CN message and everything typed, after the unit of work is ended.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import base, thematic
from govdata.aggregation.models import BaseKind
from govdata.core.actor import Actor, Role
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput
from govdata.core.types import MAX_DB_ID, DbId, Offset
from govdata.org import policy as org_policy
from govdata.org.models import Department
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter()
PAGE = 50

FLASHES = {
    "defined": "已建立主题数据库，并在本部门目录清单中登记为主题资源（草稿，随目录清单提交审核）。",
    "refreshed": "已按最新的来源数据更新主题数据库。",
}


def _definable_departments(session: Session, actor: Actor) -> list[Department]:
    """Where the actor may define one: the bureau anywhere, an officer in its department."""
    stmt = select(Department).where(Department.active).order_by(Department.code)
    if not org_policy.is_city_admin(actor):
        ids = actor.department_ids(Role.DEPARTMENT_OFFICER) if actor.token_id is None else set()
        if not ids:
            return []
        stmt = stmt.where(Department.id.in_(ids))
    return list(session.scalars(stmt))


def _list_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    msg: str | None = None,
    error: str | None = None,
    v: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    if actor.is_public or not actor.roles:
        raise DomainError(
            "aggregation.thematic_staff_only", "主题数据库仅向政务部门工作人员开放。", status=403
        )
    dbs = thematic.list_thematic(session, actor)
    dept_ids = {d.department_id for d in dbs}
    names: dict[int, str] = {}
    if dept_ids:
        rows = session.execute(
            select(Department.id, Department.name).where(Department.id.in_(dept_ids))
        )
        names = {int(i): str(n) for i, n in rows}
    departments = _definable_departments(session, actor)
    bases = base.list_bases(session, actor) if departments else []
    return render(
        request,
        "aggregation/thematic.html",
        {
            "title": "主题数据库",
            "dbs": dbs,
            "names": names,
            "departments": departments,
            "bases": bases,
            "base_items": {b.kind: [i.name for i in base.items_of(session, b)] for b in bases},
            "operators": thematic.OPERATORS,
            "flash": FLASHES.get(msg or ""),
            "error": error,
            "v": v or {},
        },
        status_code=status_code,
    )


@router.get("/thematic")
def thematic_list(
    request: Request, session: DbSession, actor: CurrentActor, msg: str | None = None
) -> Response:
    return _list_page(request, session, actor, msg=msg)


@router.post("/thematic")
def define(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: Annotated[str, Form(max_length=12)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    description: Annotated[str, Form(max_length=8000)] = "",
    legal_basis: Annotated[str, Form(max_length=4000)] = "",
    base_kind: Annotated[str, Form(max_length=20)] = "",
    base_items: Annotated[list[str] | None, Form(max_length=100)] = None,
    pool_items: Annotated[str, Form(max_length=20000)] = "",
    filters: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    v: dict[str, Any] = {
        "department_id": department_id,
        "name": name,
        "description": description,
        "legal_basis": legal_basis,
        "base_kind": base_kind,
        "base_items": base_items or [],
        "pool_items": pool_items,
        "filters": filters,
    }
    try:
        dept = department_id.strip()
        if not (dept.isascii() and dept.isdecimal()) or not 1 <= int(dept) <= MAX_DB_ID:
            raise InvalidInput("aggregation.thematic_department_required", "请选择所属部门。")
        definition = thematic.parse_form(base_kind, base_items or [], pool_items, filters)
        db = thematic.define(
            session,
            actor,
            int(dept),
            name=name,
            description=description,
            definition=definition,
            legal_basis=legal_basis,
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        finish_failed(session, exc)
        return _list_page(request, session, actor, error=exc.message, v=v, status_code=422)
    return RedirectResponse(f"/aggregation/thematic/{db.id}?msg=defined", status_code=303)


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    thematic_id: int,
    *,
    offset: int = 0,
    msg: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    db = thematic.get_thematic(session, actor, thematic_id)
    page = thematic.rows(session, actor, thematic_id, offset, PAGE)
    kind = str(db.definition.get("base_kind", ""))
    return render(
        request,
        "aggregation/thematic_detail.html",
        {
            "title": db.name,
            "db": db,
            "dept": session.get(Department, db.department_id),
            "base_label": BaseKind(kind).label if kind in {k.value for k in BaseKind} else kind,
            "page": page,
            "filters": [thematic.filter_label(f) for f in db.definition.get("filters", [])],
            "resource": thematic.registered_resource(session, db),
            "can_refresh": thematic.can_define(actor, db.department_id),
            "offset": offset,
            "page_size": PAGE,
            "flash": FLASHES.get(msg or ""),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/thematic/{thematic_id}")
def thematic_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    thematic_id: DbId,
    offset: Offset = 0,
    msg: str | None = None,
) -> Response:
    return _detail(request, session, actor, thematic_id, offset=offset, msg=msg)


@router.post("/thematic/{thematic_id}/refresh")
def refresh(
    request: Request, session: DbSession, actor: CurrentActor, thematic_id: DbId
) -> Response:
    try:
        thematic.refresh(session, actor, thematic_id)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        finish_failed(session, exc)
        return _detail(request, session, actor, thematic_id, error=exc.message, status_code=422)
    return RedirectResponse(f"/aggregation/thematic/{thematic_id}?msg=refreshed", status_code=303)
