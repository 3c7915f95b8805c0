"""Catalog updates within statutory deadlines (Art. 14), on the statutory calendar."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from govdata.catalog import review, service, updates
from govdata.catalog.models import ReviewEntry
from govdata.catalog.schemas import ChangeIn
from govdata.core import calendar, obligations
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.core.obligations import Obligation
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
    assert (clock.overdue, clock.state_label) == (False, "办理中")
    clock = updates.apply_clock(change, today=date(2026, 3, 5))
    assert (clock.overdue, clock.state_label) == (True, "已逾期")


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
    assert (clock.late, clock.state_label) == (True, "逾期办结")
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


# --- the obligations register (Art. 14, Art. 50(8)) ---------------------------------------------


def _obligation(session, kind, subject_type: str, subject_id: int) -> Obligation:  # type: ignore[no-untyped-def]
    ob = obligations.find(session, kind, subject_type, subject_id)
    assert ob is not None
    return ob


def test_a_change_opens_its_obligation_and_the_application_answers_it(  # type: ignore[no-untyped-def]
    session, world, monkeypatch
) -> None:
    _publish_first_version(session, world)
    officer = world.actor(session, "officer")
    change = updates.record_change(
        session,
        officer,
        world.police,
        ChangeIn(kind="law", description="《某条例》修订", occurred_on=date(2026, 2, 12)),
    )
    ob = _obligation(session, updates.LAW_CHANGE, "catalog_change", change.id)
    assert (ob.kind, ob.article, ob.department_id, ob.region_id) == (
        "catalog.law_change",
        "第十四条第一款",
        world.police,
        world.city,
    )
    assert (ob.started_on, ob.due_on, ob.provisional) == (
        change.occurred_on,
        change.apply_due,
        change.apply_due_provisional,
    )
    assert ob.title == "市公安局：法律法规修改“《某条例》修订”" and ob.is_open
    # Over the Spring Festival it runs out on 2026-03-04; the daily scan flags it on the 5th.
    assert obligations.scan_overdue(session, date(2026, 3, 4)) == 0
    assert obligations.scan_overdue(session, date(2026, 3, 5)) == 1 and ob.overdue

    service.create_resource(session, officer, world.police, person_resource("新增资源"))
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 3, 5))
    sub = review.submit(session, officer, world.police, change_id=change.id)
    # The same transaction stops the department's clock (late) and starts the city's.
    assert (ob.answered_on, ob.answered_by, ob.overdue) == (
        date(2026, 3, 5),
        world.people["officer"],
        True,
    )
    rv = _obligation(session, updates.UPDATE_APPLICATION, "submission", sub.id)
    assert (rv.kind, rv.article, rv.department_id, rv.region_id) == (
        "catalog.update_application",
        "第十四条第二款",
        world.city_bureau,
        world.city,
    )
    assert (rv.started_on, rv.due_on) == (date(2026, 3, 5), date(2026, 3, 12))
    assert rv.title == f"市公安局的第{sub.id}号目录更新申请" and rv.is_open

    # The city reviews on 2026-03-10 and publishes: the submission closes, its clock stops.
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 3, 10))
    city = world.actor(session, "city")
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.submission_id == sub.id)):
        review.decide(session, city, entry.id, approve=True)
    assert rv.is_open  # approved entries still wait to be published
    review.publish(session, city)
    assert sub.closed_on == date(2026, 3, 10)
    assert (rv.answered_on, rv.answered_by, rv.overdue) == (
        date(2026, 3, 10),
        world.people["city"],
        False,
    )


def test_a_district_application_starts_the_city_clock_when_compiled(  # type: ignore[no-untyped-def]
    session, world, monkeypatch
) -> None:
    _publish_first_version(session, world)
    yz = world.actor(session, "yz_officer")
    service.create_resource(session, yz, world.yz_police, person_resource("区县资源"))
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 9, 26))
    sub = review.submit(session, yz, world.yz_police)
    assert obligations.find(session, updates.UPDATE_APPLICATION, "submission", sub.id) is None
    review.compile_district(session, world.actor(session, "yz_admin"), world.yuzhong)
    rv = _obligation(session, updates.UPDATE_APPLICATION, "submission", sub.id)
    # Received Fri 2025-09-26: 28 (调休), 29, 30, then Oct 9, 10 (National Day).
    assert rv.due_on == sub.review_due == date(2025, 10, 10)
    assert (rv.department_id, rv.region_id) == (world.city_bureau, world.city)


def test_a_first_compilation_has_no_review_obligation(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    service.create_resource(session, officer, world.police, person_resource())
    sub = review.submit(session, officer, world.police)
    assert sub.review_due is None
    assert obligations.find(session, updates.UPDATE_APPLICATION, "submission", sub.id) is None


def test_each_side_sees_its_own_catalog_obligations(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _publish_first_version(session, world)
    officer = world.actor(session, "officer")
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 3, 2))
    change = updates.record_change(
        session,
        officer,
        world.police,
        ChangeIn(kind="function", description="职能调整", occurred_on=date(2026, 2, 26)),
    )
    service.create_resource(session, officer, world.police, person_resource("另一资源"))
    sub = review.submit(session, officer, world.police)

    def todo(who: str) -> list[tuple[str, str | None]]:
        items = obligations.open_for(session, world.actor(session, who))
        return [(t.kind, t.href) for t in items]

    owed_by_police = ("catalog.law_change", f"/catalog/departments/{world.police}/changes")
    owed_by_city = ("catalog.update_application", f"/catalog/submissions/{sub.id}")
    assert todo("officer") == [owed_by_police]  # not the city's review of its own application
    assert todo("head") == [owed_by_police]
    assert set(todo("city")) == {owed_by_police, owed_by_city}
    assert set(todo("auditor")) == {owed_by_police, owed_by_city}
    # Refused side: another department, a district bureau, the public see none of it.
    for who in ("officer2", "yz_officer", "yz_admin", "citizen"):
        assert todo(who) == [], who
    (item,) = obligations.open_for(session, officer)
    assert (item.kind_label, item.article, item.title) == (
        "申请更新目录",
        "第十四条第一款",
        "市公安局：行政管理职能变更“职能调整”",
    )
    assert item.due == change.apply_due


def test_a_refused_change_opens_nothing(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 3, 1))
    with pytest.raises(InvalidInput):
        updates.record_change(
            session,
            world.actor(session, "officer"),
            world.police,
            ChangeIn(kind="law", description="未来的修订", occurred_on=date(2026, 3, 2)),
        )
    assert session.scalar(select(func.count()).select_from(Obligation)) == 0


def test_an_application_refused_leaves_the_change_open(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    change = updates.record_change(
        session,
        officer,
        world.police,
        ChangeIn(kind="law", description="法规修订", occurred_on=date(2026, 2, 12)),
    )
    with pytest.raises(InvalidInput) as err:  # nothing changed in the lists
        review.submit(session, officer, world.police, change_id=change.id)
    assert err.value.code == "catalog.nothing_to_submit"
    ob = _obligation(session, updates.LAW_CHANGE, "catalog_change", change.id)
    assert ob.is_open and change.applied_on is None


def test_catalog_periods_cannot_be_extended(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Art. 14 provides no extension, unlike Art. 19 ¶2.
    change = updates.record_change(
        session,
        world.actor(session, "officer"),
        world.police,
        ChangeIn(kind="law", description="法规修订", occurred_on=date(2026, 2, 12)),
    )
    ob = _obligation(session, updates.LAW_CHANGE, "catalog_change", change.id)
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 2, 20))
    with pytest.raises(Conflict) as err:
        obligations.approve_extension(
            session, world.actor(session, "head"), ob.id, days=5, reason="理由"
        )
    assert err.value.code == "obligation.not_extendable"
    assert ob.due_on == change.apply_due == date(2026, 3, 4)
