"""The published catalog's typed read API (Art. 11, 12, 13, 16, 24, 30): what other domains read
instead of the catalog's tables, one query a call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from govdata.catalog import published, review, service, submissions
from govdata.catalog.models import Resource
from govdata.catalog.schemas import InfoItemIn
from govdata.catalog.vocab import (
    Category,
    DataType,
    OpenType,
    SecurityLevel,
    ShareType,
    SubjectKind,
    UpdateCycle,
)
from govdata.org.models import Department
from tests.catalog.factories import company_resource, person_resource
from tests.world import World


def _publish(session: Session, world: World, department_id: int, *resources: Any) -> list[Resource]:
    """Enter, submit, approve and publish resources of a city department (Art. 12)."""
    city = world.actor(session, "city")
    created = [service.create_resource(session, city, department_id, r) for r in resources]
    submission = review.submit(session, city, department_id)
    for entry in submissions.get_submission(session, city, submission.id).entries:
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    return created


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements run meanwhile (a read API's cost is its round trips)."""
    seen: list[str] = []
    engine = session.get_bind()

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_published_resource_reads_typed(session: Session, world: World) -> None:  # Art. 11
    data = person_resource(
        category="department",
        items=[
            InfoItemIn(name="公民身份号码", data_type="C", length=18, is_subject_key=True),
            InfoItemIn(name="姓名", data_type="C", length=50),
            InfoItemIn(name="住址", data_type="C", length=200, share_type="conditional"),
            InfoItemIn(name="出生日期", data_type="D", open_type="unconditional"),
        ],
    )
    (resource,) = _publish(session, world, world.police, data)
    got = published.find(session, resource.code)
    assert got is not None
    police = session.get(Department, world.police)
    assert police is not None
    assert (got.resource_id, got.code, got.name) == (resource.id, resource.code, "户籍人口基本信息")
    assert (got.department_id, got.department_code, got.department_name) == (
        police.id,
        police.code,
        police.name,
    )
    assert got.category is Category.DEPARTMENT and got.class_path == "人口/户籍"
    assert got.classification_code and resource.code.startswith(got.classification_code)
    assert got.share_type is ShareType.UNCONDITIONAL and got.open_type is OpenType.NONE
    assert got.update_cycle is UpdateCycle.DAILY and got.security_level == SecurityLevel.SENSITIVE
    assert got.subject_kind is SubjectKind.PERSON  # inferred from the key item (Art. 16)
    assert got.legal_basis == "《中华人民共和国居民身份证法》" and got.abstract
    assert got.revision_number == 1 and not got.withdrawal_pending
    assert [(i.name, i.data_type, i.length) for i in got.items] == [
        ("公民身份号码", DataType.C, 18),
        ("姓名", DataType.C, 50),
        ("住址", DataType.C, 200),
        ("出生日期", DataType.D, None),
    ]
    # An item without its own share/open type carries the resource's (Art. 24, 30).
    assert [i.share_type for i in got.items] == [
        ShareType.UNCONDITIONAL,
        ShareType.UNCONDITIONAL,
        ShareType.CONDITIONAL,
        ShareType.UNCONDITIONAL,
    ]
    born = got.item("出生日期")
    assert born is not None and born.open_type is OpenType.UNCONDITIONAL
    assert got.item("身高") is None
    assert got.subject_key is not None and got.subject_key.name == "公民身份号码"


def test_the_subject_key_is_the_marked_item_or_the_one_its_kind_names(
    session: Session, world: World
) -> None:  # Art. 16
    person, company = _publish(session, world, world.police, person_resource(), company_resource())
    got_person, got_company = (
        published.find(session, person.code),
        published.find(session, company.code),
    )
    assert got_person is not None and got_company is not None
    assert (
        got_company.subject_key is not None and got_company.subject_key.name == "统一社会信用代码"
    )
    # Revisions entered before the catalog required the mark: the kind names the key item.
    unmarked = replace(
        got_person,
        items=tuple(replace(i, is_subject_key=False) for i in got_person.items),
    )
    assert unmarked.subject_key is not None and unmarked.subject_key.name == "公民身份号码"
    assert replace(unmarked, subject_kind=SubjectKind.OTHER).subject_key is None


