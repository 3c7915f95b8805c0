"""Reading corrections (Art. 19 ¶1, ¶3; Art. 50(8)): the lists with their supervision figures,
what is overdue, and the "校核中" mark on values under correction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from govdata.aggregation import policy
from govdata.aggregation.corrections.deadlines import clock
from govdata.aggregation.errors import CorrectionNotFound
from govdata.aggregation.models import Correction, CorrectionStatus, Pool
from govdata.core import calendar
from govdata.core.actor import Actor
from govdata.core.pagination import Page, paginate
from govdata.org import policy as org_policy
from govdata.org.models import Department

#: Art. 19 ¶3, shown on the correction page and on every "校核中" mark.
UNDER_CORRECTION_NOTE = (
    "该数据正在校核。校核期间，办理业务涉及的公民、法人和其他组织已经提供合法有效证明材料的，"
    "受理单位应当照常办理，不得拒绝、推诿或者要求办事人办理信息更正手续（第十九条第三款）。"
)

#: Shown to the providing department before it accepts: a full reload from a source that still


def get_correction(
    session: Session, actor: Actor, correction_id: int, *, for_update: bool = False
) -> Correction:
    stmt = policy.visible_corrections(actor).where(Correction.id == correction_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    c = session.scalar(stmt)
    if c is None:
        raise CorrectionNotFound()
    return c


def _overdue_clause(today: date) -> ColumnElement[bool]:
    return or_(
        and_(Correction.status == CorrectionStatus.OPEN, Correction.due_on < today),
        Correction.answered_on > Correction.due_on,
    )


def _scoped(
    actor: Actor,
    *,
    status: str | None = None,
    department_id: int | None = None,
    overdue_only: bool = False,
    direction: str | None = None,
    pool_id: int | None = None,
) -> Select[Correction]:
    stmt = policy.visible_corrections(actor)
    if status is not None:
        stmt = stmt.where(Correction.status == status)
    if department_id is not None:
        stmt = stmt.where(Correction.department_id == department_id)
    if pool_id is not None:
        stmt = stmt.where(Correction.pool_id == pool_id)
    if overdue_only:
        stmt = stmt.where(_overdue_clause(calendar.today()))
    mine = policy.correction_departments(actor)
    if direction == "incoming":
        stmt = stmt.where(Correction.department_id.in_(mine))
    elif direction == "outgoing":
        own: list[ColumnElement[bool]] = [Correction.applicant_department_id.in_(mine)]
        if actor.person_id is not None:
            own.append(Correction.applicant_person_id == actor.person_id)
        stmt = stmt.where(or_(*own))
    return stmt


def list_corrections(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    department_id: int | None = None,
    overdue_only: bool = False,
    direction: str | None = None,
    pool_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[Correction]:
    """Visible corrections, open ones first by due date.

    ``department_id`` is the providing department; ``direction`` ``incoming`` narrows to the
    actor's own departments' data, ``outgoing`` to what the actor or its departments applied
    for; ``overdue_only`` to open corrections past due and answers given late (Art. 50(8)).
    """
    stmt = _scoped(
        actor,
        status=status,
        department_id=department_id,
        overdue_only=overdue_only,
        direction=direction,
        pool_id=pool_id,
    )
    is_open = case((Correction.status == CorrectionStatus.OPEN, 0), else_=1)
    stmt = stmt.order_by(is_open, Correction.due_on, Correction.id.desc())
    return paginate(session, stmt, offset, limit)


@dataclass(frozen=True)
class Counts:
    total: int
    open: int
    overdue: int  # open and past due
    late: int  # answered after the due date


def _count_columns(c: Any, today: date) -> list[Any]:
    is_open = c.status == CorrectionStatus.OPEN.value
    return [
        func.count(),
        func.coalesce(func.sum(case((is_open, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(is_open, c.due_on < today), 1), else_=0)), 0),
        func.coalesce(func.sum(case((c.answered_on > c.due_on, 1), else_=0)), 0),
    ]


def counts(
    session: Session,
    actor: Actor,
    *,
    department_id: int | None = None,
    direction: str | None = None,
) -> Counts:
    """The supervision figures of the visible corrections (Art. 19 ¶1, Art. 50(8))."""
    sub = _scoped(actor, department_id=department_id, direction=direction).subquery()
    row = session.execute(select(*_count_columns(sub.c, calendar.today())).select_from(sub)).one()
    return Counts(total=int(row[0]), open=int(row[1]), overdue=int(row[2]), late=int(row[3]))


def counts_by_department(session: Session, actor: Actor) -> list[tuple[Department, Counts]]:
    """The figures per providing department, most overdue first: the city bureau's view of
    how departments keep the 10-working-day period (Art. 19 ¶1, Art. 50(8))."""
    sub = policy.visible_corrections(actor).subquery()
    rows = session.execute(
        select(sub.c.department_id, *_count_columns(sub.c, calendar.today())).group_by(
            sub.c.department_id
        )
    ).all()
    names = departments(session, (r[0] for r in rows))
    out = [
        (names[r[0]], Counts(total=int(r[1]), open=int(r[2]), overdue=int(r[3]), late=int(r[4])))
        for r in rows
    ]
    out.sort(key=lambda x: (-x[1].overdue, -x[1].late, -x[1].open, x[0].code))
    return out


@dataclass(frozen=True)
class OverdueReport:
    """What is overdue under Art. 19 ¶2 as of ``today`` (flags; Art. 50(8) findings)."""

    today: date
    open: list[Correction]  # not answered, past due
    late: list[Correction]  # answered after the due date
    labels: dict[int, str]  # correction id -> Deadline.status_label


def overdue(session: Session, actor: Actor) -> OverdueReport:
    org_policy.require_staff(actor)
    today = calendar.today()
    cal = calendar.load_calendar(session)
    open_ = list(
        session.scalars(
            policy.visible_corrections(actor)
            .where(Correction.status == CorrectionStatus.OPEN, Correction.due_on < today)
            .order_by(Correction.due_on, Correction.id)
        )
    )
    late = list(
        session.scalars(
            policy.visible_corrections(actor)
            .where(Correction.answered_on > Correction.due_on)
            .order_by(Correction.answered_on.desc(), Correction.id)
        )
    )
    labels = {c.id: clock(c, cal, today).label for c in (*open_, *late)}
    return OverdueReport(today=today, open=open_, late=late, labels=labels)


def under_correction(
    session: Session, pool_id: int, subject_keys: list[str]
) -> dict[tuple[str, str], Correction]:
    """(subject key, item name) -> the open correction, for the "校核中" mark on the pool data
    page and the base record page (Art. 19 ¶3). The caller has already scoped the rows."""
    keys = sorted({k for k in subject_keys if k})
    found: dict[tuple[str, str], Correction] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        for c in session.scalars(
            select(Correction).where(
                Correction.pool_id == pool_id,
                Correction.status == CorrectionStatus.OPEN,
                Correction.subject_key.in_(chunk),
            )
        ):
            found[(c.subject_key, c.item_name)] = c
    return found


def is_under_correction(session: Session, pool_id: int, subject_key: str, item_name: str) -> bool:
    return (subject_key, item_name) in under_correction(session, pool_id, [subject_key])


def open_correction(
    session: Session, pool_id: int, subject_key: str, item_name: str
) -> Correction | None:
    return session.scalar(
        select(Correction).where(
            Correction.pool_id == pool_id,
            Correction.subject_key == subject_key,
            Correction.item_name == item_name,
            Correction.status == CorrectionStatus.OPEN,
        )
    )


# --- labelling ----------------------------------------------------------------------------------


def departments(session: Session, ids: Iterable[int | None]) -> dict[int, Department]:
    """Department names for labels (providers and applicants are named to whoever sees a
    correction, as the published catalog names its providers)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(wanted)))}


def pools_by_id(session: Session, ids: Iterable[int]) -> dict[int, Pool]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(select(Pool).where(Pool.id.in_(wanted)))}
