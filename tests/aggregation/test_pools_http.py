"""Pools and loads over HTTP: the upload page, the API push, progress, reports, refusals
(Art. 17 ¶1, 18). Loads run as background tasks of the response (jobs "inline")."""

from __future__ import annotations

import io
from datetime import date

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy.orm import Session

from govdata.catalog.models import Resource
from govdata.core.ids import make_id_number
from tests.aggregation.factories import person_pool_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def pid(n: int) -> str:
    return make_id_number("500103", date(1990, 1, 1 + n), n)


GOOD = f"公民身份号码,姓名\n{pid(1)},张三\n{pid(2)},李四\n".encode()
BAD = f"公民身份号码,姓名\n{pid(1)},张三\n500103199001011234,坏号\n".encode()


@pytest.fixture
def resource(session: Session, world: World) -> Resource:
    r = person_pool_resource(session, world, world.police, "户籍人口网页测试", [("姓名", "C", 20)])
    session.commit()
    return r


def test_upload_page_loads_and_shows_the_report(sign_in, resource: Resource) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    r = c.get("/aggregation/pools", headers=HTML)
    assert r.status_code == 200 and resource.code in r.text
    r = c.get(f"/aggregation/pools/load?resource={resource.code}", headers=HTML)
    assert r.status_code == 200 and "开始加载" in r.text
    r = c.post(
        "/aggregation/pools/loads",
        data={"resource": resource.code, "policy": "quarantine", "mode": "replace"},
        files={"file": ("people.csv", BAD, "text/csv")},
        headers=HTML,
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert "已完成" in r.text and "aggregation.invalid_id_number" in r.text
    load_url = str(r.url)
    report = c.get(load_url + "/report.xlsx")
    assert report.status_code == 200
    sheets = CalamineWorkbook.from_filelike(io.BytesIO(report.content))
    rows = sheets.get_sheet_by_name("问题清单").to_python()
    assert rows[1][0] == 3 and rows[1][2] == "aggregation.invalid_id_number"
    quarantined = sheets.get_sheet_by_name("隔离数据").to_python()
    assert quarantined[1][2] == "坏号"


def test_upload_of_unsupported_file_shows_the_form_again(sign_in, resource: Resource) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer").post(
        "/aggregation/pools/loads",
        data={"resource": resource.code},
        files={"file": ("people.pdf", b"%PDF", "application/pdf")},
        headers=HTML,
    )
    assert r.status_code == 400 and "不支持的文件格式" in r.text


def test_api_push_with_progress_and_problems(sign_in, resource: Resource) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    r = c.post(
        f"/api/v1/aggregation/loads?resource={resource.code}",
        files={"file": ("p.csv", GOOD, "text/csv")},
    )
    assert r.status_code == 202, r.text
    load_id = r.json()["id"]
    assert r.json()["status"] == "queued"
    r = c.get(f"/api/v1/aggregation/loads/{load_id}")
    assert r.json()["status"] == "succeeded" and r.json()["rows_loaded"] == 2
    pool_id = r.json()["pool_id"]
    rows = c.get(f"/api/v1/aggregation/pools/{pool_id}/rows?key={pid(2)}").json()
    assert rows["total"] == 1 and rows["rows"][0]["姓名"] == "李四"
    page = c.get(f"/aggregation/pools/{pool_id}", headers=HTML)
    assert page.status_code == 200 and "李四" in page.text
    # A rejected push: the problems are listed with row, item, code and message.
    r = c.post(
        f"/api/v1/aggregation/loads?resource={resource.code}",
        files={"file": ("p.csv", BAD, "text/csv")},
    )
    bad_id = r.json()["id"]
    assert c.get(f"/api/v1/aggregation/loads/{bad_id}").json()["status"] == "rejected"
    problems = c.get(f"/api/v1/aggregation/loads/{bad_id}/problems").json()
    assert problems["total"] == 1
    assert problems["problems"][0]["row"] == 3
    assert problems["problems"][0]["code"] == "aggregation.invalid_id_number"
    assert c.get(f"/api/v1/aggregation/pools/{pool_id}").json()["row_count"] == 2


def test_refused_sides(sign_in, resource: Resource) -> None:  # type: ignore[no-untyped-def]
    # Another department's officer may not load into the police pool, nor see it.
    other = sign_in("officer2")
    r = other.post(
        f"/api/v1/aggregation/loads?resource={resource.code}",
        files={"file": ("p.csv", GOOD, "text/csv")},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "aggregation.cannot_load"
    own = sign_in("officer")
    load_id = own.post(
        f"/api/v1/aggregation/loads?resource={resource.code}",
        files={"file": ("p.csv", GOOD, "text/csv")},
    ).json()["id"]
    assert other.get(f"/api/v1/aggregation/loads/{load_id}").status_code == 404
    assert other.get(f"/aggregation/loads/{load_id}", headers=HTML).status_code == 404
    # The public has no access to pools.
    assert sign_in("citizen").get("/aggregation/pools", headers=HTML).status_code == 403
    # Unknown resource code.
    r = own.post(
        "/api/v1/aggregation/loads?resource=999999999/000009",
        files={"file": ("p.csv", GOOD, "text/csv")},
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "aggregation.resource_not_found"


def test_specification_over_the_api(sign_in, resource: Resource) -> None:  # type: ignore[no-untyped-def]
    # Art. 15: the specification adds allowed values; the next load enforces them.
    c = sign_in("officer")
    load_id = c.post(
        f"/api/v1/aggregation/loads?resource={resource.code}",
        files={"file": ("p.csv", GOOD, "text/csv")},
    ).json()["id"]
    pool_id = c.get(f"/api/v1/aggregation/loads/{load_id}").json()["pool_id"]
    r = c.put(
        f"/api/v1/aggregation/pools/{pool_id}/specs/姓名",
        json={"required": True, "allowed_values": ["张三"]},
    )
    assert r.status_code == 200, r.text
    r = c.post(
        f"/api/v1/aggregation/loads?resource={resource.code}",
        files={"file": ("p.csv", GOOD, "text/csv")},
    )
    problems = c.get(f"/api/v1/aggregation/loads/{r.json()['id']}/problems").json()["problems"]
    assert [(p["row"], p["code"]) for p in problems] == [(3, "aggregation.not_allowed_value")]
    assert (
        sign_in("officer2")
        .put(f"/api/v1/aggregation/pools/{pool_id}/specs/姓名", json={"required": False})
        .status_code
        == 404
    )
