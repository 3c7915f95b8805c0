"""Answering (approve as asked or narrowed, refuse with reason and basis), withdrawing, and
extending through the register (Art. 26 ¶2, 50(8))."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.sharing import grants, policy
from govdata.sharing.applications.queries import (
    clean_text,
    get,
    region_of,
)
from govdata.sharing.deadlines import APPLICATION, SUBJECT
from govdata.sharing.errors import AlreadyAnswered
from govdata.sharing.models import (
    ApplicationKind,
    ApplicationStatus,
    GrantMode,
    GrantOrigin,
    ShareApplication,
)
from govdata.sharing.sources import SharedSource

# --- answering (Art. 26 ¶2) --------------------------------------------------------------------


def _pending(session: Session, actor: Actor, application_id: int) -> ShareApplication:
    a = get(session, actor, application_id, for_update=True)
    policy.require_answer(actor, a.provider_department_id)
    if a.status != ApplicationStatus.PENDING:
        raise AlreadyAnswered()
    return a


def _close_clock(session: Session, actor: Actor, a: ShareApplication, today: date) -> None:
    a.answered_on = today
    session.flush()
    obligations.answer(
        session, actor, APPLICATION, subject_type=SUBJECT, subject_id=a.id, answered_on=today
    )


def _narrow_rows(
    source: SharedSource, asked: dict[str, Any] | None, given: dict[str, Any] | None
) -> grants.RowCondition | None:
    """The rows approved: all that were asked, or a narrower condition (never wider)."""
    asked_cond = grants.RowCondition.of(asked)
    cond = grants.check_row_condition(source, given) if given else None
    if cond is None:
        return asked_cond
    if asked_cond is not None and (
        cond.item != asked_cond.item or not set(cond.values) <= set(asked_cond.values)
    ):
        raise InvalidInput(
            "sharing.narrowing_wider",
            f"批准的数据范围不能超出申请的范围（{asked_cond.describe()}）。",
        )
    return cond


def _live_systems(session: Session, a: ShareApplication) -> list[int]:
    """The systems asked for that may still be named (a token revoked since is left out)."""
    out: list[int] = []
    for tid in a.token_ids:
        try:
            out += grants.check_systems(session, a.requester_department_id, [tid])
        except InvalidInput:
            continue
    return out


def approve(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    items: Sequence[str] | None = None,
    row_condition: dict[str, Any] | None = None,
    period_until: date | None = None,
    daily_quota: int | None = None,
    note: str = "",
) -> ShareApplication:
    """The provider approves (Art. 26 ¶2): as asked, or narrowed — fewer items, a row
    condition (e.g. only the requester's district), a shorter period, a daily quota — never
    wider than asked. The grant names the systems asked for; the clock stops."""
    a = _pending(session, actor, application_id)
    source = grants.require_source(session, a.source_code)
    asked = list(a.items)
    chosen = list(items) if items is not None else asked
    wider = sorted(set(chosen) - set(asked))
    if wider:
        raise InvalidInput(
            "sharing.narrowing_wider",
            f"批准的信息项不能超出申请的范围：{'、'.join(wider)}。",
            detail={"items": wider},
        )
    chosen = grants.check_items(source, chosen, mode=GrantMode(a.mode))
    cond = _narrow_rows(source, a.row_condition, row_condition)
    until = period_until if period_until is not None else a.period_until
    if until is not None and a.period_until is not None and until > a.period_until:
        raise InvalidInput(
            "sharing.narrowing_wider",
            f"批准的使用期限不能晚于申请的截止日期{a.period_until.isoformat()}。",
        )
    if until is not None and until < max(a.period_from, calendar.today()):
        raise InvalidInput("sharing.period_invalid", "授权的截止日期不能早于生效日期或今天。")
    if daily_quota is not None and daily_quota < 1:
        raise InvalidInput("sharing.quota_invalid", "每日调用限额须为正整数。")
    text = clean_text(note, "", "", required=False)
    narrowed = (
        len(chosen) < len(asked)
        or (cond.as_json() if cond else None) != a.row_condition
        or until != a.period_until
        or daily_quota is not None
    )
    systems = _live_systems(session, a)
    grant = grants.create(
        session,
        actor,
        origin=GrantOrigin.APPLICATION,
        source=source,
        requester_department_id=a.requester_department_id,
        items=chosen,
        mode=GrantMode(a.mode),
        row_condition=cond.as_json() if cond else None,
        duty=a.duty,
        legal_basis=a.legal_basis,
        purpose=a.purpose,
        purpose_code=a.purpose_code,
        valid_from=a.period_from,
        expires_on=until,
        daily_quota=daily_quota,
        token_ids=systems,
        application_id=a.id,
    )
    today = calendar.today()
    late = a.due_on is not None and today > a.due_on
    a.status = (ApplicationStatus.NARROWED if narrowed else ApplicationStatus.APPROVED).value
    a.grant_id = grant.id
    a.decided_by = actor.person_id
    a.decided_at = utcnow()
    a.decision_note = text
    _close_clock(session, actor, a, today)
    verdict = "批准（有缩减）" if narrowed else "批准"
    audit.record(
        session,
        actor,
        "sharing.application.approve",
        object_type="share_application",
        object_id=a.id,
        summary=(
            f"{actor.name}答复第{a.id}号共享申请：{verdict}，授权{grant.id}"
            + (f"；逾期答复，期限为{a.due_on}（第五十条第八项）" if late else "")
        ),
        change={
            "status": a.status,
            "items": chosen,
            "asked_items": asked,
            "row_condition": grant.row_condition,
            "period_until": until,
            "daily_quota": daily_quota,
            "systems": systems,
            "note": text,
            "grant_id": grant.id,
            "late": late,
        },
        region_id=region_of(session, a.provider_department_id),
        department_id=a.provider_department_id,
    )
    return a


def refuse(
    session: Session, actor: Actor, application_id: int, *, reason: str, basis: str
) -> ShareApplication:
    """The provider refuses, stating the reason AND its basis (Art. 26 ¶2); the requester
    may object to the bureau (Art. 27)."""
    a = _pending(session, actor, application_id)
    why = clean_text(reason, "sharing.refusal_reason_required", "不予共享的，须说明理由。")
    on = clean_text(basis, "sharing.refusal_basis_required", "不予共享的，须说明依据。")
    today = calendar.today()
    late = a.due_on is not None and today > a.due_on
    a.status = ApplicationStatus.REFUSED.value
    a.refusal_reason = why
    a.refusal_basis = on
    a.decided_by = actor.person_id
    a.decided_at = utcnow()
    _close_clock(session, actor, a, today)
    audit.record(
        session,
        actor,
        "sharing.application.refuse",
        object_type="share_application",
        object_id=a.id,
        summary=(
            f"{actor.name}答复第{a.id}号共享申请：不予共享"
            + (f"；逾期答复，期限为{a.due_on}（第五十条第八项）" if late else "")
        ),
        change={"reason": why, "basis": on, "late": late},
        region_id=region_of(session, a.provider_department_id),
        department_id=a.provider_department_id,
    )
    return a


def withdraw(session: Session, actor: Actor, application_id: int) -> ShareApplication:
    """The requester withdraws a pending application; the provider's duty to answer ends."""
    a = get(session, actor, application_id, for_update=True)
    if actor.token_id is not None or a.requester_department_id not in policy.department_ids(actor):
        raise PermissionDenied("sharing.not_requester", "只有申请部门可以撤回申请。")
    if a.status != ApplicationStatus.PENDING:
        raise AlreadyAnswered()
    a.status = ApplicationStatus.WITHDRAWN.value
    _close_clock(session, actor, a, calendar.today())
    audit.record(
        session,
        actor,
        "sharing.application.withdraw",
        object_type="share_application",
        object_id=a.id,
        summary=f"{actor.name}撤回第{a.id}号共享申请",
        change={"status": a.status},
        region_id=region_of(session, a.provider_department_id),
        department_id=a.provider_department_id,
    )
    return a


# --- extending: through the register (the provider's head approves) ---------------------------


def obligation_of(session: Session, a: ShareApplication) -> obligations.Obligation | None:
    if a.kind != ApplicationKind.APPLICATION:
        return None
    return obligations.find(session, APPLICATION, SUBJECT, a.id)


def _open_obligation(
    session: Session, actor: Actor, application_id: int
) -> tuple[ShareApplication, obligations.Obligation]:
    a = get(session, actor, application_id, for_update=True)
    policy.require_answer(actor, a.provider_department_id)
    if a.status != ApplicationStatus.PENDING:
        raise Conflict("sharing.application_closed", "该申请已答复或已撤回，不能再延长期限。")
    ob = obligation_of(session, a)
    if ob is None:
        raise Conflict("obligation.not_open", "该事项没有正在计时的法定时限。")
    return a, ob


def request_extension(
    session: Session, actor: Actor, application_id: int, *, days: int, reason: str
) -> ShareApplication:
    """The provider's staff ask their head to extend the period once (register's rules)."""
    a, ob = _open_obligation(session, actor, application_id)
    obligations.request_extension(session, actor, ob.id, days=days, reason=reason)
    return a


def approve_extension(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    days: int | None = None,
    reason: str | None = None,
) -> ShareApplication:
    """The provider's head extends the period once, by at most 10 working days: a request
    waiting, or directly. The register's hook copies the new due date onto the application."""
    a, ob = _open_obligation(session, actor, application_id)
    obligations.approve_extension(session, actor, ob.id, days=days, reason=reason)
    return a


def refuse_extension(
    session: Session, actor: Actor, application_id: int, *, reason: str
) -> ShareApplication:
    """The provider's head refuses a waiting request, saying why; the period stands."""
    a, ob = _open_obligation(session, actor, application_id)
    obligations.refuse_extension(session, actor, ob.id, reason=reason)
    return a
