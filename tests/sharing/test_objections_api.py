"""The objections JSON API over HTTP (Art. 27): raise, list by side, notes, take up, settle with
an ordered grant, withdraw, extend; refusals from the refused side; tokens are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.sharing.models import ApplicationStatus
from tests.aggregation.base_helpers import K1
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.sharing.objection_helpers import application
from tests.world import World

API = "/api/v1/sharing/objections"


def _error(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    return body["error"]


@pytest.fixture
def sc(session: Session, world: World) -> ShareCity:
    city = build_share_city(session, world)
    session.commit()
    return city


@pytest.fixture
def refused_id(session: Session, world: World, sc: ShareCity) -> int:
    app = application(session, world, sc.market_source, ApplicationStatus.REFUSED)
    session.commit()
    return app.id


def test_raise_coordinate_and_settle_with_an_ordered_grant(
    sign_in, sc: ShareCity, refused_id: int
) -> None:  # type: ignore[no-untyped-def]
    yz, city, market = sign_in("yz_officer"), sign_in("city"), sign_in("officer2")
    r = yz.post(
        API,
        json={
            "kind": "refusal",
            "application_id": refused_id,
            "reason": "救助核查是法定职责",
            "requested": "请提供经营状态",
        },
    )
    assert r.status_code == 201, r.text
    o = r.json()
    assert (o["status"], o["kind_label"], o["department_name"], o["provider_department_name"]) == (
        "open",
        "对不予共享答复的异议",
        "渝中区公安分局",
        "市市场监督管理局",
    )
    assert o["clock_label"] == "剩余10个工作日"
    oid = o["id"]
    assert [x["id"] for x in yz.get(API, params={"side": "raised"}).json()["items"]] == [oid]
    assert [x["id"] for x in market.get(API, params={"side": "about"}).json()["items"]] == [oid]
    assert [x["id"] for x in city.get(API, params={"side": "coordinate"}).json()["items"]] == [oid]

    r = city.post(f"{API}/{oid}/take-up", json={"note": "已函询数据提供部门"})
    assert r.status_code == 200 and r.json()["status"] == "coordinating"
    r = market.post(f"{API}/{oid}/notes", json={"text": "同意提供经营状态"})
    assert r.status_code == 201
    assert [n["text"] for n in r.json()["notes"]] == ["已函询数据提供部门", "同意提供经营状态"]

    today = calendar.today()
    r = city.post(
        f"{API}/{oid}/settle",
        json={
            "result": "upheld",
            "outcome": "经协调，数据提供部门同意共享经营状态",
            "grant": {
                "items": ["公民身份号码", "经营状态"],
                "valid_from": today.isoformat(),
                "expires_on": (today + timedelta(days=90)).isoformat(),
                "token_ids": [sc.token_id],
            },
        },
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["result_label"], done["ordered"]) == (
        "settled",
        "异议成立",
        "grant",
    )
    assert done["clock_label"] == "已按期办结"
    assert done["ordered_grant_id"]  # its use by the named system: test_objections
    r = yz.post(f"{API}/{oid}/withdraw", json={})
    assert r.status_code == 409 and _error(r)["code"] == "sharing.objection_closed"


def test_refusals_over_http(sign_in, sc: ShareCity, refused_id: int) -> None:  # type: ignore[no-untyped-def]
    yz, market, jb, city = (
        sign_in("yz_officer"),
        sign_in("officer2"),
        sign_in("jb_officer"),
        sign_in("city"),
    )
    # Only the applicant objects to its refusal.
    r = market.post(API, json={"kind": "refusal", "application_id": refused_id, "reason": "x"})
    assert r.status_code == 403 and _error(r)["code"] == "sharing.objection_not_applicant"
    r = jb.post(API, json={"kind": "refusal", "application_id": refused_id, "reason": "x"})
    assert r.status_code == 404 and _error(r)["code"] == "sharing.application_not_found"
    r = yz.post(API, json={"kind": "refusal", "application_id": refused_id, "reason": " "})
    assert r.status_code == 400 and _error(r)["code"] == "sharing.objection_reason_required"
    assert "理由" in _error(r)["message"]
    r = yz.post(API, json={"kind": "nonsense", "reason": "x"})
    assert r.status_code == 422
    oid = yz.post(
        API, json={"kind": "refusal", "application_id": refused_id, "reason": "x"}
    ).json()["id"]
    # Only the coordinating bureau takes up and settles.
    for who in (yz, market, sign_in("yz_admin")):
        r = who.post(f"{API}/{oid}/take-up", json={})
        assert r.status_code == 403 and _error(r)["code"] == "sharing.objection_not_coordinator"
    r = city.post(f"{API}/{oid}/settle", json={"result": "dismissed", "outcome": "不成立"})
    assert r.status_code == 409 and _error(r)["code"] == "sharing.objection_not_taken_up"
    r = jb.get(f"{API}/{oid}")
    assert r.status_code == 404 and _error(r)["code"] == "sharing.objection_not_found"
    r = jb.post(f"{API}/{oid}/notes", json={"text": "意见"})
    assert r.status_code == 404
    r = market.post(f"{API}/{oid}/withdraw", json={})
    assert r.status_code == 403 and _error(r)["code"] == "sharing.objection_not_objector"
    r = yz.post(f"{API}/{oid}/extension", json={"days": 3, "reason": "x"})
    assert r.status_code == 403 and _error(r)["code"] == "sharing.objection_extend_forbidden"
    r = city.post(f"{API}/{oid}/extension", json={"days": 3, "reason": "需核实"})
    assert r.status_code == 200 and r.json()["clock_label"] == "剩余13个工作日"
    r = yz.post(f"{API}/{oid}/withdraw", json={"reason": "已解决"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def test_a_value_objection_over_http(
    sign_in, session: Session, world: World, sc: ShareCity
) -> None:  # type: ignore[no-untyped-def]
    grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    session.commit()
    yz = sign_in("yz_officer")
    body = {
        "kind": "value",
        "source_code": sc.person_source.code,
        "item_name": "姓名",
        "subject_key": K1,
        "proposed_value": "张叁",
        "reason": "户籍底册登记为张叁",
    }
    r = yz.post(API, json=body)
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["correction_id"] and o["clock_label"] == "剩余10个工作日"
    c = yz.get(f"/api/v1/aggregation/corrections/{o['correction_id']}").json()
    assert (c["applicant_department_name"], c["department_name"], c["status"]) == (
        "渝中区公安分局",
        "市公安局",
        "open",
    )
    r = yz.post(API, json=body)
    assert r.status_code == 409 and _error(r)["code"] == "aggregation.correction_already_open"
    r = yz.post(API, json=body | {"item_name": "出生日期"})
    assert r.status_code == 403 and _error(r)["code"] == "sharing.objection_value_not_granted"


def test_tokens_and_the_signed_out_are_refused(client, sc: ShareCity, refused_id: int) -> None:  # type: ignore[no-untyped-def]
    bearer = {"Authorization": f"Bearer {sc.token}"}
    for method, path, body in (
        ("GET", API, None),
        ("GET", f"{API}/1", None),
        ("POST", API, {"kind": "refusal", "application_id": refused_id, "reason": "x"}),
        ("POST", f"{API}/1/notes", {"text": "x"}),
        ("POST", f"{API}/1/settle", {"result": "upheld", "outcome": "x"}),
    ):
        r = client.request(method, path, json=body, headers=bearer)
        assert r.status_code == 403, (path, r.text)
        assert _error(r)["code"] == "sharing.objection_people_only"
        r = client.request(method, path, json=body)
        assert r.status_code == 401, path
