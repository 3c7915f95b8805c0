"""Starting and answering clocks (called by the owning domain's services), and who sees what."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from govdata.core import audit, calendar
from govdata.core.actor import Actor, Role
from govdata.core.errors import Conflict, NotFound
from govdata.core.obligations.models import TITLE_LENGTH, Kind, Obligation, summary_due
from govdata.core.workdays import Deadline

#: People who see every obligation: the city bureau directs (Art. 6 ¶1, Art. 19 ¶1), auditors
#: oversee (Art. 49).
_OVERSIGHT = frozenset({Role.CITY_BUREAU_ADMIN, Role.AUDITOR})

# --- starting and answering (called by the owning domain's services) --------------------------


def deadline(session: Session, kind: Kind, started_on: date) -> Deadline:
    """The kind's statutory deadline from ``started_on`` on the calendar in force."""
    return calendar.deadline(session, started_on, kind.working_days)


def open(  # the register's verb, called as obligations.open(...)
    session: Session,
    actor: Actor,
    kind: Kind,
    *,
    subject_type: str,
    subject_id: int,
    department_id: int | None,
    region_id: int | None,
    title: str,
    deadline: Deadline,
) -> Obligation:
    """Enter a clock that has started into the register, in the caller's transaction.

    ``deadline`` is the one the domain stores on its own row (from :func:`deadline`), so the
    two agree. ``department_id`` and ``region_id`` name the owner that must act.
    """
    if deadline.working_days != kind.working_days:
        raise ValueError(f"{kind.code} runs {kind.working_days} working days")
    ob = Obligation(
        kind=kind.code,
        article=kind.article,
        title=title.strip()[:TITLE_LENGTH],
        subject_type=subject_type,
        subject_id=subject_id,
        department_id=department_id,
        region_id=region_id,
        started_on=deadline.start,
        working_days=deadline.working_days,
        due_on=deadline.due,
        provisional=deadline.provisional,
        extension_days=0,
        extension_reason="",
        overdue=False,
    )
    session.add(ob)
    session.flush()
    audit.record(
        session,
        actor,
        "obligation.open",
        object_type="obligation",
        object_id=ob.id,
        summary=f"{kind.label}（{kind.article}）开始计时：{ob.title}，应于{summary_due(ob)}前办结",
        change={
            "kind": kind.code,
            "subject": [subject_type, subject_id],
            "started_on": ob.started_on,
            "due_on": ob.due_on,
            "provisional": ob.provisional,
        },
        region_id=region_id,
        department_id=department_id,
    )
    return ob


def find(
    session: Session, kind: Kind, subject_type: str, subject_id: int, *, for_update: bool = False
) -> Obligation | None:
    """The obligation of one object, answered or not (no scoping: for the owning domain)."""
    stmt = select(Obligation).where(
        Obligation.kind == kind.code,
        Obligation.subject_type == subject_type,
        Obligation.subject_id == subject_id,
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def answer(
    session: Session,
    actor: Actor,
    kind: Kind,
    *,
    subject_type: str,
    subject_id: int,
    answered_on: date | None = None,
) -> Obligation:
    """The duty is fulfilled: the clock stops (default: today), in the caller's transaction.

    An answer after the due date is recorded as late (Art. 50(8)). Raises
    ``obligation.not_open`` when the object has no running clock.
    """
    ob = find(session, kind, subject_type, subject_id, for_update=True)
    if ob is None or not ob.is_open:
        raise Conflict("obligation.not_open", "该事项没有正在计时的法定时限。")
    on = answered_on or calendar.today()
    late = on > ob.due_on
    ob.answered_on = on
    ob.answered_by = actor.person_id
    ob.overdue = ob.overdue or late
    session.flush()
    audit.record(
        session,
        actor,
        "obligation.answer",
        object_type="obligation",
        object_id=ob.id,
        summary=(
            f"{kind.label}（{kind.article}）办结：{ob.title}，"
            + (f"逾期办结，期限为{ob.due_on.isoformat()}（第五十条第八项）" if late else "按期办结")
        ),
        change={"answered_on": on, "due_on": ob.due_on, "late": late},
        region_id=ob.region_id,
        department_id=ob.department_id,
    )
    return ob


# --- who sees what ----------------------------------------------------------------------------


def visible(actor: Actor) -> Select[Obligation]:
    """The obligations an actor may read: its departments', its region's (district bureau),
    everything (city bureau, auditors), nothing (the public, department systems' tokens)."""
    stmt = select(Obligation)
    if actor.token_id is not None or actor.is_public:
        return stmt.where(false())
    if actor.roles & _OVERSIGHT:
        return stmt
    clauses: list[ColumnElement[bool]] = []
    regions = actor.region_ids(Role.DISTRICT_BUREAU_ADMIN)
    if regions:
        clauses.append(Obligation.region_id.in_(regions))
    departments = actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)
    if departments:
        clauses.append(Obligation.department_id.in_(departments))
    return stmt.where(or_(*clauses)) if clauses else stmt.where(false())


def get(
    session: Session, actor: Actor, obligation_id: int, *, for_update: bool = False
) -> Obligation:
    stmt = visible(actor).where(Obligation.id == obligation_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    ob = session.scalar(stmt)
    if ob is None:
        raise NotFound("obligation.not_found", "未找到该法定时限事项。")
    return ob


def can_request_extension(actor: Actor, ob: Obligation) -> bool:
    """The owner department's data officers and head ask for an extension."""
    return (
        actor.token_id is None
        and ob.department_id is not None
        and ob.department_id in actor.department_ids(Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)
    )


def can_approve_extension(actor: Actor, ob: Obligation) -> bool:
    """Only the owner department's head (主要负责人) approves (Art. 19 ¶2, 32 ¶3, 33 ¶2)."""
    return (
        actor.token_id is None
        and ob.department_id is not None
        and ob.department_id in actor.department_ids(Role.DEPARTMENT_HEAD)
    )
