"""The one authorization policy. Every permission rule of the platform's org layer is here.

Reads are scoped by query (``visible_*``): a record outside an actor's scope is simply not found.
Writes call ``require_*`` in the service before changing anything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from govdata.core.actor import Actor, Role
from govdata.core.errors import PermissionDenied
from govdata.org.models import Department, Person

OVERSIGHT_ROLES = frozenset({Role.CITY_BUREAU_ADMIN, Role.AUDITOR})


def is_city_admin(actor: Actor) -> bool:
    return actor.has(Role.CITY_BUREAU_ADMIN)


def sees_everything(actor: Actor) -> bool:
    """The city bureau directs all (Art. 6 ¶1); auditors oversee all, read-only (Art. 49)."""
    return bool(actor.roles & OVERSIGHT_ROLES)


def department_filter(actor: Actor) -> ColumnElement[bool]:
    """Which departments an actor may see."""
    if sees_everything(actor):
        return true()
    clauses: list[ColumnElement[bool]] = []
    regions = actor.region_ids()
    if regions:
        clauses.append(Department.region_id.in_(regions))
    depts = actor.department_ids()
    if depts:
        clauses.append(Department.id.in_(depts))
    if not clauses:
        return false()

    return or_(*clauses)


_ALL_DEPARTMENTS = select(Department)


def visible_departments(actor: Actor) -> Select[Department]:
    if sees_everything(actor):
        return _ALL_DEPARTMENTS  # statements are immutable: callers' .where() builds a new one
    return select(Department).where(department_filter(actor))


# Every request for a department runs one of these: built once, the scope bound as parameters
# (as ``auth.resolve_session`` does), so no statement is built nor its cache key computed again.
_ANY_DEPARTMENT = select(Department).where(Department.id == bindparam("department_id"))
_SCOPED_DEPARTMENT = _ANY_DEPARTMENT.where(
    or_(
        Department.region_id.in_(bindparam("region_ids", expanding=True)),
        Department.id.in_(bindparam("department_ids", expanding=True)),
    )
)


def visible_department(
    actor: Actor, department_id: int
) -> tuple[Select[Department], dict[str, Any]]:
    """One department if the actor may see it (as ``department_filter``): a statement built
    once and its parameters."""
    if sees_everything(actor):
        return _ANY_DEPARTMENT, {"department_id": department_id}
    return _SCOPED_DEPARTMENT, {
        "department_id": department_id,
        "region_ids": sorted(actor.region_ids()),
        "department_ids": sorted(actor.department_ids()),
    }


def visible_people(actor: Actor) -> Select[Person]:
    """Staff see the people of the departments they see; public accounts see only themselves."""
    if sees_everything(actor):
        return select(Person)
    stmt = select(Person).outerjoin(Department, Person.department_id == Department.id)
    own = Person.id == actor.person_id if actor.person_id is not None else false()
    if actor.is_public or not actor.roles:
        return stmt.where(own)

    return stmt.where(or_(own, department_filter(actor)))


def can_manage_department_people(actor: Actor, department: Department) -> bool:
    """City bureau: any department; a district bureau: the departments of its region."""
    if is_city_admin(actor):
        return True
    return department.region_id in actor.region_ids()


def require_manage_department_people(actor: Actor, department: Department) -> None:
    if not can_manage_department_people(actor, department):
        raise PermissionDenied("org.cannot_manage_people", "您无权管理该部门的人员。")


def grantable_roles(actor: Actor) -> frozenset[Role]:
    """Which roles an actor may grant. Only the city bureau makes bureau admins and auditors."""
    if is_city_admin(actor):
        return frozenset(Role) - {Role.DEPARTMENT_SYSTEM}
    if actor.has(Role.DISTRICT_BUREAU_ADMIN):
        return frozenset({Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD})
    return frozenset()


def require_reset_password_of(actor: Actor, roles: set[Role]) -> None:
    """An administrator sets another person's password only if they could grant every role the
    person holds (Art. 39): otherwise a district bureau admin could take over the account of
    another district admin, or of a city admin working in one of its region's departments."""
    beyond = roles - grantable_roles(actor)
    if beyond:
        raise PermissionDenied(
            "org.cannot_reset_password",
            "您无权重置该账户的密码：其拥有的角色超出您可授予的范围，请联系市数据主管部门管理员。",
        )


def require_city_admin(actor: Actor, action: str = "执行此操作") -> None:
    if not is_city_admin(actor):
        raise PermissionDenied(
            "auth.city_admin_required", f"只有市数据主管部门管理员可以{action}。"
        )


def require_staff(actor: Actor) -> None:
    if actor.is_public or not actor.roles:
        raise PermissionDenied("auth.staff_only", "该功能仅向政务部门工作人员开放。")


def can_view_audit(actor: Actor) -> bool:
    return sees_everything(actor)


def require_view_audit(actor: Actor) -> None:
    if not can_view_audit(actor):
        raise PermissionDenied(
            "audit.forbidden", "只有审计监督人员和市数据主管部门可以查看审计日志。"
        )


def can_manage_tokens(actor: Actor, department_id: int) -> bool:
    """A department's officers and head manage its system tokens; the city bureau any."""
    if is_city_admin(actor):
        return True
    return department_id in actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)


def require_manage_tokens(actor: Actor, department_id: int) -> None:
    if not can_manage_tokens(actor, department_id):
        raise PermissionDenied("org.cannot_manage_tokens", "您无权管理该部门的接口令牌。")


def require_scope(actor: Actor, scope: str) -> None:
    """A department system's token must carry the scope, for reads as for writes (Art. 39:
    least privilege; the scopes are ``org.auth.SCOPES``); people are governed by roles."""
    if actor.token_id is not None and scope not in actor.scopes:
        raise PermissionDenied("auth.scope_missing", f"接口令牌缺少权限范围 {scope}。")


def require_person(actor: Actor) -> None:
    """What no token scope opens (the statutory calendar, …): a person signs in for it
    (Art. 39; product decision: department systems have no business there)."""
    if actor.token_id is not None:
        raise PermissionDenied(
            "auth.people_only", "该接口仅供工作人员登录后使用，接口令牌无权调用。"
        )


# --- what each role may open (navigation and pages call these) --------------------------------


def is_staff(actor: Actor) -> bool:
    """Government staff: anyone with a role who is not a citizen or company (Art. 7)."""
    return bool(actor.roles) and not actor.is_public


def is_bureau(actor: Actor) -> bool:
    """The city bureau or a district bureau (Art. 6)."""
    return actor.has(Role.CITY_BUREAU_ADMIN) or actor.has(Role.DISTRICT_BUREAU_ADMIN)


def has_department_role(actor: Actor) -> bool:
    """A department's data officer or head (Art. 7 ¶2)."""
    return bool(actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD))


def can_list_departments(actor: Actor) -> bool:
    """The department directory: bureaus for their area, oversight for all (Art. 6, 49)."""
    return is_bureau(actor) or sees_everything(actor)


def can_list_people(actor: Actor) -> bool:
    """People and roles: bureaus, oversight, and a department's own officers and head."""
    return can_list_departments(actor) or has_department_role(actor)
