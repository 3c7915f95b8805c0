"""A department's other lists: its demands for data (Art. 12 ¶2) and its change records with
the update clocks (Art. 14).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import demands, policy, updates
from govdata.catalog.models import Demand, DemandStatus, Resource, ResourceRevision
from govdata.catalog.pages.common import (
    _department_context,
    _departments,
    _flash,
    _optional_id,
    _page,
    _refused,
)
from govdata.catalog.schemas import ChangeIn, DemandIn
from govdata.core.actor import Actor
from govdata.core.errors import DomainError
from govdata.core.types import DbId
from govdata.org import policy as org_policy
from govdata.org import service as org_service
from govdata.org.models import Department
from govdata.web.deps import CurrentActor, DbSession

router = APIRouter()


# --- demand list (Art. 12 ¶2) ------------------------------------------------------------------


def _demand_input(
    title: str, description: str, wanted_items: str, purpose: str, provider: str
) -> DemandIn:
    return DemandIn(
        title=title,
        description=description,
        wanted_items=wanted_items,
        purpose=purpose,
        provider_department_id=_optional_id(provider, "提供方部门"),
    )


def _all_departments(session: Session) -> list[Department]:
    """Every department may be named as a provider of wanted data (Art. 12 ¶2)."""
    return list(
        session.scalars(select(Department).where(Department.active).order_by(Department.code))
    )


def _demands_page(
    request: Request,
    session: Session,
    actor: Actor,
    department_id: int,
    *,
    msg: str | None = None,
    error: str | None = None,
    v: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = _department_context(session, actor, department_id)
    page = demands.list_demands(session, actor, department_id=department_id, limit=200)
    providers = _departments(
        session, {d.provider_department_id for d in page.items if d.provider_department_id}
    )
    matched_ids = [d.matched_resource_id for d in page.items if d.matched_resource_id]
    matched = (
        {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(matched_ids)))}
        if matched_ids
        else {}
    )
    ctx.update(
        demands=page,
        providers=providers,
        matched=matched,
        departments=_all_departments(session),
        error=error,
        v=v or {},
        flash=_flash(msg),
        section="demands",
    )
    return _page(request, "catalog/demands.html", ctx, status_code=status_code)


@router.get("/departments/{department_id}/demands")
def demand_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    msg: str | None = None,
) -> Response:
    return _demands_page(request, session, actor, department_id, msg=msg)


@router.post("/departments/{department_id}/demands")
def create_demand(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    title: Annotated[str, Form(max_length=400)] = "",
    description: Annotated[str, Form(max_length=8000)] = "",
    wanted_items: Annotated[str, Form(max_length=4000)] = "",
    purpose: Annotated[str, Form(max_length=4000)] = "",
    provider_department_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    v = {
        "title": title,
        "description": description,
        "wanted_items": wanted_items,
        "purpose": purpose,
        "provider_department_id": provider_department_id,
    }
    try:
        data = _demand_input(title, description, wanted_items, purpose, provider_department_id)
        demands.create_demand(session, actor, department_id, data)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _demands_page(
            request, session, actor, department_id, error=message, v=v, status_code=422
        )
    return RedirectResponse(
        f"/catalog/departments/{department_id}/demands?msg=demand_created", status_code=303
    )


@router.get("/demands/{demand_id}")
def demand_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    demand_id: DbId,
    msg: str | None = None,
) -> Response:
    demand = demands.get_demand(session, actor, demand_id)
    return _demand_detail(request, session, actor, demand, flash=_flash(msg))


def _demand_detail(
    request: Request,
    session: Session,
    actor: Actor,
    demand: Demand,
    *,
    flash: str | None = None,
    error: str | None = None,
    v: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    suggestions: list[ResourceRevision] = []
    if demand.status == DemandStatus.ACCEPTED:
        suggestions = demands.suggest_resources(session, actor, demand.id)
    matched = (
        session.get(Resource, demand.matched_resource_id) if demand.matched_resource_id else None
    )
    dept = org_service.get_department(session, actor, demand.department_id)
    values = v or {
        "title": demand.title,
        "description": demand.description,
        "wanted_items": demand.wanted_items,
        "purpose": demand.purpose,
        "provider_department_id": str(demand.provider_department_id or ""),
    }
    return _page(
        request,
        "catalog/demand.html",
        {
            "d": demand,
            "dept": dept,
            "v": values,
            "departments": _all_departments(session),
            "providers": _departments(
                session, {demand.provider_department_id} if demand.provider_department_id else set()
            ),
            "matched": matched,
            "suggestions": suggestions,
            "can_edit": policy.can_edit_list(actor, demand.department_id)
            and demand.status in demands.EDITABLE,
            "can_match": org_policy.is_city_admin(actor) and demand.status == DemandStatus.ACCEPTED,
            "flash": flash,
            "error": error,
            "section": "demands",
        },
        status_code=status_code,
    )


@router.post("/demands/{demand_id}")
def update_demand(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    demand_id: DbId,
    title: Annotated[str, Form(max_length=400)] = "",
    description: Annotated[str, Form(max_length=8000)] = "",
    wanted_items: Annotated[str, Form(max_length=4000)] = "",
    purpose: Annotated[str, Form(max_length=4000)] = "",
    provider_department_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    v = {
        "title": title,
        "description": description,
        "wanted_items": wanted_items,
        "purpose": purpose,
        "provider_department_id": provider_department_id,
    }
    try:
        data = _demand_input(title, description, wanted_items, purpose, provider_department_id)
        demands.update_demand(session, actor, demand_id, data)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        demand = demands.get_demand(session, actor, demand_id)
        return _demand_detail(request, session, actor, demand, error=message, v=v, status_code=422)
    return RedirectResponse(f"/catalog/demands/{demand_id}?msg=demand_updated", status_code=303)


@router.post("/demands/{demand_id}/delete")
def delete_demand(session: DbSession, actor: CurrentActor, demand_id: DbId) -> Response:
    demand = demands.get_demand(session, actor, demand_id)
    department_id = demand.department_id
    demands.delete_demand(session, actor, demand_id)
    return RedirectResponse(
        f"/catalog/departments/{department_id}/demands?msg=demand_deleted", status_code=303
    )


@router.post("/demands/{demand_id}/match")
def match_demand(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    demand_id: DbId,
    resource_code: Annotated[str, Form(max_length=40)] = "",
    back: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        demands.match_demand(session, actor, demand_id, resource_code.strip() or None)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        demand = demands.get_demand(session, actor, demand_id)
        return _demand_detail(request, session, actor, demand, error=message, status_code=422)
    target = "/catalog/review" if back == "review" else f"/catalog/demands/{demand_id}"
    return RedirectResponse(f"{target}?msg=matched", status_code=303)


# --- change records and the update clocks (Art. 14) --------------------------------------------


def _changes_page(
    request: Request,
    session: Session,
    actor: Actor,
    department_id: int,
    *,
    msg: str | None = None,
    error: str | None = None,
    v: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = _department_context(session, actor, department_id)
    ctx.update(
        changes=updates.list_changes(session, actor, department_id=department_id, limit=200),
        error=error,
        v=v or {"kind": "law"},
        flash=_flash(msg),
        section="changes",
    )
    return _page(request, "catalog/changes.html", ctx, status_code=status_code)


@router.get("/departments/{department_id}/changes")
def change_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    msg: str | None = None,
) -> Response:
    return _changes_page(request, session, actor, department_id, msg=msg)


@router.post("/departments/{department_id}/changes")
def record_change(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    kind: Annotated[str, Form(max_length=10)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    occurred_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    v = {"kind": kind, "description": description, "occurred_on": occurred_on}
    try:
        data = ChangeIn.model_validate(
            {"kind": kind, "description": description, "occurred_on": occurred_on or None}
        )
        updates.record_change(session, actor, department_id, data)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        return _changes_page(
            request, session, actor, department_id, error=message, v=v, status_code=422
        )
    return RedirectResponse(
        f"/catalog/departments/{department_id}/changes?msg=change", status_code=303
    )
