"""The CKAN-compatible action API over HTTP (issue 14 §7; Art. 32, 33, 40): CKAN's envelope,
error types and status codes, the package/organization/group/tag shapes, and
``datastore_search`` behind the entitlement check with an access record for every read."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.core.db import utcnow
from govdata.opendata import datasets, keys
from govdata.opendata.ckan import group_name
from govdata.opendata.models import OpenDataset
from tests.opendata.ckan_helpers import approve, publish
from tests.opendata.helpers import OpenCity, build_open_city, set_open
from tests.world import World

PERSON_ROWS = [("500103199001010018", "张三"), ("500103199202020022", "李四"), ("x", "王五")]
MARKET_ROWS = [("500103199001010018", "张三", "存续"), ("500103199202020022", "李四", "注销")]


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    assert body["help"].endswith("/api/3/action/help_show?name=" + r.url.path.rsplit("/", 1)[1])
    return body["result"]


def _err(r: Any, status: int, kind: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["error"]["__type"] == kind
    error: dict[str, Any] = body["error"]
    return error


def _name(ds: OpenDataset) -> str:
    return ds.code.replace("/", "-").lower()


def _released_city(session: Session, world: World) -> OpenCity:
    oc = build_open_city(session, world)
    publish(session, oc.person, [("公民身份号码", "C"), ("姓名", "C")], PERSON_ROWS)
    publish(
        session,
        oc.market,
        [("公民身份号码", "C"), ("姓名", "C"), ("经营状态", "C")],
        MARKET_ROWS,
    )
    return oc


def _key(session: Session, world: World, username: str) -> str:
    return keys.issue_key(session, world.people[username], "测试").secret


# --- catalog actions (Art. 32: public, no sign-in) ----------------------------------------------


def test_package_search_envelope_query_facets_and_both_paths(
    session: Session, world: World, client: TestClient
) -> None:
    oc = build_open_city(session, world)
    result = _ok(client.get("/api/3/action/package_search", params={"q": "户籍"}))
    assert result["count"] == 1
    pkg = result["results"][0]
    assert (pkg["id"], pkg["name"], pkg["title"]) == (
        oc.person.code,
        _name(oc.person),
        oc.person.name,
    )
    assert pkg["organization"]["title"] == "市公安局" and pkg["owner_org"] == "500000-007"
    # CKAN names are [a-z0-9_-] (a harvesting CKAN creates the group by it); the theme titles it.
    assert [(g["name"], g["title"]) for g in pkg["groups"]] == [
        (group_name("社会保障"), "社会保障")
    ]
    assert re.fullmatch(r"[a-z0-9_-]{2,100}", pkg["groups"][0]["name"])
    assert {t["name"] for t in pkg["tags"]} >= {"社会保障", "人口"}
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert (
        extras["open_type"] == "unconditional" and extras["update_cycle"] == oc.person.update_cycle
    )
    assert "出生日期" not in extras["open_items"]  # Art. 30: an item not open is never listed
    assert pkg["license_id"] == "cq-open-data-1.0" and pkg["isopen"] is True
    # /api/action is the same API; POST with a JSON body; unknown parameters are ignored.
    body = {"q": "", "facet.field": ["organization", "groups", "tags"], "rows": 5, "foo": 1}
    result = _ok(client.post("/api/action/package_search", json=body))
    assert result["count"] == 2
    assert result["facets"]["organization"] == {"500000-007": 1, "500000-026": 1}
    items = {i["name"]: i for i in result["search_facets"]["organization"]["items"]}
    assert items["500000-026"]["display_name"] == "市市场监督管理局"
    assert items["500000-026"]["count"] == 1
    assert result["facets"]["groups"] == {group_name("社会保障"): 1, group_name("市场监管"): 1}
    titles = {i["name"]: i["display_name"] for i in result["search_facets"]["groups"]["items"]}
    assert titles[group_name("市场监管")] == "市场监管"
    assert result["search_facets"]["tags"]["title"] == "tags"
    # A GET query gives facet.field as a JSON string, as CKAN's own clients do.
    result = _ok(
        client.get("/api/3/action/package_search", params={"facet.field": '["res_format"]'})
    )
    assert set(result["search_facets"]) == {"res_format"}


def test_package_search_fq_terms_sort_and_paging(
    session: Session, world: World, client: TestClient
) -> None:
    oc = build_open_city(session, world)

    def names(**params: Any) -> list[str]:
        result = _ok(client.get("/api/3/action/package_search", params=params))
        return [p["name"] for p in result["results"]]

    assert names(fq="organization:500000-026") == [_name(oc.market)]
    assert names(fq='+tags:"社会保障"') == [_name(oc.person)]
    assert names(fq="groups:市场监管") == [_name(oc.market)]
    assert names(fq=f"groups:{group_name('市场监管')}") == [_name(oc.market)]
    assert names(fq="organization:500000-026 organization:500000-007") == []
    assert names(fq="groups:社会保障 tags:人口 dataset_type:dataset") == [_name(oc.person)]
    # The harvester's incremental query: modified since a time.
    old = utcnow() - timedelta(days=10)
    session.execute(
        update(OpenDataset).where(OpenDataset.id == oc.market.id).values(metadata_modified=old)
    )
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert names(fq=f"metadata_modified:[{since} TO *]") == [_name(oc.person)]
    assert names(fq="metadata_modified:[* TO NOW-2DAYS]") == [_name(oc.market)]
    assert names(sort="metadata_modified desc") == [_name(oc.person), _name(oc.market)]
    assert names(sort="metadata_modified asc") == [_name(oc.market), _name(oc.person)]
    assert names(sort="score desc, name asc") == sorted([_name(oc.person), _name(oc.market)])
    first = names(sort="name asc", rows=1)
    second = names(sort="name asc", rows=1, start=1)
    assert len(first) == len(second) == 1 and first != second
    result = _ok(client.get("/api/3/action/package_search", params={"rows": 5000}))
    assert result["count"] == 2  # rows above 1000 is CKAN's maximum, not an error


def test_package_search_refusals_have_ckan_types_and_zh_messages(
    client: TestClient, session: Session, world: World
) -> None:
    build_open_city(session, world)
    err = _err(
        client.get("/api/3/action/package_search", params={"rows": "x"}), 409, "Validation Error"
    )
    assert err["code"] == "opendata.ckan_invalid" and err["rows"] == ["rows 应为非负整数。"]
    err = _err(
        client.get("/api/3/action/package_search", params={"fq": "author:x"}),
        400,
        "Search Query Error",
    )
    assert "不支持的筛选字段" in err["message"] and err["code"] == "opendata.ckan_search_query"
    err = _err(
        client.get("/api/3/action/package_search", params={"fq": "-tags:人口"}),
        400,
        "Search Query Error",
    )
    assert "排除" in err["message"]
    _err(
        client.get("/api/3/action/package_search", params={"sort": "foo desc"}),
        400,
        "Search Query Error",
    )
    _err(
        client.get("/api/3/action/package_search", params={"fq": "metadata_modified:[x TO *]"}),
        400,
        "Search Query Error",
    )
    r = client.get("/api/3/action/package_delete")
    assert (
        r.status_code == 400 and r.json() == "Bad request - Action name not known: package_delete"
    )
    r = client.post(
        "/api/3/action/package_search",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and "JSON" in r.json()


def test_package_show_list_and_withdrawn(
    session: Session, world: World, client: TestClient
) -> None:
    oc = build_open_city(session, world)
    by_id = _ok(client.get("/api/3/action/package_show", params={"id": oc.market.code}))
    by_name = _ok(client.post("/api/3/action/package_show", json={"id": _name(oc.market)}))
    assert by_id == by_name and by_id["title"] == "个体经营者信息"
    extras = {e["key"]: e["value"] for e in by_id["extras"]}
    assert extras["open_type"] == "conditional" and extras["open_conditions"] == "仅用于学术研究"
    res = by_id["resources"][0]
    assert res["format"] == "CSV" and res["datastore_active"] is False
    assert res["url"].endswith(f"/open/datasets/{oc.market.code}/download.csv")
    err = _err(
        client.get("/api/3/action/package_show", params={"id": "nope"}), 404, "Not Found Error"
    )
    assert err["message"] == "Not found: 开放目录中没有该数据集。"
    err = _err(client.get("/api/3/action/package_show"), 409, "Validation Error")
    assert err["id"] == ["缺少参数 id。"]
    assert _ok(client.get("/api/3/action/package_list")) == sorted(
        [_name(oc.person), _name(oc.market)]
    )
    # A resource that left the open catalog is not served (Art. 32).
    set_open(session, oc.city.market_res, "none")
    datasets.sync(session)
    _err(
        client.get("/api/3/action/package_show", params={"id": oc.market.code}),
        404,
        "Not Found Error",
    )
    assert _ok(client.get("/api/3/action/package_list")) == [_name(oc.person)]
    assert _ok(client.get("/api/3/action/package_search"))["count"] == 1


def test_organizations_groups_tags_resource_and_status(
    session: Session, world: World, client: TestClient
) -> None:
    oc = _released_city(session, world)
    assert sorted(_ok(client.get("/api/3/action/organization_list"))) == [
        "500000-007",
        "500000-026",
    ]
    orgs = _ok(client.get("/api/3/action/organization_list", params={"all_fields": "true"}))
    assert {o["name"]: o["package_count"] for o in orgs} == {"500000-007": 1, "500000-026": 1}
    assert all(o["is_organization"] and o["type"] == "organization" for o in orgs)
    org = _ok(
        client.get(
            "/api/3/action/organization_show",
            params={"id": "500000-007", "include_datasets": "true"},
        )
    )
    assert org["title"] == "市公安局" and [p["name"] for p in org["packages"]] == [_name(oc.person)]
    _err(
        client.get("/api/3/action/organization_show", params={"id": "500000-001"}),
        404,
        "Not Found Error",
    )
    assert sorted(_ok(client.get("/api/3/action/group_list"))) == sorted(
        [group_name("市场监管"), group_name("社会保障")]
    )
    for ident in (group_name("市场监管"), "市场监管"):  # by name, or by title
        group = _ok(client.get("/api/3/action/group_show", params={"id": ident}))
        assert group["package_count"] == 1 and group["is_organization"] is False
        assert group["title"] == "市场监管"
    _err(client.get("/api/3/action/group_show", params={"id": "无此主题"}), 404, "Not Found Error")
    tags = _ok(client.get("/api/3/action/tag_list"))
    assert "社会保障" in tags and tags == sorted(tags)
    found = _ok(client.get("/api/3/action/tag_list", params={"query": "市场"}))
    assert set(found) == {"市场监管", "市场主体"}
    res = _ok(client.get("/api/3/action/resource_show", params={"id": f"{_name(oc.person)}-r1"}))
    assert res["datastore_active"] is True and res["package_id"] == oc.person.code
    pkg = _ok(client.get("/api/3/action/package_show", params={"id": oc.person.code}))
    assert pkg["resources"][0] == res and pkg["version"] == "1"
    _err(
        client.get("/api/3/action/resource_show", params={"id": f"{_name(oc.person)}-r2"}),
        404,
        "Not Found Error",
    )
    status = _ok(client.get("/api/3/action/status_show"))
    assert status["ckan_version"].startswith("2.") and "datastore" in status["extensions"]


# --- datastore_search (Art. 33, 40) -------------------------------------------------------------


def _records(session: Session) -> list[AccessRecord]:
    return list(
        session.scalars(
            select(AccessRecord)
            .where(AccessRecord.action == "opendata.api")
            .order_by(AccessRecord.id)
        )
    )


def test_datastore_search_needs_identity_and_records_every_read(
    session: Session, world: World, client: TestClient
) -> None:
    oc = _released_city(session, world)
    rid = f"{_name(oc.person)}-r1"
    # Art. 33 ¶3: no identity, no data (CKAN has no 401: an Authorization Error).
    err = _err(
        client.get("/api/3/action/datastore_search", params={"resource_id": rid}),
        403,
        "Authorization Error",
    )
    assert err["code"] == "opendata.identity_required" and "身份认证" in err["message"]
    company = {"X-CKAN-API-Key": _key(session, world, "company")}
    err = _err(
        client.get("/api/3/action/datastore_search", params={"resource_id": rid}, headers=company),
        403,
        "Authorization Error",
    )
    assert err["code"] == "opendata.identity_required"
    assert _records(session) == []
    citizen = {"Authorization": _key(session, world, "citizen")}
    result = _ok(
        client.post(
            "/api/3/action/datastore_search",
            json={"resource_id": rid, "limit": 2, "sort": "姓名 desc"},
            headers=citizen,
        )
    )
    assert result["total"] == 3 and [r["姓名"] for r in result["records"]] == ["王五", "李四"]
    assert [f["id"] for f in result["fields"]] == ["_id", "公民身份号码", "姓名"]
    assert result["records"][0]["_id"] == 3
    assert "offset=2" in result["_links"]["next"]
    # The dataset's own code names the current release too; filters, q and fields.
    result = _ok(
        client.get(
            "/api/3/action/datastore_search",
            params={
                "resource_id": oc.person.code,
                "filters": json.dumps({"姓名": "李四"}),
                "fields": "姓名",
            },
            headers=citizen,
        )
    )
    assert result["records"] == [{"_id": 2, "姓名": "李四"}] and result["total"] == 1
    result = _ok(
        client.get(
            "/api/3/action/datastore_search",
            params={"resource_id": rid, "q": "张"},
            headers=citizen,
        )
    )
    assert [r["姓名"] for r in result["records"]] == ["张三"]
    recs = _records(session)
    assert [r.rows for r in recs] == [2, 1, 1]
    assert recs[0].actor_id == world.people["citizen"] and recs[0].object_id == oc.person.code
    assert recs[1].fields == "姓名" and all(r.outcome == "allowed" for r in recs)
    # Bad input: a zh-CN message and a stable code, and nothing recorded.
    err = _err(
        client.get(
            "/api/3/action/datastore_search",
            params={"resource_id": rid, "fields": "出生日期"},
            headers=citizen,
        ),
        409,
        "Validation Error",
    )
    assert err["message"] == "Validation error: 该资源没有可读取的字段：出生日期"
    _err(
        client.get(
            "/api/3/action/datastore_search",
            params={"resource_id": rid, "limit": "-1"},
            headers=citizen,
        ),
        409,
        "Validation Error",
    )
    _err(client.get("/api/3/action/datastore_search", headers=citizen), 409, "Validation Error")
    _err(
        client.get(
            "/api/3/action/datastore_search",
            params={"resource_id": f"{_name(oc.person)}-r7"},
            headers=citizen,
        ),
        404,
        "Not Found Error",
    )
    assert len(_records(session)) == 3


def test_datastore_search_unreleased_and_invalid_keys(
    session: Session, world: World, client: TestClient
) -> None:
    oc = build_open_city(session, world)
    citizen = {"X-CKAN-API-Key": _key(session, world, "citizen")}
    err = _err(
        client.get(
            "/api/3/action/datastore_search",
            params={"resource_id": oc.person.code},
            headers=citizen,
        ),
        404,
        "Not Found Error",
    )
    assert err["code"] == "opendata.no_release"
    err = _err(
        client.get("/api/3/action/package_list", headers={"X-CKAN-API-Key": "od_wrong"}),
        403,
        "Authorization Error",
    )
    assert err["code"] == "opendata.invalid_key"
    _err(
        client.get("/api/3/action/package_list", headers={"Authorization": "nonsense"}),
        403,
        "Authorization Error",
    )


def test_datastore_search_conditional_only_granted_items(
    session: Session, world: World, client: TestClient
) -> None:
    oc = _released_city(session, world)
    rid = f"{_name(oc.market)}-r1"
    citizen = {"X-CKAN-API-Key": _key(session, world, "citizen")}
    # Art. 33 ¶2: no approved application, no data; the refusal is recorded (Art. 40).
    err = _err(
        client.get("/api/3/action/datastore_search", params={"resource_id": rid}, headers=citizen),
        403,
        "Authorization Error",
    )
    assert err["code"] == "opendata.application_required"
    refused = _records(session)
    assert [(r.outcome, r.rows) for r in refused] == [("refused", 0)]
    approve(session, world.people["citizen"], oc.market, ["姓名", "经营状态"])
    result = _ok(
        client.get("/api/3/action/datastore_search", params={"resource_id": rid}, headers=citizen)
    )
    assert [f["id"] for f in result["fields"]] == ["_id", "姓名", "经营状态"]
    assert all("公民身份号码" not in r for r in result["records"])
    # An item not granted is refused as one that does not exist, however it is asked for.
    for params in (
        {"fields": "公民身份号码"},
        {"filters": json.dumps({"公民身份号码": MARKET_ROWS[0][0]})},
        {"sort": "公民身份号码 asc"},
    ):
        err = _err(
            client.get(
                "/api/3/action/datastore_search",
                params={"resource_id": rid, **params},
                headers=citizen,
            ),
            409,
            "Validation Error",
        )
        assert err["message"] == "Validation error: 该资源没有可读取的字段：公民身份号码"
    # And q never matches its values (no oracle).
    result = _ok(
        client.get(
            "/api/3/action/datastore_search",
            params={"resource_id": rid, "q": "19900101"},
            headers=citizen,
        )
    )
    assert result["records"] == [] and result["total"] == 0
    # The provider reads all of what it released.
    officer = {"Authorization": _key(session, world, "officer2")}
    result = _ok(
        client.get("/api/3/action/datastore_search", params={"resource_id": rid}, headers=officer)
    )
    assert [f["id"] for f in result["fields"]] == ["_id", "公民身份号码", "姓名", "经营状态"]


def test_a_cookie_post_without_csrf_header_is_anonymous(
    session: Session, world: World, sign_in: Any
) -> None:
    oc = _released_city(session, world)
    signed = sign_in("citizen")
    rid = f"{_name(oc.person)}-r1"
    r = signed.client.post("/api/3/action/datastore_search", json={"resource_id": rid})
    assert _err(r, 403, "Authorization Error")["code"] == "opendata.identity_required"
    r = signed.client.get("/api/3/action/datastore_search", params={"resource_id": rid})
    assert _ok(r)["total"] == 3
    r = signed.post("/api/3/action/datastore_search", json={"resource_id": rid})
    assert _ok(r)["total"] == 3


def test_a_keys_daily_quota_and_the_anonymous_budget_answer_429(
    session: Session, world: World, app: Any, client: TestClient
) -> None:
    # Issue 14 §9: keys have daily quotas; anonymous use is rate-limited; 429 with Retry-After.
    import dataclasses

    build_open_city(session, world)
    secret = keys.issue_key(session, world.people["citizen"], "限额", daily_quota=2).secret
    headers = {"X-CKAN-API-Key": secret}
    for _ in range(2):
        _ok(client.get("/api/3/action/package_list", headers=headers))
    r = client.get("/api/3/action/package_list", headers=headers)
    err = _err(r, 429, "Rate Limit Error")
    assert err["code"] == "opendata.key_quota_exceeded" and int(r.headers["Retry-After"]) > 0
    app.state.settings = dataclasses.replace(app.state.settings, opendata_anonymous_rate="2/minute")
    if hasattr(app.state, "opendata_anonymous_limit"):
        del app.state.opendata_anonymous_limit
    answers = [client.get("/api/3/action/package_list").status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_a_control_character_in_an_id_is_not_found(
    session: Session, world: World, client: TestClient
) -> None:
    # PostgreSQL text cannot hold NUL: an id holding one is simply not found, never a 500.
    build_open_city(session, world)
    for ident in ("\x00", "a\x07b"):
        r = client.post("/api/3/action/package_show", json={"id": ident})
        _err(r, 404, "Not Found Error")
