"""Each person's own open obligations, as a to-do list for the home page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, false
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from govdata.core import calendar
from govdata.core.actor import Actor, Role
from govdata.core.obligations.models import KINDS, Obligation
from govdata.core.obligations.service import (
    can_approve_extension,
    can_request_extension,
    visible,
)
from govdata.core.workdays import WorkCalendar

# --- to-do lists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TodoItem:
    """One open obligation on a person's home page."""

    obligation_id: int
    kind: str
    kind_label: str  # zh-CN
    article: str  # zh-CN citation
    title: str
    due: date
    provisional: bool
    overdue: bool
    status_label: str  # 剩余N个工作日 / 今日到期 / 已超期N个工作日 (+ provisional note)
    href: str | None  # the object's page
    extension_pending: bool  # an extension request waits for the head
    awaiting_my_approval: bool  # … and this person is that head
    requested_days: int | None
    may_request_extension: (
        bool  # the kind allows one, none is asked or granted, this person may ask
    )


def _todo(ob: Obligation, actor: Actor, today: date, cal: WorkCalendar) -> TodoItem:
    kind = KINDS.get(ob.kind)
    href = None
    if (
        kind is not None
        and kind.href is not None
        and (kind.opens_for is None or kind.opens_for(actor, ob))
    ):
        href = kind.href.format(
            subject_id=ob.subject_id, department_id=ob.department_id, region_id=ob.region_id
        )
    clock = ob.clock(today, cal)
    pending = ob.extension_pending
    return TodoItem(
        obligation_id=ob.id,
        kind=ob.kind,
        kind_label=kind.label if kind is not None else ob.kind,
        article=ob.article,
        title=ob.title,
        due=ob.due_on,
        provisional=ob.provisional,
        overdue=ob.overdue or clock.overdue,
        status_label=clock.label,
        href=href,
        extension_pending=pending,
        awaiting_my_approval=pending and can_approve_extension(actor, ob),
        requested_days=ob.extension_requested_days if pending else None,
        may_request_extension=(
            kind is not None
            and kind.extendable
            and not pending
            and ob.extension_days == 0
            and not clock.overdue
            and can_request_extension(actor, ob)
        ),
    )


def open_for(
    session: Session, actor: Actor, *, today: date | None = None, limit: int = 100
) -> list[TodoItem]:
    """An actor's own open obligations as a to-do list: extensions waiting for this person's
    approval first (a department head), then by due date."""
    today = today or calendar.today()
    heads = actor.department_ids(Role.DEPARTMENT_HEAD) if actor.token_id is None else frozenset()
    mine_to_approve: ColumnElement[bool] = (
        Obligation.extension_requested_on.is_not(None)
        & (Obligation.extension_days == 0)
        & Obligation.department_id.in_(heads)
        if heads
        else false()
    )
    rows = session.scalars(
        visible(actor)
        .where(Obligation.answered_on.is_(None))
        .order_by(case((mine_to_approve, 0), else_=1), Obligation.due_on, Obligation.id)
        .limit(limit)
    ).all()
    if not rows:
        return []
    cal = calendar.load_calendar(session)
    return [_todo(ob, actor, today, cal) for ob in rows]
