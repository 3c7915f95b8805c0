"""我的参与 (Art. 36, 37): a person sees its own ratings, reuses and data requests with how each
stands, notes of refusals included; nobody else's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from govdata.core.errors import DomainError
from govdata.opendata import data_requests, feedback, mine, reuses
from govdata.opendata.contributions import Decision
from tests.opendata.community_helpers import identified_person
from tests.opendata.helpers import OpenCity, build_open_city
from tests.world import World


@pytest.fixture
def oc(session: Session, world: World) -> OpenCity:
    city = build_open_city(session, world)
    session.commit()
    return city


def _contribute(session: Session, world: World, oc: OpenCity) -> None:
    citizen, city = world.actor(session, "citizen"), world.actor(session, "city")
    rated = feedback.submit(session, citizen, oc.person.code, rating=2, comment="缺少字段说明")
    feedback.moderate(session, city, rated.id, Decision.REJECT, note="含有个人联系方式")
    reuse = reuses.submit(
        session,
        citizen,
        kind="app",
        title="山城养老地图",
        description="用开放数据做的养老机构地图。",
        url="https://example.org/map",
        dataset_codes=[oc.person.code],
    )
    reuses.moderate(session, city, reuse.id, Decision.PUBLISH)
    data_requests.submit(session, citizen, title="公交实时到站数据", description="用于出行应用。")


def test_a_person_reads_its_own_contributions_with_their_standing(
    session: Session, world: World, oc: OpenCity
) -> None:  # Art. 36, 37
    _contribute(session, world, oc)
    mine_now = mine.contributions(session, world.actor(session, "citizen"))
    (rated,) = mine_now.feedback
    assert (rated.status, rated.moderation_note) == ("rejected", "含有个人联系方式")
    assert mine_now.datasets[rated.dataset_id].code == oc.person.code
    assert [(r.title, r.status) for r in mine_now.reuses] == [("山城养老地图", "published")]
    assert [(q.title, q.status) for q in mine_now.requests] == [("公交实时到站数据", "pending")]
    # Somebody else sees none of it; a department system's token and nobody are refused.
    other = identified_person(session, "mine.other", "500103199202020027")
    theirs = mine.contributions(session, other)
    assert (theirs.feedback, theirs.reuses, theirs.requests) == ([], [], [])
    with pytest.raises(DomainError) as exc:
        mine.contributions(session, None)
    assert exc.value.status == 401


def test_the_page_shows_the_refusal_note_to_its_author_only(
    sign_in: Any, session: Session, world: World, oc: OpenCity
) -> None:
    _contribute(session, world, oc)
    session.commit()
    page = sign_in("citizen").get("/open/my")
    assert page.status_code == 200
    assert "含有个人联系方式" in page.text and "未通过" in page.text
    assert "山城养老地图" in page.text and "公交实时到站数据" in page.text
    other = sign_in("company").get("/open/my")
    assert other.status_code == 200 and "含有个人联系方式" not in other.text
