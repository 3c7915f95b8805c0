"""The one statutory clock: where a deadline counted in working days stands on a given day.

Every statutory period of the regulation runs on it: a catalog update applied for within 10
working days of a change of law or functions and reviewed within 5 (Art. 14), a correction
answered within 10 (Art. 19), an open-catalog correction and a conditional open-data application
answered within 10 (Art. 32, 33), and the sharing applications of Ch. 4.

A clock is a :class:`~govdata.core.workdays.Deadline` (start, statutory working days, due date,
provisional flag, the one extension of at most 10 working days and its approver) together with
the day it was answered, looked at on ``today``. It is a value: the domain row or the
obligations register (``core.obligations``) stores the fields, the clock is rebuilt from them.

Two labels: :attr:`Clock.label` counts working days ("剩余3个工作日", "已超期2个工作日",
"已按期办结" …, with a note when provisional) and :attr:`Clock.state_label` is the short
state a list shows beside the due date ("办理中", "已逾期", "按期办结", "逾期办结").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from govdata.core.workdays import Deadline, WorkCalendar, default_calendar

__all__ = ["STATE_LABELS", "Clock", "ClockState"]


class ClockState(StrEnum):
    RUNNING = "running"  # not answered, not past due
    OVERDUE = "overdue"  # not answered, past due (Art. 50(8))
    ANSWERED = "answered"  # answered on or before the due date
    ANSWERED_LATE = "answered_late"  # answered after the due date (Art. 50(8))

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS: dict[ClockState, str] = {
    ClockState.RUNNING: "办理中",
    ClockState.OVERDUE: "已逾期",
    ClockState.ANSWERED: "按期办结",
    ClockState.ANSWERED_LATE: "逾期办结",
}


@dataclass(frozen=True)
class Clock:
    """A statutory deadline and its answer, as they stand on ``today``.

    ``calendar`` counts the working days of :attr:`label` and :attr:`remaining_working_days`;
    pass the calendar in force (``core.calendar.load_calendar``) when a session is at hand. The
    due date itself was computed when the clock started and is never recounted here.
    """

    deadline: Deadline
    answered_on: date | None
    today: date
    calendar: WorkCalendar = field(default_factory=default_calendar, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        *,
        start: date,
        working_days: int,
        due: date,
        provisional: bool,
        answered_on: date | None,
        today: date,
        extension_days: int = 0,
        extended_by: int | None = None,
        original_due: date | None = None,
        calendar: WorkCalendar | None = None,
    ) -> Clock:
        """The clock of a deadline stored as columns of a domain row."""
        deadline = Deadline(
            start=start,
            working_days=working_days,
            due=due,
            provisional=provisional,
            extension_days=extension_days,
            extended_by=extended_by,
            original_due=original_due,
        )
        return cls(deadline, answered_on, today, calendar or default_calendar())

    # --- the deadline -------------------------------------------------------------------------

    @property
    def start(self) -> date:
        return self.deadline.start

    @property
    def due(self) -> date:
        return self.deadline.due

    @property
    def original_due(self) -> date | None:
        """The due date before the extension; None when not extended."""
        return self.deadline.original_due

    @property
    def provisional(self) -> bool:
        """The period touches a year whose official schedule is not published yet."""
        return self.deadline.provisional

    @property
    def extended(self) -> bool:
        return self.deadline.is_extended

    # --- where it stands ----------------------------------------------------------------------

    @property
    def answered(self) -> bool:
        return self.answered_on is not None

    @property
    def overdue(self) -> bool:
        """Not answered and past due (Art. 50(8))."""
        return self.answered_on is None and self.today > self.due

    @property
    def late(self) -> bool:
        """Answered, but after the due date (Art. 50(8))."""
        return self.answered_on is not None and self.answered_on > self.due

    @property
    def flagged(self) -> bool:
        """Missed, answered or not: what supervision counts (Art. 50(8))."""
        return self.overdue or self.late

    @property
    def state(self) -> ClockState:
        if self.answered_on is not None:
            return ClockState.ANSWERED_LATE if self.late else ClockState.ANSWERED
        return ClockState.OVERDUE if self.overdue else ClockState.RUNNING

    @property
    def state_label(self) -> str:
        """办理中 / 已逾期 / 按期办结 / 逾期办结."""
        return self.state.label

    @property
    def remaining_working_days(self) -> int:
        """Working days left after ``today`` up to the due date; negative when overdue."""
        return self.deadline.remaining_working_days(self.calendar, self.today)

    @property
    def label(self) -> str:
        """剩余N个工作日 / 今日到期 / 已超期N个工作日 / 已按期办结 / 逾期办结 (+ a provisional note)
        (``Deadline.status_label``)."""
        return self.deadline.status_label(self.today, self.calendar, answered_on=self.answered_on)
