"""Lists, review and publishing (Art. 12, 13, 14) at the service level."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govdata.catalog import district, review, service, submissions, versions
from govdata.catalog.models import (
    EntryAction,
    EntryStatus,
    ResourceState,
    ReviewEntry,
    ReviewStage,
    SubmissionStatus,
)
from govdata.core.audit import AuditEvent
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.catalog.factories import company_resource, person_resource


def test_codes_follow_the_guide_and_are_stable(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    a = service.create_resource(session, officer, world.police, person_resource())
    b = service.create_resource(session, officer, world.police, person_resource("流动人口信息"))
    c = service.create_resource(
        session, officer, world.police, person_resource("出生登记", class_path="人口/出生")
    )
    assert a.code == "101001000/000001"
    assert b.code == "101001000/000002"
    assert c.code == "101002000/000001"
    updated = service.update_resource(
        session, officer, a.id, person_resource(abstract="新的摘要", class_path="人口/出生")
    )
    assert updated.code == a.code  # the code never changes


def test_a_city_department_submits_to_the_city_and_the_bureau_publishes(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    res = service.create_resource(session, officer, world.police, person_resource())
    sub = review.submit(session, officer, world.police, note="首次编制")
    assert sub.status == SubmissionStatus.PENDING_CITY  # Art. 12 ¶3: city departments directly
    assert sub.is_update is False and sub.review_due is None
    assert res.state == ResourceState.SUBMITTED
    with pytest.raises(Conflict) as err:
        service.update_resource(session, officer, res.id, person_resource(abstract="改"))
    assert err.value.code == "catalog.resource_under_review"

    (entry,) = session.scalars(select(ReviewEntry).where(ReviewEntry.submission_id == sub.id))
    assert entry.action == EntryAction.ADD
    review.decide(session, city, entry.id, approve=True)
    assert res.state == ResourceState.APPROVED
    version = review.publish(session, city, note="第一版")
    assert (version.number, version.resource_count, version.added) == (1, 1, 1)
    assert res.state == ResourceState.PUBLISHED
    session.refresh(sub)
    assert sub.status == SubmissionStatus.CLOSED
    _, page = versions.published(session, officer)
    assert [r.code for r in page.items] == [res.code]
    rl = versions.responsibility_list(session, officer, world.police)
    assert [(i.code, i.update_cycle) for i in rl.items] == [(res.code, "daily")]  # Art. 13
    assert session.scalar(
        select(AuditEvent.action).where(AuditEvent.action == "catalog.version.publish")
    )


def test_district_lists_go_through_the_district_bureau(session, world) -> None:  # type: ignore[no-untyped-def]
    # Art. 12 ¶1: district departments submit to their district bureau, which compiles.
    yz_officer = world.actor(session, "yz_officer")
    yz_admin, jb_admin = world.actor(session, "yz_admin"), world.actor(session, "jb_admin")
    city = world.actor(session, "city")
    r1 = service.create_resource(session, yz_officer, world.yz_police, company_resource("甲资源"))
    r2 = service.create_resource(session, yz_officer, world.yz_police, company_resource("乙资源"))
    sub = review.submit(session, yz_officer, world.yz_police)
    assert sub.status == SubmissionStatus.PENDING_DISTRICT
    entries = list(session.scalars(select(ReviewEntry).where(ReviewEntry.submission_id == sub.id)))
    with pytest.raises(Conflict) as err:  # the city cannot review before the district compiles
        review.decide(session, city, entries[0].id, approve=True)
    assert err.value.code == "catalog.submission_not_at_city"
    with pytest.raises(PermissionDenied) as denied:  # another district's bureau
        review.compile_district(session, jb_admin, world.yuzhong)
    assert denied.value.code == "catalog.cannot_compile"
    compilation = review.compile_district(session, yz_admin, world.yuzhong, note="渝中区汇总")
    assert compilation.submission_count == 1
    session.refresh(sub)
    assert sub.status == SubmissionStatus.PENDING_CITY and sub.compilation_id == compilation.id
    with pytest.raises(InvalidInput) as nothing:
        review.compile_district(session, yz_admin, world.yuzhong)
    assert nothing.value.code == "catalog.nothing_to_compile"

    with pytest.raises(InvalidInput) as no_reason:
        review.decide(session, city, entries[1].id, approve=False, reason="  ")
    assert no_reason.value.code == "catalog.return_reason_required"
    review.decide(session, city, entries[0].id, approve=True)
    review.decide(session, city, entries[1].id, approve=False, reason="摘要过于简略")
    assert r2.state == ResourceState.RETURNED
    review.publish(session, city)
    assert (r1.state, r2.state) == (ResourceState.PUBLISHED, ResourceState.RETURNED)
    session.refresh(sub)
    assert sub.status == SubmissionStatus.CLOSED

    # The returned entry is corrected and resubmitted: now an update application (Art. 14).
    service.update_resource(
        session, yz_officer, r2.id, company_resource("乙资源", abstract="详细摘要")
    )
    again = review.submit(session, yz_officer, world.yz_police)
    review.compile_district(session, yz_admin, world.yuzhong)
    session.refresh(again)
    assert again.is_update and again.review_due is not None


def test_versions_carry_over_change_and_remove(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    keep = service.create_resource(session, officer, world.police, person_resource("甲资源"))
    change = service.create_resource(session, officer, world.police, person_resource("乙资源"))
    drop = service.create_resource(session, officer, world.police, person_resource("丙资源"))
    review.submit(session, officer, world.police)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)

    service.update_resource(
        session, officer, change.id, person_resource("乙资源", update_cycle="weekly")
    )
    assert service.withdraw_resource(session, officer, drop.id) is drop
    added = service.create_resource(session, officer, world.police, person_resource("丁资源"))
    sub = review.submit(session, officer, world.police)
    actions = {
        e.resource_id: e.action
        for e in session.scalars(select(ReviewEntry).where(ReviewEntry.submission_id == sub.id))
    }
    assert actions == {
        change.id: EntryAction.MODIFY,
        drop.id: EntryAction.WITHDRAW,
        added.id: EntryAction.ADD,
    }
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    v2 = review.publish(session, city)
    assert (v2.number, v2.resource_count, v2.added, v2.changed, v2.removed) == (2, 3, 1, 1, 1)
    assert drop.state == ResourceState.RETIRED
    with pytest.raises(Conflict) as retired:
        service.update_resource(session, officer, drop.id, person_resource("丙资源"))
    assert retired.value.code == "catalog.resource_retired"

    d = versions.diff(session, officer, 2)
    assert [r.name for r in d.added] == ["丁资源"]
    assert [r.name for r in d.removed] == ["丙资源"]
    assert [c.code for c in d.changed] == [change.code]
    assert [(f.field, f.old, f.new) for f in d.changed[0].changes] == [
        ("update_cycle", "daily", "weekly")
    ]
    # The old version is still readable as it was.
    _, v1_page = versions.published(session, officer, number=1)
    assert sorted(r.name for r in v1_page.items) == ["丙资源", "乙资源", "甲资源"]
    assert keep.state == ResourceState.PUBLISHED


def test_nothing_to_submit_or_publish(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    with pytest.raises(InvalidInput) as err:
        review.submit(session, officer, world.police)
    assert err.value.code == "catalog.nothing_to_submit"
    with pytest.raises(InvalidInput) as err:
        review.publish(session, city)
    assert err.value.code == "catalog.nothing_to_publish"


def test_refused_sides(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    res = service.create_resource(session, officer, world.police, person_resource())
    review.submit(session, officer, world.police)
    entry = session.scalar(select(ReviewEntry).where(ReviewEntry.resource_id == res.id))
    assert entry is not None
    # Another department's officer cannot see, edit or submit the police's list.
    other = world.actor(session, "officer2")
    with pytest.raises(NotFound):
        service.get_resource(session, other, res.id)
    with pytest.raises(NotFound):
        review.submit(session, other, world.police)
    with pytest.raises(NotFound):
        review.decide(session, other, entry.id, approve=True)
    # The department's head sees it but is not its data officer (Art. 7 ¶2).
    head = world.actor(session, "head")
    assert service.get_resource(session, head, res.id).id == res.id
    with pytest.raises(PermissionDenied) as err:
        service.create_resource(session, head, world.police, person_resource("某某资源"))
    assert err.value.code == "catalog.cannot_edit_list"
    # Only the city bureau reviews and publishes; an auditor sees but cannot decide.
    auditor = world.actor(session, "auditor")
    with pytest.raises(PermissionDenied) as err:
        review.decide(session, auditor, entry.id, approve=True)
    assert err.value.code == "catalog.city_review_only"
    with pytest.raises(PermissionDenied):
        review.publish(session, officer)
    assert entry.status == EntryStatus.PENDING


def test_a_never_submitted_resource_is_deleted_on_withdrawal(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    res = service.create_resource(session, officer, world.police, person_resource())
    assert service.withdraw_resource(session, officer, res.id) is None
    with pytest.raises(NotFound):
        service.get_resource(session, officer, res.id)


def test_names_are_unique_within_a_department_and_related_codes_exist(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    first = service.create_resource(session, officer, world.police, person_resource())
    with pytest.raises(Conflict) as err:
        service.create_resource(session, officer, world.police, person_resource())
    assert err.value.code == "catalog.resource_name_taken"
    with pytest.raises(InvalidInput) as err:
        service.create_resource(
            session, officer, world.police, person_resource("乙资源", related_codes=["999/000001"])
        )
    assert err.value.code == "catalog.related_code_unknown"
    ok = service.create_resource(
        session, officer, world.police, person_resource("乙资源", related_codes=[first.code])
    )
    assert ok.related_codes == [first.code]


def test_published_reads_check_the_reader(session, world) -> None:  # type: ignore[no-untyped-def]
    # Art. 26/32: the published catalog is for staff; the public sees only the open catalog.
    officer, city = world.actor(session, "officer2"), world.actor(session, "city")
    opened = service.create_resource(session, officer, world.market, company_resource())
    closed = service.create_resource(
        session,
        officer,
        world.market,
        company_resource("内部核查记录", open_type="none", legal_basis="《某条例》"),
    )
    review.submit(session, officer, world.market)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    citizen = world.actor(session, "citizen")
    for read in (
        lambda: versions.published(session, citizen),
        lambda: versions.diff(session, citizen, 1),
        lambda: versions.responsibility_list(session, citizen, world.market),
        lambda: versions.published_revision(session, citizen, opened.code),
    ):
        with pytest.raises(PermissionDenied):
            read()
    assert versions.public_revision(session, citizen, opened.code).code == opened.code
    assert versions.public_revision(session, None, opened.code).code == opened.code
    with pytest.raises(NotFound) as err:
        versions.public_revision(session, None, closed.code)
    assert err.value.code == "catalog.resource_not_found"
    assert versions.public_revision(session, officer, closed.code).code == closed.code


def test_the_district_returns_some_entries_and_forwards_the_rest(session, world) -> None:  # type: ignore[no-untyped-def]
    # Art. 12 ¶1: the district bureau reviews each submission before compiling it.
    yz_officer, yz_admin = world.actor(session, "yz_officer"), world.actor(session, "yz_admin")
    city = world.actor(session, "city")
    keep = service.create_resource(session, yz_officer, world.yz_police, company_resource("甲资源"))
    back = service.create_resource(session, yz_officer, world.yz_police, company_resource("乙资源"))
    sub = review.submit(session, yz_officer, world.yz_police)
    entries = {
        e.resource_id: e
        for e in session.scalars(select(ReviewEntry).where(ReviewEntry.submission_id == sub.id))
    }

    # Refused: no reason, nothing chosen, an entry of another submission, another district.
    with pytest.raises(InvalidInput) as err:
        district.return_entries(session, yz_admin, sub.id, [entries[back.id].id], "  ")
    assert err.value.code == "catalog.return_reason_required"
    with pytest.raises(InvalidInput) as err:
        district.return_entries(session, yz_admin, sub.id, [], "理由")
    assert err.value.code == "catalog.no_entries_selected"
    with pytest.raises(NotFound):
        district.return_entries(session, yz_admin, sub.id, [entries[back.id].id, 10**6], "理由")
    with pytest.raises(NotFound):  # outside the Jiangbei bureau's scope
        district.return_entries(
            session, world.actor(session, "jb_admin"), sub.id, [entries[back.id].id], "理由"
        )
    with pytest.raises(PermissionDenied):  # the city does not act for the district
        district.return_entries(session, city, sub.id, [entries[back.id].id], "理由")
    assert entries[back.id].status == EntryStatus.PENDING  # nothing half-written

    district.return_entries(session, yz_admin, sub.id, [entries[back.id].id], "摘要过于简略")
    assert entries[back.id].status == EntryStatus.RETURNED
    assert entries[back.id].decided_stage == ReviewStage.DISTRICT
    assert back.state == ResourceState.RETURNED and keep.state == ResourceState.SUBMITTED
    with pytest.raises(Conflict):
        district.return_entries(session, yz_admin, sub.id, [entries[back.id].id], "再退")

    compilation = review.compile_district(session, yz_admin, world.yuzhong, submission_ids=[sub.id])
    session.refresh(sub)
    assert sub.status == SubmissionStatus.PENDING_CITY and sub.compilation_id == compilation.id
    with pytest.raises(Conflict) as err:  # forwarded: no longer the district's to return
        district.return_entries(session, yz_admin, sub.id, [entries[keep.id].id], "理由")
    assert err.value.code == "catalog.submission_not_at_district"
    # The city sees only the forwarded entry to decide.
    with pytest.raises(Conflict):
        review.decide(session, city, entries[back.id].id, approve=True)
    review.decide(session, city, entries[keep.id].id, approve=True)
    assert entries[keep.id].decided_stage == ReviewStage.CITY

    found, rows = submissions.get_compilation(session, yz_admin, compilation.id)
    assert found.id == compilation.id
    assert [(r.submission.id, r.forwarded, r.returned) for r in rows] == [(sub.id, 1, 1)]
    history = submissions.list_compilations(session, yz_admin, world.yuzhong)
    assert [c.id for c in history.items] == [compilation.id]
    with pytest.raises(NotFound):
        submissions.get_compilation(session, world.actor(session, "jb_admin"), compilation.id)
    assert submissions.get_compilation(session, world.actor(session, "auditor"), compilation.id)
    assert session.scalar(
        select(AuditEvent.action).where(AuditEvent.action == "catalog.entry.district_return")
    )


def test_a_submission_returned_in_full_is_closed_not_forwarded(session, world) -> None:  # type: ignore[no-untyped-def]
    yz_officer, yz_admin = world.actor(session, "yz_officer"), world.actor(session, "yz_admin")
    only = service.create_resource(session, yz_officer, world.yz_police, company_resource("甲资源"))
    sub = review.submit(session, yz_officer, world.yz_police)
    (entry,) = session.scalars(select(ReviewEntry).where(ReviewEntry.resource_id == only.id))
    district.return_entries(session, yz_admin, sub.id, [entry.id], "不属于本部门职责")
    with pytest.raises(Conflict) as err:  # a submission not waiting in this district
        review.compile_district(session, yz_admin, world.yuzhong, submission_ids=[sub.id, 10**6])
    assert err.value.code == "catalog.submission_not_at_district"
    with pytest.raises(InvalidInput) as nothing:
        review.compile_district(session, yz_admin, world.yuzhong, submission_ids=[])
    assert nothing.value.code == "catalog.no_submissions_selected"
    compilation = review.compile_district(session, yz_admin, world.yuzhong)
    session.refresh(sub)
    assert sub.status == SubmissionStatus.CLOSED and sub.received_on is None
    assert sub.compilation_id == compilation.id
    _, rows = submissions.get_compilation(session, yz_admin, compilation.id)
    assert [(r.forwarded, r.returned) for r in rows] == [(0, 1)]


def test_the_city_queue_keeps_only_submissions_with_entries_to_decide(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    service.create_resource(session, officer, world.police, person_resource("甲资源"))
    sub = review.submit(session, officer, world.police)
    queue = submissions.list_submissions(
        session, city, status=SubmissionStatus.PENDING_CITY, undecided=True
    )
    assert [s.id for s in queue.items] == [sub.id]
    (entry,) = session.scalars(select(ReviewEntry).where(ReviewEntry.submission_id == sub.id))
    review.decide(session, city, entry.id, approve=True)
    # Decided but not yet published: out of the queue at once, waiting for the next version.
    queue = submissions.list_submissions(
        session, city, status=SubmissionStatus.PENDING_CITY, undecided=True
    )
    assert queue.items == []
    waiting = submissions.list_submissions(
        session, city, status=SubmissionStatus.PENDING_CITY, undecided=False
    )
    assert [s.id for s in waiting.items] == [sub.id]
    preview = submissions.publication_preview(session, city)
    assert (preview.number, preview.added, preview.changed, preview.withdrawn) == (1, 1, 0, 0)
    assert preview.next_count == 1
    with pytest.raises(PermissionDenied):
        submissions.publication_preview(session, officer)


def _publish_all(session, city) -> None:  # type: ignore[no-untyped-def]
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)


def test_any_two_versions_compare(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    a = service.create_resource(session, officer, world.police, person_resource("甲资源"))
    b = service.create_resource(session, officer, world.police, person_resource("乙资源"))
    review.submit(session, officer, world.police)
    _publish_all(session, city)  # v1: 甲 乙
    service.update_resource(
        session, officer, a.id, person_resource("甲资源", update_cycle="weekly")
    )
    review.submit(session, officer, world.police)
    _publish_all(session, city)  # v2: 甲 changed
    service.withdraw_resource(session, officer, b.id)
    service.create_resource(session, officer, world.police, person_resource("丙资源"))
    review.submit(session, officer, world.police)
    _publish_all(session, city)  # v3: 乙 withdrawn, 丙 added

    d = versions.compare(session, officer, 3, 1)  # either order: the older is the base
    assert (d.old.number if d.old else None, d.new.number) == (1, 3)
    assert [r.name for r in d.added] == ["丙资源"]
    assert [r.name for r in d.removed] == ["乙资源"]
    assert [(c.code, [f.field for f in c.changes]) for c in d.changed] == [
        (a.code, ["update_cycle"])
    ]
    assert versions.version_numbers(session, officer) == [3, 2, 1]
    with pytest.raises(InvalidInput) as same:
        versions.compare(session, officer, 2, 2)
    assert same.value.code == "catalog.compare_same_version"
    with pytest.raises(NotFound) as missing:
        versions.compare(session, officer, 1, 9)
    assert missing.value.code == "catalog.version_not_found"
    with pytest.raises(PermissionDenied):
        versions.compare(session, world.actor(session, "citizen"), 1, 3)
