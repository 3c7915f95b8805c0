"""Reading the audit chain: filtered listing for auditors (Art. 49) and the verify call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor, Role
from govdata.core.audit import AuditEvent, VerifyResult, verify
from govdata.core.errors import PermissionDenied
from govdata.core.pagination import Page, paginate

BEIJING = ZoneInfo("Asia/Shanghai")


def require_view_audit(actor: Actor) -> None:
    """Auditors (审计、保密、网信) and the city bureau read the audit chain; nobody writes it."""
    if not (actor.has(Role.AUDITOR) or actor.has(Role.CITY_BUREAU_ADMIN)):
        raise PermissionDenied(
            "audit.forbidden", "只有审计监督人员和市数据主管部门可以查看审计日志。"
        )


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor_name: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    department_id: int | None = None
    since: date | None = None  # Beijing dates, inclusive
    until: date | None = None


def list_events(
    session: Session, actor: Actor, f: AuditFilter, *, offset: int = 0, limit: int = 50
) -> Page[AuditEvent]:
    require_view_audit(actor)
    stmt = select(AuditEvent)
    if f.action:
        stmt = stmt.where(AuditEvent.action.startswith(f.action, autoescape=True))
    if f.actor_name:
        stmt = stmt.where(AuditEvent.actor_name.contains(f.actor_name))
    if f.object_type:
        stmt = stmt.where(AuditEvent.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEvent.object_id == f.object_id)
    if f.department_id is not None:
        stmt = stmt.where(AuditEvent.department_id == f.department_id)
    if f.since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(f.since, time.min, BEIJING))
    if f.until:
        end = datetime.combine(f.until + timedelta(days=1), time.min, BEIJING)
        stmt = stmt.where(AuditEvent.at < end)
    return paginate(session, stmt.order_by(AuditEvent.seq.desc()), offset, limit)


def verify_chain(session: Session, actor: Actor) -> VerifyResult:
    require_view_audit(actor)
    return verify(session)
