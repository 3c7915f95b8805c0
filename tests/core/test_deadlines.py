"""The one statutory clock (Art. 14, 19, 32, 33; Art. 50(8)): states, labels, extensions,
provisional years, over National Day and the Spring Festival."""

from __future__ import annotations

from datetime import date

from govdata.core.deadlines import STATE_LABELS, Clock, ClockState
from govdata.core.workdays import PROVISIONAL_NOTE, Deadline, WorkCalendar, default_calendar

CAL = default_calendar()
HEAD = 7


def _clock(deadline: Deadline, today: date, answered_on: date | None = None) -> Clock:
    return Clock(deadline, answered_on, today, CAL)


def test_a_clock_over_national_day_2025() -> None:
    # Art. 19 ¶2: 10 working days from Fri 2025-09-26: 28 (调休 Sun), 29, 30, the holiday
    # 10-01..08, then 9, 10, 11 (调休 Sat), 13, 14, 15, 16.
    d = Deadline.open(CAL, date(2025, 9, 26), 10)
    assert d.due == date(2025, 10, 16)
    during = _clock(d, date(2025, 10, 5))
    assert (during.state, during.overdue, during.remaining_working_days) == (
        ClockState.RUNNING,
        False,
        7,
    )
    assert (during.label, during.state_label) == ("剩余7个工作日", "办理中")
    on_due = _clock(d, date(2025, 10, 16))
    assert (on_due.overdue, on_due.label) == (False, "今日到期")
    after = _clock(d, date(2025, 10, 17))
    assert (after.state, after.overdue, after.flagged) == (ClockState.OVERDUE, True, True)
    assert (after.label, after.state_label) == ("已超期1个工作日", "已逾期")


def test_a_clock_over_the_spring_festival_2026() -> None:
    # Art. 14 ¶1: from Thu 2026-02-12: 13, 14 (调休 Sat), the holiday 15–23, then 24, 25, 26,
    # 27, 28 (调休 Sat), Mar 2, 3, 4.
    d = Deadline.open(CAL, date(2026, 2, 12), 10)
    assert d.due == date(2026, 3, 4)
    assert _clock(d, date(2026, 2, 20)).remaining_working_days == 8
    assert not _clock(d, date(2026, 3, 4)).overdue
    assert _clock(d, date(2026, 3, 5)).overdue


def test_answered_in_time_and_late() -> None:
    d = Deadline.open(CAL, date(2025, 9, 26), 10)  # due 2025-10-16
    kept = _clock(d, date(2025, 11, 1), answered_on=date(2025, 10, 16))
    assert (kept.state, kept.answered, kept.late, kept.flagged) == (
        ClockState.ANSWERED,
        True,
        False,
        False,
    )
    assert (kept.label, kept.state_label) == ("已按期办结", "按期办结")
    late = _clock(d, date(2025, 11, 1), answered_on=date(2025, 10, 17))
    assert (late.state, late.late, late.overdue, late.flagged) == (
        ClockState.ANSWERED_LATE,
        True,
        False,
        True,
    )
    assert (late.label, late.state_label) == ("逾期办结", "逾期办结")


def test_an_extended_clock() -> None:
    # Art. 19 ¶2: one extension of at most 10 working days, approved by the head.
    d = Deadline.open(CAL, date(2025, 9, 15), 10).extend(CAL, 10, approved_by=HEAD)
    c = _clock(d, date(2025, 10, 17))
    assert (c.extended, c.original_due, c.due) == (True, date(2025, 9, 28), date(2025, 10, 17))
    assert not c.overdue


def test_a_provisional_clock_says_so() -> None:
    # 2027 is not published: counted on weekdays and marked.
    d = Deadline.open(CAL, date(2026, 12, 28), 10)
    c = _clock(d, date(2026, 12, 29))
    assert c.provisional and c.due.year == 2027
    assert c.label.endswith(PROVISIONAL_NOTE)
    assert c.state_label == "办理中"


def test_of_rebuilds_the_clock_of_stored_columns() -> None:
    d = Deadline.open(CAL, date(2025, 9, 15), 10).extend(CAL, 3, approved_by=HEAD)
    c = Clock.of(
        start=d.start,
        working_days=10,
        due=d.due,
        provisional=d.provisional,
        answered_on=None,
        today=date(2025, 9, 30),
        extension_days=3,
        extended_by=HEAD,
        original_due=d.original_due,
    )
    assert c.deadline == d
    assert c.calendar is CAL  # the package's calendar unless one is given


def test_the_labels_count_on_the_calendar_given() -> None:
    # A calendar in which 2025-10-09 is a holiday too: one working day fewer before the due.
    d = Deadline.open(CAL, date(2025, 9, 26), 10)
    other = WorkCalendar(
        CAL.holidays | {date(2025, 10, 9)}, CAL.makeup_workdays, CAL.published_years
    )
    assert Clock(d, None, date(2025, 10, 5), other).remaining_working_days == 6
    assert Clock(d, None, date(2025, 10, 5), other).due == date(2025, 10, 16)  # never recounted


def test_every_state_has_a_label() -> None:
    assert set(STATE_LABELS) == set(ClockState)
    assert ClockState.OVERDUE.label == "已逾期"
