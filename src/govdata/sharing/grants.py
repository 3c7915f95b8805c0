"""Grants (授权): made, named systems, revoked; and where a grant stands on a day (Art. 26 ¶2,
Art. 50(4)(5)).

A grant is field-level (``items``), row-conditioned (``row_condition``: one item's allowed
values), purpose-bound (``purpose_code``), valid from a day to an expiry day, with an optional
daily quota; it is held by the requesting department and usable only by the systems it names
(``GrantSystem``: API tokens of that department with the ``sharing:read`` scope). Revocation by
the provider or the bureau takes effect at once: the data access API reads the grant on every
call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govdata.core import audit, calendar
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput, PermissionDenied
from govdata.org.models import ApiToken, Department
from govdata.sharing import policy
from govdata.sharing.errors import GrantAlreadyRevoked, GrantNotFound, NotShared, SourceNotFound
from govdata.sharing.models import Grant, GrantMode, GrantOrigin, GrantStatus, GrantSystem
from govdata.sharing.sources import SharedSource, get_source

STATE_LABELS = {
    "active": "有效",
    "expired": "已过期",
    "not_yet": "未生效",
    "revoked": "已撤销",
}


def state(grant: Grant, today: date | None = None) -> str:
    """``active``, ``expired``, ``not_yet`` or ``revoked`` on ``today`` (Beijing)."""
    day = today or calendar.today()
    if grant.status == GrantStatus.REVOKED:
        return "revoked"
    if day < grant.valid_from:
        return "not_yet"
    if grant.expires_on is not None and day > grant.expires_on:
        return "expired"
    return "active"


@dataclass(frozen=True)
class RowCondition:
    """Rows a grant covers: those whose ``item`` holds one of ``values`` (e.g. one district)."""

    item: str
    values: tuple[str, ...]

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> RowCondition | None:
        if not raw:
            return None
        return cls(item=str(raw["item"]), values=tuple(str(v) for v in raw["values"]))

    def as_json(self) -> dict[str, Any]:
        return {"item": self.item, "values": list(self.values)}

    def describe(self) -> str:
        return f"仅限“{self.item}”为{'、'.join(self.values)}的数据"


def check_items(source: SharedSource, items: Sequence[str], *, mode: GrantMode) -> list[str]:
    """The items asked for, deduplicated in the source's order; each must exist and be shared
    (Art. 24). Verification may name the subject key and items to compare."""
    if not items:
        raise InvalidInput("sharing.items_required", "请至少选择一个信息项。")
    wanted = set(items)
    unknown = sorted(wanted - {i.name for i in source.items})
    if unknown:
        raise InvalidInput(
            "sharing.item_unknown",
            f"资源中没有信息项：{'、'.join(unknown)}。",
            detail={"items": unknown},
        )
    not_shared = [i.name for i in source.items if i.name in wanted and i.share_type == "none"]
    if not_shared:
        raise NotShared(f"信息项“{'、'.join(not_shared)}”")
    return [i.name for i in source.items if i.name in wanted]


def check_row_condition(source: SharedSource, raw: dict[str, Any] | None) -> RowCondition | None:
    cond = RowCondition.of(raw)
    if cond is None:
        return None
    if source.item(cond.item) is None:
        raise InvalidInput(
            "sharing.row_condition_item", f"数据范围所依据的信息项“{cond.item}”不存在。"
        )
    values = tuple(v.strip() for v in cond.values if v.strip())
    if not values:
        raise InvalidInput("sharing.row_condition_values", "请填写数据范围的取值。")
    return RowCondition(cond.item, values)


def check_systems(session: Session, department_id: int, token_ids: Sequence[int]) -> list[int]:
    """The systems a grant names: live tokens of the requesting department with
    ``sharing:read`` (Art. 26 ¶2: the department's own systems, for its duties)."""
    ids = sorted(set(token_ids))
    if not ids:
        return []
    tokens = {t.id: t for t in session.scalars(select(ApiToken).where(ApiToken.id.in_(ids)))}
    for tid in ids:
        t = tokens.get(tid)
        if (
            t is None
            or t.department_id != department_id
            or t.revoked_at is not None
            or policy.SHARING_SCOPE not in t.scope_list
        ):
            raise InvalidInput(
                "sharing.system_invalid",
                "所列调用系统须为本部门未撤销、具有共享数据调用权限（sharing:read）的接口令牌。",
                detail={"token_id": tid},
            )
    return ids


def create(
    session: Session,
    actor: Actor,
    *,
    origin: GrantOrigin,
    source: SharedSource,
    requester_department_id: int,
    items: Sequence[str],
    mode: GrantMode,
    row_condition: dict[str, Any] | None,
    duty: str,
    legal_basis: str,
    purpose: str,
    purpose_code: str,
    valid_from: date,
    expires_on: date | None,
    daily_quota: int | None,
    token_ids: Sequence[int],
    application_id: int | None = None,
    objection_id: int | None = None,
) -> Grant:
    """Make a grant (the caller has checked who may): items and rows checked against the
    source, systems against the requester's tokens; audited."""
    checked = check_items(source, items, mode=mode)
    cond = check_row_condition(source, row_condition)
    if expires_on is not None and expires_on < valid_from:
        raise InvalidInput("sharing.period_invalid", "授权的截止日期不能早于生效日期。")
    if daily_quota is not None and daily_quota < 1:
        raise InvalidInput("sharing.quota_invalid", "每日调用限额须为正整数。")
    systems = check_systems(session, requester_department_id, token_ids)
    grant = Grant(
        origin=origin.value,
        application_id=application_id,
        objection_id=objection_id,
        requester_department_id=requester_department_id,
        provider_department_id=source.provider_department_id,
        source_code=source.code,
        source_kind=source.kind.value,
        source_name=source.name,
        resource_id=source.resource_id,
        mode=mode.value,
        items=checked,
        row_condition=cond.as_json() if cond else None,
        duty=duty,
        legal_basis=legal_basis,
        purpose=purpose,
        purpose_code=purpose_code,
        valid_from=valid_from,
        expires_on=expires_on,
        daily_quota=daily_quota,
        status=GrantStatus.ACTIVE.value,
        created_by=actor.person_id,
    )
    session.add(grant)
    session.flush()
    session.add_all(GrantSystem(grant_id=grant.id, token_id=t) for t in systems)
    audit.record(
        session,
        actor,
        "sharing.grant_created",
        object_type="grant",
        object_id=grant.id,
        summary=f"授权{source.name}的{len(checked)}个信息项给部门{requester_department_id}",
        change={
            "source": source.code,
            "items": checked,
            "mode": mode.value,
            "row_condition": grant.row_condition,
            "valid_from": valid_from,
            "expires_on": expires_on,
            "daily_quota": daily_quota,
            "systems": systems,
            "origin": origin.value,
        },
        department_id=source.provider_department_id,
    )
    return grant


def get_visible(session: Session, actor: Actor, grant_id: int) -> Grant:
    grant = session.scalars(policy.visible_grants(actor).where(Grant.id == grant_id)).one_or_none()
    if grant is None:
        raise GrantNotFound()
    return grant


def systems_of(session: Session, grant_id: int) -> list[int]:
    return list(
        session.scalars(select(GrantSystem.token_id).where(GrantSystem.grant_id == grant_id))
    )


def set_systems(session: Session, actor: Actor, grant_id: int, token_ids: Sequence[int]) -> Grant:
    """The requester names which of its systems may use the grant (Art. 26 ¶2)."""
    grant = get_visible(session, actor, grant_id)
    if actor.token_id is not None or grant.requester_department_id not in policy.department_ids(
        actor
    ):
        raise PermissionDenied("sharing.not_requester", "只有授权的申请部门可以指定调用系统。")
    systems = check_systems(session, grant.requester_department_id, token_ids)
    session.execute(delete(GrantSystem).where(GrantSystem.grant_id == grant.id))
    session.add_all(GrantSystem(grant_id=grant.id, token_id=t) for t in systems)
    audit.record(
        session,
        actor,
        "sharing.grant_systems",
        object_type="grant",
        object_id=grant.id,
        summary=f"授权{grant.id}的调用系统改为{systems}",
        change={"systems": systems},
        department_id=grant.requester_department_id,
    )
    return grant


def revoke(session: Session, actor: Actor, grant_id: int, reason: str) -> Grant:
    """Revoke with immediate effect: the provider or the bureau over it (Art. 6, 50(4)(5))."""
    grant = get_visible(session, actor, grant_id)
    region_id = session.scalar(
        select(Department.region_id).where(Department.id == grant.provider_department_id)
    )
    if not policy.can_revoke(actor, grant, int(region_id or 0)):
        raise PermissionDenied(
            "sharing.revoke_forbidden", "只有数据提供部门或数据主管部门可以撤销授权。"
        )
    text = reason.strip()
    if not text:
        raise InvalidInput("sharing.reason_required", "请填写撤销理由。")
    if grant.status == GrantStatus.REVOKED:
        raise GrantAlreadyRevoked()
    grant.status = GrantStatus.REVOKED.value
    grant.revoked_at = utcnow()
    grant.revoked_by = actor.person_id
    grant.revoked_by_name = actor.name[:64]
    grant.revoke_reason = text[:2000]
    audit.record(
        session,
        actor,
        "sharing.grant_revoked",
        object_type="grant",
        object_id=grant.id,
        summary=f"撤销授权{grant.id}（{grant.source_name}）：{text[:200]}",
        change={"reason": text},
        department_id=grant.provider_department_id,
    )
    return grant


def require_source(session: Session, code: str) -> SharedSource:
    source = get_source(session, code)
    if source is None:
        raise SourceNotFound()
    return source
