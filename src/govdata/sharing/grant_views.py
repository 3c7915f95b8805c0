"""Reading grants (Art. 26 ¶2, 40, 50(4)(5)): the lists a department, a bureau or an auditor
sees, a grant's systems by name, and its calls of the last 30 days.

Writes (revoke, name systems) are ``grants.revoke`` and ``grants.set_systems``. Grants are
management data: people read them; no token scope opens them (Art. 39, least privilege).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.access import AccessRecord
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import PermissionDenied
from govdata.core.pagination import Page, paginate
from govdata.org import policy as org_policy
from govdata.org.models import ApiToken, Department
from govdata.sharing import grants, policy
from govdata.sharing.models import Grant, GrantStatus, GrantSystem

CALLS_WINDOW_DAYS = 30

VIEWS = {
    "received": "本部门获得的授权",
    "provided": "本部门提供的授权",
    "all": "全部授权",
}
STATES = ("active", "not_yet", "expired", "revoked")


def require_read(actor: Actor) -> None:
    """Departments read their grants, bureaus their area's, auditors all (Art. 40, 41, 49);
    a department system's token reads none of this (management data)."""
    org_policy.require_person(actor)
    if not policy.can_view_usage(actor):
        raise PermissionDenied("sharing.grants_forbidden", "您无权查看共享授权。")


def views(actor: Actor) -> list[str]:
    """The tabs an actor has: a department's two sides; all for bureaus and auditors."""
    out: list[str] = []
    if policy.department_ids(actor):
        out += ["received", "provided"]
    if org_policy.is_bureau(actor) or org_policy.sees_everything(actor):
        out.append("all")
    return out or ["all"]


def state_condition(state: str, today: date) -> ColumnElement[bool]:
    """SQL for ``grants.state(g, today) == state``."""
    live = Grant.status != GrantStatus.REVOKED.value
    if state == "revoked":
        return Grant.status == GrantStatus.REVOKED.value
    if state == "not_yet":
        return and_(live, Grant.valid_from > today)
    if state == "expired":
        return and_(live, Grant.valid_from <= today, Grant.expires_on < today)
    return and_(
        live,
        Grant.valid_from <= today,
        or_(Grant.expires_on.is_(None), Grant.expires_on >= today),
    )


def query(
    actor: Actor,
    *,
    view: str = "all",
    state: str | None = None,
    source_code: str | None = None,
    today: date | None = None,
) -> Select[Grant]:
    stmt = policy.visible_grants(actor)
    deps = policy.department_ids(actor)
    if view == "received":
        stmt = stmt.where(Grant.requester_department_id.in_(deps))
    elif view == "provided":
        stmt = stmt.where(Grant.provider_department_id.in_(deps))
    if state in STATES:
        stmt = stmt.where(state_condition(state, today or calendar.today()))
    if source_code:
        stmt = stmt.where(Grant.source_code == source_code)
    return stmt.order_by(Grant.id.desc())


def list_grants(
    session: Session,
    actor: Actor,
    *,
    view: str | None = None,
    state: str | None = None,
    source_code: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[str, Page[Grant]]:
    """The grants of one tab (the first the actor has when ``view`` is not one of them)."""
    require_read(actor)
    mine = views(actor)
    current = view if view in mine else mine[0]
    stmt = query(actor, view=current, state=state, source_code=source_code)
    return current, paginate(session, stmt, offset, limit)


def get_grant(session: Session, actor: Actor, grant_id: int) -> Grant:
    """A grant in the actor's scope; outside it: not found."""
    require_read(actor)
    return grants.get_visible(session, actor, grant_id)


@dataclass(frozen=True)
class Labels:
    departments: dict[int, str]
    systems: dict[int, list[tuple[int, str]]]  # grant id → (token id, name)


def labels(session: Session, items: Iterable[Grant]) -> Labels:
    items = list(items)
    dept_ids = {d for g in items for d in (g.requester_department_id, g.provider_department_id)}
    names = {
        row.id: row.name
        for row in session.execute(
            select(Department.id, Department.name).where(Department.id.in_(dept_ids))
        )
    }
    systems: dict[int, list[tuple[int, str]]] = {g.id: [] for g in items}
    if items:
        rows = session.execute(
            select(GrantSystem.grant_id, ApiToken.id, ApiToken.name)
            .join(ApiToken, ApiToken.id == GrantSystem.token_id)
            .where(GrantSystem.grant_id.in_(list(systems)))
            .order_by(ApiToken.id)
        )
        for gid, tid, tname in rows:
            systems[gid].append((tid, tname))
    return Labels(departments=names, systems=systems)


@dataclass(frozen=True)
class Calls:
    allowed: int
    refused: int
    days: int = CALLS_WINDOW_DAYS

    @property
    def total(self) -> int:
        return self.allowed + self.refused


def calls(session: Session, grant_id: int) -> Calls:
    """The grant's calls in the last 30 days, from the access records (Art. 40)."""
    since = utcnow() - timedelta(days=CALLS_WINDOW_DAYS)
    rows = {
        outcome: int(n)
        for outcome, n in session.execute(
            select(AccessRecord.outcome, func.count())
            .where(AccessRecord.grant_id == grant_id, AccessRecord.at >= since)
            .group_by(AccessRecord.outcome)
        )
    }
    allowed = int(rows.get("allowed", 0))
    return Calls(allowed=allowed, refused=sum(int(v) for v in rows.values()) - allowed)


def candidate_systems(session: Session, actor: Actor, grant: Grant) -> list[ApiToken]:
    """The requester's live tokens with ``sharing:read``: what the systems form offers. Only
    the requester's people name systems (``grants.set_systems``)."""
    if not can_name_systems(actor, grant):
        return []
    tokens = session.scalars(
        select(ApiToken)
        .where(
            ApiToken.department_id == grant.requester_department_id,
            ApiToken.revoked_at.is_(None),
        )
        .order_by(ApiToken.id)
    )
    return [t for t in tokens if policy.SHARING_SCOPE in t.scope_list]


def can_name_systems(actor: Actor, grant: Grant) -> bool:
    return actor.token_id is None and grant.requester_department_id in policy.department_ids(actor)


def can_revoke(session: Session, actor: Actor, grant: Grant) -> bool:
    """Whether the revoke form is shown (the rule: ``policy.can_revoke``)."""
    if grant.status == GrantStatus.REVOKED.value:
        return False
    region_id = session.scalar(
        select(Department.region_id).where(Department.id == grant.provider_department_id)
    )
    return policy.can_revoke(actor, grant, int(region_id or 0))
