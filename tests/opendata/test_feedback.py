"""Feedback on open datasets (Art. 36): rated by identified people, shown once the city bureau
publishes it, answered by the provider; the average counts only published feedback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.audit import AuditEvent
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.opendata import feedback
from govdata.opendata.contributions import Decision
from govdata.opendata.errors import IdentityRequired, NotProvider
from govdata.opendata.models import DatasetFeedback, ModerationStatus
from tests.opendata.community_helpers import identified_person
from tests.opendata.helpers import OpenCity, build_open_city
from tests.world import World


@pytest.fixture
def oc(session: Session, world: World) -> OpenCity:
    city = build_open_city(session, world)
    session.commit()
    return city


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DatasetFeedback)) or 0)


def test_feedback_is_shown_only_once_published_and_counts_in_the_average(
    session: Session, world: World, oc: OpenCity
) -> None:
    citizen = world.actor(session, "citizen")
    other = identified_person(session, "fb.other", "500103199202020027")
    city = world.actor(session, "city")
    first = feedback.submit(session, citizen, oc.person.code, rating=4, comment="字段说明清楚")
    second = feedback.submit(session, other, oc.person.code, rating=1, comment="广告内容")
    # Art. 36: nothing is shown before the bureau's review.
    assert feedback.published(session, oc.person.id) == []
    assert feedback.rating(session, oc.person.id) == feedback.Rating(None, 0)
    feedback.moderate(session, city, first.id, Decision.PUBLISH)
    feedback.moderate(session, city, second.id, Decision.REJECT, "与数据集无关")
    assert [f.id for f in feedback.published(session, oc.person.id)] == [first.id]
    assert feedback.rating(session, oc.person.id) == feedback.Rating(4.0, 1)
    assert second.moderation_note == "与数据集无关"
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "open_feedback")
    ).all()
    assert sorted(actions) == [
        "opendata.feedback.publish",
        "opendata.feedback.reject",
        "opendata.feedback.submit",
        "opendata.feedback.submit",
    ]
    # A rejected author may try again; a published one may not rate twice (product decision).
    with pytest.raises(Conflict):
        feedback.submit(session, citizen, oc.person.code, rating=5)
    again = feedback.submit(session, other, oc.person.code, rating=2)
    assert again.status == ModerationStatus.PENDING.value


def test_only_the_bureau_moderates_and_only_once(
    session: Session, world: World, oc: OpenCity
) -> None:
    row = feedback.submit(session, world.actor(session, "citizen"), oc.person.code, rating=3)
    for who in ("officer", "head", "citizen", "yz_admin"):
        with pytest.raises(PermissionDenied) as exc:
            feedback.moderate(session, world.actor(session, who), row.id, Decision.PUBLISH)
        assert exc.value.code == "opendata.not_moderator"
    city = world.actor(session, "city")
    with pytest.raises(InvalidInput) as bad:  # a rejection says why
        feedback.moderate(session, city, row.id, Decision.REJECT, "  ")
    assert bad.value.code == "opendata.invalid_text"
    feedback.moderate(session, city, row.id, Decision.PUBLISH)
    with pytest.raises(Conflict):
        feedback.moderate(session, city, row.id, Decision.REJECT, "改判")


def test_the_provider_replies_to_published_feedback_others_may_not(
    session: Session, world: World, oc: OpenCity
) -> None:
    row = feedback.submit(session, world.actor(session, "citizen"), oc.person.code, rating=2)
    officer = world.actor(session, "officer")  # 市公安局 provides 户籍人口基本信息
    with pytest.raises(NotFound):  # pending feedback is not found by the provider either
        feedback.reply(session, officer, row.id, "感谢")
    feedback.moderate(session, world.actor(session, "city"), row.id, Decision.PUBLISH)
    with pytest.raises(NotProvider):
        feedback.reply(session, world.actor(session, "officer2"), row.id, "不是我们的")
    with pytest.raises(NotProvider):
        feedback.reply(session, world.actor(session, "citizen"), row.id, "自问自答")
    feedback.reply(session, officer, row.id, "已补充字段说明。")
    assert feedback.published(session, oc.person.id)[0].reply == "已补充字段说明。"


def test_refused_contributors_and_bad_input_write_nothing(
    session: Session, world: World, oc: OpenCity
) -> None:
    before = _count(session)
    for who in (None, world.actor(session, "company")):  # no identity checked (Art. 33 ¶3)
        with pytest.raises(IdentityRequired):
            feedback.submit(session, who, oc.person.code, rating=5)
    citizen = world.actor(session, "citizen")
    for rating in (0, 6, -1):
        with pytest.raises(InvalidInput) as exc:
            feedback.submit(session, citizen, oc.person.code, rating=rating)
        assert exc.value.code == "opendata.invalid_rating" and "1 至 5" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        feedback.submit(session, citizen, oc.person.code, rating=3, comment="长" * 1001)
    assert exc.value.code == "opendata.invalid_text" and "过长" in exc.value.message
    with pytest.raises(InvalidInput):
        feedback.submit(session, citizen, oc.person.code, rating=3, comment="a\x00b")
    with pytest.raises(NotFound):
        feedback.submit(session, citizen, "NO-SUCH-CODE", rating=3)
    assert _count(session) == before


# --- over HTTP -----------------------------------------------------------------------------------


def test_feedback_over_the_api(
    client: TestClient, sign_in: object, session: Session, world: World, oc: OpenCity
) -> None:
    url = f"/api/v1/opendata/datasets/{oc.person.code}/feedback"
    assert client.post(url, json={"rating": 5}).status_code == 401
    company = sign_in("company")  # type: ignore[operator]
    r = company.post(url, json={"rating": 5})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "opendata.identity_required")
    citizen = sign_in("citizen")  # type: ignore[operator]
    r = citizen.post(url, json={"rating": 9})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "opendata.invalid_rating")
    r = citizen.post(url, json={"rating": 4, "comment": "很好用"})
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    assert client.get(url).json() == {
        "dataset": oc.person.code,
        "average": None,
        "count": 0,
        "feedback": [],
    }
    officer = sign_in("officer")  # type: ignore[operator]
    mod = f"/api/v1/opendata/feedback/{fid}/moderation"
    r = officer.post(mod, json={"decision": "publish"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "opendata.not_moderator")
    city = sign_in("city")  # type: ignore[operator]
    r = city.post(mod, json={"decision": "maybe"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "opendata.invalid_decision")
    assert city.post(mod, json={"decision": "publish"}).status_code == 200
    r = officer.post(f"/api/v1/opendata/feedback/{fid}/reply", json={"reply": "谢谢"})
    assert r.status_code == 200, r.text
    body = client.get(url).json()
    assert (body["average"], body["count"]) == (4.0, 1)
    assert body["feedback"][0]["comment"] == "很好用" and body["feedback"][0]["reply"] == "谢谢"
    assert "author_id" not in body["feedback"][0]


def test_feedback_form_and_block_on_the_dataset_page(
    client: TestClient, sign_in: object, session: Session, world: World, oc: OpenCity
) -> None:
    page = f"/open/datasets/{oc.person.code}/feedback"
    r = client.get(page)
    assert r.status_code == 200 and "暂无公开的评价" in r.text and "登录" in r.text
    citizen = sign_in("citizen")  # type: ignore[operator]
    r = citizen.post(
        page, data={"rating": "5", "comment": "<script>alert(1)</script>"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].endswith("msg=feedback")
    row = session.scalar(select(DatasetFeedback).order_by(DatasetFeedback.id.desc()).limit(1))
    assert row is not None and row.status == "pending"
    city = sign_in("city")  # type: ignore[operator]
    r = city.get("/opendata/moderation")
    assert r.status_code == 200 and f'data-testid="feedback-{row.id}"' in r.text
    r = city.post(
        f"/opendata/moderation/feedback/{row.id}",
        data={"decision": "publish", "note": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.get(page)
    assert "平均评分 <strong>5.0</strong>" in r.text and f"reply-form-{row.id}" not in r.text
    # The provider sees the reply form on its dataset's block and answers there.
    officer = sign_in("officer")  # type: ignore[operator]
    assert f'data-testid="reply-form-{row.id}"' in officer.get(page).text
    r = officer.post(
        f"/open/feedback/{row.id}/reply", data={"reply": "已更新"}, follow_redirects=False
    )
    assert r.status_code == 303
    r = client.get(page)
    assert f'data-testid="reply-{row.id}"' in r.text and "已更新" in r.text
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
    # The moderation page is the bureau's: others are refused.
    assert officer.get("/opendata/moderation").status_code == 403
