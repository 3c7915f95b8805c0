"""Who may do what in the sharing system (Ch. 4). Every rule cites its article.

- Departments (officers, heads) browse the share catalog, apply and register for their own
  department, and answer applications for data they provide (Art. 26 ¶2).
- A department head approves an extension of the answer's clock (product decision, as Art. 19).
- The bureau (city, or the provider's district bureau) coordinates objections (Art. 27) and may
  revoke a grant (Art. 6, 50(4)(5)).
- Auditors read everything and change nothing (Art. 41, 49).
- Department systems (API tokens with ``sharing:read``) call the data access API under grants
  that name them (Art. 22, 26 ¶2).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from govdata.core.actor import Actor, Role
from govdata.core.errors import PermissionDenied
from govdata.org.models import Department
from govdata.org.policy import has_department_role, is_bureau, is_staff, sees_everything
from govdata.sharing.models import Grant, Objection, ShareApplication

SHARING_SCOPE = "sharing:read"


def department_ids(actor: Actor) -> frozenset[int]:
    """The departments a person acts for in sharing (officer or head)."""
    return actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)


def can_browse(actor: Actor) -> bool:
    """The share catalog in use (Art. 26): every government staff member."""
    return is_staff(actor)


def can_apply(actor: Actor) -> bool:
    """Registrations and applications, for one's own department (Art. 26 ¶2)."""
    return has_department_role(actor)


def require_apply_for(actor: Actor, department_id: int) -> None:
    if actor.token_id is not None or department_id not in department_ids(actor):
        raise PermissionDenied("sharing.apply_forbidden", "只能以本部门名义申请共享数据。")


def can_answer(actor: Actor, provider_department_id: int) -> bool:
    """The provider's officers and head answer its applications (Art. 26 ¶2)."""
    return actor.token_id is None and provider_department_id in department_ids(actor)


def require_answer(actor: Actor, provider_department_id: int) -> None:
    if not can_answer(actor, provider_department_id):
        raise PermissionDenied("sharing.not_provider", "只有数据提供部门可以办理此事项。")


def can_coordinate(actor: Actor, region_id: int) -> bool:
    """The bureau of the provider's region, or the city bureau, coordinates (Art. 27, 6)."""
    if actor.token_id is not None:
        return False
    return actor.has(Role.CITY_BUREAU_ADMIN) or region_id in actor.region_ids()


def can_revoke(actor: Actor, grant: Grant, provider_region_id: int) -> bool:
    """The provider, or the bureau over it, revokes a grant with immediate effect."""
    return can_answer(actor, grant.provider_department_id) or can_coordinate(
        actor, provider_region_id
    )


def can_view_disputes(actor: Actor) -> bool:
    return is_bureau(actor) or sees_everything(actor) or has_department_role(actor)


def can_view_usage(actor: Actor) -> bool:
    """Usage dashboards: departments their own, bureaus and auditors all (Art. 40, 41, 49)."""
    return is_bureau(actor) or sees_everything(actor) or has_department_role(actor)


def sees_all_sharing(actor: Actor) -> bool:
    """The city bureau and auditors see every application, grant, record and dispute."""
    return actor.token_id is None and (actor.has(Role.CITY_BUREAU_ADMIN) or sees_everything(actor))


def _mine(
    actor: Actor,
    requester: InstrumentedAttribute[Any],
    provider: InstrumentedAttribute[Any],
    deps: frozenset[int] | None = None,
) -> ColumnElement[bool]:
    """Rows of the actor's departments (``deps``; default: all its department roles) on either
    side, or of its region for a district bureau; everything for the city bureau and auditors."""
    if sees_all_sharing(actor):
        return true()
    conds: list[ColumnElement[bool]] = []
    if deps is None:
        deps = actor.department_ids()
    if deps:
        conds += [requester.in_(deps), provider.in_(deps)]
    regions = actor.region_ids()
    if regions:
        in_region = select(Department.id).where(Department.region_id.in_(regions))
        conds += [requester.in_(in_region), provider.in_(in_region)]
    return or_(*conds) if conds else false()


def visible_applications(actor: Actor) -> Select[ShareApplication]:
    """Applications the actor may see: its departments' (as requester or provider), its
    region's for a district bureau, all for the city bureau and auditors."""
    return select(ShareApplication).where(
        _mine(
            actor, ShareApplication.requester_department_id, ShareApplication.provider_department_id
        )
    )


def visible_grants(actor: Actor) -> Select[Grant]:
    return select(Grant).where(
        _mine(actor, Grant.requester_department_id, Grant.provider_department_id)
    )


def visible_objections(actor: Actor) -> Select[Objection]:
    return select(Objection).where(
        _mine(actor, Objection.department_id, Objection.provider_department_id)
    )


def can_manage_signing_key(actor: Actor, department_id: int) -> bool:
    """A signing department's keys (Art. 28): its head, or the city bureau (product decision:
    a key speaks for the department, so not every officer may replace it)."""
    if actor.token_id is not None:
        return False
    return actor.has(Role.CITY_BUREAU_ADMIN) or department_id in actor.department_ids(
        Role.DEPARTMENT_HEAD
    )


def can_designate_document(actor: Actor, provider_department_id: int) -> bool:
    """Which sources are documents, licences or contracts (Art. 28): the provider's head, or
    the city bureau (product decision, as for keys)."""
    return can_manage_signing_key(actor, provider_department_id)


# --- usage: the access records of sharing calls (Art. 40, 41, 49) -----------------------------


def require_view_usage(actor: Actor) -> None:
    """Usage dashboards are for people: no token scope opens them (product decision, Art. 39:
    least privilege); then the departments, bureaus and auditors of ``can_view_usage``."""
    if actor.token_id is not None:
        raise PermissionDenied(
            "auth.people_only", "该接口仅供工作人员登录后使用，接口令牌无权调用。"
        )
    if not can_view_usage(actor):
        raise PermissionDenied(
            "sharing.usage_forbidden",
            "只有数据提供部门、使用部门、数据主管部门和审计监督人员可以查看共享调用情况。",
        )


def usage_scope(
    actor: Actor,
    requester: InstrumentedAttribute[int | None],
    provider: InstrumentedAttribute[int | None],
) -> ColumnElement[bool]:
    """Which sharing access records an actor reads (Art. 40, 41, 49): a provider the reads of
    its data, a requester its own reads, a district bureau those of its region's departments
    (either side), the city bureau and auditors all."""
    return _mine(actor, requester, provider, department_ids(actor))
