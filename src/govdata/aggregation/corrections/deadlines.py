"""The correction's clock (Art. 19 ¶2, Art. 50(8)): 10 working days from receipt, one
extension of at most 10 working days with the providing department's head's approval; an
answer after the due date is late.

It is the one statutory clock (``core.deadlines``), and every correction is an obligation of
kind ``aggregation.correction`` in the register (``core.obligations``, decision 0008): opened
when the application is received, answered with the correction, extended through the
register's rules. The register's due date is copied onto the correction (``_follow``), so the
correction's own columns and its obligation always agree.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from govdata.aggregation.models import Correction
from govdata.core import calendar, obligations
from govdata.core.deadlines import Clock
from govdata.core.workdays import Deadline, WorkCalendar

ANSWER_WORKING_DAYS = 10  # Art. 19 ¶2
SUBJECT = "correction"


def _follow(session: Session, ob: obligations.Obligation) -> None:
    """The register moved the due date (an approved extension): the correction follows."""
    c = session.get(Correction, ob.subject_id)
    if c is None:
        return
    c.due_on = ob.due_on
    c.original_due_on = ob.original_due_on
    c.due_provisional = ob.provisional
    c.extension_days = ob.extension_days
    c.extended_by = ob.extended_by
    c.extension_reason = ob.extension_reason
    session.flush()


#: Art. 19 ¶2: the providing department answers within 10 working days of receipt; its head may
#: extend the period once by at most 10 working days.
CORRECTION = obligations.register(
    obligations.Kind(
        code="aggregation.correction",
        label="答复数据校核申请",
        article="第十九条第二款",
        working_days=ANSWER_WORKING_DAYS,
        extendable=True,
        href="/aggregation/corrections/{subject_id}",
        on_due_changed=_follow,
    )
)


def deadline_of(c: Correction) -> Deadline:
    """The correction's statutory deadline rebuilt from its stored fields."""
    return Deadline(
        start=c.received_on,
        working_days=ANSWER_WORKING_DAYS,
        due=c.due_on,
        provisional=c.due_provisional,
        extension_days=c.extension_days,
        extended_by=c.extended_by,
        original_due=c.original_due_on,
    )


def clock(c: Correction, cal: WorkCalendar, today: date | None = None) -> Clock:
    """Where the correction's clock stands on ``today`` (default: today)."""
    return Clock(deadline_of(c), c.answered_on, today or calendar.today(), cal)


def title(c: Correction, pool_name: str) -> str:
    """The obligation's title (migration 0005 backfills existing corrections with the same)."""
    return f"第{c.id}号校核申请：{pool_name}的信息项“{c.item_name}”"
