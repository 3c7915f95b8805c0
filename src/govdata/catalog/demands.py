"""Demand lists (需求清单, Art. 12 ¶2): data a department needs from other departments.

A department's data officer keeps its demands; they are submitted with the catalog list
(``review.submit``), compiled by the district bureau for district departments, and accepted or
returned by the city bureau. Accepted demands are matched against the published catalog
(suggestions come from search); an accepted demand with no match stays on the bureau's list of
unmet demands.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from govdata.catalog import policy
from govdata.catalog.models import Demand, DemandStatus, Resource, ResourceRevision
from govdata.catalog.schemas import DemandIn
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import Page, paginate
from govdata.org import policy as org_policy
from govdata.org import service as org_service
from govdata.org.models import Department

EDITABLE = (DemandStatus.DRAFT, DemandStatus.RETURNED)


def _visible(actor: Actor) -> Select[Demand]:
    policy.require_read_lists(actor)
    return (
        select(Demand)
        .join(Department, Demand.department_id == Department.id)
        .where(org_policy.department_filter(actor))
    )


def get_demand(session: Session, actor: Actor, demand_id: int) -> Demand:
    demand = session.scalar(_visible(actor).where(Demand.id == demand_id))
    if demand is None:
        raise NotFound("catalog.demand_not_found", "未找到该需求。")
    return demand


def list_demands(
    session: Session,
    actor: Actor,
    *,
    department_id: int | None = None,
    status: DemandStatus | None = None,
    unmet: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> Page[Demand]:
    """Demands in the actor's scope; ``unmet``: accepted but matched to no resource yet."""
    org_policy.require_staff(actor)
    stmt = _visible(actor)
    if department_id is not None:
        stmt = stmt.where(Demand.department_id == department_id)
    if status is not None:
        stmt = stmt.where(Demand.status == status.value)
    if unmet:
        stmt = stmt.where(
            Demand.status == DemandStatus.ACCEPTED, Demand.matched_resource_id.is_(None)
        )
    return paginate(session, stmt.order_by(Demand.id), offset, limit)


def _check_provider(session: Session, actor: Actor, data: DemandIn, department_id: int) -> None:
    if data.provider_department_id is None:
        return
    if data.provider_department_id == department_id:
        raise InvalidInput(
            "catalog.demand_self", "需求清单是向其他部门提出的需求，提供方不能是本部门。"
        )
    if session.get(Department, data.provider_department_id) is None:
        raise InvalidInput("catalog.demand_provider_unknown", "提供方部门不存在。")


def create_demand(session: Session, actor: Actor, department_id: int, data: DemandIn) -> Demand:
    department = org_service.get_department(session, actor, department_id)
    policy.require_edit_list(actor, department.id)
    _check_provider(session, actor, data, department.id)
    demand = Demand(department_id=department.id, status=DemandStatus.DRAFT, **data.model_dump())
    session.add(demand)
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.demand.create",
        object_type="demand",
        object_id=demand.id,
        summary=f"{department.name}新增数据需求“{demand.title}”",
        change=data.model_dump(mode="json"),
        region_id=department.region_id,
        department_id=department.id,
    )
    return demand


def update_demand(session: Session, actor: Actor, demand_id: int, data: DemandIn) -> Demand:
    demand = get_demand(session, actor, demand_id)
    policy.require_edit_list(actor, demand.department_id)
    if demand.status not in EDITABLE:
        raise Conflict("catalog.demand_locked", "需求已提交审核，不能修改。")
    _check_provider(session, actor, data, demand.department_id)
    for key, value in data.model_dump().items():
        setattr(demand, key, value)
    demand.status = DemandStatus.DRAFT
    demand.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.demand.update",
        object_type="demand",
        object_id=demand.id,
        summary=f"修改数据需求“{demand.title}”",
        change=data.model_dump(mode="json"),
        department_id=demand.department_id,
    )
    return demand


def delete_demand(session: Session, actor: Actor, demand_id: int) -> None:
    demand = get_demand(session, actor, demand_id)
    policy.require_edit_list(actor, demand.department_id)
    if demand.status != DemandStatus.DRAFT:
        raise Conflict("catalog.demand_locked", "只能删除尚未提交的需求。")
    title, department_id = demand.title, demand.department_id
    session.delete(demand)
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.demand.delete",
        object_type="demand",
        object_id=demand_id,
        summary=f"删除数据需求“{title}”",
        department_id=department_id,
    )


def suggest_resources(
    session: Session, actor: Actor, demand_id: int, *, limit: int = 5
) -> list[ResourceRevision]:
    """Published resources that may meet a demand, by searching its title and wanted items."""
    from govdata.catalog import search

    demand = get_demand(session, actor, demand_id)
    words = " ".join(part for part in (demand.title, demand.wanted_items) if part).strip()
    hits: list[ResourceRevision] = []
    for query in (words, demand.title):
        try:
            result = search.search(session, actor, query[:100], limit=limit + 1)
        except (InvalidInput, NotFound):
            continue
        hits = [h for h in result.hits if h.department_id != demand.department_id][:limit]
        if hits:
            break
    return hits


def match_demand(
    session: Session, actor: Actor, demand_id: int, resource_code: str | None
) -> Demand:
    """The city bureau records which published resource meets an accepted demand (or clears it)."""
    policy.require_city_review(actor)
    demand = get_demand(session, actor, demand_id)
    if demand.status != DemandStatus.ACCEPTED:
        raise Conflict("catalog.demand_not_accepted", "只有已受理的需求可以匹配资源。")
    resource = None
    if resource_code:
        resource = session.scalar(select(Resource).where(Resource.code == resource_code.strip()))
        if resource is None or resource.published_revision_id is None:
            raise InvalidInput(
                "catalog.demand_match_unpublished", f"资源 {resource_code} 不在已发布的目录中。"
            )
        if resource.department_id == demand.department_id:
            raise InvalidInput("catalog.demand_self", "需求只能由其他部门的资源满足。")
    demand.matched_resource_id = resource.id if resource else None
    demand.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.demand.match",
        object_type="demand",
        object_id=demand.id,
        summary=(
            f"需求“{demand.title}”匹配资源 {resource.code}（{resource.name}）"
            if resource
            else f"取消需求“{demand.title}”的资源匹配"
        ),
        change={"resource_code": resource.code if resource else None},
        department_id=demand.department_id,
    )
    return demand
