"""Who may do what in the catalog (Art. 12–14), on top of the org policy's scoping.

Drafts and submissions are read in the scope of ``org.policy.department_filter``: a department's
own people and systems (holding ``catalog:write``), its district bureau, the city bureau and
auditors. The published catalog is read by all staff and by department systems holding
``catalog:read``; the open catalog by anyone (Art. 32).
"""

from __future__ import annotations

from sqlalchemy import Select, select

from govdata.catalog.models import Resource
from govdata.core.actor import Actor, Role
from govdata.core.errors import PermissionDenied
from govdata.org import policy as org_policy
from govdata.org.models import Department


def require_read_lists(actor: Actor) -> None:
    """A department's lists before review (目录清单, 需求清单, their submissions and changes,
    Art. 12 ¶1-2, 14): a department system reads them only with ``catalog:write``, the scope
    of the system that keeps them and follows their review; ``catalog:read`` opens only the
    published catalog (Art. 39: least privilege). People: ``org.policy.department_filter``."""
    org_policy.require_scope(actor, "catalog:write")


def visible_resources(actor: Actor) -> Select[Resource]:
    require_read_lists(actor)
    return (
        select(Resource)
        .join(Department, Resource.department_id == Department.id)
        .where(org_policy.department_filter(actor))
    )


def can_edit_list(actor: Actor, department_id: int) -> bool:
    """A department's data officers keep its lists (Art. 7 ¶2, Art. 12); a department system
    may with ``catalog:write``; the city bureau may enter them on a department's behalf."""
    if org_policy.is_city_admin(actor):
        return True
    if actor.token_id is not None:
        return "catalog:write" in actor.scopes and department_id in actor.department_ids(
            Role.DEPARTMENT_SYSTEM
        )
    return department_id in actor.department_ids(Role.DEPARTMENT_OFFICER)


def require_edit_list(actor: Actor, department_id: int) -> None:
    if not can_edit_list(actor, department_id):
        raise PermissionDenied("catalog.cannot_edit_list", "您无权编辑该部门的目录清单和需求清单。")


def require_compile_district(actor: Actor, region_id: int) -> None:
    """Only the district's own bureau compiles its departments' lists (Art. 12 ¶1)."""
    if region_id not in actor.region_ids():
        raise PermissionDenied(
            "catalog.cannot_compile", "只有本区县数据主管部门可以汇总本区县清单。"
        )


def require_city_review(actor: Actor) -> None:
    """The city bureau reviews, compiles and publishes the catalog (Art. 12 ¶3, Art. 14 ¶2)."""
    if not org_policy.is_city_admin(actor):
        raise PermissionDenied(
            "catalog.city_review_only", "只有市数据主管部门可以审核、发布政务数据资源目录。"
        )


def can_read_published(actor: Actor | None) -> bool:
    if actor is None:
        return False
    if actor.token_id is not None:
        return "catalog:read" in actor.scopes
    return not actor.is_public and bool(actor.roles)


def require_read_published(actor: Actor) -> None:
    """The published catalog is the basis of sharing (Art. 10): staff and department systems."""
    if actor.token_id is not None:
        org_policy.require_scope(actor, "catalog:read")
        return
    org_policy.require_staff(actor)


def can_keep_lists(actor: Actor) -> bool:
    """A department's officers and head keep its 目录清单 and 需求清单 (Art. 12 ¶1-2)."""
    return org_policy.has_department_role(actor)


def can_view_review(actor: Actor) -> bool:
    """Review queues: the bureaus that compile and review (Art. 12 ¶1, ¶3), and auditors."""
    return org_policy.is_bureau(actor) or actor.has(Role.AUDITOR)


def can_read_open_catalog(actor: Actor | None) -> bool:
    """The open catalog is public (Art. 32 ¶1)."""
    return True
