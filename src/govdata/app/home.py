"""The shell's own sections of each role's home page: the audit chain, the statutory calendar,
and the public's account; the domains add theirs through their registration."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.core.audit import AuditEvent
from govdata.core.audit_query import BEIJING
from govdata.core.calendar import published_years
from govdata.core.db import utcnow
from govdata.org import policy
from govdata.web.domain import Section, Stat


def sections(session: Session, actor: Actor) -> list[Section]:
    out: list[Section] = []
    now = utcnow()
    if policy.can_view_audit(actor):
        day = now.astimezone(BEIJING).date()
        today = datetime.combine(day, time.min, BEIJING)
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
                    Stat("audit_today", "今日事件", today_n, f"/audit?since={day.isoformat()}"),
                    Stat(
                        "failed_logins",
                        "24小时内登录失败",
                        failed,
                        # The list by day: yesterday and today hold the last 24 hours.
                        "/audit?action=auth.sign_in_failed"
                        f"&since={(day - timedelta(days=1)).isoformat()}",
                    ),
                ],
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
                [
                    Stat(
                        "account", "账户类型", "、".join(r.label for r in actor.roles), "/account"
                    ),
                    Stat("open_portal", "开放数据门户", "进入", "/open"),
                ],
            )
        )
    return out
