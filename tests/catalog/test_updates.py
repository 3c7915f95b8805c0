"""Catalog updates within statutory deadlines (Art. 14), on the statutory calendar."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from govdata.catalog import review, service, updates
from govdata.catalog.models import ReviewEntry
from govdata.catalog.schemas import ChangeIn
from govdata.core import calendar
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from tests.catalog.factories import person_resource


def _publish_first_version(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    service.create_resource(session, officer, world.police, person_resource())
    review.submit(session, officer, world.police)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)


def test_apply_clock_crosses_the_spring_festival(session, world) -> None:  # type: ignore[no-untyped-def]
    # Art. 14 ¶1: 10 working days from a change on Thu 2026-02-12. Working: 13, 14 (调休 Sat),
    # then the holiday 15–23, then 24, 25, 26, 27, 28 (调休 Sat), Mar 2, 3, 4.
    officer = world.actor(session, "officer")
    change = updates.record_change(
        session,
        officer,
        world.police,
        ChangeIn(kind="law", description="《某条例》修订", occurred_on=date(2026, 2, 12)),
    )
    assert change.apply_due == date(2026, 3, 4)
    assert change.apply_due_provisional is False
    clock = updates.apply_clock(change, today=date(2026, 3, 4))
    assert (clock.overdue, clock.label) == (False, "办理中")
    clock = updates.apply_clock(change, today=date(2026, 3, 5))
    assert (clock.overdue, clock.label) == (True, "已逾期")


def test_apply_clock_crosses_national_day(session, world) -> None:  # type: ignore[no-untyped-def]
    # Fri 2025-09-26: 28 (调休 Sun), 29, 30, holiday Oct 1–8, 9, 10, 11 (调休 Sat), 13–16.
    officer = world.actor(session, "officer")
    change = updates.record_change(
        session,
        officer,
        world.police,
        ChangeIn(kind="function", description="职能调整", occurred_on=date(2025, 9, 26)),
    )
    assert change.apply_due == date(2025, 10, 16)


def test_an_application_names_its_change_and_stops_the_clock(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _publish_first_version(session, world)
    officer = world.actor(session, "officer")
    change = updates.record_change(
        session,
        officer,
        world.police,
        ChangeIn(kind="law", description="法规修订", occurred_on=date(2026, 2, 12)),
    )
    assert updates.open_changes(session, officer, world.police) == [change]
    service.create_resource(session, officer, world.police, person_resource("新增资源"))
    # The application reaches the city on 2026-03-05, one day late; the city's 5 working days
    # run from then (Art. 14 ¶2): 6, 9, 10, 11, 12.
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 3, 5))
    sub = review.submit(session, officer, world.police, change_id=change.id)
    assert change.applied_on == date(2026, 3, 5) and change.submission_id == sub.id
    clock = updates.apply_clock(change, today=date(2026, 3, 5))
    assert (clock.late, clock.label) == (True, "逾期办结")
    assert sub.is_update and sub.review_due == date(2026, 3, 12)
    with pytest.raises(Conflict) as err:
        review.submit(session, officer, world.police, change_id=change.id)
    assert err.value.code == "catalog.change_already_applied"

    # Both sides are flagged once overdue: the city has not reviewed by 2026-03-13.
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 3, 13))
    report = updates.overdue(session, world.actor(session, "city"))
    assert [s.id for s in report.reviews] == [sub.id]
    clock = updates.review_clock(sub, today=date(2026, 3, 13))
    assert clock is not None and clock.overdue


def test_review_clock_crosses_a_holiday(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _publish_first_version(session, world)
    officer = world.actor(session, "officer")
    service.create_resource(session, officer, world.police, person_resource("国庆前提交"))
    # Received Fri 2025-09-26: 28 (调休), 29, 30, then Oct 9, 10.
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 9, 26))
    sub = review.submit(session, officer, world.police)
    assert sub.review_due == date(2025, 10, 10)


def test_an_unapplied_change_is_overdue_for_the_department(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    change = updates.record_change(
        session,
        officer,
        world.police,
        ChangeIn(kind="law", description="法规修订", occurred_on=date(2026, 2, 12)),
    )
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 3, 5))
    assert updates.overdue(session, officer).changes == [change]
    page = updates.list_changes(session, officer, overdue_only=True)
    assert [c.id for c in page.items] == [change.id]
    # Another department does not see it.
    assert updates.overdue(session, world.actor(session, "officer2")).changes == []


def test_change_rules(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 3, 1))
    with pytest.raises(InvalidInput) as err:
        updates.record_change(
            session,
            officer,
            world.police,
            ChangeIn(kind="law", description="未来的修订", occurred_on=date(2026, 3, 2)),
        )
    assert err.value.code == "catalog.change_in_future"
    with pytest.raises(PermissionDenied):
        updates.record_change(
            session,
            world.actor(session, "auditor"),
            world.police,
            ChangeIn(kind="law", description="修订", occurred_on=date(2026, 2, 2)),
        )


def test_a_deadline_into_an_unpublished_year_is_provisional(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The calendar is seeded to 2026; a change late in December reaches into 2027.
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 12, 31))
    change = updates.record_change(
        session,
        world.actor(session, "officer"),
        world.police,
        ChangeIn(kind="law", description="年末修订", occurred_on=date(2026, 12, 28)),
    )
    assert change.apply_due.year == 2027
    assert change.apply_due_provisional is True
