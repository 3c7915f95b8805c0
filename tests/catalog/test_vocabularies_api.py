"""Reading the code lists over HTTP (GET /api/v1/catalog/vocabularies; issue 16) and the pages
of the resource formats and update cycles (/catalog/vocabularies/{list})."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govdata.catalog import service, vocabularies
from govdata.catalog.vocab import UpdateCycle
from govdata.catalog.vocabularies import RESOURCE_FORMAT, UPDATE_CYCLE, EntryIn
from tests.catalog.factories import company_resource
from tests.catalog.test_published import _publish
from tests.catalog.test_vocabularies import _adopt_gbt
from tests.catalog.test_vocabularies_formats import _formats_v2, _written
from tests.web.test_tokens_scopes import bearer, token
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}
API = "/api/v1/catalog/vocabularies"


def test_every_list_is_read_with_its_current_version(
    sign_in: Any, session: Session, world: World
) -> None:
    _formats_v2(session, world)
    session.commit()
    r = sign_in("officer").get(API)
    assert r.status_code == 200, r.text
    lists = {v["name"]: v for v in r.json()}
    assert list(lists) == ["security_level", "resource_format", "update_cycle"]
    assert [v["title"] for v in lists.values()] == ["安全级别", "资源格式", "更新周期"]
    formats = lists["resource_format"]
    assert (formats["version"], formats["current_version"], formats["codes_fixed"]) == (2, 2, False)
    streaming = next(e for e in formats["entries"] if e["code"] == "streaming")
    assert streaming == {
        "code": "streaming",
        "label": "流媒体",
        "position": 8,
        "active": False,
        "maps_to": "electronic_file",
    }
    geo = next(e for e in formats["entries"] if e["code"] == "geospatial")
    assert (geo["label"], geo["active"], geo["maps_to"]) == ("地理空间数据", True, None)
    assert lists["update_cycle"]["codes_fixed"] is True
    assert [e["code"] for e in lists["update_cycle"]["entries"]] == [c.value for c in UpdateCycle]
    assert lists["security_level"]["default_code"] == "internal"


def test_one_list_and_an_earlier_version(sign_in: Any, session: Session, world: World) -> None:
    _adopt_gbt(session, world)
    session.commit()
    c = sign_in("auditor")
    now = c.get(f"{API}/security_level")
    assert now.status_code == 200
    body = now.json()
    assert (body["version"], body["current_version"], body["default_code"]) == (2, 2, "general")
    assert body["note"] == "按 GB/T 43697 调整" and body["published_at"]
    assert {e["code"]: e["maps_to"] for e in body["entries"] if not e["active"]} == {
        "public": "general",
        "internal": "general",
        "sensitive": "important",
        "restricted": "core",
    }
    first = c.get(f"{API}/security_level", params={"version": 1}).json()
    assert (first["version"], first["current_version"]) == (1, 2)
    assert [(e["code"], e["label"], e["active"], e["maps_to"]) for e in first["entries"]] == [
        ("public", "公开", True, None),
        ("internal", "内部", True, None),
        ("sensitive", "敏感", True, None),
        ("restricted", "受限", True, None),
    ]


def test_an_unknown_list_or_version_is_not_found_in_zh_cn(sign_in: Any) -> None:
    c = sign_in("officer")
    r = c.get(f"{API}/colour")
    assert r.status_code == 404
    assert r.json()["error"] == {
        **r.json()["error"],
        "code": "catalog.vocab_unknown_list",
        "message": "没有这个代码表。",
    }
    r = c.get(f"{API}/update_cycle", params={"version": 7})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "catalog.vocab_unknown_version"
    assert r.json()["error"]["message"] == "更新周期代码表没有第 7 版。"
    assert c.get(f"{API}/update_cycle", params={"version": 0}).status_code == 422


def test_a_token_reads_the_lists_with_catalog_read_only(
    client: TestClient, session: Session, world: World
) -> None:  # Art. 39
    without = token(session, world, "catalog:write", "org:read", "pool:read")
    for path in (API, f"{API}/resource_format", f"{API}/colour"):
        r = client.get(path, headers=bearer(without))
        assert r.status_code == 403, path
        assert r.json()["error"]["code"] == "auth.scope_missing"
    reader = token(session, world, "catalog:read")
    r = client.get(f"{API}/resource_format", headers=bearer(reader))
    assert r.status_code == 200 and r.json()["name"] == "resource_format"


def test_the_public_and_anonymous_visitors_are_refused(sign_in: Any, client: TestClient) -> None:
    assert client.get(API).status_code == 401
    r = sign_in("citizen").get(API)
    assert r.status_code == 403 and r.json()["error"]["message"]


def test_the_lists_are_documented_in_openapi(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    one = spec["paths"]["/api/v1/catalog/vocabularies/{name}"]["get"]
    assert one["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VocabularyOut"
    }
    assert {p["name"] for p in one["parameters"]} == {"name", "version"}
    entry = spec["components"]["schemas"]["VocabularyEntryOut"]["properties"]
    assert set(entry) == {"code", "label", "position", "active", "maps_to"}
    assert "/api/v1/catalog/vocabularies" in spec["paths"]


# --- the pages --------------------------------------------------------------------------------


def test_each_list_has_its_page_and_the_bureau_publishes_formats_there(
    sign_in: Any, session: Session, world: World
) -> None:
    officer = world.actor(session, "officer")
    made = service.create_resource(
        session, officer, world.police, company_resource(format="streaming")
    )
    session.commit()
    c = sign_in("city")
    page = c.get("/catalog/vocabularies/resource_format", headers=HTML)
    assert page.status_code == 200
    assert "代码表：资源格式" in page.text and 'data-testid="vocab-lists"' in page.text
    assert 'href="/catalog/vocabularies/update_cycle"' in page.text
    assert 'aria-current="page">资源格式</a>' in page.text
    form = {
        "position": ["1", "2", "3", "4", "5", "6", "7", "8"],
        "code": [
            "electronic_file",
            "spreadsheet",
            "database",
            "image",
            "streaming",
            "self_describing",
            "service_api",
            "geospatial",
        ],
        "label": [
            "电子文件",
            "电子表格",
            "数据库",
            "图形图像",
            "流媒体",
            "自描述格式",
            "服务接口",
            "地理空间数据",
        ],
        "retire": ["streaming"],
        "map_streaming": "电子文件",
        "default_code": "",
        "note": "",
    }
    r = c.post("/catalog/vocabularies/resource_format", data=form, headers=HTML)
    assert r.status_code == 200 and "已发布代码表的新版本" in r.text
    assert str(r.url).endswith("/catalog/vocabularies/resource_format?msg=published")
    assert "按对应关系更新 1 条资源" in r.text
    # The officer's pages: the working copy shows the old format's last label, the form
    # offers the new list and keeps the retired value marked.
    o = sign_in("officer")
    todo = o.get("/catalog/vocabularies/resource_format", headers=HTML).text
    assert f'href="/catalog/working/{made.id}/edit">' in todo and "流媒体（已停用）" in todo
    working = o.get(f"/catalog/working/{made.id}", headers=HTML).text
    assert "流媒体（已停用）" in working
    edit = o.get(f"/catalog/working/{made.id}/edit", headers=HTML).text
    assert '<option value="geospatial">地理空间数据</option>' in edit
    assert '<option value="streaming" selected>流媒体（已停用，请改选）</option>' in edit
    new = o.get(f"/catalog/departments/{world.police}/resources/new", headers=HTML).text
    assert '<option value="streaming"' not in new


def test_the_update_cycle_page_relabels_only(sign_in: Any, session: Session, world: World) -> None:
    c = sign_in("city")
    page = c.get("/catalog/vocabularies/update_cycle", headers=HTML).text
    assert 'data-testid="vocab-fixed"' in page
    assert 'name="retire"' not in page and 'name="map_' not in page
    codes = [cy.value for cy in UpdateCycle]
    labels = [cy.label for cy in UpdateCycle]
    before = _written(session)
    added = {
        "position": [str(n) for n in range(1, 10)],
        "code": [*codes, "biennial"],
        "label": [*labels, "每两年"],
        "default_code": "",
        "note": "",
    }
    r = c.post("/catalog/vocabularies/update_cycle", data=added, headers=HTML)
    assert r.status_code == 400
    assert "只能更改名称和顺序，不能新增或停用取值" in r.text
    session.expire_all()
    assert _written(session) == before
    renamed = {**added, "code": codes, "label": ["实时", "每天", *labels[2:]]}
    renamed["position"] = renamed["position"][:8]
    r = c.post("/catalog/vocabularies/update_cycle", data=renamed, headers=HTML)
    assert r.status_code == 200 and "现行版本：第 2 版" in r.text
    session.expire_all()
    assert vocabularies.current(session, UPDATE_CYCLE).label_of("daily") == "每天"
    # The resource form uses the new label (the filters: the list's ``filter_choices``).
    o = sign_in("officer")
    new = o.get(f"/catalog/departments/{world.police}/resources/new", headers=HTML).text
    assert '<option value="daily">每天</option>' in new


def test_the_published_catalog_labels_and_filters_any_format_the_list_has_had(
    sign_in: Any, session: Session, world: World
) -> None:
    (video,) = _publish(
        session, world, world.police, company_resource("道路监控视频目录", format="streaming")
    )
    _formats_v2(session, world)
    session.commit()
    o = sign_in("officer")
    page = o.get("/catalog", params={"format": "streaming"}, headers=HTML)
    assert page.status_code == 200 and "道路监控视频目录" in page.text
    assert '<option value="streaming" selected>流媒体（已停用）</option>' in page.text
    assert '<option value="geospatial">地理空间数据</option>' in page.text
    resource = o.get(f"/catalog/resources/{video.code}", headers=HTML).text
    assert "流媒体（已停用）" in resource
    found = o.get("/api/v1/catalog/published", params={"format": "streaming"}).json()
    assert [i["code"] for i in found["items"]] == [video.code]
    assert o.get("/catalog", params={"format": "地理空间数据"}, headers=HTML).status_code == 200
    bad = o.get("/catalog", params={"format": "film"}, headers=HTML)
    assert bad.status_code == 400 and "资源格式“film”不是允许的取值" in bad.text
    api = o.get("/api/v1/catalog/published", params={"format": "geospatial"})
    assert api.status_code == 200 and api.json()["items"] == []


def test_publishing_a_list_is_for_the_bureau_only(
    sign_in: Any, session: Session, world: World
) -> None:
    before = _written(session)
    r = sign_in("officer").post(
        f"/catalog/vocabularies/{RESOURCE_FORMAT}",
        data={"position": ["1"], "code": ["database"], "label": ["库"]},
        headers=HTML,
    )
    assert r.status_code == 403 and "只有市数据主管部门可以维护代码表" in r.text
    session.expire_all()
    assert _written(session) == before
    assert vocabularies.current(session, RESOURCE_FORMAT).version == 1
    assert EntryIn("database", "数据库") in [
        EntryIn(e.code, e.label) for e in vocabularies.current(session, RESOURCE_FORMAT).active
    ]


def test_the_new_resource_form_preselects_each_lists_default(
    sign_in: Any, session: Session, world: World
) -> None:
    o = sign_in("officer")
    new = f"/catalog/departments/{world.police}/resources/new"
    form = o.get(new, headers=HTML).text
    assert '<option value="spreadsheet" selected>电子表格</option>' in form
    assert '<option value="monthly" selected>每月</option>' in form
    assert '<option value="internal" selected>内部</option>' in form
    vocabularies.publish(
        session,
        world.actor(session, "city"),
        RESOURCE_FORMAT,
        [EntryIn(e.code, e.label) for e in vocabularies.current(session, RESOURCE_FORMAT).active],
        {},
        default_code="database",
    )
    session.commit()
    form = o.get(new, headers=HTML).text
    assert '<option value="database" selected>数据库</option>' in form
    assert '<option value="spreadsheet">电子表格</option>' in form
