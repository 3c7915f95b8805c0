"""The correction's clock (Art. 19 ¶2, Art. 50(8)): 10 working days from receipt, one
extension of at most 10 working days with the providing department's head's approval; an
answer after the due date is late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from govdata.aggregation.models import Correction
from govdata.core import calendar
from govdata.core.workdays import Deadline, WorkCalendar

ANSWER_WORKING_DAYS = 10  # Art. 19 ¶2


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


@dataclass(frozen=True)
class Clock:
    """Where a correction's 10-working-day clock stands on ``today``."""

    due: date
    original_due: date | None
    provisional: bool
    extended: bool
    answered_on: date | None
    today: date
    label: str  # Deadline.status_label: 剩余N个工作日 / 今日到期 / 已超期N个工作日 / 逾期办结 …

    @property
    def overdue(self) -> bool:
        """Open and past due (Art. 50(8))."""
        return self.answered_on is None and self.today > self.due

    @property
    def late(self) -> bool:
        """Answered, but after the due date (Art. 50(8))."""
        return self.answered_on is not None and self.answered_on > self.due

    @property
    def flagged(self) -> bool:
        return self.overdue or self.late


def clock(c: Correction, cal: WorkCalendar, today: date | None = None) -> Clock:
    today = today or calendar.today()
    d = deadline_of(c)
    return Clock(
        due=c.due_on,
        original_due=c.original_due_on,
        provisional=c.due_provisional,
        extended=c.extension_days > 0,
        answered_on=c.answered_on,
        today=today,
        label=d.status_label(today, cal, answered_on=c.answered_on),
    )
