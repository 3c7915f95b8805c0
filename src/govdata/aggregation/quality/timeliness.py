"""Timeliness (Art. 13, 16, 18, 20): each resource a department must collect (its
responsibility list in the current published catalog) against its update cycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, case, literal, or_, select
from sqlalchemy.orm import Session

from govdata.aggregation import policy
from govdata.aggregation.errors import DepartmentNotFound
from govdata.aggregation.models import Pool
from govdata.catalog import published, vocabularies
from govdata.catalog.vocab import UpdateCycle
from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.core.calendar import today as city_today
from govdata.org.models import Department


@dataclass(frozen=True)
class Timeliness:
    """One resource of a responsibility list against its update cycle."""

    resource_id: int
    code: str
    name: str
    department_id: int
    update_cycle: str
    max_days: int | None
    pool_id: int | None
    loaded_at: datetime | None
    due_on: date | None  # the last day the current data is on time; None: never loaded/irregular
    late: bool
    today: date
    cycle_name: str = ""  # the update cycle's label by the bureau's current list

    @property
    def status(self) -> str:
        if self.loaded_at is None:
            return "never_loaded"
        if self.max_days is None:
            return "irregular"
        return "late" if self.late else "on_time"

    @property
    def status_label(self) -> str:
        return {
            "never_loaded": "未汇聚",
            "irregular": "不定期更新",
            "late": "已超期",
            "on_time": "按期",
        }[self.status]

    @property
    def days_overdue(self) -> int | None:
        if self.due_on is None or not self.late:
            return None
        return (self.today - self.due_on).days

    @property
    def cycle_label(self) -> str:
        return self.cycle_name or self.update_cycle


def _cycle_days(cycle: str) -> int | None:
    """The cycle's calendar days; an unknown cycle is treated as irregular (never late)."""
    try:
        return UpdateCycle(cycle).max_days
    except ValueError:
        return None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), CITY_TZ).astimezone(UTC)


def late_flag(today: date, cycle_column: ColumnElement[str]) -> ColumnElement[int]:
    """1 when the resource is late on ``today``, else 0, as SQL over its cycle in the current
    version (``cycle_column``) and its pool's ``loaded_at``.

    Late means today > loaded_on + max_days (calendar days, Beijing dates), that is: loaded
    before the start of day ``today − max_days``. Never loaded is late; irregular never is.
    """
    whens = []
    for cycle in UpdateCycle:
        if cycle.max_days is None:
            continue
        threshold = _local_midnight(today - timedelta(days=cycle.max_days))
        whens.append(
            (
                and_(
                    cycle_column == cycle.value,
                    or_(Pool.loaded_at.is_(None), Pool.loaded_at < threshold),
                ),
                literal(1),
            )
        )
    return case(*whens, else_=literal(0))


def responsibility_base(members: Subquery, *columns: Any) -> Any:
    """``columns`` over a version's resources (``catalog.published.members``), their
    department and their pool (outer): the responsibility lists (Art. 13) joined to what was
    loaded."""
    return (
        select(*columns)
        .select_from(members)
        .join(Department, Department.id == members.c.department_id)
        .outerjoin(Pool, Pool.resource_id == members.c.resource_id)
    )


def timeliness_rows(
    session: Session,
    actor: Actor,
    *,
    department_id: int | None,
    today: date,
    resource_id: int | None = None,
    late_only: bool = False,
    limit: int | None = None,
) -> list[Timeliness]:
    version = published.current_version(session)
    if version is None:
        return []
    members = published.members(version.id)
    late = late_flag(today, members.c.update_cycle)
    stmt = (
        responsibility_base(
            members,
            members.c.resource_id,
            members.c.code,
            members.c.name,
            members.c.department_id,
            members.c.update_cycle,
            Pool.id,
            Pool.loaded_at,
            late.label("late"),
        )
        .where(policy.quality_scope(actor))
        .order_by(Department.code, members.c.code)
    )
    if department_id is not None:
        stmt = stmt.where(members.c.department_id == department_id)
    if resource_id is not None:
        stmt = stmt.where(members.c.resource_id == resource_id)
    if late_only:
        stmt = stmt.where(late == 1)
    if limit is not None:
        stmt = stmt.limit(limit)
    result = []
    cycle_label = vocabularies.label_function(session, vocabularies.UPDATE_CYCLE, blank="")
    for rid, code, name, dept, cycle, pool_id, loaded_at, is_late in session.execute(stmt):
        max_days = _cycle_days(cycle)
        due = None
        if loaded_at is not None and max_days is not None:
            due = loaded_at.astimezone(CITY_TZ).date() + timedelta(days=max_days)
        result.append(
            Timeliness(
                resource_id=rid,
                code=code,
                name=name,
                department_id=dept,
                update_cycle=cycle,
                max_days=max_days,
                pool_id=pool_id,
                loaded_at=loaded_at,
                due_on=due,
                late=bool(is_late),
                today=today,
                cycle_name=cycle_label(cycle),
            )
        )
    return result


def timeliness(
    session: Session,
    actor: Actor,
    *,
    department_id: int | None = None,
    today: date | None = None,
) -> list[Timeliness]:
    """Each resource of the current published catalog that a department in the actor's scope
    must collect (its responsibility list, Art. 13), with its last load, due date and whether
    it is late (Art. 16, 18, 20). ``department_id`` narrows to one department, which must be in
    the scope (else not found). Ordered by department code and resource code."""
    if department_id is not None:
        department_in_scope(session, actor, department_id)
    return timeliness_rows(session, actor, department_id=department_id, today=today or city_today())


def pool_timeliness(
    session: Session, actor: Actor, pool: Pool, *, today: date | None = None
) -> Timeliness | None:
    """A pool's resource against its update cycle; None when it is not in the current catalog
    (withdrawn: no longer on a responsibility list)."""
    rows = timeliness_rows(
        session,
        actor,
        department_id=pool.department_id,
        today=today or city_today(),
        resource_id=pool.resource_id,
    )
    return rows[0] if rows else None


def department_in_scope(session: Session, actor: Actor, department_id: int) -> Department:
    dept = session.scalar(
        select(Department).where(Department.id == department_id, policy.quality_scope(actor))
    )
    if dept is None:
        raise DepartmentNotFound()
    return dept
