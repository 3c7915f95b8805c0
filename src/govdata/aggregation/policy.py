"""Who may do what with pools, base and thematic databases and corrections (Ch. 3).

Pool data is read by its own department (officers, head, systems), its district bureau, the
city bureau and auditors (``org.policy.department_filter``); other departments obtain it only
through the sharing system (Art. 26), which is not this package.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from govdata.aggregation.models import Pool
from govdata.core.actor import Actor, Role
from govdata.core.errors import PermissionDenied
from govdata.org import policy as org_policy
from govdata.org.models import Department


def visible_pools(actor: Actor) -> Select[Pool]:
    return (
        select(Pool)
        .join(Department, Pool.department_id == Department.id)
        .where(org_policy.department_filter(actor))
    )


def require_pool_pages(actor: Actor) -> None:
    """Pools are government staff's: oversight, bureaus and departments (not the public)."""
    if not (org_policy.sees_everything(actor) or actor.department_ids() or actor.region_ids()):
        raise PermissionDenied(
            "aggregation.pools_staff_only", "数据资源池仅对政务部门工作人员开放。"
        )


def can_load(actor: Actor, department_id: int) -> bool:
    """A department loads its own pool (Art. 17 ¶1): its data officers, or its systems with
    ``pool:write``; the city bureau may load on a department's behalf (product decision)."""
    if org_policy.is_city_admin(actor):
        return True
    if actor.token_id is not None:
        return "pool:write" in actor.scopes and department_id in actor.department_ids(
            Role.DEPARTMENT_SYSTEM
        )
    return department_id in actor.department_ids(Role.DEPARTMENT_OFFICER)


def require_load(actor: Actor, department_id: int) -> None:
    if not can_load(actor, department_id):
        raise PermissionDenied("aggregation.cannot_load", "您无权向该部门的数据资源池加载数据。")


def can_edit_spec(actor: Actor, department_id: int) -> bool:
    """The aggregation specification: the city bureau sets it (Art. 15); a department's data
    officers keep their own resources' item rules within it."""
    if org_policy.is_city_admin(actor):
        return True
    return actor.token_id is None and department_id in actor.department_ids(Role.DEPARTMENT_OFFICER)


def require_edit_spec(actor: Actor, department_id: int) -> None:
    if not can_edit_spec(actor, department_id):
        raise PermissionDenied("aggregation.cannot_edit_spec", "您无权修改该资源的汇聚规范。")


def is_bureau(actor: Actor) -> bool:
    """The city bureau supervises quality and conflicts (Art. 19 ¶1, Art. 20 ¶1)."""
    return org_policy.is_city_admin(actor)


def require_bureau(actor: Actor) -> None:
    if not is_bureau(actor):
        raise PermissionDenied("aggregation.bureau_only", "只有市数据主管部门可以执行此操作。")


def can_open_pools(actor: Actor) -> bool:
    """Pools, and corrections of their values: a department's own officers and head, the
    bureaus and auditors (Art. 17 ¶1, 19, 20); not the public."""
    return (
        org_policy.has_department_role(actor)
        or org_policy.is_bureau(actor)
        or actor.has(Role.AUDITOR)
    )
