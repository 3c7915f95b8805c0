"""Repeated collection (Art. 50(3)): a department's published resource carrying a base item whose
one authoritative source is another department's, about the same subjects."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from govdata.aggregation import repeated, thematic
from govdata.catalog import review
from govdata.catalog.models import ReviewEntry
from govdata.core.errors import PermissionDenied
from tests.aggregation.base_helpers import build_city
from tests.aggregation.factories import publish, resource_input
from tests.world import World


def _flags(session: Session, world: World, who: str, **kw: object) -> list[tuple[str, str, str]]:
    return [
        (f.department_name, f.item_name, f.authoritative_department_name)
        for f in repeated.find(session, world.actor(session, who), **kw)  # type: ignore[arg-type]
    ]


def test_an_item_another_department_is_the_source_of_is_flagged(
    session: Session, world: World
) -> None:  # Art. 50(3)
    c = build_city(session, world)
    # The market collects 姓名 although the police are its one source; the police's own items,
    # and the market's 经营状态 (its own source), are not flagged.
    assert _flags(session, world, "city") == [("市市场监督管理局", "姓名", "市公安局")]
    [flag] = repeated.find(session, world.actor(session, "auditor"))
    assert (flag.resource_code, flag.authoritative_resource_code) == (
        c.market_res.code,
        c.police_res.code,
    )
    assert flag.base_kind == "person" and flag.base_name == "自然人基础数据库"
    assert _flags(session, world, "city", department_id=world.police) == []


def test_each_department_sees_its_own(session: Session, world: World) -> None:
    build_city(session, world)
    assert _flags(session, world, "officer2") == [("市市场监督管理局", "姓名", "市公安局")]
    assert _flags(session, world, "officer") == []
    assert _flags(session, world, "yz_officer") == []
    assert _flags(session, world, "officer", department_id=world.market) == []


@pytest.mark.parametrize("who", ["citizen", "company", "plain"])
def test_the_public_is_refused(session: Session, world: World, who: str) -> None:
    build_city(session, world)
    with pytest.raises(PermissionDenied) as err:
        repeated.find(session, world.actor(session, who))
    assert err.value.code == "aggregation.repeated_staff_only"


def test_other_subjects_and_thematic_resources_are_not_flagged(
    session: Session, world: World
) -> None:
    build_city(session, world)
    # 姓名 about legal persons (keyed by USCC) is not the person base's 姓名.
    publish(
        session,
        world,
        world.market,
        resource_input(
            "企业联络人信息",
            [("统一社会信用代码", "C", 18), ("姓名", "C", 50)],
            key="统一社会信用代码",
            subject_kind="legal_person",
        ),
    )
    # A thematic database is built from shared data, not collected (Art. 17 ¶3).
    city = world.actor(session, "city")
    thematic.define(
        session,
        world.actor(session, "officer2"),
        world.market,
        name="经营者专题",
        description="",
        definition={"base_kind": "person", "base_items": ["姓名"], "pool_items": [], "filters": []},
    )
    submission = review.submit(session, city, world.market)
    for entry in session.query(ReviewEntry).filter(ReviewEntry.submission_id == submission.id):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    assert _flags(session, world, "city") == [("市市场监督管理局", "姓名", "市公安局")]