def test_drafts_are_not_published_but_are_referenced(session: Session, world: World) -> None:
    (resource,) = _publish(session, world, world.police, person_resource())
    draft = service.create_resource(
        session, world.actor(session, "city"), world.police, person_resource("尚未发布的资源")
    )
    assert published.find(session, draft.code) is None
    assert published.get_many(session, [draft.id]) == {}
    ref = published.resource(session, draft.code)
    assert ref is not None and ref.published is None
    assert (ref.resource_id, ref.name, ref.department_id) == (
        draft.id,
        "尚未发布的资源",
        world.police,
    )
    assert published.resource(session, "999/999999") is None
    # A change entered after publishing stays in the working copy until it is published.
    service.update_resource(
        session, world.actor(session, "city"), resource.id, person_resource("改过的名称")
    )
    ref = published.resource(session, resource.code)
    assert ref is not None and ref.name == "改过的名称"
    assert ref.published is not None and ref.published.name == "户籍人口基本信息"


def test_a_withdrawal_is_pending_until_it_is_published(session: Session, world: World) -> None:
    (resource,) = _publish(session, world, world.police, person_resource())
    city = world.actor(session, "city")
    service.withdraw_resource(session, city, resource.id)
    got = published.find(session, resource.code)
    assert got is not None and got.withdrawal_pending  # Art. 14: only through review
    submission = review.submit(session, city, world.police)
    for entry in submissions.get_submission(session, city, submission.id).entries:
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    assert published.find(session, resource.code) is None
    ref = published.resource(session, resource.code)
    assert ref is not None and ref.published is None


def test_listing_filters_and_orders(session: Session, world: World) -> None:
    police = _publish(
        session,
        world,
        world.police,
        person_resource("甲类资源"),
        person_resource("乙类资源", category="thematic"),
    )
    (market,) = _publish(session, world, world.market, company_resource())
    codes = sorted(r.code for r in (*police, market))
    assert [r.code for r in published.listing(session)] == codes
    assert [r.code for r in published.listing(session, department_ids=[world.police])] == sorted(
        r.code for r in police
    )
    scope = select(Department.id).where(Department.id == world.market)
    assert [r.code for r in published.listing(session, department_ids=scope)] == [market.code]
    assert [r.code for r in published.listing(session, codes={market.code, "nope"})] == [
        market.code
    ]
    unthematic = published.listing(session, exclude_category=Category.THEMATIC)
    assert all(r.category is not Category.THEMATIC for r in unthematic) and len(unthematic) == 2
    assert len(published.listing(session, limit=1)) == 1


def test_each_read_is_one_query(session: Session, world: World) -> None:  # no N+1
    resources = _publish(
        session, world, world.police, *(person_resource(f"资源{i}") for i in range(6))
    )
    ids = [r.id for r in resources]
    codes = [r.code for r in resources]
    session.expire_all()
    for read in (
        lambda: published.listing(session),
        lambda: published.get_many(session, ids),
        lambda: published.resources(session, ids),
        lambda: published.resources_by_code(session, codes),
        lambda: published.find(session, codes[0]),
        lambda: published.resource(session, codes[0]),
        lambda: published.current_version(session),
    ):
        with _statements(session) as seen:
            got = read()
        assert got and len(seen) == 1, seen
    many = published.get_many(session, ids)
    assert sorted(many) == sorted(ids) and {r.code for r in many.values()} == set(codes)
    refs = published.resources_by_code(session, codes)
    assert {c: r.resource_id for c, r in refs.items()} == dict(zip(codes, ids, strict=True))


def test_a_versions_members_join_as_a_subquery(session: Session, world: World) -> None:  # Art. 13
    assert published.current_version(session) is None
    first = _publish(session, world, world.police, person_resource("第一版"))
    version = published.current_version(session)
    assert version is not None and version.number == 1
    _publish(session, world, world.market, company_resource())
    latest = published.current_version(session)
    assert latest is not None and latest.number == 2
    members = published.members(version.id)
    rows = session.execute(
        select(members.c.code, members.c.department_id, members.c.update_cycle, Department.name)
        .join(Department, Department.id == members.c.department_id)
        .order_by(members.c.code)
    ).all()
    assert [tuple(r) for r in rows] == [(first[0].code, world.police, "daily", "市公安局")]
    assert len(session.execute(select(published.members(latest.id))).all()) == 2
