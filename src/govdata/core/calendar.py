"""The statutory calendar as the city bureau keeps it (the store behind ``core.workdays``).

Seeded from ``chinesecalendar`` (2004–2026) by the initial migration; the city bureau adds each
new year from a page or by ``govdata workdays import`` once the State Council publishes it.
A year without a published calendar is computed on weekdays and every deadline touching it is
marked provisional (``WorkCalendar.is_provisional``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Date, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from govdata.core import audit
from govdata.core.actor import Actor, Role
from govdata.core.db import Base, utcnow
from govdata.core.errors import InvalidInput, PermissionDenied
from govdata.core.workdays import CalendarEntry, Deadline, WorkCalendar


class CalendarDay(Base):
    """A day that differs from the weekday rule: a holiday, or a make-up working day (调休)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(60))


class CalendarYear(Base):
    """A year whose official schedule is loaded: deadlines in it are final, not provisional."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))  # chinesecalendar / import / page
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


CITY_TZ = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today in the city: statutory working days are counted on Beijing time."""
    return datetime.now(CITY_TZ).date()


# --- reading ---------------------------------------------------------------------------------


def load_calendar(session: Session) -> WorkCalendar:
    """The calendar in the database, read afresh (a few hundred rows).

    Not cached across calls: a correction made by another app process must count at once,
    and a statutory deadline is no place for a stale calendar.
    """
    days = session.execute(select(CalendarDay.day, CalendarDay.is_workday)).all()
    published = session.scalars(select(CalendarYear.year)).all()
    return WorkCalendar(
        holidays=frozenset(d for d, w in days if not w),
        makeup_workdays=frozenset(d for d, w in days if w),
        published_years=frozenset(published),
    )


def published_years(session: Session) -> list[CalendarYear]:
    return list(session.scalars(select(CalendarYear).order_by(CalendarYear.year)))


def days_of_year(session: Session, year: int) -> list[CalendarDay]:
    return list(
        session.scalars(
            select(CalendarDay)
            .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
            .order_by(CalendarDay.day)
        )
    )


def deadline(session: Session, start: date, working_days: int) -> Deadline:
    """A statutory deadline (Art. 14, 19, 32, 33) on the calendar in force."""
    if working_days < 0 or working_days > 366:
        raise InvalidInput("workdays.days_out_of_range", "工作日数应在 0 到 366 之间。")
    return Deadline.open(load_calendar(session), start, working_days)


def approve_extension(
    session: Session, actor: Actor, deadline: Deadline, *, department_id: int, days: int
) -> Deadline:
    """Extend a deadline once, by at most 10 working days, with the department head's approval.

    Art. 19 ¶2 (corrections), Art. 32 ¶3 (open-catalog corrections), Art. 33 ¶2 (conditional
    open-data applications): "经政务数据提供部门主要负责人同意". The caller's service records the
    extension on its own object, in its own audit event.
    """
    if department_id not in actor.department_ids(Role.DEPARTMENT_HEAD):
        raise PermissionDenied(
            "deadline.head_approval_required", "延长期限须经本部门主要负责人同意。"
        )
    assert actor.person_id is not None  # a department head is a person, never a token
    return deadline.extend(load_calendar(session), days, approved_by=actor.person_id)


# --- changing ---------------------------------------------------------------------------------


def _require_city_admin(actor: Actor) -> None:
    if not actor.has(Role.CITY_BUREAU_ADMIN):
        raise PermissionDenied("workdays.forbidden", "只有市数据主管部门管理员可以维护工作日历。")


def _check_day(entry: CalendarEntry) -> None:
    weekend = entry.day.weekday() >= 5
    if entry.is_workday and not weekend:
        raise InvalidInput(
            "workdays.makeup_not_weekend",
            f"{entry.day.isoformat()} 本是工作日，无需登记为调休上班日。",
        )
    if not entry.name.strip():
        raise InvalidInput("workdays.name_required", f"{entry.day.isoformat()} 须注明节日名称。")


def set_day(session: Session, actor: Actor, entry: CalendarEntry) -> CalendarDay:
    """Record one holiday or make-up working day (a correction, or a year built day by day)."""
    _require_city_admin(actor)
    _check_day(entry)
    row = session.get(CalendarDay, entry.day)
    if row is None:
        row = CalendarDay(day=entry.day, is_workday=entry.is_workday, name=entry.name.strip())
        session.add(row)
    else:
        row.is_workday, row.name = entry.is_workday, entry.name.strip()
    session.flush()
    kind = "调休上班" if entry.is_workday else "放假"
    audit.record(
        session,
        actor,
        "workdays.day.set",
        object_type="calendar_day",
        object_id=entry.day.isoformat(),
        summary=f"登记 {entry.day.isoformat()} 为{kind}（{row.name}）",
        change={"day": entry.day, "is_workday": entry.is_workday, "name": row.name},
    )
    return row


