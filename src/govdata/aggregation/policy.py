"""Who may do what in aggregation (Ch. 3): pools and loads, the aggregation specification,
quality, base and thematic databases, their conflicts, repeated collection and corrections.

Every permission rule of the package is here, each citing its article (or saying that it is a
product decision); services and pages call these and never restate a rule. Reads start from the
``visible_*`` queries, so a record outside the actor's scope is "not found", never a leak.

Pool data is read by its own department (officers, head, systems), its district bureau, the
city bureau and auditors (``org.policy.department_filter``); other departments obtain it only
through the sharing system (Art. 26), which is not this package.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from govdata.aggregation.models import (
    BaseConflict,
    BaseDatabase,
    BaseItem,
    Correction,
    Load,
    Pool,
    ThematicDatabase,
)
from govdata.core.actor import Actor, Role
from govdata.core.errors import PermissionDenied
from govdata.org import policy as org_policy
from govdata.org.models import Department

# --- pools, loads, the aggregation specification (Art. 15, 17 ¶1) ------------------------------


def visible_pools(actor: Actor) -> Select[Pool]:
    """Pools, their rows and specification in the actor's scope. A department system reads
    them only with ``pool:read`` (Art. 39: least privilege); ``pool:write`` pushes data without
    reading any back."""
    org_policy.require_scope(actor, "pool:read")
    return (
        select(Pool)
        .join(Department, Pool.department_id == Department.id)
        .where(org_policy.department_filter(actor))
    )


def visible_loads(actor: Actor) -> ColumnElement[bool]:
    """Which loads an actor may follow (a condition on ``Load``): those of the pools it reads.

    A department system holding ``pool:write`` without ``pool:read`` follows the loads its
    department's systems pushed through the API (``channel == "api"``): a system that pushes
    must learn whether its file was taken and which rows were refused, to correct them at the
    source (Art. 18), without being able to read the pool's data or the uploads of its staff
    (product decision; Art. 39 least privilege).
    """
    if actor.token_id is not None and "pool:read" not in actor.scopes:
        if "pool:write" not in actor.scopes:
            org_policy.require_scope(actor, "pool:read")
        own = actor.department_ids(Role.DEPARTMENT_SYSTEM)
        return and_(Load.channel == "api", Load.department_id.in_(own))
    return Load.pool_id.in_(visible_pools(actor).with_only_columns(Pool.id))


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


def loading_departments(actor: Actor) -> frozenset[int]:
    """The departments whose responsibility lists (Art. 13) the pools page offers for loading:
    those the actor is a data officer of (the bureau loads from a resource's own page)."""
    return actor.department_ids(Role.DEPARTMENT_OFFICER)


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
    """The city bureau supervises quality and conflicts and sets up the base databases
    (Art. 17 ¶2, 19 ¶1, 20 ¶1)."""
    return org_policy.is_city_admin(actor)


def require_bureau(actor: Actor) -> None:
    if not is_bureau(actor):
        raise PermissionDenied("aggregation.bureau_only", "只有市数据主管部门可以执行此操作。")


# --- quality (Art. 20) --------------------------------------------------------------------------


def can_read_quality(actor: Actor) -> bool:
    """The city bureau and auditors (all), district bureaus (their region), a department's
    officers and head (their own, Art. 20 ¶2). Not the public, and not system tokens: quality
    reports are for people (product decision: no token scope carries them)."""
    if actor.token_id is not None:
        return False
    return (
        org_policy.sees_everything(actor)
        or bool(actor.region_ids())
        or bool(actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD))
    )


def require_read_quality(actor: Actor) -> None:
    if not can_read_quality(actor):
        raise PermissionDenied(
            "aggregation.quality_forbidden",
            "只有数据主管部门、审计监督人员和政务部门数据人员可以查看数据质量。",
        )


def quality_scope(actor: Actor) -> ColumnElement[bool]:
    """The departments whose quality the actor reads (a condition on ``Department``)."""
    require_read_quality(actor)
    return org_policy.department_filter(actor)


def can_read_overview(actor: Actor) -> bool:
    """The overview of many departments is the supervisors' (Art. 20 ¶1): the city bureau and
    auditors for the city, a district bureau for its region."""
    if actor.token_id is not None:
        return False
    return org_policy.sees_everything(actor) or bool(actor.region_ids())


