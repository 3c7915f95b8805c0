"""Access records (Art. 39, 40): one row per read, with who, what, how many and the outcome."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord, record_access
from govdata.core.actor import Actor, Role, RoleGrant


def test_a_read_is_recorded_with_who_what_and_how_many(session: Session) -> None:
    # Art. 40: every access leaves a record naming the reader and the data.
    actor = Actor(
        person_id=7,
        name="张三",
        grants=(RoleGrant(Role.DEPARTMENT_OFFICER, department_id=3),),
        address="203.0.113.9",
    )
    record_access(
        session,
        actor,
        "aggregation.pool_rows.read",
        object_type="pool",
        object_id=12,
        rows=500,
        personal=True,
        owner_department_id=3,
        fields=("身份证号", "姓名"),
    )
    row = session.scalars(select(AccessRecord)).one()
    assert (row.actor_id, row.actor_department_id, row.address) == (7, 3, "203.0.113.9")
    assert (row.action, row.object_type, row.object_id) == (
        "aggregation.pool_rows.read",
        "pool",
        "12",
    )
    assert (row.rows, row.personal, row.outcome, row.fields) == (
        500,
        True,
        "allowed",
        "身份证号,姓名",
    )


def test_a_refusal_names_its_reason(session: Session) -> None:
    token = Actor(
        person_id=None,
        name="某部门·系统",
        grants=(RoleGrant(Role.DEPARTMENT_SYSTEM, department_id=4),),
        token_id=9,
    )
    record_access(
        session,
        token,
        "aggregation.pool_rows.read",
        object_type="pool",
        object_id=1,
        outcome="refused",
        reason="auth.scope_missing",
    )
    row = session.scalars(select(AccessRecord)).one()
    assert (row.actor_id, row.token_id, row.outcome, row.reason) == (
        None,
        9,
        "refused",
        "auth.scope_missing",
    )
