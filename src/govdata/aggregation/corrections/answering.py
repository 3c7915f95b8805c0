"""Answering a correction (Art. 19 ¶2): the providing department accepts (the value in its pool
is corrected, audited with the old and the new value) or rejects with a reason; its head may
extend the period once. An answer after the due date is late (Art. 50(8))."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from govdata.aggregation import base, policy, pools
from govdata.aggregation.corrections.applying import clean_text, lock_pool, region_of
from govdata.aggregation.corrections.deadlines import CORRECTION, SUBJECT
from govdata.aggregation.corrections.queries import get_correction
from govdata.aggregation.corrections.values import (
    key_value,
    locate,
    parse_value,
    rule_for,
    value_text,
)
from govdata.aggregation.models import Correction, CorrectionStatus
from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor
from govdata.core.errors import Conflict, InvalidInput, NotFound

#: Shown to the providing department before it accepts: a full reload from a source that still
#: holds the wrong value would bring it back.
SOURCE_NOTE = (
    "更正只修改数据资源池中的当前数据；"
    "请同时更正本部门业务系统中的源数据，以免下次全量加载时被覆盖。"
)


def extend(
    session: Session, actor: Actor, correction_id: int, *, days: int, reason: str
) -> Correction:
    """Extend the answer period once, by at most 10 working days, with the approval of the
    providing department's head (Art. 19 ¶2); only before the period has run out."""
    c = get_correction(session, actor, correction_id, for_update=True)
    policy.require_extend_correction(actor, c)
    if c.status != CorrectionStatus.OPEN:
        raise Conflict("aggregation.correction_closed", "该校核申请已答复，不能再延长期限。")
    if c.extension_days > 0:
        # Deadline.extend says the same, but with dates in its detail, which the JSON error
        # body cannot carry (core.workdays); this one is JSON-safe.
        raise Conflict(
            "deadline.already_extended",
            "该期限已延长过一次，不得再次延长。",
            detail={"original_due": str(c.original_due_on), "due": c.due_on.isoformat()},
        )
    today = calendar.today()
    if today > c.due_on:
        raise Conflict(
            "aggregation.correction_extension_after_due",
            f"校核期限已于{c.due_on.isoformat()}届满，不能再延长；请尽快答复（第五十条第八项）。",
        )
    reason = clean_text(reason)
    if not reason:
        raise InvalidInput(
            "aggregation.extension_reason_required", "请说明需要延长校核期限的理由。"
        )
    # The register's rules: once, by at most 10 working days, approved by the owner's head;
    # its hook (``deadlines._follow``) copies the new due date onto the correction.
    ob = obligations.find(session, CORRECTION, SUBJECT, c.id)
    if ob is None:
        raise Conflict("obligation.not_open", "该事项没有正在计时的法定时限。")
    obligations.approve_extension(session, actor, ob.id, days=days, reason=reason)
    audit.record(
        session,
        actor,
        "aggregation.correction.extend",
        object_type="correction",
        object_id=c.id,
        summary=(
            f"{actor.name}同意将第{c.id}号校核申请的期限延长{days}个工作日，"
            f"由{c.original_due_on}延至{c.due_on.isoformat()}"
        ),
        change={
            "days": days,
            "reason": reason,
            "original_due_on": c.original_due_on,
            "due_on": c.due_on,
            "due_provisional": c.due_provisional,
        },
        region_id=region_of(session, c.department_id),
        department_id=c.department_id,
    )
    return c


# --- answering (Art. 19 ¶2) ---------------------------------------------------------------------


def answer(
    session: Session,
    actor: Actor,
    correction_id: int,
    *,
    accept: bool,
    answer: str,
    corrected_value: str | None = None,
) -> Correction:
    """Answer a correction (Art. 19 ¶2): by the providing department's data officers or head.

    Accepting writes ``corrected_value`` (default: the proposed value; an empty text clears the
    value) into the pool's current table with one UPDATE, checked as a loaded value is, and
    audits the old and the new value. Rejecting needs the reason. An answer after the due
    date is recorded as late (Art. 50(8)).
    """
    c = get_correction(session, actor, correction_id, for_update=True)
    policy.require_answer_correction(actor, c)
    if c.status != CorrectionStatus.OPEN:
        raise Conflict("aggregation.correction_closed", "该校核申请已答复，不能重复答复。")
    text = clean_text(answer)
    today = calendar.today()
    late = today > c.due_on
    change: dict[str, Any] = {"accept": accept, "answer": text, "answered_on": today}
    if accept:
        pool = lock_pool(session, c.pool_id)
        try:
            target = locate(session, pool, c.subject_key, c.item_name)
        except NotFound as exc:  # a full load since the application no longer holds it
            raise Conflict(
                "aggregation.correction_value_gone",
                "数据资源池的当前数据中已没有该数据，无法更正；请答复不予更正并说明情况。",
            ) from exc
        if corrected_value is None:
            if c.proposed_value is None:
                raise InvalidInput(
                    "aggregation.corrected_value_required",
                    "申请人未提出更正值，请填写更正后的值（留空请选择清空该值）。",
                )
            corrected_value = c.proposed_value
        new_value = parse_value(rule_for(session, pool, c.item_name), corrected_value.strip())
        new_text = value_text(new_value)
        table = pools.current_table(pool)
        assert table is not None and pool.subject_column is not None
        key = key_value(session, pool, c.subject_key)
        result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(table)
            .where(table.c[pool.subject_column] == key)
            .values({target.column: new_value})
        )
        assert result.rowcount == 1  # locate found it, under the pool's lock
        if not text:
            text = "经核实，已予更正。"
        if c.proposed_value is None or new_text != c.proposed_value:
            text += f"\n更正后的值：{new_text if new_text is not None else '（空）'}"
        c.status = CorrectionStatus.ACCEPTED
        change |= {
            "pool_id": pool.id,
            "table": pool.table_name,
            "column": target.column,
            "subject_key": c.subject_key,
            "item_name": c.item_name,
            "old_value": target.text,
            "new_value": new_text,
            "load_id": pool.current_load_id,
        }
    else:
        if not text:
            raise InvalidInput("aggregation.correction_answer_required", "不予更正的，须说明理由。")
        c.status = CorrectionStatus.REJECTED
    c.answer = text
    c.answered_on = today
    c.answered_by = actor.person_id
    session.flush()
    obligations.answer(
        session, actor, CORRECTION, subject_type=SUBJECT, subject_id=c.id, answered_on=today
    )
    verdict = "予以更正" if accept else "不予更正"
    audit.record(
        session,
        actor,
        "aggregation.correction.accept" if accept else "aggregation.correction.reject",
        object_type="correction",
        object_id=c.id,
        summary=(
            f"{actor.name}答复第{c.id}号校核申请：{verdict}"
            + (f"（{pool.name}的信息项“{c.item_name}”已更正）" if accept else "")
            + (f"；逾期答复，期限为{c.due_on.isoformat()}（第五十条第八项）" if late else "")
        ),
        change=change,
        region_id=region_of(session, c.department_id),
        department_id=c.department_id,
    )
    if accept:
        # Carry the corrected value into the base databases that take it from this pool.
        base.refresh_subject(session, pool, c.subject_key)
    return c
