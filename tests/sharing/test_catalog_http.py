"""The share catalog over HTTP (Art. 24–26): the JSON API (people, and tokens with
``catalog:read``), the pages with their buttons and objection link, the spreadsheet; refusals
from the refused side."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from govdata.org import auth
from govdata.org.schemas import TokenCreate
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.sharing.test_catalog import set_revision
from tests.world import World

API = "/api/v1/sharing/catalog"
HTML = {"Accept": "text/html"}


@pytest.fixture
def sc(session: Session, world: World) -> ShareCity:
    city = build_share_city(session, world)
    session.commit()
    return city


def _token(session: Session, world: World, *scopes: str) -> dict[str, str]:
    issued = auth.issue_token(
        session,
        world.actor(session, "yz_officer"),
        world.yz_police,
        TokenCreate(name="查询系统", scopes=sorted(scopes)),
    )
    session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


def _code(r: Any) -> str:
    return str(r.json()["error"]["code"])


def test_api_lists_with_filters_and_paging(sign_in: Any, sc: ShareCity) -> None:
    officer = sign_in("yz_officer")
    r = officer.get(API)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3 and body["items"][0]["code"] == "base.person"
    r = officer.get(API, params={"q": "从业人数"})
    (market,) = r.json()["items"]
    assert market["code"] == sc.market_source.code
    assert market["share_type"] == "conditional" and market["apply_label"] == "申请共享"
    assert market["provider_department_name"] == "市市场监督管理局"
    assert market["share_conditions"] == "仅限履行市场监管、社会救助职责的部门"
    assert market["legal_basis"] == "《市场主体登记管理条例》第三十五条"
    assert {i["name"]: i["share_type"] for i in market["items"]}["从业人数"] == "none"
    assert market["freshness"] == "on_time" and market["loaded"] and market["row_count"] == 3
    r = officer.get(API, params={"kind": "base"})
    (base,) = r.json()["items"]
    assert base["share_type"] == "unconditional" and "第二十五条第（二）项" in base["rule_note"]
    r = officer.get(API, params={"offset": 1, "limit": 1})
    assert r.json()["total"] == 3 and len(r.json()["items"]) == 1
    r = officer.get(API, params={"share_type": "sometimes"})
    assert r.status_code == 422


def test_api_entry(sign_in: Any, sc: ShareCity) -> None:
    officer = sign_in("yz_officer")
    r = officer.get(f"{API}/{sc.person_source.code}")
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "户籍人口基本信息" and r.json()["apply_label"] == "无条件共享登记"
    assert r.json()["items"][0] == {
        "name": "公民身份号码",
        "data_type": "C",
        "share_type": "unconditional",
        "share_type_label": "无条件共享",
        "is_subject_key": True,
    }
    r = officer.get(f"{API}/base.person")
    assert r.status_code == 200 and r.json()["kind"] == "base"
    r = officer.get(f"{API}/000000/999999")
    assert (r.status_code, _code(r)) == (404, "sharing.source_not_found")


def test_api_tokens_need_catalog_read(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    reader = _token(session, world, "catalog:read")
    assert client.get(API, headers=reader).json()["total"] == 3
    assert client.get(f"{API}/base.person", headers=reader).status_code == 200
    other = _token(session, world, "sharing:read", "org:read")
    for url in (API, f"{API}/base.person"):
        r = client.get(url, headers=other)
        assert (r.status_code, _code(r)) == (403, "auth.scope_missing"), url


@pytest.mark.parametrize("username", ["citizen", "company"])
def test_the_public_is_refused(sign_in: Any, sc: ShareCity, username: str) -> None:
    person = sign_in(username)
    for url in (API, f"{API}/base.person"):
        r = person.get(url)
        assert (r.status_code, _code(r)) == (403, "sharing.browse_forbidden"), url
    for url in ("/sharing/catalog", "/sharing/catalog/base.person", "/sharing/catalog/export.xlsx"):
        r = person.get(url, headers=HTML)
        assert r.status_code == 403, url
        assert "户籍人口基本信息" not in r.text


def test_anonymous_is_sent_to_sign_in(client: TestClient, sc: ShareCity) -> None:
    r = client.get("/sharing/catalog", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get(API).status_code == 401


def test_list_page_with_filters(sign_in: Any, sc: ShareCity) -> None:
    officer = sign_in("yz_officer")
    r = officer.get("/sharing/catalog")
    assert r.status_code == 200
    assert r.text.count('data-testid="catalog-row"') == 3
    assert "共 3 项" in r.text
    r = officer.get("/sharing/catalog", params={"share_type": "conditional", "q": "个体"})
    assert r.text.count('data-testid="catalog-row"') == 1
    assert "仅限履行市场监管、社会救助职责的部门" in r.text
    # The export link keeps the filters.
    assert (
        'href="/sharing/catalog/export.xlsx?q=%E4%B8%AA%E4%BD%93&amp;share_type=conditional"'
        in (r.text)
    )
    # Values that are not among the choices are ignored, not an error.
    r = officer.get("/sharing/catalog", params={"kind": "nonsense", "department_id": "x"})
    assert r.status_code == 200 and r.text.count('data-testid="catalog-row"') == 3


def test_entry_page_buttons(sign_in: Any, session: Session, world: World, sc: ShareCity) -> None:
    officer = sign_in("yz_officer")
    r = officer.get(f"/sharing/catalog/{sc.market_source.code}")
    assert r.status_code == 200
    assert 'data-testid="apply-link">申请共享</a>' in r.text
    code = sc.market_source.code.replace("/", "%2F")
    assert f'href="/sharing/applications/new?source={code}"' in r.text
    assert "《市场主体登记管理条例》第三十五条" in r.text
    assert r.text.count('data-testid="item-row"') == 4
    r = officer.get(f"/sharing/catalog/{sc.person_source.code}")
    assert 'data-testid="apply-link">无条件共享登记</a>' in r.text
    # The city bureau browses but applies for no department of its own.
    r = sign_in("city").get(f"/sharing/catalog/{sc.person_source.code}")
    assert r.status_code == 200 and 'data-testid="apply-link"' not in r.text
    # Nor does the provider apply for its own data.
    r = sign_in("officer").get(f"/sharing/catalog/{sc.person_source.code}")
    assert r.status_code == 200 and 'data-testid="apply-link"' not in r.text
    assert "字符型（C）" in r.text
    r = officer.get("/sharing/catalog/000000/999999", headers=HTML)
    assert r.status_code == 404


def test_entry_page_lists_the_departments_grants(
    sign_in: Any, session: Session, world: World, sc: ShareCity
) -> None:
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    session.commit()
    url = f"/sharing/catalog/{sc.person_source.code}"
    r = sign_in("yz_officer").get(url)
    assert f'href="/sharing/grants/{g.id}"' in r.text
    assert r.text.count('data-testid="own-grant"') == 1
    r = sign_in("jb_officer").get(url)
    assert r.text.count('data-testid="own-grant"') == 0


def test_a_not_shared_source_has_no_apply_button_but_an_objection_link(
    sign_in: Any, session: Session, world: World, sc: ShareCity
) -> None:
    # Art. 24, 27.
    set_revision(session, sc.city.police_res, share_type="none")
    session.commit()
    officer = sign_in("yz_officer")
    code = sc.person_source.code.replace("/", "%2F")
    link = f'href="/sharing/objections/new?source={code}&amp;kind=share_type"'
    r = officer.get(f"/sharing/catalog/{sc.person_source.code}")
    assert 'data-testid="apply-link"' not in r.text and link in r.text
    r = officer.get("/sharing/catalog", params={"q": "户籍"})
    row = re.search(r'data-testid="catalog-row".*?</tr>', r.text, re.S)
    assert row is not None and "不予共享" in row.group(0) and link in row.group(0)
    r = officer.get(f"{API}/{sc.person_source.code}")
    assert r.json()["shared"] is False and r.json()["apply_label"] is None


def test_export_xlsx(sign_in: Any, sc: ShareCity) -> None:
    r = sign_in("yz_officer").get("/sharing/catalog/export.xlsx", params={"kind": "pool"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in r.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(r.content))["共享目录"].iter_rows(values_only=True))
    assert [x[0] for x in rows[1:]] == [sc.person_source.code, sc.market_source.code]
