"""The base, thematic and repeated-collection pages over HTTP: each for who may see it, refused
for the others; forms post with CSRF and show zh-CN errors keeping what was typed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from tests.aggregation.base_helpers import K1, K2, build_city
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_the_overview_and_a_base_page(session: Session, world: World, sign_in) -> None:  # type: ignore[no-untyped-def]
    c = build_city(session, world)
    session.commit()
    officer = sign_in("officer")
    r = officer.get("/aggregation/base", headers=HTML)
    assert r.status_code == 200
    assert "自然人基础数据库" in r.text and "市公安局" in r.text
    assert "待处理 1" in r.text  # the K2 name conflict
    assert "建立基础数据库" not in r.text  # the bureau's form
    r = officer.get("/aggregation/base/person", headers=HTML)
    assert r.status_code == 200 and "新增基础信息项" in r.text and "全量重建" in r.text
    assert c.police_res.code in r.text and "个体经营者信息" in r.text
    # Another department reads the base (Art. 25(2)) but does not keep it.
    r = sign_in("officer2").get("/aggregation/base/person", headers=HTML)
    assert r.status_code == 200 and "新增基础信息项" not in r.text and "全量重建" not in r.text
    assert "建立基础数据库" in sign_in("city").get("/aggregation/base", headers=HTML).text


@pytest.mark.parametrize("who", ["citizen", "plain"])
def test_the_public_is_refused(session: Session, world: World, sign_in, who: str) -> None:  # type: ignore[no-untyped-def]
    build_city(session, world)
    session.commit()
    client = sign_in(who)
    for path in (
        "/aggregation/base",
        "/aggregation/base/person",
        f"/aggregation/base/person/record?key={K1}",
        "/aggregation/base/conflicts",
        "/aggregation/base/repeated",
        "/aggregation/thematic",
    ):
        assert client.get(path, headers=HTML).status_code == 403, path


def test_forms_change_the_base_and_refusals_keep_what_was_typed(
    session: Session, world: World, sign_in
) -> None:  # type: ignore[no-untyped-def]
    c = build_city(session, world)
    session.commit()
    city, officer = sign_in("city"), sign_in("officer")
    r = city.post(
        "/aggregation/base",
        data={"kind": "geo", "lead_department_id": str(world.market), "name": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/aggregation/base/geo?msg=defined"
    r = city.post("/aggregation/base", data={"kind": "licence", "lead_department_id": ""})
    assert r.status_code == 422 and "请选择牵头建设部门" in r.text
    r = officer.post("/aggregation/base", data={"kind": "licence", "lead_department_id": "1"})
    assert r.status_code == 403

    # One item, one source: a second source is refused, the form keeps the name.
    r = officer.post(
        "/aggregation/base/person/items",
        data={"name": "姓名", "source_resource_code": c.market_res.code, "source_item": "姓名"},
    )
    assert r.status_code == 422 and "一数一源" in r.text
    assert 'value="姓名"' in r.text
    r = officer.post(
        "/aggregation/base/person/items",
        data={
            "name": "从业人数",
            "source_resource_code": c.market_res.code,
            "source_item": "从业人数",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = officer.get(r.headers["location"], headers=HTML)
    assert "已新增基础信息项" in r.text and "从业人数" in r.text
    r = officer.post(
        "/aggregation/base/person/build", data={"confirm": "yes"}, follow_redirects=False
    )
    assert r.status_code == 303
    r = officer.post(
        "/aggregation/base/person/items/remove",
        data={"name": "从业人数", "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = sign_in("officer2").post("/aggregation/base/person/build", data={"confirm": "yes"})
    assert r.status_code == 403
    assert sign_in("officer2").get("/aggregation/base/person/build").status_code == 403
    # Without the CSRF token nothing happens.
    r = officer.client.post("/aggregation/base/person/build", follow_redirects=False)
    assert r.status_code == 403


def test_a_record_page_shows_provenance(session: Session, world: World, sign_in) -> None:  # type: ignore[no-untyped-def]
    c = build_city(session, world)
    session.commit()
    reader = sign_in("officer2")
    r = reader.get(f"/aggregation/base/lookup?kind=person&key={K2}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"record?key={K2}")
    r = reader.get(f"/aggregation/base/person/record?key={K2}", headers=HTML)
    assert r.status_code == 200
    row = re.search(
        r'<tr data-testid="record-value">\s*<th scope="row">姓名</th>(.*?)</tr>', r.text, re.S
    )
    assert row is not None
    assert "李四" in row.group(1) and "市公安局" in row.group(1)
    assert c.police_res.code in row.group(1) and f"#{c.police_load.id}" in row.group(1)
    assert "李四四" in r.text  # the open conflict on this subject
    r = reader.get("/aggregation/base/person/record?key=500101199909090099", headers=HTML)
    assert r.status_code == 404 and "没有公民身份号码为" in r.text


def test_the_conflict_queue(session: Session, world: World, sign_in) -> None:  # type: ignore[no-untyped-def]
    build_city(session, world)
    session.commit()
    city = sign_in("city")
    r = city.get("/aggregation/base/conflicts", headers=HTML)
    assert r.status_code == 200 and "李四四" in r.text and "标记为已处理" in r.text
    conflict_id = re.search(r"/aggregation/base/conflicts/(\d+)/resolve", r.text).group(1)  # type: ignore[union-attr]
    # The market sees it, cannot resolve it.
    market = sign_in("officer2")
    r = market.get("/aggregation/base/conflicts", headers=HTML)
    assert "李四四" in r.text and "标记为已处理" not in r.text
    assert (
        market.post(
            f"/aggregation/base/conflicts/{conflict_id}/resolve", data={"note": "x"}
        ).status_code
        == 403
    )
    r = city.post(f"/aggregation/base/conflicts/{conflict_id}/resolve", data={"note": ""})
    assert r.status_code == 422 and "须填写处理说明" in r.text
    r = city.post(
        f"/aggregation/base/conflicts/{conflict_id}/resolve",
        data={"note": "已通知市场监管局核对"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = city.get("/aggregation/base/conflicts?status=resolved", headers=HTML)
    assert "已通知市场监管局核对" in r.text and "已处理" in r.text
    assert "没有数据冲突" in city.get("/aggregation/base/conflicts", headers=HTML).text


def test_the_repeated_collection_page(session: Session, world: World, sign_in) -> None:  # type: ignore[no-untyped-def]
    c = build_city(session, world)
    session.commit()
    r = sign_in("auditor").get("/aggregation/base/repeated", headers=HTML)
    assert r.status_code == 200 and c.market_res.code in r.text and "第五十条第三项" in r.text
    r = sign_in("officer").get("/aggregation/base/repeated", headers=HTML)
    assert "未发现重复采集" in r.text


def test_thematic_pages(session: Session, world: World, sign_in) -> None:  # type: ignore[no-untyped-def]
    c = build_city(session, world)
    session.commit()
    officer = sign_in("officer")
    r = officer.get("/aggregation/thematic", headers=HTML)
    assert r.status_code == 200 and "建立主题数据库" in r.text
    form = {
        "department_id": str(world.police),
        "name": "个体经营人员专题",
        "description": "测试",
        "base_kind": "person",
        "base_items": ["姓名", "出生日期"],
        "pool_items": f"{c.market_res.code} 从业人数",
        "filters": "从业人数 像 2",
        "legal_basis": "",
    }
    r = officer.post("/aggregation/thematic", data=form)
    assert r.status_code == 422 and "不是允许的运算" in r.text
    assert "个体经营人员专题" in r.text and "从业人数 像 2" in r.text  # kept as typed
    r = officer.post(
        "/aggregation/thematic", data=form | {"filters": "从业人数 >= 2"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    detail = r.headers["location"]
    r = officer.get(detail, headers=HTML)
    assert r.status_code == 200 and "已建立主题数据库" in r.text
    assert "张三" in r.text and "李四" in r.text and "赵六" not in r.text
    assert "从业人数 大于等于 2.0" in r.text or "从业人数 大于等于 2" in r.text
    thematic_id = detail.split("/")[-1].split("?")[0]
    # 立即更新 asks first, saying what it will do (issue 16); the confirmed POST acts.
    r = officer.get(detail.split("?")[0], headers=HTML)
    assert f'href="/aggregation/thematic/{thematic_id}/refresh" data-testid="refresh"' in r.text
    first = officer.post(f"/aggregation/thematic/{thematic_id}/refresh", follow_redirects=False)
    assert first.status_code == 200 and 'data-testid="count-rows">2 行<' in first.text
    assert "自然人基础数据库，现有 4 个主体" in first.text and "个体经营者信息" in first.text
    assert "已按最新的来源数据更新" not in first.text
    r = officer.post(
        f"/aggregation/thematic/{thematic_id}/refresh",
        data={"confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?msg=refreshed")
    # Another department neither sees nor refreshes it; the police head sees, cannot refresh.
    market = sign_in("officer2")
    assert market.get(f"/aggregation/thematic/{thematic_id}", headers=HTML).status_code == 404
    head = sign_in("head")
    r = head.get(f"/aggregation/thematic/{thematic_id}", headers=HTML)
    assert r.status_code == 200 and "立即更新" not in r.text
    refresh = f"/aggregation/thematic/{thematic_id}/refresh"
    assert head.post(refresh, data={"confirm": "yes"}).status_code == 403
    assert head.get(refresh, headers=HTML).status_code == 403
    assert "建立主题数据库" not in head.get("/aggregation/thematic", headers=HTML).text
