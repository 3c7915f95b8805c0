"""The quality JSON API over HTTP (Art. 20): the department, city, trend and timeliness reads,
the re-measurement, and refusals from the refused side."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from govdata.core.calendar import today
from tests.aggregation.quality_helpers import beijing, fake_base, loaded, person_input, publish_many
from tests.world import World

API = "/api/v1/aggregation/quality"


@pytest.fixture
def agreement(monkeypatch: pytest.MonkeyPatch) -> dict[str, float | None]:
    return fake_base(monkeypatch)


@pytest.fixture
def police(session: Session, world: World, agreement: dict[str, float | None]) -> dict[str, Any]:
    """Two police resources: one loaded today (80% valid), one never loaded (late)."""
    fresh, never = publish_many(
        session,
        world,
        world.police,
        [person_input("接口人口", update_cycle="daily"), person_input("接口未汇聚")],
    )
    agreement["value"] = 0.5
    rows = [{"公民身份号码": f"5001031990010100{i:02d}", "姓名": "有"} for i in range(4)]
    pool, load, _ = loaded(session, world, fresh, rows, read=5, bad=1, at=beijing(today()))
    session.commit()
    return {"pool": pool.id, "load": load.id, "fresh": fresh.code, "never": never.code}


def _error(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


def test_department_quality_over_http(sign_in, world: World, police: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("head").get(f"{API}/departments/{world.police}")
    assert r.status_code == 200, r.text
    body = r.json()
    s = body["summary"]
    assert (s["name"], s["responsible"], s["loaded"], s["late"], s["never_loaded"]) == (
        "市公安局",
        2,
        1,
        1,
        1,
    )
    assert s["averages"] == {
        "completeness": 0.5,
        "validity": 0.8,
        "uniqueness": 1.0,
        "consistency": 0.5,
    }
    (pool,) = body["pools"]
    assert pool["pool_id"] == police["pool"] and pool["rows"] == 4
    status = {t["code"]: (t["status"], t["status_label"], t["late"]) for t in body["timeliness"]}
    assert status == {
        police["fresh"]: ("on_time", "按期", False),
        police["never"]: ("never_loaded", "未汇聚", True),
    }
    assert body["trend"][0]["snapshots"] == 1


def test_city_quality_over_http(sign_in, world: World, police: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    for username in ("city", "auditor"):
        r = sign_in(username).get(f"{API}/city")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["scope"] == "全市" and body["late_total"] == 1
        assert [d["name"] for d in body["departments"]] == ["市公安局"]
        assert [t["code"] for t in body["late"]] == [police["never"]]
        assert body["worst_pools"][0]["metrics"]["validity"] == 0.8
    body = sign_in("yz_admin").get(f"{API}/city").json()
    assert body["scope"] == "渝中区" and body["departments"] == [] and body["late"] == []


def test_trend_and_timeliness_over_http(sign_in, world: World, police: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    officer = sign_in("officer")
    r = officer.get(f"{API}/pools/{police['pool']}/trend", params={"limit": 5})
    assert r.status_code == 200, r.text
    (snap,) = r.json()
    assert snap["load_id"] == police["load"] and snap["validity"] == 0.8
    assert snap["details"]["items"]["姓名"] == 1.0
    r = officer.get(f"{API}/timeliness", params={"department_id": world.police})
    assert r.status_code == 200
    (fresh,) = [t for t in r.json() if t["code"] == police["fresh"]]
    assert fresh["due_on"] == (today() + timedelta(days=1)).isoformat()
    assert fresh["cycle_label"] == "每日" and fresh["max_days"] == 1
    assert officer.get(f"{API}/pools/{police['pool']}/trend?limit=0").status_code == 422


def test_measure_over_http_needs_csrf_and_the_right_person(  # type: ignore[no-untyped-def]
    sign_in, world: World, police: dict[str, Any]
) -> None:
    officer = sign_in("officer")
    url = f"{API}/pools/{police['pool']}/measure"
    r = officer.client.post(url)  # cookie session without the CSRF header
    assert r.status_code == 403 and _error(r)["code"] == "auth.csrf_failed"
    r = officer.post(url)
    assert r.status_code == 201, r.text
    assert r.json()["load_id"] is None and r.json()["validity"] == 0.8
    r = sign_in("head").post(url)
    assert r.status_code == 403 and _error(r)["code"] == "aggregation.cannot_measure"
    r = sign_in("officer2").post(url)
    assert r.status_code == 404 and _error(r)["code"] == "aggregation.pool_not_found"


def test_refusals_over_http(sign_in, client, world: World, police: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    # Another department: as if it did not exist.
    market = sign_in("officer2")
    r = market.get(f"{API}/departments/{world.police}")
    assert r.status_code == 404 and _error(r)["code"] == "aggregation.department_not_found"
    r = market.get(f"{API}/pools/{police['pool']}/trend")
    assert r.status_code == 404
    r = market.get(f"{API}/timeliness", params={"department_id": world.police})
    assert r.status_code == 404
    # A department officer reads no overview.
    r = sign_in("officer").get(f"{API}/city")
    assert r.status_code == 403 and _error(r)["code"] == "aggregation.quality_overview_forbidden"
    # The public and people without a role read nothing.
    for username in ("citizen", "plain"):
        r = sign_in(username).get(f"{API}/departments/{world.police}")
        assert r.status_code == 403 and _error(r)["code"] == "aggregation.quality_forbidden"
    # Nobody signed in.
    assert client.get(f"{API}/city").status_code == 401
    assert sign_in("city").get(f"{API}/departments/0").status_code == 422


def test_an_unknown_department_is_not_found(sign_in) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("city").get(f"{API}/departments/99999")
    assert r.status_code == 404


def test_dates_are_iso(sign_in, world: World, police: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    body = sign_in("city").get(f"{API}/city").json()
    assert date.fromisoformat(body["today"]) == today()
