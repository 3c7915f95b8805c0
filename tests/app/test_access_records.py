"""Auditors and the bureaus read the access records (Art. 40; oversight, Art. 41, 49)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord, record_access
from tests.world import World

HTML = {"Accept": "text/html"}
URL = "/api/v1/audit/access-records"


@pytest.fixture
def reads(session: Session, world: World) -> None:
    """Three reads: the city police's data by its officer (personal), a Yuzhong district
    pool by the Yuzhong officer, and a refused read by the market officer."""
    officer = world.actor(session, "officer")
    yz = world.actor(session, "yz_officer")
    market = world.actor(session, "officer2")
    record_access(
        session,
        officer,
        "aggregation.pool_rows.read",
        object_type="pool",
        object_id=1,
        rows=50,
        personal=True,
        owner_department_id=world.police,
    )
    record_access(
        session,
        yz,
        "aggregation.thematic_rows.read",
        object_type="thematic",
        object_id=2,
        rows=7,
        owner_department_id=world.yz_police,
    )
    record_access(
        session,
        market,
        "aggregation.pool_rows.read",
        object_type="pool",
        object_id=1,
        owner_department_id=world.police,
        outcome="refused",
        reason="request.rate_limited",
    )
    session.commit()


def _items(r: Any) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


@pytest.mark.usefixtures("reads")
def test_the_auditor_lists_and_filters_every_record(sign_in) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("auditor")
    items = _items(c.get(URL))
    assert [i["action"] for i in items] == [
        "aggregation.pool_rows.read",
        "aggregation.thematic_rows.read",
        "aggregation.pool_rows.read",
    ]
    assert [i["rows"] for i in _items(c.get(URL, params={"personal": "true"}))] == [50]
    assert [i["reason"] for i in _items(c.get(URL, params={"outcome": "refused"}))] == [
        "request.rate_limited"
    ]
    assert len(_items(c.get(URL, params={"action": "aggregation.thematic"}))) == 1
    assert len(_items(c.get(URL, params={"actor_name": "王专员"}))) == 1


@pytest.mark.usefixtures("reads")
def test_a_district_bureau_sees_its_regions_departments_only(sign_in, world: World) -> None:  # type: ignore[no-untyped-def]
    items = _items(sign_in("yz_admin").get(URL))
    assert [(i["action"], i["owner_department_id"]) for i in items] == [
        ("aggregation.thematic_rows.read", world.yz_police)
    ]
    assert _items(sign_in("jb_admin").get(URL)) == []


@pytest.mark.usefixtures("reads")
@pytest.mark.parametrize("who", ["officer", "head", "citizen"])
def test_departments_and_the_public_cannot_read_the_records(sign_in, who: str) -> None:  # type: ignore[no-untyped-def]
    r = sign_in(who).get(URL)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "audit.access_records_forbidden"


@pytest.mark.usefixtures("reads")
def test_the_page_lists_the_records_and_reading_them_is_not_recorded(
    sign_in, session: Session
) -> None:  # type: ignore[no-untyped-def]
    before = session.scalar(select(func.count()).select_from(AccessRecord))
    c = sign_in("city")
    r = c.get("/audit/access", headers=HTML)
    assert r.status_code == 200
    assert "数据调用记录" in r.text and "王专员" in r.text and "市公安局" in r.text
    assert "request.rate_limited" in r.text
    assert 'href="/audit/access"' in c.get("/audit", headers=HTML).text  # in the navigation
    r = c.get("/audit/access?personal=yes&since=2000-01-01", headers=HTML)
    assert r.status_code == 200 and "孙专员" not in r.text
    assert session.scalar(select(func.count()).select_from(AccessRecord)) == before


def test_reading_pool_rows_over_http_shows_up_for_the_auditor(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    from tests.aggregation.test_access_records import person_pool

    pool = person_pool(session, world, rows=4)
    session.commit()
    r = sign_in("officer").get(f"/api/v1/aggregation/pools/{pool.id}/rows?limit=3")
    assert r.status_code == 200 and len(r.json()["rows"]) == 3
    [item] = _items(sign_in("auditor").get(URL, params={"action": "aggregation.pool_rows"}))
    assert (item["rows"], item["personal"], item["actor_name"]) == (3, True, "王专员")
    assert item["address"] == "testclient"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_date_filter_out_of_range_is_refused_not_a_crash(sign_in, day: str) -> None:  # type: ignore[no-untyped-def]
    # A year-1 date turned into a Beijing-time instant overflowed (500); now 422 / 400.
    c = sign_in("auditor")
    assert c.get(URL, params={"since": day}).status_code == 422
    assert c.get("/api/v1/audit/events", params={"until": day}).status_code == 422
    page = c.get("/audit/access", params={"since": day}, headers=HTML)
    assert page.status_code == 400
    assert "不是有效日期" in page.text
