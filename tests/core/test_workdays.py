"""Working-day deadlines of 《重庆市政务数据资源管理暂行办法》 (Art. 14, 19, 32, 33).

Every calendar fact asserted here was checked against the State Council's schedules
as shipped in the ``chinese_calendar`` package (2004–2026).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import chinese_calendar
import pytest
from chinese_calendar.constants import Holiday
from hypothesis import given
from hypothesis import strategies as st

from govdata.core.errors import Conflict, InvalidInput
from govdata.core.workdays import (
    HOLIDAY_NAMES_ZH,
    MAX_EXTENSION_WORKING_DAYS,
    PROVISIONAL_NOTE,
    CalendarEntry,
    Deadline,
    WorkCalendar,
    add_working_days,
    chinese_calendar_entries,
    default_calendar,
    from_chinese_calendar,
    working_days_between,
)

CAL = default_calendar()
HEAD = 42  # person id of a department head approving an extension


# --- the calendar itself ---------------------------------------------------------------


def test_default_calendar_is_built_once() -> None:
    assert default_calendar() is default_calendar()
    assert from_chinese_calendar() == default_calendar()


def test_published_years_are_2004_to_2026() -> None:
    assert CAL.published_years == frozenset(range(2004, 2027))
    assert CAL.is_published(2004)
    assert CAL.is_published(2026)
    assert not CAL.is_published(2003)
    assert not CAL.is_published(2027)


def test_is_workday_agrees_with_chinese_calendar_for_every_published_day() -> None:
    d = date(2004, 1, 1)
    while d <= date(2026, 12, 31):
        assert CAL.is_workday(d) == chinese_calendar.is_workday(d), d
        d += timedelta(days=1)


def test_spring_festival_2024() -> None:
    # 2024-02-10..17 off; Sun 2024-02-04 and Sun 2024-02-18 are make-up working days.
    for day in range(10, 18):
        assert not CAL.is_workday(date(2024, 2, day))
    assert date(2024, 2, 4).weekday() == 6
    assert date(2024, 2, 18).weekday() == 6
    assert CAL.is_workday(date(2024, 2, 4))
    assert CAL.is_workday(date(2024, 2, 18))
    assert CAL.is_workday(date(2024, 2, 9))  # 除夕 2024 was not an official day off
    assert not CAL.is_workday(date(2024, 2, 24))  # an ordinary Saturday


def test_ten_working_days_across_spring_festival_2024() -> None:
    # Art. 19: 10 working days from Tue 2024-02-06. Counting from the day after:
    # 02-07 (1), 02-08 (2), 02-09 (3), [02-10..17 off], 02-18 Sun make-up (4),
    # 02-19..23 (5..9), [02-24/25 weekend], 02-26 (10).
    due = CAL.add_working_days(date(2024, 2, 6), 10)
    assert due == date(2024, 2, 26)
    assert CAL.working_days_between(date(2024, 2, 6), due) == 10
    # The last working day before the holiday is followed by the Sunday make-up day.
    assert CAL.add_working_days(date(2024, 2, 9), 1) == date(2024, 2, 18)


def test_national_day_2025() -> None:
    # 2025-10-01..08 off (National Day with Mid-autumn on 10-06);
    # Sun 2025-09-28 and Sat 2025-10-11 are make-up working days.
    for day in range(1, 9):
        assert not CAL.is_workday(date(2025, 10, day))
    assert CAL.is_workday(date(2025, 9, 28))
    assert CAL.is_workday(date(2025, 10, 11))
    assert not CAL.is_workday(date(2025, 10, 12))
    assert CAL.add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Fri -> Sun make-up
    assert CAL.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert CAL.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)  # Sat make-up
    assert CAL.add_working_days(date(2025, 9, 30), 4) == date(2025, 10, 13)
    assert CAL.working_days_between(date(2025, 9, 30), date(2025, 10, 8)) == 0


def test_counting_starts_the_day_after() -> None:
    # 《民法典》Art. 201: the first day is not counted.
    monday = date(2024, 3, 4)
    assert monday.weekday() == 0
    assert CAL.add_working_days(monday, 1) == date(2024, 3, 5)
    assert CAL.add_working_days(date(2024, 3, 8), 1) == date(2024, 3, 11)  # Fri -> Mon
    assert CAL.add_working_days(monday, 5) == date(2024, 3, 11)


def test_start_on_a_holiday() -> None:
    # Started on 2025-10-03 (National Day): the first working day is 2025-10-09.
    assert CAL.add_working_days(date(2025, 10, 3), 1) == date(2025, 10, 9)
    # 10-09, 10-10, Sat 10-11 make-up (3), 10-13..17 (8), 10-20 (9), 10-21 (10).
    assert CAL.add_working_days(date(2025, 10, 3), 10) == date(2025, 10, 21)
    assert CAL.working_days_between(date(2025, 10, 3), date(2025, 10, 21)) == 10


def test_zero_and_negative() -> None:
    assert CAL.add_working_days(date(2025, 10, 3), 0) == date(2025, 10, 3)
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2025, 10, 3), -1)
    assert CAL.working_days_between(date(2025, 10, 13), date(2025, 10, 13)) == 0
    assert CAL.working_days_between(date(2025, 10, 14), date(2025, 10, 13)) == 0


def test_module_level_conveniences() -> None:
    assert add_working_days(date(2024, 2, 6), 10) == date(2024, 2, 26)
    assert working_days_between(date(2024, 2, 6), date(2024, 2, 26)) == 10
    weekdays_only = WorkCalendar(frozenset(), frozenset(), frozenset({2024}))
    assert add_working_days(date(2024, 2, 6), 10, weekdays_only) == date(2024, 2, 20)
    assert working_days_between(date(2024, 2, 6), date(2024, 2, 20), weekdays_only) == 10


def test_unpublished_year_is_computed_on_weekdays_and_flagged() -> None:
    # 2027 is not published yet: only weekends are days off, even on 2027-01-01.
    assert CAL.is_workday(date(2027, 1, 1))  # a Friday
    assert not CAL.is_workday(date(2027, 1, 2))  # Saturday
    assert CAL.is_provisional(date(2027, 3, 1), date(2027, 3, 15))
    assert not CAL.is_provisional(date(2026, 3, 1), date(2026, 3, 15))
    # From Sun 2026-12-20: 12-21..25 (5), 12-28..31 (9), 2027-01-01 (10).
    due = CAL.add_working_days(date(2026, 12, 20), 10)
    assert due == date(2027, 1, 1)
    assert CAL.is_provisional(date(2026, 12, 20), due)
    assert CAL.unpublished_years(date(2026, 12, 20), due) == [2027]


def test_entries_of_an_unpublished_year_are_ignored() -> None:
    cal = WorkCalendar(
        holidays=frozenset({date(2027, 1, 1)}),
        makeup_workdays=frozenset({date(2027, 1, 2)}),
        published_years=frozenset({2026}),
    )
    assert cal.is_workday(date(2027, 1, 1))
    assert not cal.is_workday(date(2027, 1, 2))
    published = WorkCalendar(cal.holidays, cal.makeup_workdays, frozenset({2027}))
    assert not published.is_workday(date(2027, 1, 1))
    assert published.is_workday(date(2027, 1, 2))


def test_chinese_calendar_entries() -> None:
    entries = chinese_calendar_entries()
    assert len(entries) == len(chinese_calendar.holidays) + len(chinese_calendar.workdays)
    assert [e.day for e in entries] == sorted(e.day for e in entries)
    by_day = {e.day: e for e in entries}
    assert by_day[date(2024, 2, 10)] == CalendarEntry(date(2024, 2, 10), False, "春节")
    assert by_day[date(2024, 2, 4)] == CalendarEntry(date(2024, 2, 4), True, "春节")
    assert by_day[date(2025, 10, 11)] == CalendarEntry(date(2025, 10, 11), True, "国庆节")
    assert by_day[date(2025, 10, 6)].name == "中秋节"
    assert by_day[date(2015, 9, 3)].name == HOLIDAY_NAMES_ZH["Anti-Fascist 70th Day"]
    assert {h.value for h in Holiday} <= HOLIDAY_NAMES_ZH.keys()
    assert {e.name for e in entries} <= set(HOLIDAY_NAMES_ZH.values())


# --- properties ------------------------------------------------------------------------

start_dates = st.dates(min_value=date(2004, 1, 1), max_value=date(2030, 12, 31))
counts = st.integers(min_value=0, max_value=40)


@given(start_dates, counts)
def test_between_inverts_add(start: date, n: int) -> None:
    due = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, due) == n
    if n >= 1:
        assert CAL.is_workday(due)
        # due is the first date reaching n working days
        assert CAL.working_days_between(start, due - timedelta(days=1)) == n - 1


@given(start_dates, counts)
def test_add_is_strictly_monotonic_in_n(start: date, n: int) -> None:
    assert CAL.add_working_days(start, n) < CAL.add_working_days(start, n + 1)


@given(st.dates(min_value=date(2027, 1, 1), max_value=date(2030, 12, 31)), counts)
def test_unpublished_years_are_plain_weekdays(start: date, n: int) -> None:
    weekdays_only = WorkCalendar(frozenset(), frozenset(), frozenset())
    due = CAL.add_working_days(start, n)
    assert due == weekdays_only.add_working_days(start, n)
    assert CAL.is_provisional(start, due)


# --- Deadline (Art. 14, 19, 32, 33) ----------------------------------------------------


def test_open_deadline() -> None:
    # Art. 14: the bureau reviews within 5 working days.
    d = Deadline.open(CAL, date(2024, 2, 6), 5)
    assert d.due == date(2024, 2, 19)  # 02-07, 02-08, 02-09, 02-18 (Sun make-up), 02-19
    assert not d.provisional
    assert d.extension_days == 0
    assert d.extended_by is None
    assert d.original_due is None
    with pytest.raises(ValueError):
        Deadline.open(CAL, date(2024, 2, 6), -1)


def test_open_deadline_into_unpublished_year_is_provisional() -> None:
    # Art. 32: answer within 10 working days, from 2026-12-20 it crosses into 2027.
    d = Deadline.open(CAL, date(2026, 12, 20), 10)
    assert d.due == date(2027, 1, 1)
    assert d.provisional
    assert d.status_label(date(2026, 12, 21), CAL) == "剩余9个工作日" + PROVISIONAL_NOTE


def test_extend_by_ten_over_national_day_2025() -> None:
    # Art. 19 ¶2: one extension of at most 10 working days, counted from the due date.
    # From Mon 2025-09-15: 09-16..19 (4), 09-22..26 (9), Sun 09-28 make-up (10).
    d = Deadline.open(CAL, date(2025, 9, 15), 10)
    assert d.due == date(2025, 9, 28)
    # Then 09-29, 09-30 (2), [10-01..08 off], 10-09, 10-10, Sat 10-11 make-up (5),
    # 10-13..17 (10).
    e = d.extend(CAL, MAX_EXTENSION_WORKING_DAYS, approved_by=HEAD)
    assert e.due == date(2025, 10, 17)
    assert e.original_due == date(2025, 9, 28)
    assert e.extension_days == 10
    assert e.extended_by == HEAD
    assert e.start == d.start
    assert e.working_days == 10
    assert not e.provisional


def test_extension_into_unpublished_year_becomes_provisional() -> None:
    # Art. 33 ¶2: from Thu 2026-12-10, due 2026-12-24; +10 reaches 2027-01-07.
    d = Deadline.open(CAL, date(2026, 12, 10), 10)
    assert d.due == date(2026, 12, 24)
    assert not d.provisional
    e = d.extend(CAL, 10, approved_by=HEAD)
    assert e.due == date(2027, 1, 7)
    assert e.provisional


def test_extension_longer_than_ten_is_refused() -> None:
    # Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2: "延长期限不超过10个工作日".
    d = Deadline.open(CAL, date(2025, 9, 15), 10)
    with pytest.raises(InvalidInput) as exc:
        d.extend(CAL, 11, approved_by=HEAD)
    assert exc.value.code == "deadline.extension_too_long"
    assert exc.value.message == "延长期限不得超过10个工作日。"
    assert exc.value.status == 400


@pytest.mark.parametrize("days", [0, -3])
def test_extension_of_less_than_one_day_is_refused(days: int) -> None:
    d = Deadline.open(CAL, date(2025, 9, 15), 10)
    with pytest.raises(InvalidInput) as exc:
        d.extend(CAL, days, approved_by=HEAD)
    assert exc.value.code == "deadline.extension_invalid"


def test_second_extension_is_refused() -> None:
    # Art. 19 ¶2: the deadline may be extended once.
    e = Deadline.open(CAL, date(2025, 9, 15), 10).extend(CAL, 3, approved_by=HEAD)
    with pytest.raises(Conflict) as exc:
        e.extend(CAL, 1, approved_by=HEAD)
    assert exc.value.code == "deadline.already_extended"
    assert exc.value.message == "该期限已延长过一次，不得再次延长。"
    assert exc.value.status == 409


def test_refusal_detail_is_json_safe() -> None:
    # The JSON error body carries ``detail`` as it is: dates must already be ISO text.
    e = Deadline.open(CAL, date(2025, 9, 15), 10).extend(CAL, 3, approved_by=HEAD)
    with pytest.raises(Conflict) as exc:
        e.extend(CAL, 1, approved_by=HEAD)
    assert json.loads(json.dumps(exc.value.detail)) == {
        "original_due": "2025-09-28",
        "due": e.due.isoformat(),
    }


def test_is_overdue() -> None:
    d = Deadline.open(CAL, date(2025, 9, 15), 10)  # due 2025-09-28
    assert not d.is_overdue(date(2025, 9, 28))
    assert d.is_overdue(date(2025, 9, 29))
    assert not d.is_overdue(date(2025, 10, 20), answered_on=date(2025, 9, 28))
    assert d.is_overdue(date(2025, 9, 29), answered_on=date(2025, 9, 29))
    e = d.extend(CAL, 10, approved_by=HEAD)  # due 2025-10-17
    assert not e.is_overdue(date(2025, 10, 17))
    assert e.is_overdue(date(2025, 10, 18))


def test_remaining_working_days_and_labels() -> None:
    d = Deadline.open(CAL, date(2025, 9, 15), 10)  # due Sun 2025-09-28 (make-up day)
    assert d.remaining_working_days(CAL, date(2025, 9, 15)) == 10
    assert d.remaining_working_days(CAL, date(2025, 9, 26)) == 1
    assert d.remaining_working_days(CAL, date(2025, 9, 28)) == 0
    # Past due: 09-29, 09-30, then the holiday, then 10-09.
    assert d.remaining_working_days(CAL, date(2025, 9, 30)) == -2
    assert d.remaining_working_days(CAL, date(2025, 10, 8)) == -2
    assert d.remaining_working_days(CAL, date(2025, 10, 9)) == -3

    assert d.status_label(date(2025, 9, 15), CAL) == "剩余10个工作日"
    assert d.status_label(date(2025, 9, 28)) == "今日到期"
    assert d.status_label(date(2025, 9, 30), CAL) == "已超期2个工作日"
    assert d.status_label(date(2025, 9, 30), CAL, answered_on=date(2025, 9, 28)) == "已按期办结"
    assert d.status_label(date(2025, 9, 30), CAL, answered_on=date(2025, 9, 29)) == "逾期办结"


def test_overdue_on_a_day_off_right_after_due() -> None:
    d = Deadline.open(CAL, date(2025, 9, 22), 4)  # due Fri 2025-09-26
    assert d.due == date(2025, 9, 26)
    assert d.is_overdue(date(2025, 9, 27))  # Saturday: past the date, no working day lost
    assert d.remaining_working_days(CAL, date(2025, 9, 27)) == 0
    assert d.status_label(date(2025, 9, 27), CAL) == "已超期"


def test_recomputed_when_a_year_gets_published() -> None:
    d = Deadline.open(CAL, date(2026, 12, 20), 10)
    assert d.provisional
    # Suppose 2027 is published with 2027-01-01 off.
    cal_2027 = WorkCalendar(
        CAL.holidays | {date(2027, 1, 1)},
        CAL.makeup_workdays,
        CAL.published_years | {2027},
    )
    r = d.recomputed(cal_2027)
    assert r.due == date(2027, 1, 4)
    assert not r.provisional
    e = d.extend(CAL, 2, approved_by=HEAD).recomputed(cal_2027)
    assert e.original_due == date(2027, 1, 4)
    assert e.due == date(2027, 1, 6)
    assert e.extended_by == HEAD
