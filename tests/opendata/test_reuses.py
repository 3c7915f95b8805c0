"""Reuses of open data (Art. 37): submitted by identified people with an http(s) link, shown in
the showcase and on the datasets' pages only once the city bureau publishes them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.opendata import reuses
from govdata.opendata.contributions import Decision, clean_url
from govdata.opendata.errors import IdentityRequired
from govdata.opendata.models import Reuse, ReuseDataset
from tests.opendata.helpers import OpenCity, build_open_city
from tests.world import World


@pytest.fixture
def oc(session: Session, world: World) -> OpenCity:
    city = build_open_city(session, world)
    session.commit()
    return city


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Reuse)) or 0) + int(
        session.scalar(select(func.count()).select_from(ReuseDataset)) or 0
    )


def _submit(session: Session, world: World, oc: OpenCity, **kw: object) -> Reuse:
    args: dict[str, object] = {
        "kind": "app",
        "title": "渝快查",
        "description": "查询个体经营者状态的小程序。",
        "url": "https://example.cn/app",
        "dataset_codes": [oc.person.code, oc.market.code],
    } | kw
    return reuses.submit(session, world.actor(session, "citizen"), **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.cn/x",
        "//example.cn/x",
        "/open/reuses",
        "https://",
        "https://user:pw@example.cn/",
        "https://example.cn/a b",
        "https://example.cn:99999/",
        "https://example.cn/\x00",
        "https://example.cn/" + "a" * 500,
    ],
)
def test_a_link_must_be_an_absolute_http_url(url: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        clean_url(url)
    assert exc.value.code == "opendata.invalid_url" and "链接" in exc.value.message


def test_good_links_pass_unchanged() -> None:
    for url in (
        "https://example.cn/app?id=1#top",
        "HTTP://数据.中国/路径",
        "http://10.0.0.1:8080/",
    ):
        assert clean_url(url) == url


def test_a_reuse_is_shown_only_once_published(session: Session, world: World, oc: OpenCity) -> None:
    row = _submit(session, world, oc)
    assert reuses.published_for_dataset(session, oc.person.id) == []
    assert reuses.showcase(session) == ([], 0)
    with pytest.raises(NotFound):
        reuses.get_published(session, row.id)
    with pytest.raises(PermissionDenied):
        reuses.moderate(session, world.actor(session, "officer"), row.id, Decision.PUBLISH)
    city = world.actor(session, "city")
    reuses.moderate(session, city, row.id, Decision.PUBLISH)
    assert [r.id for r in reuses.published_for_dataset(session, oc.person.id)] == [row.id]
    assert [r.id for r in reuses.published_for_dataset(session, oc.market.id)] == [row.id]
    assert reuses.showcase(session, kind="app")[1] == 1
    assert reuses.showcase(session, kind="news")[1] == 0
    assert {d.code for d in reuses.datasets_of(session, [row.id])[row.id]} == {
        oc.person.code,
        oc.market.code,
    }
    with pytest.raises(Conflict):
        reuses.moderate(session, city, row.id, Decision.REJECT, "改判")
    rejected = _submit(session, world, oc, title="另一个")
    reuses.moderate(session, city, rejected.id, Decision.REJECT, "链接无法访问")
    with pytest.raises(NotFound):
        reuses.get_published(session, rejected.id)
    assert reuses.showcase(session)[1] == 1


def test_bad_reuses_are_refused_and_write_nothing(
    session: Session, world: World, oc: OpenCity
) -> None:
    before = _count(session)
    for who in (None, world.actor(session, "company")):
        with pytest.raises(IdentityRequired):
            reuses.submit(
                session,
                who,
                kind="app",
                title="t",
                description="d",
                url="https://e.cn",
                dataset_codes=[oc.person.code],
            )
    cases: list[tuple[dict[str, object], str]] = [
        ({"kind": "game"}, "opendata.invalid_kind"),
        ({"title": ""}, "opendata.invalid_text"),
        ({"description": "长" * 2001}, "opendata.invalid_text"),
        ({"url": "javascript:alert(1)"}, "opendata.invalid_url"),
        ({"dataset_codes": []}, "opendata.no_datasets"),
        ({"dataset_codes": [f"C{i}" for i in range(21)]}, "opendata.no_datasets"),
    ]
    for kw, code in cases:
        with pytest.raises(InvalidInput) as exc:
            _submit(session, world, oc, **kw)
        assert exc.value.code == code, kw
    with pytest.raises(NotFound):
        _submit(session, world, oc, dataset_codes=[oc.person.code, "NO-SUCH"])
    assert _count(session) == before


def test_reuses_over_the_api_and_the_showcase(
    client: TestClient, sign_in: object, session: Session, world: World, oc: OpenCity
) -> None:
    body = {
        "kind": "visualization",
        "title": "人口分布图",
        "description": "按区县的人口分布。",
        "url": "https://viz.example.cn/",
        "datasets": [oc.person.code],
    }
    assert client.post("/api/v1/opendata/reuses", json=body).status_code == 401
    citizen = sign_in("citizen")  # type: ignore[operator]
    r = citizen.post("/api/v1/opendata/reuses", json=body | {"url": "javascript:alert(1)"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "opendata.invalid_url")
    r = citizen.post("/api/v1/opendata/reuses", json=body)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert client.get(f"/api/v1/opendata/reuses/{rid}").status_code == 404
    assert client.get(f"/open/reuses/{rid}").status_code == 404
    city = sign_in("city")  # type: ignore[operator]
    queue = city.get("/api/v1/opendata/moderation").json()
    assert [x["id"] for x in queue["reuses"]] == [rid]
    assert sign_in("officer").get("/api/v1/opendata/moderation").status_code == 403  # type: ignore[operator]
    r = city.post(
        f"/opendata/moderation/reuses/{rid}", data={"decision": "publish"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get(f"/api/v1/opendata/reuses/{rid}").json()["datasets"] == [oc.person.code]
    listed = client.get("/api/v1/opendata/reuses", params={"dataset": oc.person.code}).json()
    assert [x["id"] for x in listed["reuses"]] == [rid]
    page = client.get("/open/reuses")
    assert page.status_code == 200 and "人口分布图" in page.text
    detail = client.get(f"/open/reuses/{rid}")
    assert 'href="https://viz.example.cn/" rel="noopener noreferrer nofollow ugc"' in detail.text
    block = client.get(f"/open/datasets/{oc.person.code}/feedback")
    assert f'data-testid="reuse-{rid}"' in block.text
    # The form: datasets as comma-separated codes.
    r = citizen.post(
        "/open/reuses",
        data={
            "kind": "research",
            "title": "论文",
            "description": "研究。",
            "url": "https://paper.example.cn/",
            "datasets": f"{oc.person.code}，{oc.market.code}",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    newest = session.scalar(select(Reuse).order_by(Reuse.id.desc()).limit(1))
    assert newest is not None and newest.kind == "research"
    r = city.post(
        f"/opendata/moderation/reuses/{newest.id}",
        data={"decision": "reject", "note": ""},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "请填写审核意见" in r.text
    session.refresh(newest)
    assert newest.status == "pending"


def test_one_person_cannot_flood_the_bureau_with_pending_reuses(
    session: Session, world: World, oc: OpenCity
) -> None:
    from govdata.opendata.contributions import MAX_PENDING

    for i in range(MAX_PENDING):
        _submit(session, world, oc, title=f"成果{i}")
    before = _count(session)
    with pytest.raises(Conflict) as exc:
        _submit(session, world, oc, title="再一个")
    assert exc.value.code == "opendata.too_many_pending"
    assert _count(session) == before