def remove_day(session: Session, actor: Actor, day: date) -> None:
    _require_city_admin(actor)
    row = session.get(CalendarDay, day)
    if row is None:
        raise InvalidInput("workdays.day_not_found", f"{day.isoformat()} 没有登记的节假日安排。")
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        "workdays.day.remove",
        object_type="calendar_day",
        object_id=day.isoformat(),
        summary=f"删除 {day.isoformat()} 的节假日登记",
    )


@dataclass(frozen=True)
class YearImport:
    year: int
    holidays: int
    makeup_workdays: int


def import_year(
    session: Session, actor: Actor, year: int, entries: list[CalendarEntry], *, source: str
) -> YearImport:
    """Replace one year's schedule and mark it published: its deadlines become final."""
    _require_city_admin(actor)
    if not entries:
        raise InvalidInput("workdays.empty_import", "导入内容为空：至少应包含一天放假安排。")
    for entry in entries:
        if entry.day.year != year:
            raise InvalidInput("workdays.wrong_year", f"{entry.day.isoformat()} 不属于 {year} 年。")
        _check_day(entry)
    session.execute(
        delete(CalendarDay).where(
            CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
        )
    )
    session.add_all(
        CalendarDay(day=e.day, is_workday=e.is_workday, name=e.name.strip()) for e in entries
    )
    existing = session.get(CalendarYear, year)
    if existing is None:
        session.add(CalendarYear(year=year, source=source, loaded_at=utcnow()))
    else:
        existing.source, existing.loaded_at = source, utcnow()
    session.flush()
    result = YearImport(
        year=year,
        holidays=sum(1 for e in entries if not e.is_workday),
        makeup_workdays=sum(1 for e in entries if e.is_workday),
    )
    audit.record(
        session,
        actor,
        "workdays.year.import",
        object_type="calendar_year",
        object_id=year,
        summary=f"导入 {year} 年节假日安排：放假 {result.holidays} 天，"
        f"调休上班 {result.makeup_workdays} 天",
        change={"entries": [(e.day, e.is_workday, e.name) for e in entries], "source": source},
    )
    return result


def publish_year(session: Session, actor: Actor, year: int) -> CalendarYear:
    """Declare a year complete after entering its days one by one on the page."""
    _require_city_admin(actor)
    if not days_of_year(session, year):
        raise InvalidInput(
            "workdays.year_empty", f"{year} 年尚未登记任何节假日，不能标记为已公布。"
        )
    row = session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year, source="page", loaded_at=utcnow())
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            "workdays.year.publish",
            object_type="calendar_year",
            object_id=year,
            summary=f"确认 {year} 年节假日安排已完整登记",
        )
    return row


KIND_WORDS = {
    "放假": False,
    "休": False,
    "holiday": False,
    "off": False,
    "调休上班": True,
    "上班": True,
    "班": True,
    "workday": True,
}


def parse_calendar_csv(text: str) -> list[CalendarEntry]:
    """Parse ``日期,类型,名称`` rows (类型: 放假 or 调休上班); a header row is optional."""
    entries: list[CalendarEntry] = []
    errors: list[dict[str, object]] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    for lineno, row in enumerate(reader, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if lineno == 1 and cells[0] in ("日期", "date"):
            continue
        if len(cells) < 3:
            errors.append({"line": lineno, "message": "每行应有 日期、类型、名称 三列"})
            continue
        try:
            day = date.fromisoformat(cells[0])
        except ValueError:
            errors.append({"line": lineno, "message": f"“{cells[0]}”不是 YYYY-MM-DD 格式的日期"})
            continue
        kind = KIND_WORDS.get(cells[1].lower())
        if kind is None:
            errors.append({"line": lineno, "message": f"类型“{cells[1]}”应为 放假 或 调休上班"})
            continue
        entries.append(CalendarEntry(day=day, is_workday=kind, name=cells[2]))
    if errors:
        raise InvalidInput(
            "workdays.bad_file",
            f"节假日文件有 {len(errors)} 处错误，未导入任何内容。",
            detail=errors,
        )
    return entries
