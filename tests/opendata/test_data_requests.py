"""Public requests for data not yet open (Art. 36 ¶2, 37): asked by identified people, answered
by the city bureau, listed publicly with their answers and never with who asked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.audit import AuditEvent
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.opendata import data_requests
from govdata.opendata.errors import IdentityRequired
from govdata.opendata.models import DataRequest
from tests.opendata.helpers import OpenCity, build_open_city
from tests.world import World


@pytest.fixture
def oc(session: Session, world: World) -> OpenCity:
    city = build_open_city(session, world)
    session.commit()
    return city


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DataRequest)) or 0)


def test_a_request_is_answered_by_the_bureau_and_may_name_an_open_dataset(
    session: Session, world: World, oc: OpenCity
) -> None:
    citizen = world.actor(session, "citizen")
    row = data_requests.submit(
        session,
        citizen,
        title="  公交线路实时到站数据 ",
        description="用于出行应用。",
        department_id=world.police,
    )
    assert (row.title, row.status) == ("公交线路实时到站数据", "pending")
    city = world.actor(session, "city")
    for who in ("officer", "head", "citizen"):
        with pytest.raises(PermissionDenied):
            data_requests.answer(
                session, world.actor(session, who), row.id, status="answered", text="好"
            )
    data_requests.answer(
        session,
        city,
        row.id,
        status="answered",
        text="已开放户籍人口基本信息。",
        dataset_code=oc.person.code,
    )
    assert (row.status, row.dataset_id, row.answered_by) == (
        "answered",
        oc.person.id,
        world.people["city"],
    )
    with pytest.raises(Conflict):
        data_requests.answer(session, city, row.id, status="rejected", text="改判")
    audited = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "open_data_request")
    ).all()
    assert sorted(audited) == ["opendata.request.answered", "opendata.request.submit"]
    rows, total = data_requests.listing(session, None, status="answered")
    assert total == 1 and rows[0].id == row.id


def test_a_pending_request_is_seen_by_its_requester_and_the_bureau_only(
    session: Session, world: World, oc: OpenCity
) -> None:
    # Product decision: nothing anyone types is public before the bureau has read it.
    row = data_requests.submit(
        session, world.actor(session, "citizen"), title="某需求", description="说明"
    )
    for who in ("citizen", "city"):
        viewer = world.actor(session, who)
        assert data_requests.get(session, viewer, row.id).id == row.id
        assert data_requests.listing(session, viewer)[1] == 1
    for viewer in (None, world.actor(session, "company"), world.actor(session, "officer")):
        with pytest.raises(NotFound):
            data_requests.get(session, viewer, row.id)
        assert data_requests.listing(session, viewer) == ([], 0)
    data_requests.answer(
        session, world.actor(session, "city"), row.id, status="rejected", text="否"
    )
    assert data_requests.get(session, None, row.id).answer == "否"


def test_bad_answers_and_bad_requests_are_refused_and_write_nothing(
    session: Session, world: World, oc: OpenCity
) -> None:
    before = _count(session)
    for who in (None, world.actor(session, "company")):
        with pytest.raises(IdentityRequired):
            data_requests.submit(session, who, title="某数据", description="说明")
    citizen = world.actor(session, "citizen")
    cases = [
        ({"title": "", "description": "说明"}, "opendata.invalid_text"),
        ({"title": "名" * 201, "description": "说明"}, "opendata.invalid_text"),
        ({"title": "名称", "description": "长" * 2001}, "opendata.invalid_text"),
        ({"title": "名称\x07", "description": "说明"}, "opendata.invalid_text"),
        (
            {"title": "名称", "description": "说明", "department_id": 999999},
            "opendata.unknown_department",
        ),
    ]
    for kwargs, code in cases:
        with pytest.raises(InvalidInput) as exc:
            data_requests.submit(session, citizen, **kwargs)  # type: ignore[arg-type]
        assert exc.value.code == code, kwargs
    assert _count(session) == before
    row = data_requests.submit(session, citizen, title="名称", description="说明")
    city = world.actor(session, "city")
    with pytest.raises(InvalidInput):
        data_requests.answer(session, city, row.id, status="maybe", text="好")
    with pytest.raises(InvalidInput):  # a rejection opens nothing
        data_requests.answer(
            session, city, row.id, status="rejected", text="否", dataset_code=oc.person.code
        )
    with pytest.raises(NotFound):
        data_requests.answer(
            session, city, row.id, status="answered", text="好", dataset_code="NO-SUCH"
        )
    session.refresh(row)
    assert row.status == "pending" and row.answer == ""


def test_requests_over_the_api_and_the_public_page(
    client: TestClient, sign_in: object, session: Session, world: World, oc: OpenCity
) -> None:
    r = client.post("/api/v1/opendata/requests", json={"title": "x", "description": "y"})
    assert r.status_code == 401
    company = sign_in("company")  # type: ignore[operator]
    r = company.post("/api/v1/opendata/requests", json={"title": "x", "description": "y"})
    assert r.json()["error"]["code"] == "opendata.identity_required"
    citizen = sign_in("citizen")  # type: ignore[operator]
    r = citizen.post("/api/v1/opendata/requests", json={"title": "名" * 300, "description": "说明"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "opendata.invalid_text")
    assert "不超过200字" in r.json()["error"]["message"]
    r = citizen.post(
        "/api/v1/opendata/requests",
        json={"title": "停车场空余车位", "description": "用于停车导航。"},
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert client.get("/api/v1/opendata/requests").json()["total"] == 0  # not yet answered
    assert client.get(f"/api/v1/opendata/requests/{rid}").status_code == 404
    listed = citizen.get("/api/v1/opendata/requests").json()
    assert listed["total"] == 1 and "requester_id" not in listed["requests"][0]
    officer = sign_in("officer")  # type: ignore[operator]
    answer = {"status": "answered", "answer": "已列入开放计划。"}
    r = officer.post(f"/api/v1/opendata/requests/{rid}/answer", json=answer)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "opendata.not_moderator")
    city = sign_in("city")  # type: ignore[operator]
    r = city.post(f"/api/v1/opendata/requests/{rid}/answer", json=answer)
    assert r.status_code == 200 and r.json()["status"] == "answered"
    assert client.get(f"/api/v1/opendata/requests/{rid}").json()["answer"] == "已列入开放计划。"
    assert client.get("/api/v1/opendata/requests/999999").status_code == 404
    page = client.get("/open/requests")
    assert (
        page.status_code == 200 and "停车场空余车位" in page.text and "已列入开放计划" in page.text
    )
    assert "郑公民" not in page.text  # who asked is not published
    # The form posts with the CSRF token; the bureau answers on the moderation page.
    r = citizen.post(
        "/open/requests",
        data={"title": "菜市场价格", "description": "每日价格。", "department_id": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    new = session.scalar(select(DataRequest).order_by(DataRequest.id.desc()).limit(1))
    assert new is not None and new.title == "菜市场价格"
    assert f'data-testid="request-{new.id}"' in city.get("/opendata/moderation").text
    r = city.post(
        f"/opendata/moderation/requests/{new.id}",
        data={"status": "rejected", "answer": "不属于政务数据。"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(new)
    assert new.status == "rejected"


def test_one_person_cannot_flood_the_bureau_with_pending_requests(
    session: Session, world: World, oc: OpenCity
) -> None:
    # Product decision: at most MAX_PENDING waiting per person; more after some are answered.
    from govdata.opendata.contributions import MAX_PENDING

    citizen = world.actor(session, "citizen")
    made = [
        data_requests.submit(session, citizen, title=f"需求{i}", description="说明")
        for i in range(MAX_PENDING)
    ]
    with pytest.raises(Conflict) as exc:
        data_requests.submit(session, citizen, title="再一个", description="说明")
    assert exc.value.code == "opendata.too_many_pending" and "等待" in exc.value.message
    data_requests.answer(
        session, world.actor(session, "city"), made[0].id, status="answered", text="好"
    )
    assert data_requests.submit(session, citizen, title="再一个", description="说明").id
