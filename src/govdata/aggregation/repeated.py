"""Repeated collection (重复采集、多头采集, Art. 50(3)): the supervision signal.

A department must not collect again data it can obtain by sharing. The base databases name one
authoritative source for each base item (一数一源, Art. 16), so a published resource of another
department that carries an info item of the same name about the same subjects (its key fits the
base) collects what it could share: that item is flagged. Thematic resources are not flagged:
they are built from shared data, not collected (Art. 17 ¶3).

The supervision chapter (Art. 50, 52) consumes ``find``; here it is also shown to the bureau,
auditors and each department for its own resources.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import collected, policy
from govdata.aggregation.models import BaseDatabase, BaseItem, BaseKind
from govdata.catalog import published
from govdata.catalog.published import CatalogResource
from govdata.core.actor import Actor
from govdata.org import policy as org_policy
from govdata.org.models import Department


@dataclass(frozen=True)
class RepeatedCollection:
    """One info item a department collects although another department is its source."""

    department_id: int
    department_name: str
    resource_code: str
    resource_name: str
    item_name: str
    base_kind: str
    base_name: str
    authoritative_department_id: int
    authoritative_department_name: str
    authoritative_resource_code: str
    authoritative_resource_name: str


def find(
    session: Session, actor: Actor, department_id: int | None = None
) -> list[RepeatedCollection]:
    """Items of published resources that duplicate another department's authoritative base
    items (Art. 50(3)), in the scope the actor sees (``org.policy.department_filter``)."""
    policy.require_repeated_view(actor)
    bases = list(session.scalars(select(BaseDatabase).order_by(BaseDatabase.id)))
    if not bases:
        return []
    items = list(session.scalars(select(BaseItem).order_by(BaseItem.base_id, BaseItem.position)))
    sources = published.resources(session, {i.source_resource_id for i in items})
    # base id -> item name -> (item, source resource)
    by_base: dict[int, dict[str, tuple[BaseItem, CatalogResource]]] = {}
    for item in items:
        by_base.setdefault(item.base_id, {})[item.name] = (item, sources[item.source_resource_id])
    scope = select(Department.id).where(org_policy.department_filter(actor))
    if department_id is not None:
        scope = scope.where(Department.id == department_id)
    in_scope = set(session.scalars(scope))
    catalog = collected.current(session)
    found: list[RepeatedCollection] = []
    codes: dict[str, tuple[str, str]] = {}  # resource code -> (department code, resource code)
    for base in bases:
        known = by_base.get(base.id, {})
        if not known:
            continue
        base_name = base.name or BaseKind(base.kind).label
        for resource, (columns, subject) in catalog.fitting(base.kind):
            if resource.department_id not in in_scope or resource.withdrawal_pending:
                continue
            codes[resource.code] = (resource.department_code, resource.code)
            for col in columns:
                if col["column"] == subject or col["name"] not in known:
                    continue
                _item, source = known[col["name"]]
                if source.department_id == resource.department_id:
                    continue  # its own source (or another of its own resources)
                found.append(
                    RepeatedCollection(
                        department_id=resource.department_id,
                        department_name=resource.department_name,
                        resource_code=resource.code,
                        resource_name=resource.name,
                        item_name=col["name"],
                        base_kind=base.kind,
                        base_name=base_name,
                        authoritative_department_id=source.department_id,
                        authoritative_department_name=source.department_name,
                        authoritative_resource_code=source.code,
                        authoritative_resource_name=source.name,
                    )
                )
    # Department, resource, then the bases in order and the items in the resource's order.
    order = {b.kind: i for i, b in enumerate(bases)}
    found.sort(key=lambda f: (codes[f.resource_code], order[f.base_kind]))
    return found


@dataclass(frozen=True)
class DepartmentSummary:
    """One department's repeated collection: how many resources and items, and of which bases."""

    department_id: int
    department_name: str
    resources: int
    items: int
    bases: tuple[str, ...]
    authoritative_departments: tuple[str, ...]


def summarize(found: list[RepeatedCollection]) -> list[DepartmentSummary]:
    """Per department, most flagged items first (the page's summary before the detail)."""
    by_dept: dict[int, list[RepeatedCollection]] = {}
    for f in found:
        by_dept.setdefault(f.department_id, []).append(f)
    summaries = [
        DepartmentSummary(
            department_id=dept_id,
            department_name=flags[0].department_name,
            resources=len({f.resource_code for f in flags}),
            items=len(flags),
            bases=tuple(sorted({f.base_name for f in flags})),
            authoritative_departments=tuple(
                sorted({f.authoritative_department_name for f in flags})
            ),
        )
        for dept_id, flags in by_dept.items()
    ]
    summaries.sort(key=lambda s: (-s.items, s.department_name))
    return summaries
