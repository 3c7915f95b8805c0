"""Working-day arithmetic for the deadlines of 《重庆市政务数据资源管理暂行办法》.

The regulation counts its deadlines in working days (工作日):

* Art. 14: a department applies for a catalog update within 10 working days; the
  municipal big-data bureau reviews the application within 5 working days.
* Art. 19: a correction is made within 10 working days; it may be extended once, by
  no more than 10 working days, with the approval of the department head.
* Art. 32 and Art. 33: an answer is given within 10 working days, with the same
  single extension of at most 10 working days.

Working days follow the State Council's annual holiday schedule (国务院办公厅关于
节假日安排的通知), including its make-up working days (调休上班, weekend days that
are working days). A period counted in days does not include its first day
(《民法典》Art. 201), so counting starts on the day after the start date.

The State Council publishes each year's schedule late in the previous year. For a
year that is not published yet, only weekends are days off, and every deadline
touching such a year is flagged *provisional*: it is never guessed silently.

This module is pure logic. The store layer keeps the calendar in a table (seeded from
:func:`chinese_calendar_entries`) and builds a :class:`WorkCalendar` from it;
:func:`default_calendar` builds one from the ``chinese_calendar`` package.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import chinese_calendar

from govdata.core.errors import Conflict, InvalidInput

__all__ = [
    "HOLIDAY_NAMES_ZH",
    "MAX_EXTENSION_WORKING_DAYS",
    "PROVISIONAL_NOTE",
    "CalendarEntry",
    "Deadline",
    "WorkCalendar",
    "add_working_days",
    "check_extension_days",
    "chinese_calendar_entries",
    "default_calendar",
    "from_chinese_calendar",
    "working_days_between",
]

#: Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2: "延长期限不超过10个工作日".
MAX_EXTENSION_WORKING_DAYS = 10

#: Appended to the status label of a provisional deadline.
PROVISIONAL_NOTE = "（暂按工作日计算，待国务院公布该年度节假日安排）"

#: English names used by ``chinese_calendar.constants.Holiday`` -> official Chinese names.
HOLIDAY_NAMES_ZH: dict[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


def _as_date(d: date) -> date:
    """A ``datetime`` is a ``date`` subclass but never equal to one: normalise it."""
    return d.date() if isinstance(d, datetime) else d


@dataclass(frozen=True)
class WorkCalendar:
    """The official working-day calendar.

    ``holidays`` are days off (typically weekdays inside a holiday period; weekend days
    listed there are harmless), ``makeup_workdays`` are weekend days that are working
    days (调休上班), and ``published_years`` are the years whose official schedule is
    loaded. For any other year only weekends are days off, whatever the two sets say.
    """

    holidays: frozenset[date] = field(repr=False)
    makeup_workdays: frozenset[date] = field(repr=False)
    published_years: frozenset[int]

    def is_published(self, year: int) -> bool:
        """Whether the State Council's schedule for ``year`` is loaded."""
        return year in self.published_years

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day.

        A make-up working day is a working day; a holiday is not; otherwise Monday to
        Friday. In a year that is not published, Monday to Friday.
        """
        d = _as_date(d)
        if d.year in self.published_years:
            if d in self.makeup_workdays:
                return True
            if d in self.holidays:
                return False
        return d.weekday() < _SATURDAY

    def add_working_days(self, start: date, n: int) -> date:
        """The date of the ``n``-th working day after ``start``.

        Counting begins on the day after ``start`` (《民法典》Art. 201), so a deadline
        of 10 working days opened on ``start`` is due on the returned date. ``n == 0``
        returns ``start``; a negative ``n`` raises :class:`ValueError`.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        d = _as_date(start)
        remaining = n
        while remaining > 0:
            d += _ONE_DAY
            if self.is_workday(d):
                remaining -= 1
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days ``d`` with ``a < d <= b`` (0 when ``b <= a``).

        The inverse of :meth:`add_working_days`:
        ``working_days_between(s, add_working_days(s, n)) == n``.
        """
        a, b = _as_date(a), _as_date(b)
        count = 0
        d = a + _ONE_DAY
        while d <= b:
            if self.is_workday(d):
                count += 1
            d += _ONE_DAY
        return count

    def unpublished_years(self, start: date, end: date) -> list[int]:
        """The years from ``start`` to ``end`` (either order) that are not published."""
        lo, hi = sorted((start.year, end.year))
        return [y for y in range(lo, hi + 1) if y not in self.published_years]

    def is_provisional(self, start: date, end: date) -> bool:
        """Whether a period from ``start`` to ``end`` touches an unpublished year.

        Such a period was computed on weekdays only for a year the State Council has not
        published yet, so it may move once the schedule is out.
        """
        return bool(self.unpublished_years(start, end))


@dataclass(frozen=True)
class CalendarEntry:
    """One day of the official schedule: a day off or a make-up working day."""

    day: date
    is_workday: bool
    name: str


def _zh_name(name: str) -> str:
    return HOLIDAY_NAMES_ZH.get(name, name)


def chinese_calendar_entries() -> list[CalendarEntry]:
    """Every day listed by the ``chinese_calendar`` package, sorted by day.

    Days off have ``is_workday=False``, make-up working days ``is_workday=True``; the
    holiday name is given in Chinese (unknown names are kept as they are). The store
    layer seeds its calendar table from these entries.
    """
    holidays: dict[date, str] = dict(chinese_calendar.holidays)
    workdays: dict[date, str] = dict(chinese_calendar.workdays)
    entries = [CalendarEntry(d, False, _zh_name(n)) for d, n in holidays.items()]
    entries += [CalendarEntry(d, True, _zh_name(n)) for d, n in workdays.items()]
    entries.sort(key=lambda e: e.day)
    return entries


def from_chinese_calendar() -> WorkCalendar:
    """A :class:`WorkCalendar` built from the ``chinese_calendar`` package.

    The published years are every year from the first to the last year the package
    lists. Prefer :func:`default_calendar`, which builds it once.
    """
    holidays: frozenset[date] = frozenset(chinese_calendar.holidays)
    makeup: frozenset[date] = frozenset(chinese_calendar.workdays)
    years = {d.year for d in holidays | makeup}
    published = frozenset(range(min(years), max(years) + 1)) if years else frozenset()
    return WorkCalendar(holidays=holidays, makeup_workdays=makeup, published_years=published)


@functools.cache
def default_calendar() -> WorkCalendar:
    """The calendar of the ``chinese_calendar`` package, built once per process."""
    return from_chinese_calendar()


def add_working_days(start: date, n: int, calendar: WorkCalendar | None = None) -> date:
    """:meth:`WorkCalendar.add_working_days` on ``calendar`` or the default calendar."""
    return (calendar or default_calendar()).add_working_days(start, n)


def working_days_between(a: date, b: date, calendar: WorkCalendar | None = None) -> int:
    """:meth:`WorkCalendar.working_days_between` on ``calendar`` or the default calendar."""
    return (calendar or default_calendar()).working_days_between(a, b)


def check_extension_days(days: int) -> None:
    """Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2: an extension is of 1 to 10 working days.

    Raises :class:`InvalidInput` ``deadline.extension_invalid`` (``days < 1``) or
    ``deadline.extension_too_long`` (``days > 10``).
    """
    if days < 1:
        raise InvalidInput(
            "deadline.extension_invalid",
            "延长期限至少为1个工作日。",
            detail={"days": days},
        )
    if days > MAX_EXTENSION_WORKING_DAYS:
        raise InvalidInput(
            "deadline.extension_too_long",
            f"延长期限不得超过{MAX_EXTENSION_WORKING_DAYS}个工作日。",
            detail={"days": days, "max": MAX_EXTENSION_WORKING_DAYS},
        )


@dataclass(frozen=True)
class Deadline:
    """A deadline counted in working days, with at most one extension.

    Serves Art. 14 (catalog update: 10 working days to apply, 5 to review), Art. 19
    (correction: 10 working days), Art. 32 and Art. 33 (answer: 10 working days). Under
    Art. 19 ¶2, Art. 32 ¶3 and Art. 33 ¶2 the deadline may be extended once, by no
    more than 10 working days, with the approval of the department head.

    ``due`` is the last day on which the duty is fulfilled in time. ``provisional`` is
    True when the span from ``start`` to ``due`` touches a year whose official schedule
    is not published (computed on weekdays). After an extension ``original_due`` keeps
    the due date before it and ``extended_by`` the person id of the approver.
    """

    start: date
    working_days: int
    due: date
    provisional: bool
    extension_days: int = 0
    extended_by: int | None = None
    original_due: date | None = None

    def __post_init__(self) -> None:
        if self.working_days < 0:
            raise ValueError(f"working_days must be >= 0, got {self.working_days}")
        if not 0 <= self.extension_days <= MAX_EXTENSION_WORKING_DAYS:
            raise ValueError(f"extension_days out of range: {self.extension_days}")
        if (self.extension_days > 0) != (self.original_due is not None):
            raise ValueError("extension_days and original_due must be set together")
        if self.due < self.start:
            raise ValueError("due must not be before start")

    @classmethod
    def open(cls, calendar: WorkCalendar, start: date, working_days: int) -> Deadline:
        """A deadline of ``working_days`` working days counted from the day after ``start``."""
        start = _as_date(start)
        due = calendar.add_working_days(start, working_days)
        return cls(
            start=start,
            working_days=working_days,
            due=due,
            provisional=calendar.is_provisional(start, due),
        )

    @property
    def is_extended(self) -> bool:
        return self.extension_days > 0

    def extend(self, calendar: WorkCalendar, days: int, approved_by: int) -> Deadline:
        """The deadline extended once by ``days`` working days counted from its due date.

        Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2: one extension only, of at most 10 working
        days. Raises :class:`InvalidInput` (``deadline.extension_invalid`` for
        ``days < 1``, ``deadline.extension_too_long`` for ``days > 10``) or
        :class:`Conflict` (``deadline.already_extended``).

        Whether ``approved_by`` is the department head (部门负责人) is checked by the
        calling service, not here: this only records the id.
        """
        if self.is_extended:
            assert self.original_due is not None  # set together with extension_days
            raise Conflict(
                "deadline.already_extended",
                "该期限已延长过一次，不得再次延长。",
                # ISO text: the JSON error body carries the detail as it is.
                detail={"original_due": self.original_due.isoformat(), "due": self.due.isoformat()},
            )
        check_extension_days(days)
        due = calendar.add_working_days(self.due, days)
        return replace(
            self,
            due=due,
            provisional=calendar.is_provisional(self.start, due),
            extension_days=days,
            extended_by=approved_by,
            original_due=self.due,
        )

    def recomputed(self, calendar: WorkCalendar) -> Deadline:
        """The same deadline recomputed on ``calendar``.

        For when the State Council publishes a year that a provisional deadline touches:
        the caller decides whether to adopt the new due date.
        """
        original = calendar.add_working_days(self.start, self.working_days)
        if not self.is_extended:
            return replace(
                self, due=original, provisional=calendar.is_provisional(self.start, original)
            )
        due = calendar.add_working_days(original, self.extension_days)
        return replace(
            self,
            due=due,
            original_due=original,
            provisional=calendar.is_provisional(self.start, due),
        )

    def is_overdue(self, today: date, *, answered_on: date | None = None) -> bool:
        """Whether the deadline is missed.

        Answered on or before the due date: not overdue; answered after it: overdue;
        unanswered: overdue once ``today`` is past the due date.
        """
        if answered_on is not None:
            return _as_date(answered_on) > self.due
        return _as_date(today) > self.due

    def remaining_working_days(self, calendar: WorkCalendar, today: date) -> int:
        """Working days left after ``today`` up to the due date (0 on the due date).

        Negative when overdue: minus the working days elapsed after the due date.
        """
        today = _as_date(today)
        if today <= self.due:
            return calendar.working_days_between(today, self.due)
        return -calendar.working_days_between(self.due, today)

    def status_label(
        self,
        today: date,
        calendar: WorkCalendar | None = None,
        *,
        answered_on: date | None = None,
    ) -> str:
        """A zh-CN status: "剩余N个工作日", "今日到期", "已超期N个工作日", ...

        With ``answered_on``: "已按期办结" or "逾期办结". Otherwise a provisional
        deadline gets :data:`PROVISIONAL_NOTE` appended.
        """
        cal = calendar or default_calendar()
        today = _as_date(today)
        if answered_on is not None:
            return "逾期办结" if self.is_overdue(today, answered_on=answered_on) else "已按期办结"
        if today > self.due:
            late = -self.remaining_working_days(cal, today)
            label = f"已超期{late}个工作日" if late > 0 else "已超期"
        elif today == self.due:
            label = "今日到期"
        else:
            left = self.remaining_working_days(cal, today)
            label = f"剩余{left}个工作日" if left > 0 else "即将到期"
        return label + PROVISIONAL_NOTE if self.provisional else label
