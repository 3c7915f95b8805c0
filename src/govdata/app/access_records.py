"""Reading the access records (调用记录; Art. 39, 40; oversight, Art. 41, 49).

Auditors and the city bureau read all of them; a district bureau reads the reads made by its
region's departments and those of their data. Reading the records is not itself recorded:
they name readers and objects, not the data read (no recursion).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.access import AccessFilter, AccessRecord, list_records
from govdata.core.actor import Actor, Role
from govdata.core.errors import PermissionDenied
from govdata.core.pagination import Page
from govdata.org.models import Department


def can_view_access_records(actor: Actor) -> bool:
    return any(
        actor.has(r) for r in (Role.AUDITOR, Role.CITY_BUREAU_ADMIN, Role.DISTRICT_BUREAU_ADMIN)
    )


def require_view_access_records(actor: Actor) -> None:
    if not can_view_access_records(actor):
        raise PermissionDenied(
            "audit.access_records_forbidden",
            "只有审计监督人员和数据主管部门可以查看数据调用记录。",
        )


def _departments(session: Session, actor: Actor) -> frozenset[int] | None:
    """None: every department's; else the district bureau's region's departments."""
    if actor.has(Role.AUDITOR) or actor.has(Role.CITY_BUREAU_ADMIN):
        return None
    regions = actor.region_ids()
    return frozenset(
        session.scalars(select(Department.id).where(Department.region_id.in_(regions)))
    )


def list_access_records(
    session: Session, actor: Actor, f: AccessFilter, *, offset: int = 0, limit: int = 50
) -> Page[AccessRecord]:
    require_view_access_records(actor)
    return list_records(
        session, f, departments=_departments(session, actor), offset=offset, limit=limit
    )
