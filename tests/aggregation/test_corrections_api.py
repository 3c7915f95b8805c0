"""The corrections JSON API over HTTP (Art. 19): apply, list, extend, answer, overdue, and the
refusals from the refused side."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from govdata.aggregation import pools
from govdata.core import calendar
from tests.aggregation.test_corrections import ID1, ID2, _pool

API = "/api/v1/aggregation/corrections"


def _error(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    return body["error"]


@pytest.fixture
def pool_id(session, world) -> int:  # type: ignore[no-untyped-def]
    pool = _pool(session, world)
    session.commit()
    return pool.id


def _application(pool_id: int, **kw: Any) -> dict[str, Any]:
    return {
        "pool_id": pool_id,
        "subject_key": ID1,
        "item_name": "住址",
        "proposed_value": "渝中区解放碑8号",
        "reason": "门牌号有误",
        "evidence": "房产证",
    } | kw


def test_apply_extend_and_accept_over_http(sign_in, session, world, pool_id, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 9, 26))
    city, officer, head = sign_in("city"), sign_in("officer"), sign_in("head")
    r = city.post(API, json=_application(pool_id))
    assert r.status_code == 201, r.text
    c = r.json()
    # Art. 19 ¶2: over National Day 2025 the 10th working day is 10-16.
    assert (c["received_on"], c["due_on"], c["due_provisional"]) == (
        "2025-09-26",
        "2025-10-16",
        False,
    )
    assert c["status"] == "open" and c["status_label"] == "校核中" and c["under_correction"]
    assert c["current_value"] == "渝中区解放碑1号" and c["department_name"] == "市公安局"
    assert c["applicant_department_name"] == "市大数据应用发展管理局"
    assert c["channel"] == "sharing" and c["clock_label"] == "剩余10个工作日"

    incoming = officer.get(API, params={"direction": "incoming"}).json()
    assert [x["id"] for x in incoming["items"]] == [c["id"]] and incoming["total"] == 1

    # Only the provider's head extends (Art. 19 ¶2).
    r = officer.post(f"{API}/{c['id']}/extension", json={"days": 5, "reason": "调档"})
    assert r.status_code == 403 and _error(r)["code"] == "deadline.head_approval_required"
    r = head.post(f"{API}/{c['id']}/extension", json={"days": 11, "reason": "调档"})
    assert r.status_code == 400 and _error(r)["code"] == "deadline.extension_too_long"
    r = head.post(f"{API}/{c['id']}/extension", json={"days": 5, "reason": "调档"})
    assert r.status_code == 200, r.text
    assert (r.json()["original_due_on"], r.json()["due_on"]) == ("2025-10-16", "2025-10-23")
    r = head.post(f"{API}/{c['id']}/extension", json={"days": 1, "reason": "再延"})
    assert r.status_code == 409 and _error(r)["code"] == "deadline.already_extended"

    r = officer.post(f"{API}/{c['id']}/answer", json={"accept": True, "answer": "已核实更正"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "accepted" and done["clock_label"] == "已按期办结"
    assert not done["under_correction"]
    session.expire_all()
    rows = pools.read_rows(session, world.actor(session, "officer"), pool_id, subject_key=ID1)
    assert rows.rows[0]["住址"] == "渝中区解放碑8号"
    assert city.get(f"{API}/{c['id']}").json()["status"] == "accepted"


def test_refusals_over_http(sign_in, session, world, pool_id) -> None:  # type: ignore[no-untyped-def]
    city, officer, officer2 = sign_in("city"), sign_in("officer"), sign_in("officer2")
    c = city.post(API, json=_application(pool_id)).json()
    r = city.post(API, json=_application(pool_id))
    assert r.status_code == 409 and _error(r)["code"] == "aggregation.correction_already_open"
    r = city.post(API, json=_application(pool_id, reason=""))
    assert r.status_code == 400 and _error(r)["code"] == "aggregation.correction_reason_required"
    r = city.post(API, json=_application(pool_id, subject_key=ID2, item_name="职业"))
    assert r.status_code == 400 and _error(r)["code"] == "aggregation.correction_item_unknown"
    r = city.post(API, json=_application(pool_id, unexpected=1))
    assert r.status_code == 422  # a malformed payload
    r = officer.post(API, json=_application(pool_id, subject_key=ID2))
    assert r.status_code == 400 and _error(r)["code"] == "aggregation.correction_own_data"
    # Another department neither sees nor answers it.
    assert officer2.get(f"{API}/{c['id']}").status_code == 404
    assert officer2.get(API).json()["total"] == 0
    r = officer2.post(f"{API}/{c['id']}/answer", json={"accept": False, "answer": "无误"})
    assert r.status_code == 404 and _error(r)["code"] == "aggregation.correction_not_found"
    # The city bureau supervises but does not answer for the provider.
    r = city.post(f"{API}/{c['id']}/answer", json={"accept": False, "answer": "无误"})
    assert r.status_code == 403 and _error(r)["code"] == "aggregation.correction_cannot_answer"
    # Rejecting needs a reason; a corrected value must fit the item; nothing changes.
    r = officer.post(f"{API}/{c['id']}/answer", json={"accept": False, "answer": " "})
    assert r.status_code == 400 and _error(r)["code"] == "aggregation.correction_answer_required"
    d = city.post(API, json=_application(pool_id, item_name="出生日期", proposed_value=None)).json()
    r = officer.post(
        f"{API}/{d['id']}/answer",
        json={"accept": True, "answer": "更正", "corrected_value": "1990-02-30"},
    )
    assert r.status_code == 400 and _error(r)["code"] == "aggregation.correction_value_invalid"
    assert _error(r)["detail"]["problem"] == "aggregation.bad_date"
    assert officer.get(f"{API}/{d['id']}").json()["status"] == "open"
    session.expire_all()
    rows = pools.read_rows(session, world.actor(session, "officer"), pool_id, subject_key=ID1)
    assert rows.rows[0]["出生日期"] == date(1990, 1, 1)
    # A cookie session must send the CSRF header on unsafe requests.
    r = officer.post(
        f"{API}/{c['id']}/answer",
        json={"accept": False, "answer": "无误"},
        headers={"X-CSRF-Token": "forged"},
    )
    assert r.status_code == 403 and _error(r)["code"] == "auth.csrf_failed"


def test_overdue_over_http(sign_in, pool_id, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    city, officer = sign_in("city"), sign_in("officer")
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 9, 26))
    c = city.post(API, json=_application(pool_id)).json()
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 10, 20))
    report = city.get(f"{API}/overdue").json()
    assert report["today"] == "2025-10-20"
    assert [x["id"] for x in report["open"]] == [c["id"]]
    assert report["open"][0]["overdue"] and report["open"][0]["clock_label"] == "已超期2个工作日"
    assert city.get(API, params={"overdue_only": True}).json()["total"] == 1
    r = officer.post(f"{API}/{c['id']}/answer", json={"accept": False, "answer": "登记无误"})
    assert r.json()["late"] and r.json()["clock_label"] == "逾期办结"
    report = city.get(f"{API}/overdue").json()
    assert report["open"] == [] and [x["id"] for x in report["late"]] == [c["id"]]


def test_the_public_applies_for_open_data_and_never_sees_the_value(sign_in, session, world) -> None:  # type: ignore[no-untyped-def]
    closed = _pool(session, world)
    opened = _pool(session, world, name="公开的人口统计", open_type="unconditional")
    session.commit()
    citizen = sign_in("citizen")
    r = citizen.post(API, json=_application(closed.id))
    assert r.status_code == 404 and _error(r)["code"] == "aggregation.pool_not_found"
    r = citizen.post(API, json=_application(opened.id))
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["channel"] == "open" and mine["applicant_kind"] == "citizen"
    assert mine["current_value"] is None
    assert citizen.get(f"{API}/{mine['id']}").json()["current_value"] is None
    assert (
        sign_in("officer").get(f"{API}/{mine['id']}").json()["current_value"] == "渝中区解放碑1号"
    )
    assert sign_in("company").get(f"{API}/{mine['id']}").status_code == 404
    assert [x["id"] for x in citizen.get(API).json()["items"]] == [mine["id"]]


def test_signed_out_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get(API).status_code == 401
