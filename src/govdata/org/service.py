"""Org rules: regions, departments, people and their roles (Art. 5, 6, 7).

Every function takes the acting ``Actor``, checks permission through ``govdata.org.policy``,
writes its audit event and flushes; the caller commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.crypto import hash_password
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.pagination import Page, paginate
from govdata.org import policy
from govdata.org.models import Department, Person, PersonKind, Region, RoleAssignment
from govdata.org.passwords import check_password
from govdata.org.schemas import (
    DepartmentCreate,
    DepartmentUpdate,
    GrantIn,
    PersonCreate,
    PersonUpdate,
)

# --- regions -------------------------------------------------------------------------------


def list_regions(session: Session, actor: Actor) -> list[Region]:
    """Regions are public administrative facts: every signed-in actor may list them."""
    return list(session.scalars(select(Region).order_by(Region.parent_id.is_not(None), Region.id)))


def get_region(session: Session, actor: Actor, region_id: int) -> Region:
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound("org.region_not_found", "未找到该行政区域。")
    return region


def city_region(session: Session) -> Region:
    region = session.scalar(select(Region).where(Region.kind == "city"))
    if region is None:
        raise NotFound("org.city_missing", "尚未配置市级行政区域。")
    return region


# --- departments ---------------------------------------------------------------------------


def list_departments(
    session: Session,
    actor: Actor,
    *,
    region_id: int | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Department]:
    stmt = policy.visible_departments(actor)
    if region_id is not None:
        stmt = stmt.where(Department.region_id == region_id)
    if q:
        stmt = stmt.where(or_(Department.name.contains(q), Department.code.contains(q)))
    stmt = stmt.order_by(Department.region_id, Department.code)
    return paginate(session, stmt, offset, limit)


def get_department(session: Session, actor: Actor, department_id: int) -> Department:
    stmt, params = policy.visible_department(actor, department_id)
    dept = session.scalar(stmt, params)
    if dept is None:
        raise NotFound("org.department_not_found", "未找到该部门。")
    return dept


def departments_by_id(session: Session, actor: Actor, ids: set[int]) -> dict[int, Department]:
    """The visible departments among ``ids``, for labelling lists of people or tokens."""
    if not ids:
        return {}
    stmt = policy.visible_departments(actor).where(Department.id.in_(ids))
    return {d.id: d for d in session.scalars(stmt)}


def manageable_departments(session: Session, actor: Actor) -> list[Department]:
    """Every department whose people the actor may manage (all of them, unpaginated)."""
    stmt = policy.visible_departments(actor).where(Department.active.is_(True))
    if not policy.is_city_admin(actor):
        regions = actor.region_ids()
        if not regions:
            return []
        stmt = stmt.where(Department.region_id.in_(regions))
    return list(session.scalars(stmt.order_by(Department.region_id, Department.code)))


def _check_department_free(
    session: Session,
    region: Region,
    *,
    code: str | None = None,
    name: str | None = None,
    department_id: int | None = None,
) -> None:
    """A department's code is unique, and its name within its region (``department_id``: the
    department being changed, which does not conflict with itself)."""
    others = select(Department.id)
    if department_id is not None:
        others = others.where(Department.id != department_id)
    if code is not None and session.scalar(others.where(Department.code == code)):
        raise Conflict("org.department_code_taken", f"部门代码 {code} 已被使用。")
    if name is not None and session.scalar(
        others.where(Department.region_id == region.id, Department.name == name)
    ):
        raise Conflict("org.department_name_taken", f"{region.name}已有名为“{name}”的部门。")


def _store_department(
    session: Session, region: Region, dept: Department, changes: dict[str, Any]
) -> None:
    """Apply ``changes`` to ``dept`` (added if new) and flush, inside a savepoint: if a
    concurrent request took the code or the name meanwhile, the 409 says which."""
    try:
        with session.begin_nested():  # flushes what is pending first: outside the savepoint
            for key, value in changes.items():
                setattr(dept, key, value)
            session.add(dept)
            session.flush()
    except IntegrityError:
        # The winner has committed by now (PostgreSQL waited for it): the checks see it.
        _check_department_free(
            session,
            region,
            code=changes.get("code"),
            name=changes.get("name"),
            department_id=dept.id,
        )
        raise


def create_department(session: Session, actor: Actor, data: DepartmentCreate) -> Department:
    region = get_region(session, actor, data.region_id)
    if not (policy.is_city_admin(actor) or region.id in actor.region_ids()):
        raise PermissionDenied("org.cannot_create_department", "您无权在该行政区域新建部门。")
    _check_department_free(session, region, code=data.code, name=data.name)
    dept = Department(region_id=region.id)
    _store_department(session, region, dept, data.model_dump(exclude={"region_id"}))
    audit.record(
        session,
        actor,
        "org.department.create",
        object_type="department",
        object_id=dept.id,
        summary=f"新建部门 {dept.name}（{dept.code}）",
        change=data.model_dump(),
        region_id=region.id,
        department_id=dept.id,
    )
    return dept


def update_department(
    session: Session, actor: Actor, department_id: int, data: DepartmentUpdate
) -> Department:
    dept = get_department(session, actor, department_id)
    policy.require_manage_department_people(actor, dept)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    region = get_region(session, actor, dept.region_id)
    if "name" in changes:
        _check_department_free(session, region, name=changes["name"], department_id=dept.id)
    _store_department(session, region, dept, changes)
    audit.record(
        session,
        actor,
        "org.department.update",
        object_type="department",
        object_id=dept.id,
        summary=f"修改部门 {dept.name}",
        change=changes,
        region_id=dept.region_id,
        department_id=dept.id,
    )
    return dept


# --- people --------------------------------------------------------------------------------


def list_people(
    session: Session,
    actor: Actor,
    *,
    department_id: int | None = None,
    q: str | None = None,
    locked: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> Page[Person]:
    policy.require_staff(actor)
    stmt = policy.visible_people(actor)
    if department_id is not None:
        stmt = stmt.where(Person.department_id == department_id)
    if locked:
        stmt = stmt.where(Person.locked_until > utcnow())
    if q:
        stmt = stmt.where(or_(Person.name.contains(q), Person.username.contains(q)))
    return paginate(session, stmt.order_by(Person.id), offset, limit)


def get_person(session: Session, actor: Actor, person_id: int) -> Person:
    person = session.scalar(policy.visible_people(actor).where(Person.id == person_id))
    if person is None:
        raise NotFound("org.person_not_found", "未找到该人员。")
    return person


def _require_manage_person(session: Session, actor: Actor, person: Person) -> Department | None:
    if person.department_id is None:
        policy.require_city_admin(actor, "管理未隶属部门的账户")
        return None
    dept = session.get(Department, person.department_id)
    assert dept is not None
    policy.require_manage_department_people(actor, dept)
    return dept


def create_person(session: Session, actor: Actor, data: PersonCreate) -> Person:
    dept: Department | None = None
    if data.kind == PersonKind.PUBLIC:
        if data.department_id is not None:
            raise InvalidInput("org.public_account_department", "公众账户不能隶属政务部门。")
        policy.require_city_admin(actor, "新建公众账户")
    elif data.department_id is None:
        policy.require_city_admin(actor, "新建未隶属部门的账户")
    else:
        dept = get_department(session, actor, data.department_id)
        policy.require_manage_department_people(actor, dept)
    check_password(data.password, username=data.username)
    if session.scalar(select(Person.id).where(Person.username == data.username)):
        raise Conflict("org.username_taken", f"用户名 {data.username} 已被使用。")
    person = Person(
        username=data.username,
        name=data.name,
        kind=data.kind,
        department_id=data.department_id,
        phone=data.phone,
        email=data.email,
        password_hash=hash_password(data.password),
    )
    session.add(person)
    session.flush()
    audit.record(
        session,
        actor,
        "org.person.create",
        object_type="person",
        object_id=person.id,
        summary=f"新建账户 {person.username}（{person.name}）",
        change=data.model_dump(exclude={"password"}),
        region_id=dept.region_id if dept else None,
        department_id=person.department_id,
    )
    for grant in data.grants:
        grant_role(session, actor, person.id, grant)
    return person


def update_person(session: Session, actor: Actor, person_id: int, data: PersonUpdate) -> Person:
    person = get_person(session, actor, person_id)
    dept = _require_manage_person(session, actor, person)
    changes = data.model_dump(exclude_unset=True)
    for key, value in changes.items():
        setattr(person, key, value)
    if data.active is False:
        # A deactivated account loses its sign-in sessions at once.
        from govdata.org.auth import end_sessions_of

        end_sessions_of(session, person.id)
    session.flush()
    audit.record(
        session,
        actor,
        "org.person.update",
        object_type="person",
        object_id=person.id,
        summary=f"修改账户 {person.username}",
        change=changes,
        region_id=dept.region_id if dept else None,
        department_id=person.department_id,
    )
    return person


def reset_password(
    session: Session,
    actor: Actor,
    person_id: int,
    password: str,
    *,
    current_password: str | None = None,
    current_session: str | None = None,
) -> Person:
    """Set a person's password (Art. 39 访问认证).

    One's own: only with the current password (a stolen session must not take the account);
    a wrong one counts towards the lockout as a failed sign-in does, and the person's other
    sessions end, ``current_session`` (the cookie's secret) staying signed in. Another's: an
    administrator who manages the person and could grant every role they hold; all of the
    person's sessions end. The new password is checked against the rule before anything is
    stored, and the lockout is cleared.
    """
    from govdata.org.auth import end_sessions_of, verify_current_password

    person = get_person(session, actor, person_id)
    own = actor.person_id is not None and person.id == actor.person_id
    if own:
        verify_current_password(session, person, current_password, ip=actor.address)
    else:
        _require_manage_person(session, actor, person)
        policy.require_reset_password_of(actor, {g.role for g in role_grants(session, person.id)})
    check_password(password, username=person.username)
    person.password_hash = hash_password(password)
    person.failed_logins = 0
    person.locked_until = None
    end_sessions_of(session, person.id, keep_secret=current_session if own else None)
    session.flush()
    audit.record(
        session,
        actor,
        "org.person.password_change" if own else "org.person.password_reset",
        object_type="person",
        object_id=person.id,
        summary=f"账户 {person.username} 修改本人密码，其他登录会话已结束"
        if own
        else f"重置账户 {person.username} 的密码，其登录会话已全部结束",
        department_id=person.department_id,
    )
    return person


def unlock_person(session: Session, actor: Actor, person_id: int) -> Person:
    person = get_person(session, actor, person_id)
    _require_manage_person(session, actor, person)
    person.failed_logins = 0
    person.locked_until = None
    session.flush()
    audit.record(
        session,
        actor,
        "org.person.unlock",
        object_type="person",
        object_id=person.id,
        summary=f"解除账户 {person.username} 的锁定",
        department_id=person.department_id,
    )
    return person


# --- roles ---------------------------------------------------------------------------------


def grants_of(session: Session, person_id: int) -> list[RoleAssignment]:
    return list(
        session.scalars(
            select(RoleAssignment)
            .where(RoleAssignment.person_id == person_id)
            .order_by(RoleAssignment.id)
        )
    )


def role_grants(session: Session, person_id: int) -> tuple[RoleGrant, ...]:
    rows = session.execute(
        select(RoleAssignment.role, RoleAssignment.region_id, RoleAssignment.department_id).where(
            RoleAssignment.person_id == person_id
        )
    )
    return tuple(RoleGrant(Role(r.role), r.region_id, r.department_id) for r in rows)


def _validate_grant(session: Session, actor: Actor, person: Person, grant: GrantIn) -> GrantIn:
    role = grant.role
    if role not in policy.grantable_roles(actor):
        raise PermissionDenied("org.cannot_grant_role", f"您无权授予“{role.label}”角色。")
    is_public_role = role in (Role.CITIZEN, Role.COMPANY)
    if is_public_role != (person.kind == PersonKind.PUBLIC):
        raise InvalidInput(
            "org.grant_kind_mismatch", "公众角色只能授予公众账户，工作人员角色只能授予工作人员。"
        )
    if role.scope == "region":
        if grant.region_id is None:
            raise InvalidInput("org.grant_scope_invalid", f"“{role.label}”须指定行政区域。")
        region = get_region(session, actor, grant.region_id)
        if region.is_city:
            raise InvalidInput(
                "org.grant_scope_invalid",
                "区县数据主管部门管理员须指定区县或派出机构，不能是市级。",
            )
        return GrantIn(role=role, region_id=region.id)
    if role.scope == "department":
        if grant.department_id is None:
            raise InvalidInput("org.grant_scope_invalid", f"“{role.label}”须指定部门。")
        dept = get_department(session, actor, grant.department_id)
        policy.require_manage_department_people(actor, dept)
        if person.department_id != dept.id:
            raise InvalidInput(
                "org.grant_department_mismatch", "部门角色只能授予该部门的工作人员。"
            )
        return GrantIn(role=role, department_id=dept.id)
    return GrantIn(role=role)


def grant_role(session: Session, actor: Actor, person_id: int, grant: GrantIn) -> RoleAssignment:
    person = get_person(session, actor, person_id)
    clean = _validate_grant(session, actor, person, grant)
    existing = session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.person_id == person.id,
            RoleAssignment.role == clean.role.value,
            RoleAssignment.region_id.is_(None)
            if clean.region_id is None
            else RoleAssignment.region_id == clean.region_id,
            RoleAssignment.department_id.is_(None)
            if clean.department_id is None
            else RoleAssignment.department_id == clean.department_id,
        )
    )
    if existing is not None:
        raise Conflict("org.grant_exists", "该人员已拥有此角色。")
    assignment = RoleAssignment(
        person_id=person.id,
        role=clean.role.value,
        region_id=clean.region_id,
        department_id=clean.department_id,
    )
    session.add(assignment)
    session.flush()
    audit.record(
        session,
        actor,
        "org.role.grant",
        object_type="person",
        object_id=person.id,
        summary=f"授予 {person.username}“{clean.role.label}”角色",
        change=clean.model_dump(mode="json"),
        region_id=clean.region_id,
        department_id=clean.department_id or person.department_id,
    )
    return assignment


def revoke_role(session: Session, actor: Actor, person_id: int, grant_id: int) -> None:
    person = get_person(session, actor, person_id)
    assignment = session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.id == grant_id, RoleAssignment.person_id == person.id
        )
    )
    if assignment is None:
        raise NotFound("org.grant_not_found", "未找到该角色授予记录。")
    role = Role(assignment.role)
    if role not in policy.grantable_roles(actor):
        raise PermissionDenied("org.cannot_grant_role", f"您无权撤销“{role.label}”角色。")
    if assignment.department_id is not None:
        dept = get_department(session, actor, assignment.department_id)
        policy.require_manage_department_people(actor, dept)
    if person.id == actor.person_id and role is Role.CITY_BUREAU_ADMIN:
        raise InvalidInput("org.cannot_revoke_self", "不能撤销自己的市数据主管部门管理员角色。")
    session.delete(assignment)
    session.flush()
    audit.record(
        session,
        actor,
        "org.role.revoke",
        object_type="person",
        object_id=person.id,
        summary=f"撤销 {person.username}“{role.label}”角色",
        change={"grant_id": grant_id, "role": role.value},
        department_id=assignment.department_id or person.department_id,
    )
