"""The demo history's calendar: the twelve months before the current one, working days in
them (the State Council calendar the platform keeps, Art. 14, 19) and office hours in the
city's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from govdata.core.calendar import CITY_TZ
from govdata.core.workdays import WorkCalendar

MONTHS = 12  # the history covers the twelve whole months before the current one


def month_starts(today: date, months: int = MONTHS) -> list[date]:
    """The first days of the ``months`` months before ``today``'s month, oldest first."""
    starts: list[date] = []
    year, month = today.year, today.month
    for _ in range(months):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        starts.append(date(year, month, 1))
    return starts[::-1]


def working_day(cal: WorkCalendar, start: date, day: int) -> date:
    """The first working day on or after the ``day``-th of ``start``'s month (1..20: a
    working day is always found within the month)."""
    d = start.replace(day=max(1, min(day, 20)))
    while not cal.is_workday(d):
        d += timedelta(days=1)
    return d


def next_working_day(cal: WorkCalendar, d: date, days: int = 1) -> date:
    """``days`` working days after ``d``."""
    return cal.add_working_days(d, days)


def office_time(day: date, minutes_after_nine: int) -> datetime:
    """A moment of office hours (09:00 + minutes, Beijing time) on ``day``, in UTC."""
    minutes = max(0, min(minutes_after_nine, 8 * 60))
    local = datetime.combine(day, time(9, 0), CITY_TZ) + timedelta(minutes=minutes)
    return local.astimezone(UTC)
