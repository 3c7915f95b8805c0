"""Real counts for each role's home page, scoped like every other read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor, Role
from govdata.core.audit import AuditEvent
from govdata.core.audit_query import BEIJING
from govdata.core.calendar import published_years
from govdata.core.db import utcnow
from govdata.org import policy
from govdata.org.models import ApiToken, Department, Person, Region


@dataclass(frozen=True)
class Stat:
    key: str
    label: str
    value: int | str
    href: str | None = None


@dataclass(frozen=True)
class Section:
    title: str
    stats: list[Stat] = field(default_factory=list)
    note: str | None = None


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
    if policy.can_view_audit(actor):
        today = datetime.combine(now.astimezone(BEIJING).date(), time.min, BEIJING)
        total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        today_n = (
            session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.at >= today)
            )
            or 0
        )
        failed = (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "auth.sign_in_failed",
                    AuditEvent.at >= now - timedelta(days=1),
                )
            )
            or 0
        )
        out.append(
            Section(
                "审计监督",
                [
                    Stat("audit_total", "审计事件总数", total, "/audit"),
                    Stat("audit_today", "今日事件", today_n, "/audit"),
                    Stat(
                        "failed_logins",
                        "24小时内登录失败",
                        failed,
                        "/audit?action=auth.sign_in_failed",
                    ),
                ],
            )
        )
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
                note="数据汇聚、共享等业务功能将随后续模块上线。",
            )
        )
    if not actor.is_public and actor.roles:
        years = published_years(session)
        latest = max((y.year for y in years), default=None)
        this_year = now.astimezone(BEIJING).year
        note = None
        if latest is not None and latest <= this_year:
            note = f"{latest + 1} 年节假日安排尚未导入，跨年期限将按工作日暂定计算。"
        out.append(
            Section(
                "工作日历",
                [
                    Stat(
                        "calendar_latest",
                        "已公布节假日安排至",
                        f"{latest} 年" if latest else "—",
                        "/workdays",
                    )
                ],
                note=note,
            )
        )
    if actor.is_public:
        out.append(
            Section(
                "数据开放",
                [Stat("account", "账户类型", "、".join(r.label for r in actor.roles), "/account")],
                note="开放数据门户将随数据开放模块上线，届时可在此申请和获取开放数据。",
            )
        )
    return out