def require_read_overview(actor: Actor) -> None:
    require_read_quality(actor)
    if not can_read_overview(actor):
        raise PermissionDenied(
            "aggregation.quality_overview_forbidden",
            "质量总览仅向市、区县数据主管部门和审计监督人员开放；请查看本部门的数据质量。",
        )


def can_measure(actor: Actor, department_id: int) -> bool:
    """Measuring again: the city bureau, which supervises quality (Art. 20 ¶1), and the
    department's data officers, who answer for it (Art. 20 ¶2)."""
    if actor.token_id is not None:
        return False
    if org_policy.is_city_admin(actor):
        return True
    return department_id in actor.department_ids(Role.DEPARTMENT_OFFICER)


def require_measure(actor: Actor, department_id: int) -> None:
    if not can_measure(actor, department_id):
        raise PermissionDenied(
            "aggregation.cannot_measure", "只有市数据主管部门和本部门数据专职人员可以重新评估质量。"
        )


def quality_home_department(actor: Actor) -> int | None:
    """Where the quality entry leads a department's people: the first department they answer
    for (its officers and head, Art. 20 ¶2)."""
    own = sorted(actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD))
    return own[0] if own else None


# --- base databases (Art. 16, 17 ¶2, 20, 25(2)) -------------------------------------------------


def can_manage_base(actor: Actor, base: BaseDatabase) -> bool:
    """The lead department's data officers keep a base's items and build it (Art. 17 ¶2); the
    city bureau may on its behalf. People only: a system's token never redefines a base."""
    if org_policy.is_city_admin(actor):
        return True
    return actor.token_id is None and base.lead_department_id in actor.department_ids(
        Role.DEPARTMENT_OFFICER
    )


def require_manage_base(actor: Actor, base: BaseDatabase) -> None:
    if not can_manage_base(actor, base):
        raise PermissionDenied(
            "aggregation.cannot_manage_base",
            "只有基础数据库的牵头建设部门或市数据主管部门可以维护该基础数据库（第十七条第二款）。",
        )


def can_read_bases(actor: Actor) -> bool:
    """Base items are every department's common need and shared unconditionally (Art. 25(2)):
    any staff member reads them here; systems obtain them through the sharing system."""
    return actor.token_id is None and not actor.is_public and bool(actor.roles)


def require_read_bases(actor: Actor) -> None:
    if not can_read_bases(actor):
        raise PermissionDenied(
            "aggregation.base_staff_only",
            "基础数据库仅向政务部门工作人员开放；信息系统请通过共享系统获取（第二十三条）。",
        )


def can_resolve_conflict(actor: Actor, base: BaseDatabase) -> bool:
    """The city bureau supervises quality (Art. 20 ¶1); the lead department answers for its base."""
    return can_manage_base(actor, base)


def require_resolve_conflict(actor: Actor, base: BaseDatabase) -> None:
    if not can_resolve_conflict(actor, base):
        raise PermissionDenied(
            "aggregation.cannot_resolve_conflict",
            "只有市数据主管部门或该基础数据库的牵头建设部门可以处理数据冲突。",
        )


def visible_conflicts(actor: Actor) -> Select[BaseConflict]:
    """The quality queue (Art. 20): the bureau and auditors see all; a department's people see
    the conflicts of the bases it leads and those involving its own data (as the authoritative
    source or as the disagreeing pool). Systems see none."""
    stmt = select(BaseConflict).join(BaseDatabase, BaseDatabase.id == BaseConflict.base_id)
    if org_policy.sees_everything(actor):
        return stmt
    depts = actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)
    if not depts or actor.token_id is not None:
        return stmt.where(literal(False))
    other_dept = select(Pool.department_id).where(Pool.id == BaseConflict.other_pool_id)
    # The authoritative source's department: its pool's (a conflict needs the source's data).
    source_dept = (
        select(Pool.department_id)
        .join(BaseItem, BaseItem.source_resource_id == Pool.resource_id)
        .where(BaseItem.id == BaseConflict.item_id)
    )
    return stmt.where(
        or_(
            BaseDatabase.lead_department_id.in_(depts),
            other_dept.scalar_subquery().in_(depts),
            source_dept.scalar_subquery().in_(depts),
        )
    )


def require_repeated_view(actor: Actor) -> None:
    """Repeated collection (Art. 50(3)) is shown to staff only: the bureau and auditors see
    every department, others what they oversee."""
    if actor.is_public or not actor.roles or actor.token_id is not None:
        raise PermissionDenied(
            "aggregation.repeated_staff_only", "重复采集核查结果仅向政务部门工作人员开放。"
        )


