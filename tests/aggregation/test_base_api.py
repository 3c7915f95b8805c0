"""Base and thematic databases and repeated collection over the JSON API: the happy paths and
the refusals, with their stable codes (Art. 16, 17, 20, 25(2), 50(3))."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tests.aggregation.base_helpers import K1, K2, build_city
from tests.world import World

API = "/api/v1/aggregation"


def _error(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_defining_a_base_and_its_items(session: Session, world: World, sign_in) -> None:  # type: ignore[no-untyped-def]
    c = build_city(session, world, with_items=False)
    session.commit()
    city, officer, market = sign_in("city"), sign_in("officer"), sign_in("officer2")
    # The base exists (build_city): a second definition conflicts; the officer may not define.
    r = city.post(f"{API}/bases", json={"kind": "person", "lead_department_id": world.police})
    assert r.status_code == 409 and _error(r)["code"] == "aggregation.base_exists"
    r = officer.post(f"{API}/bases", json={"kind": "geo", "lead_department_id": world.police})
    assert r.status_code == 403 and _error(r)["code"] == "aggregation.bureau_only"
    r = city.post(f"{API}/bases", json={"kind": "geo", "lead_department_id": world.market})
    assert r.status_code == 201 and r.json()["key_name"] == "要素代码"

    item = {"name": "姓名", "source_resource_code": c.police_res.code, "source_item": "姓名"}
    r = market.post(f"{API}/bases/person/items", json=item)
    assert r.status_code == 403 and _error(r)["code"] == "aggregation.cannot_manage_base"
    r = officer.post(f"{API}/bases/person/items", json=item)
    assert r.status_code == 201, r.text
    assert r.json()["source_department_name"] == "市公安局" and r.json()["data_type"] == "C"
    r = officer.post(
        f"{API}/bases/person/items", json=item | {"source_resource_code": c.market_res.code}
    )
    assert r.status_code == 409 and _error(r)["code"] == "aggregation.base_item_has_source"
    r = officer.put(
        f"{API}/bases/person/items/姓名",
        json={"source_resource_code": c.market_res.code, "source_item": "姓名"},
    )
    assert r.status_code == 200 and r.json()["source_department_name"] == "市市场监督管理局"
    r = officer.post(f"{API}/bases/person/build")
    assert r.status_code == 200 and r.json()["row_count"] == 3
    listed = officer.get(f"{API}/bases").json()
    assert [b["kind"] for b in listed] == ["person", "geo"]
    assert [i["name"] for i in listed[0]["items"]] == ["姓名"]
    r = officer.delete(f"{API}/bases/person/items/姓名")
    assert r.status_code == 204
    r = officer.delete(f"{API}/bases/person/items/姓名")
    assert r.status_code == 404 and _error(r)["code"] == "aggregation.base_item_not_found"
    r = officer.get(f"{API}/bases/licence")
    assert r.status_code == 404 and _error(r)["code"] == "aggregation.base_not_found"
    r = officer.get(f"{API}/bases/animal")
    assert r.status_code == 422


def test_records_conflicts_and_repeated_collection(session: Session, world: World, sign_in) -> None:  # type: ignore[no-untyped-def]
    c = build_city(session, world)
    session.commit()
    officer2, city, citizen = sign_in("officer2"), sign_in("city"), sign_in("citizen")
    r = officer2.get(f"{API}/bases/person/records/{K1}")
    assert r.status_code == 200
    values = {v["item"]: v for v in r.json()["values"]}
    assert values["姓名"]["value"] == "张三"
    assert values["姓名"]["provenance"]["resource_code"] == c.police_res.code
    assert values["姓名"]["provenance"]["load_id"] == c.police_load.id
    r = citizen.get(f"{API}/bases/person/records/{K1}")
    assert r.status_code == 403 and _error(r)["code"] == "aggregation.base_staff_only"
    r = officer2.get(f"{API}/bases/person/records/500101199909090099")
    assert r.status_code == 404 and _error(r)["code"] == "aggregation.base_record_not_found"

    [conflict] = officer2.get(f"{API}/base-conflicts").json()
    assert (conflict["subject_key"], conflict["authoritative_value"], conflict["other_value"]) == (
        K2,
        "李四",
        "李四四",
    )
    r = officer2.post(f"{API}/base-conflicts/{conflict['id']}/resolve", json={"note": "好"})
    assert r.status_code == 403 and _error(r)["code"] == "aggregation.cannot_resolve_conflict"
    r = city.post(f"{API}/base-conflicts/{conflict['id']}/resolve", json={"note": ""})
    assert r.status_code == 400 and _error(r)["code"] == "aggregation.conflict_note_required"
    r = city.post(f"{API}/base-conflicts/{conflict['id']}/resolve", json={"note": "已核实"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert city.get(f"{API}/base-conflicts").json() == []
    assert len(city.get(f"{API}/base-conflicts?status=all").json()) == 1
    r = sign_in("yz_officer").post(
        f"{API}/base-conflicts/{conflict['id']}/resolve", json={"note": "x"}
    )
    assert r.status_code == 404

    flags = city.get(f"{API}/repeated-collection").json()
    assert [(f["department_name"], f["item_name"]) for f in flags] == [("市市场监督管理局", "姓名")]
    assert sign_in("officer").get(f"{API}/repeated-collection").json() == []
    r = citizen.get(f"{API}/repeated-collection")
    assert r.status_code == 403


def test_thematic_databases_over_http(session: Session, world: World, sign_in) -> None:  # type: ignore[no-untyped-def]
    c = build_city(session, world)
    session.commit()
    officer = sign_in("officer")
    body = {
        "department_id": world.police,
        "name": "个体经营人员专题",
        "description": "测试",
        "definition": {
            "base_kind": "person",
            "base_items": ["姓名"],
            "pool_items": [{"resource_code": c.market_res.code, "item": "从业人数"}],
            "filters": [{"item": "从业人数", "op": "gt", "value": 2}],
        },
    }
    r = officer.post(f"{API}/thematic", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["row_count"] == 2 and created["resource_id"] and not created["stale"]
    assert [col["label"] for col in created["columns"]] == ["姓名", "从业人数"]
    rows = officer.get(f"{API}/thematic/{created['id']}/rows").json()
    assert rows["columns"] == ["姓名", "从业人数"] and rows["total"] == 2
    assert rows["rows"][0] == {"subject_key": K1, "姓名": "张三", "从业人数": "3"}
    r = officer.post(f"{API}/thematic/{created['id']}/refresh")
    assert r.status_code == 200 and r.json()["row_count"] == 2
    assert [t["id"] for t in officer.get(f"{API}/thematic").json()] == [created["id"]]

    bad = body | {"name": "坏定义"}
    bad["definition"] = body["definition"] | {"filters": [{"item": "从业人数", "op": "~"}]}
    r = officer.post(f"{API}/thematic", json=bad)
    assert r.status_code == 400 and _error(r)["code"] == "aggregation.thematic_bad_operator"
    bad["definition"] = body["definition"] | {"colour": "red"}
    assert officer.post(f"{API}/thematic", json=bad).status_code == 422
    market = sign_in("officer2")
    assert market.get(f"{API}/thematic/{created['id']}").status_code == 404
    assert market.get(f"{API}/thematic/{created['id']}/rows").status_code == 404
    r = market.post(f"{API}/thematic", json=body | {"department_id": world.police})
    assert r.status_code == 404
    r = sign_in("head").post(f"{API}/thematic/{created['id']}/refresh")
    assert r.status_code == 403 and _error(r)["code"] == "aggregation.cannot_define_thematic"
