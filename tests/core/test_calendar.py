"""The statutory calendar table the city bureau keeps (Art. 14, 19, 32, 33 deadlines)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core import calendar as cal
from govdata.core.audit import AuditEvent
from govdata.core.errors import InvalidInput, PermissionDenied
from govdata.core.workdays import CalendarEntry, default_calendar
from tests.world import World


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_migration_seeds_the_state_council_calendar(session: Session) -> None:
    loaded = cal.load_calendar(session)
    reference = default_calendar()
    assert loaded.holidays == reference.holidays
    assert loaded.makeup_workdays == reference.makeup_workdays
    assert loaded.published_years == frozenset(range(2004, 2027))


def test_deadline_over_spring_festival_2026(session: Session) -> None:
    # Art. 14: 10 working days from Fri 13 Feb 2026; Feb 15–23 off, Sat 14 and Sat 28 worked.
    d = cal.deadline(session, date(2026, 2, 13), 10)
    assert d.due == date(2026, 3, 5)
    assert not d.provisional


def test_deadline_over_national_day_2026(session: Session) -> None:
    # Art. 19: Oct 1–7 off, Sat 10 Oct worked.
    assert cal.deadline(session, date(2026, 9, 28), 10).due == date(2026, 10, 16)


def test_deadline_into_an_unpublished_year_is_provisional(session: Session) -> None:
    d = cal.deadline(session, date(2026, 12, 24), 10)
    assert d.provisional
    # Weekdays only: Dec 25, 28–31, Jan 1, 4–7 2027.
    assert d.due == date(2027, 1, 7)


def test_importing_the_new_year_makes_deadlines_final(session: Session, world: World) -> None:
    actor = world.actor(session, "city")
    entries = [
        CalendarEntry(date(2027, 1, 1), False, "元旦"),
        CalendarEntry(date(2027, 1, 4), False, "元旦"),
    ]
    result = cal.import_year(session, actor, 2027, entries, source="test")
    assert (result.holidays, result.makeup_workdays) == (2, 0)
    d = cal.deadline(session, date(2026, 12, 24), 10)
    assert not d.provisional
    assert d.due == date(2027, 1, 11)  # two more days off than the weekday guess
    assert (
        session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1))
        == "workdays.year.import"
    )


def test_only_the_city_bureau_edits_the_calendar(session: Session, world: World) -> None:
    before = _count(session, cal.CalendarDay)
    for username in ("officer", "yz_admin", "auditor", "head"):
        with pytest.raises(PermissionDenied) as exc:
            cal.set_day(
                session,
                world.actor(session, username),
                CalendarEntry(date(2027, 10, 1), False, "国庆节"),
            )
        assert exc.value.code == "workdays.forbidden"
    assert _count(session, cal.CalendarDay) == before


def test_set_day_and_remove_day(session: Session, world: World) -> None:
    actor = world.actor(session, "city")
    cal.set_day(session, actor, CalendarEntry(date(2027, 10, 1), False, "国庆节"))
    assert not cal.load_calendar(session).is_published(2027)
    assert date(2027, 10, 1) in cal.load_calendar(session).holidays
    cal.remove_day(session, actor, date(2027, 10, 1))
    assert date(2027, 10, 1) not in cal.load_calendar(session).holidays


def test_makeup_day_must_be_a_weekend(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as exc:
        cal.set_day(
            session, world.actor(session, "city"), CalendarEntry(date(2027, 2, 3), True, "春节")
        )
    assert exc.value.code == "workdays.makeup_not_weekend"


def test_import_refuses_a_day_of_another_year_and_stores_nothing(
    session: Session, world: World
) -> None:
    before = (_count(session, cal.CalendarDay), _count(session, cal.CalendarYear))
    with pytest.raises(InvalidInput) as exc:
        cal.import_year(
            session,
            world.actor(session, "city"),
            2027,
            [
                CalendarEntry(date(2027, 1, 1), False, "元旦"),
                CalendarEntry(date(2028, 1, 1), False, "元旦"),
            ],
            source="test",
        )
    assert exc.value.code == "workdays.wrong_year"
    assert (_count(session, cal.CalendarDay), _count(session, cal.CalendarYear)) == before


def test_publish_year_needs_days(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as exc:
        cal.publish_year(session, world.actor(session, "city"), 2031)
    assert exc.value.code == "workdays.year_empty"


def test_parse_calendar_csv() -> None:
    entries = cal.parse_calendar_csv(
        "\ufeff日期,类型,名称\n2027-01-01,放假,元旦\n\n2027-02-06,调休上班,春节\n"
    )
    assert entries == [
        CalendarEntry(date(2027, 1, 1), False, "元旦"),
        CalendarEntry(date(2027, 2, 6), True, "春节"),
    ]


def test_parse_calendar_csv_reports_every_bad_line() -> None:
    with pytest.raises(InvalidInput) as exc:
        cal.parse_calendar_csv(
            "2027-01-01,放假,元旦\n2027-13-01,放假,元旦\n2027-01-02,休息日\n2027-01-03,补班,元旦\n"
        )
    assert exc.value.code == "workdays.bad_file"
    assert [d["line"] for d in exc.value.detail] == [2, 3, 4]


def test_only_the_department_head_approves_an_extension(session: Session, world: World) -> None:
    # Art. 19 ¶2: one extension of at most 10 working days, approved by the head.
    d = cal.deadline(session, date(2026, 9, 21), 10)
    for username in ("officer", "city", "auditor"):
        with pytest.raises(PermissionDenied) as exc:
            cal.approve_extension(
                session, world.actor(session, username), d, department_id=world.police, days=5
            )
        assert exc.value.code == "deadline.head_approval_required"
    head = world.actor(session, "head")
    with pytest.raises(PermissionDenied):  # head of another department
        cal.approve_extension(session, head, d, department_id=world.market, days=5)
    with pytest.raises(InvalidInput) as too_long:
        cal.approve_extension(session, head, d, department_id=world.police, days=11)
    assert too_long.value.code == "deadline.extension_too_long"
    extended = cal.approve_extension(session, head, d, department_id=world.police, days=10)
    # Due Oct 12: Sep 25 is Mid-Autumn, Oct 1–7 National Day, Sat Oct 10 a make-up day.
    assert d.due == date(2026, 10, 12)
    assert extended.due == date(2026, 10, 26)
    assert extended.extended_by == world.people["head"]
