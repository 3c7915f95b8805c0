"""A department corrects a value of its own pool (issue 16; Art. 19 ¶2, 20 ¶2).

A department does not apply to itself for a 校核: "发现错误的，请直接更正本部门数据资源池中的
数据". This is that direct way for one value, beside a corrective (incremental) load for many:
the department's data officers or head give the new value and why; the value is checked as a
loaded one is (Art. 15, 16), written with one UPDATE under the pool's lock, audited with the old
and the new value and the reason, and carried into the base databases that take it (Art. 16).

An open 校核 of the same value by another department stays open: it is answered on its own
(the answer then says the value was already corrected).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from govdata.aggregation import base, policy, pools, traces
from govdata.aggregation.corrections.applying import clean_text, lock_pool, region_of
from govdata.aggregation.corrections.values import (
    Target,
    key_value,
    locate,
    parse_value,
    rule_for,
    value_text,
)
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.errors import InvalidInput

MAX_REASON = 2000


@dataclass(frozen=True)
class OwnCorrection:
    pool_id: int
    subject_key: str
    item_name: str
    old_value: str | None
    new_value: str | None


def own_value(
    session: Session, actor: Actor, pool_id: int, subject_key: str, item_name: str
) -> Target:
    """The current value the form shows before the department corrects it; the read is
    recorded (Art. 40)."""
    pool = pools.get_pool(session, actor, pool_id)
    policy.require_correct_own(actor, pool.department_id)
    target = locate(session, pool, subject_key, item_name)
    traces.pool_read(
        session,
        actor,
        "aggregation.own_value.read",
        pool,
        rows=1,
        fields=[item_name],
    )
    return target


def correct_own_value(
    session: Session,
    actor: Actor,
    pool_id: int,
    *,
    subject_key: str,
    item_name: str,
    value: str,
    reason: str,
) -> OwnCorrection:
    """Write ``value`` (empty: clear it) for ``subject_key``'s ``item_name`` in the department's
    own pool. Refused: another department's pool (403), no reason, the same value, a value the
    specification refuses, a subject or item the pool does not hold."""
    pool = pools.get_pool(session, actor, pool_id)
    policy.require_correct_own(actor, pool.department_id)
    why = clean_text(reason)
    if not why:
        raise InvalidInput(
            "aggregation.own_correction_reason_required",
            "请说明更正的理由（例如核对了哪份证明材料）。",
        )
    if len(why) > MAX_REASON:
        raise InvalidInput(
            "aggregation.own_correction_reason_too_long",
            f"更正理由不能超过{MAX_REASON}个字。",
        )
    pool = lock_pool(session, pool.id)
    target = locate(session, pool, subject_key, item_name)
    new_value = parse_value(rule_for(session, pool, item_name), value.strip())
    new_text = value_text(new_value)
    if new_text == target.text:
        raise InvalidInput(
            "aggregation.own_correction_unchanged", "更正后的值与当前值相同，无需更正。"
        )
    table = pools.current_table(pool)
    assert table is not None and pool.subject_column is not None
    key = key_value(session, pool, target.subject_key)
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(table).where(table.c[pool.subject_column] == key).values({target.column: new_value})
    )
    assert result.rowcount == 1  # locate found it, under the pool's lock
    audit.record(
        session,
        actor,
        "aggregation.pool_value.correct",
        object_type="pool",
        object_id=pool.id,
        summary=f"{actor.name}直接更正了本部门{pool.name}中主体 {target.subject_key} 的"
        f"信息项“{item_name}”，理由：{why}",
        change={
            "pool_id": pool.id,
            "table": pool.table_name,
            "column": target.column,
            "subject_key": target.subject_key,
            "item_name": item_name,
            "old_value": target.text,
            "new_value": new_text,
            "reason": why,
            "load_id": pool.current_load_id,
        },
        region_id=region_of(session, pool.department_id),
        department_id=pool.department_id,
    )
    base.refresh_subject(session, pool, target.subject_key)
    return OwnCorrection(pool.id, target.subject_key, item_name, target.text, new_text)