def sees_all_repeated(actor: Actor) -> bool:
    """The city bureau and auditors see every department's flags (Art. 49, 52)."""
    return org_policy.sees_everything(actor)


# --- thematic databases (Art. 17 ¶3) ------------------------------------------------------------


def can_define_thematic(actor: Actor, department_id: int) -> bool:
    """A department builds its own thematic databases (Art. 17 ¶3): its data officers; the city
    bureau may on its behalf. People only."""
    if org_policy.is_city_admin(actor):
        return True
    return actor.token_id is None and department_id in actor.department_ids(Role.DEPARTMENT_OFFICER)


def require_define_thematic(actor: Actor, department_id: int) -> None:
    if not can_define_thematic(actor, department_id):
        raise PermissionDenied(
            "aggregation.cannot_define_thematic", "您无权为该部门建立或更新主题数据库。"
        )


def thematic_departments(actor: Actor) -> frozenset[int] | None:
    """Where the actor may define one (``can_define_thematic``): None for any department (the
    city bureau), else its own departments as a data officer (none for a system)."""
    if org_policy.is_city_admin(actor):
        return None
    if actor.token_id is not None:
        return frozenset()
    return actor.department_ids(Role.DEPARTMENT_OFFICER)


def require_thematic_pages(actor: Actor) -> None:
    """The thematic databases' pages are for government staff."""
    if actor.is_public or not actor.roles:
        raise PermissionDenied(
            "aggregation.thematic_staff_only", "主题数据库仅向政务部门工作人员开放。"
        )


def visible_thematic(actor: Actor) -> Select[ThematicDatabase]:
    """Read in the scope of the owning department (its people, its bureau, oversight); other
    departments obtain the data through the sharing system (Art. 26). Not by a system's token,
    whatever its scopes: a thematic database carries base items, which systems obtain through
    the sharing system (Art. 23, as ``require_read_bases``)."""
    if actor.token_id is not None:
        raise PermissionDenied(
            "aggregation.thematic_people_only",
            "主题数据库仅向政务部门工作人员开放；信息系统请通过共享系统获取（第二十三条）。",
        )
    return (
        select(ThematicDatabase)
        .join(Department, Department.id == ThematicDatabase.department_id)
        .where(org_policy.department_filter(actor))
    )


# --- corrections (Art. 19) ----------------------------------------------------------------------

#: Staff who may apply for a correction in their department's name (through the sharing system).
CORRECTION_APPLICANT_ROLES = frozenset(
    {
        Role.CITY_BUREAU_ADMIN,
        Role.DISTRICT_BUREAU_ADMIN,
        Role.DEPARTMENT_OFFICER,
        Role.DEPARTMENT_HEAD,
    }
)


def visible_corrections(actor: Actor) -> Select[Correction]:
    """Corrections an actor may read: the providing department's people, the applicant
    department's people, the district bureaus of either, the applicant person, and the city
    bureau and auditors, who see all (Art. 19 ¶1 supervision, Art. 49)."""
    if actor.token_id is not None:  # corrections are for people, refused as a system's writes
        require_correction_person(actor)
    stmt = select(Correction)
    if org_policy.sees_everything(actor):
        return stmt
    departments = select(Department.id).where(org_policy.department_filter(actor))
    clauses: list[ColumnElement[bool]] = [
        Correction.department_id.in_(departments),
        Correction.applicant_department_id.in_(departments),
    ]
    if actor.person_id is not None:
        clauses.append(Correction.applicant_person_id == actor.person_id)
    return stmt.where(or_(*clauses))


def require_correction_person(actor: Actor) -> None:
    """Applications and answers are made by people, never by a system's token."""
    if actor.token_id is not None or actor.person_id is None:
        raise PermissionDenied(
            "aggregation.correction_people_only", "校核申请和答复须由工作人员或申请人本人办理。"
        )


def require_correction_applicant(actor: Actor) -> None:
    """Staff apply through the sharing system, the public through the open system (Art. 19
    ¶2); auditors only read."""
    require_correction_person(actor)
    if not actor.is_public and not actor.roles & CORRECTION_APPLICANT_ROLES:
        raise PermissionDenied(
            "aggregation.correction_cannot_apply",
            "只有政务部门工作人员、公民和法人可以申请校核；审计监督人员只读。",
        )


