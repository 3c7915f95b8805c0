"""Extending a period once, by at most 10 working days, with the approval of the owner
department's head (Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from govdata.core import audit, calendar
from govdata.core.actor import Actor
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.core.obligations.models import Kind, Obligation, declared, summary_due
from govdata.core.obligations.service import can_approve_extension, can_request_extension, get
from govdata.core.workdays import check_extension_days

# --- extending (Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2) -------------------------------------------


def _check_extendable(ob: Obligation, kind: Kind, today: date) -> None:
    if not kind.extendable:
        raise Conflict("obligation.not_extendable", f"{kind.article}规定的期限不能延长。")
    if not ob.is_open:
        raise Conflict("obligation.answered", "该事项已办结，不能再延长期限。")
    if ob.extension_days > 0:
        assert ob.original_due_on is not None
        raise Conflict(
            "deadline.already_extended",
            "该期限已延长过一次，不得再次延长。",
            detail={"original_due": ob.original_due_on.isoformat(), "due": ob.due_on.isoformat()},
        )
    if today > ob.due_on:
        raise Conflict(
            "obligation.extension_after_due",
            f"期限已于{ob.due_on.isoformat()}届满，不能再延长；请尽快办结（第五十条第八项）。",
        )


def _reason(text: str | None) -> str:
    reason = (text or "").strip()
    if not reason:
        raise InvalidInput("obligation.extension_reason_required", "请说明需要延长期限的理由。")
    return reason


def request_extension(
    session: Session, actor: Actor, obligation_id: int, *, days: int, reason: str
) -> Obligation:
    """The owner department's staff ask their head to extend the period once, by 1 to 10
    working days, before it runs out (Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2)."""
    ob = get(session, actor, obligation_id, for_update=True)
    if not can_request_extension(actor, ob):
        raise PermissionDenied(
            "obligation.cannot_request_extension",
            "只有责任部门的数据专职人员或主要负责人可以申请延长期限。",
        )
    kind = declared(ob)
    today = calendar.today()
    _check_extendable(ob, kind, today)
    if ob.extension_pending:
        raise Conflict("obligation.extension_pending", "已有一项延期申请等待部门主要负责人审批。")
    check_extension_days(days)
    ob.extension_reason = _reason(reason)
    ob.extension_requested_days = days
    ob.extension_requested_by = actor.person_id
    ob.extension_requested_on = today
    session.flush()
    audit.record(
        session,
        actor,
        "obligation.extension.request",
        object_type="obligation",
        object_id=ob.id,
        summary=f"{actor.name}申请将“{ob.title}”的期限延长{days}个工作日，待部门主要负责人审批",
        change={"days": days, "reason": ob.extension_reason, "due_on": ob.due_on},
        region_id=ob.region_id,
        department_id=ob.department_id,
    )
    return ob


def approve_extension(
    session: Session,
    actor: Actor,
    obligation_id: int,
    *,
    days: int | None = None,
    reason: str | None = None,
) -> Obligation:
    """The owner department's head extends the period once, by at most 10 working days counted
    from the due date (Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2): a request waiting for approval
    (its days and reason unless given), or directly with ``days`` and ``reason``.

    The kind's ``on_due_changed`` hook carries the new due date to the domain's row.
    """
    ob = get(session, actor, obligation_id, for_update=True)
    if not can_approve_extension(actor, ob):
        raise PermissionDenied(
            "deadline.head_approval_required", "延长期限须经本部门主要负责人同意。"
        )
    assert ob.department_id is not None
    kind = declared(ob)
    today = calendar.today()
    _check_extendable(ob, kind, today)
    pending = ob.extension_pending
    if days is None:
        if not pending or ob.extension_requested_days is None:
            raise InvalidInput("obligation.extension_days_required", "请填写延长的工作日数。")
        days = ob.extension_requested_days
    text = _reason(reason if reason is not None and reason.strip() else ob.extension_reason)
    extended = calendar.approve_extension(
        session, actor, ob.deadline, department_id=ob.department_id, days=days
    )
    ob.original_due_on = extended.original_due
    ob.due_on = extended.due
    ob.provisional = extended.provisional
    ob.extension_days = extended.extension_days
    ob.extended_by = extended.extended_by
    ob.extended_on = today
    ob.extension_reason = text
    session.flush()
    if kind.on_due_changed is not None:
        kind.on_due_changed(session, ob)
    audit.record(
        session,
        actor,
        "obligation.extension.approve",
        object_type="obligation",
        object_id=ob.id,
        summary=(
            f"{actor.name}同意将“{ob.title}”的期限延长{days}个工作日，"
            f"由{extended.original_due}延至{summary_due(ob)}"
        ),
        change={
            "days": days,
            "reason": text,
            "requested": pending,
            "original_due_on": ob.original_due_on,
            "due_on": ob.due_on,
            "provisional": ob.provisional,
        },
        region_id=ob.region_id,
        department_id=ob.department_id,
    )
    return ob


def refuse_extension(
    session: Session, actor: Actor, obligation_id: int, *, reason: str
) -> Obligation:
    """The owner department's head refuses a request, saying why; the period stands and the
    staff may ask again while it runs."""
    ob = get(session, actor, obligation_id, for_update=True)
    if not can_approve_extension(actor, ob):
        raise PermissionDenied(
            "deadline.head_approval_required", "延长期限须经本部门主要负责人同意。"
        )
    if not ob.extension_pending:
        raise Conflict("obligation.no_extension_pending", "该事项没有等待审批的延期申请。")
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("obligation.refusal_reason_required", "不同意延期的，请说明理由。")
    requested = ob.extension_requested_days
    ob.extension_requested_days = None
    ob.extension_requested_by = None
    ob.extension_requested_on = None
    ob.extension_reason = ""
    session.flush()
    audit.record(
        session,
        actor,
        "obligation.extension.refuse",
        object_type="obligation",
        object_id=ob.id,
        summary=f"{actor.name}不同意延长“{ob.title}”的期限：{text}",
        change={"days": requested, "reason": text},
        region_id=ob.region_id,
        department_id=ob.department_id,
    )
    return ob
