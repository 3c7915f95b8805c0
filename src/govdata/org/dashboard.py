"""Real counts for each role's home page, scoped like every other read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor, Role
from govdata.core.db import utcnow
from govdata.org import policy
from govdata.org.models import ApiToken, Department, Person, Region
from govdata.web.domain import Section, Stat


def _count(session: Session, stmt: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def sections(session: Session, actor: Actor) -> list[Section]:
    out: list[Section] = []
    now = utcnow()
    if policy.sees_everything(actor) or actor.has(Role.DISTRICT_BUREAU_ADMIN):
        depts = policy.visible_departments(actor)
        people = policy.visible_people(actor).where(Person.kind == "staff")
        locked = policy.visible_people(actor).where(Person.locked_until > now)
        stats = [
            Stat("departments", "可见部门", _count(session, depts), "/org/departments"),
            Stat("people", "工作人员", _count(session, people), "/org/people"),
            Stat("locked", "临时锁定的账户", _count(session, locked), "/org/people?locked=1"),
        ]
        if policy.sees_everything(actor):
            districts = select(Region).where(Region.kind != "city")
            stats.insert(
                0, Stat("regions", "区县及派出机构", _count(session, districts), "/org/regions")
            )
        title = "全市概况" if policy.sees_everything(actor) else "本区县概况"
        out.append(Section(title, stats))
    dept_ids = actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)
    for dept in session.scalars(select(Department).where(Department.id.in_(dept_ids))):
        members = select(Person).where(Person.department_id == dept.id, Person.active.is_(True))
        tokens = select(ApiToken).where(
            ApiToken.department_id == dept.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
        out.append(
            Section(
                dept.name,
                [
                    Stat(
                        "members",
                        "本部门在岗人员",
                        _count(session, members),
                        f"/org/departments/{dept.id}",
                    ),
                    Stat(
                        "tokens",
                        "有效接口令牌",
                        _count(session, tokens),
                        f"/org/departments/{dept.id}/tokens",
                    ),
                ],
            )
        )
    return out