def can_apply_correction(actor: Actor) -> bool:
    """Whether ``require_correction_applicant`` admits the actor (links to the application
    form are shown only then: no dead links for read-only roles)."""
    return (
        actor.token_id is None
        and actor.person_id is not None
        and (actor.is_public or bool(actor.roles & CORRECTION_APPLICANT_ROLES))
    )


def masks_personal(actor: Actor) -> bool:
    """Auditors read personal data in pools masked (issue 16; least privilege for oversight,
    Art. 41, 42, 49); whoever also works with the data (a bureau, a department) does not."""
    return (
        actor.has(Role.AUDITOR)
        and not org_policy.is_bureau(actor)
        and not org_policy.has_department_role(actor)
    )


def require_reveal(actor: Actor) -> None:
    """Revealing a masked row is for those who read masked, in person (not a system's token)."""
    if not masks_personal(actor) or actor.token_id is not None or actor.person_id is None:
        raise PermissionDenied(
            "aggregation.reveal_not_needed", "只有审计监督人员需要说明理由查看未遮盖的个人信息。"
        )


def can_correct_own(actor: Actor, department_id: int) -> bool:
    """A department corrects its own pool's values directly (issue 16; it does not apply to
    itself for a 校核): its data officers and head, in person."""
    return (
        actor.token_id is None
        and actor.person_id is not None
        and department_id in correction_departments(actor)
    )


def require_correct_own(actor: Actor, department_id: int) -> None:
    if not can_correct_own(actor, department_id):
        raise PermissionDenied(
            "aggregation.own_correction_not_provider",
            "只有数据提供部门的数据专职人员或主要负责人可以直接更正本部门数据资源池中的数据。",
        )


def correction_departments(actor: Actor) -> frozenset[int]:
    """The departments a person acts for on corrections: as data officer or head."""
    return actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)


def can_answer_correction(actor: Actor, c: Correction) -> bool:
    """The providing department answers: its data officers or its head (Art. 19 ¶2)."""
    return actor.token_id is None and c.department_id in correction_departments(actor)


def require_answer_correction(actor: Actor, c: Correction) -> None:
    if not can_answer_correction(actor, c):
        raise PermissionDenied(
            "aggregation.correction_cannot_answer",
            "只有数据提供部门的数据专职人员或主要负责人可以答复校核申请。",
        )


def can_extend_correction(actor: Actor, c: Correction) -> bool:
    """Only the providing department's head (主要负责人) extends the period (Art. 19 ¶2)."""
    return actor.token_id is None and c.department_id in actor.department_ids(Role.DEPARTMENT_HEAD)


def require_extend_correction(actor: Actor, c: Correction) -> None:
    if not can_extend_correction(actor, c):
        raise PermissionDenied(
            "deadline.head_approval_required", "延长校核期限须经数据提供部门主要负责人同意。"
        )


def shows_correction_value(actor: Actor) -> bool:
    """The public never reads a stored value through a correction: accounts carry no verified
    identity yet, so a correction must not become a way to probe data (product decision)."""
    return not actor.is_public


def correction_views(actor: Actor) -> list[str]:
    """Which correction lists a person has: a department's incoming and outgoing ones; the
    bureaus and auditors all they supervise (Art. 19 ¶1). Refuses anyone with none."""
    org_policy.require_staff(actor)
    views = []
    if correction_departments(actor):
        views += ["incoming", "outgoing"]
    if org_policy.sees_everything(actor) or actor.region_ids():
        views.insert(0, "all")
        if "outgoing" not in views and not actor.has(Role.AUDITOR):
            views.append("outgoing")
    if not views:
        raise PermissionDenied(
            "aggregation.corrections_staff_only",
            "数据校核仅对政务部门、数据主管部门和审计监督人员开放。",
        )
    return views


def require_staff(actor: Actor) -> None:
    """Government staff only (the correction pages; the public applies on the open portal)."""
    org_policy.require_staff(actor)


def can_open_pools(actor: Actor) -> bool:
    """Pools, and corrections of their values: a department's own officers and head, the
    bureaus and auditors (Art. 17 ¶1, 19, 20); not the public."""
    return (
        org_policy.has_department_role(actor)
        or org_policy.is_bureau(actor)
        or actor.has(Role.AUDITOR)
    )
