"""Grants over HTTP (Art. 26 ¶2, 40, 50(4)(5)): the JSON API and the pages, each refusal from
the refused side: the requester cannot revoke, another department sees 404, an auditor reads
but cannot revoke, a token reads nothing here, a revoked grant shows revoked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govdata.org import auth
from govdata.org.schemas import TokenCreate
from govdata.sharing import grants
from govdata.sharing.models import Grant
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.world import World

API = "/api/v1/sharing/grants"
HTML = {"Accept": "text/html"}


@pytest.fixture
def sc(session: Session, world: World) -> ShareCity:
    return build_share_city(session, world)


@pytest.fixture
def grant(session: Session, world: World, sc: ShareCity) -> Grant:
    g = grant_to_yz(
        session,
        world,
        sc,
        sc.person_source,
        ["公民身份号码", "姓名"],
        row_condition={"item": "姓名", "values": ["张三"]},
        daily_quota=500,
    )
    session.commit()
    return g


def _code(r: Any) -> str:
    return str(r.json()["error"]["code"])


def _state(session: Session, grant_id: int) -> str:
    session.expire_all()
    g = session.get(Grant, grant_id)
    assert g is not None
    return grants.state(g)


def test_api_lists_each_sides_grants(sign_in: Any, grant: Grant) -> None:
    yz = sign_in("yz_officer")
    r = yz.get(API)
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["id"] == grant.id and item["state"] == "active" and item["state_label"] == "有效"
    assert item["requester_department_name"] == "渝中区公安分局"
    assert item["provider_department_name"] == "市公安局"
    assert item["items"] == ["公民身份号码", "姓名"] and item["daily_quota"] == 500
    assert item["row_condition_text"] == "仅限“姓名”为张三的数据"
    assert item["systems"] == [
        {"token_id": item["systems"][0]["token_id"], "name": "yz_officer系统"}
    ]
    assert item["calls"] is None
    assert yz.get(API, params={"view": "provided"}).json()["total"] == 0
    police = sign_in("officer")
    assert police.get(API, params={"view": "provided"}).json()["total"] == 1
    assert police.get(API, params={"view": "received"}).json()["total"] == 0
    auditor = sign_in("auditor")
    assert auditor.get(API).json()["total"] == 1
    assert auditor.get(API, params={"state": "revoked"}).json()["total"] == 0
    assert yz.get(API, params={"state": "someday"}).status_code == 422


def test_api_detail_and_another_department(sign_in: Any, grant: Grant) -> None:
    r = sign_in("yz_officer").get(f"{API}/{grant.id}")
    assert r.status_code == 200
    assert r.json()["calls"] == {"days": 30, "allowed": 0, "refused": 0, "total": 0}
    jb = sign_in("jb_officer")
    r = jb.get(f"{API}/{grant.id}")
    assert (r.status_code, _code(r)) == (404, "sharing.grant_not_found")
    assert jb.get(API).json()["total"] == 0
    r = jb.post(f"{API}/{grant.id}/revoke", json={"reason": "试图撤销"})
    assert (r.status_code, _code(r)) == (404, "sharing.grant_not_found")


def test_api_revoke_refusals_then_revoked(sign_in: Any, session: Session, grant: Grant) -> None:
    url = f"{API}/{grant.id}/revoke"
    # The requester cannot revoke; an auditor reads but cannot revoke (Art. 49).
    for username in ("yz_officer", "auditor"):
        r = sign_in(username).post(url, json={"reason": "不再需要"})
        assert (r.status_code, _code(r)) == (403, "sharing.revoke_forbidden"), username
    assert sign_in("auditor").get(f"{API}/{grant.id}").status_code == 200
    police = sign_in("officer")
    r = police.post(url, json={"reason": "   "})
    assert (r.status_code, _code(r)) == (400, "sharing.reason_required")
    r = police.post(url, json={"reason": "x", "extra": 1})
    assert r.status_code == 422
    assert _state(session, grant.id) == "active"
    r = police.post(url, json={"reason": "超出职责范围"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "revoked" and r.json()["revoke_reason"] == "超出职责范围"
    assert r.json()["revoked_by_name"] == "王专员"
    assert _state(session, grant.id) == "revoked"
    r = sign_in("yz_officer").get(API, params={"state": "revoked"})
    assert [x["state_label"] for x in r.json()["items"]] == ["已撤销"]
    r = police.post(url, json={"reason": "再次撤销"})
    assert (r.status_code, _code(r)) == (409, "sharing.grant_already_revoked")


def test_api_names_systems(
    sign_in: Any, session: Session, world: World, sc: ShareCity, grant: Grant
) -> None:
    url = f"{API}/{grant.id}/systems"
    r = sign_in("officer").put(url, json={"token_ids": []})
    assert (r.status_code, _code(r)) == (403, "sharing.not_requester")
    yz = sign_in("yz_officer")
    # A token without sharing:read, or another department's, cannot be named.
    for tid in (sc.other_token_id, sc.jb_token_id):
        r = yz.put(url, json={"token_ids": [tid]})
        assert (r.status_code, _code(r)) == (400, "sharing.system_invalid")
    assert grants.systems_of(session, grant.id) == [sc.token_id]
    r = yz.put(url, json={"token_ids": []})
    assert r.status_code == 200 and r.json()["systems"] == []
    session.expire_all()
    assert grants.systems_of(session, grant.id) == []
    r = yz.put(url, json={"token_ids": [sc.token_id]})
    assert [s["token_id"] for s in r.json()["systems"]] == [sc.token_id]


def test_tokens_open_no_grant_route(
    client: TestClient, session: Session, world: World, sc: ShareCity, grant: Grant
) -> None:
    issued = auth.issue_token(
        session,
        world.actor(session, "officer"),
        world.police,
        TokenCreate(name="全权限系统", scopes=sorted(auth.SCOPES)),
    )
    session.commit()
    bearer = {"Authorization": f"Bearer {issued.secret}"}
    for method, url, body in (
        ("GET", API, None),
        ("GET", f"{API}/{grant.id}", None),
        ("POST", f"{API}/{grant.id}/revoke", {"reason": "系统撤销"}),
        ("PUT", f"{API}/{grant.id}/systems", {"token_ids": []}),
    ):
        r = client.request(method, url, headers=bearer, json=body)
        assert (r.status_code, _code(r)) == (403, "auth.people_only"), url
    assert _state(session, grant.id) == "active"


def test_the_public_reads_no_grants(sign_in: Any, grant: Grant) -> None:
    citizen = sign_in("citizen")
    r = citizen.get(API)
    assert (r.status_code, _code(r)) == (403, "sharing.grants_forbidden")
    assert citizen.get(f"/sharing/grants/{grant.id}", headers=HTML).status_code == 403


# --- pages ----------------------------------------------------------------------------------


def test_list_page_tabs(sign_in: Any, grant: Grant) -> None:
    yz = sign_in("yz_officer")
    r = yz.get("/sharing/grants")
    assert r.status_code == 200
    assert "本部门获得的授权" in r.text and "本部门提供的授权" in r.text
    assert 'data-testid="tab-all"' not in r.text
    assert r.text.count('data-testid="grant-row"') == 1
    assert "仅限“姓名”为张三的数据" in r.text and "yz_officer系统" in r.text
    assert (
        yz.get("/sharing/grants", params={"view": "provided"}).text.count('data-testid="grant-row"')
        == 0
    )
    r = sign_in("auditor").get("/sharing/grants")
    assert 'data-testid="tab-all"' in r.text and r.text.count('data-testid="grant-row"') == 1
    r = sign_in("officer").get("/sharing/grants", params={"view": "provided", "state": "expired"})
    assert r.text.count('data-testid="grant-row"') == 0


def test_detail_page_forms_by_side(sign_in: Any, grant: Grant) -> None:
    url = f"/sharing/grants/{grant.id}"
    r = sign_in("yz_officer").get(url)
    assert r.status_code == 200
    assert 'data-testid="systems-form"' in r.text and 'data-testid="revoke-form"' not in r.text
    assert "0 次（成功 0 次，被拒绝 0 次）" in r.text
    r = sign_in("officer").get(url)
    assert 'data-testid="revoke-form"' in r.text and 'data-testid="systems-form"' not in r.text
    effect = re.search(r'data-testid="revoke-effect">(.*?)</p>', r.text, re.S)
    assert effect is not None and "不能恢复" in effect.group(1)
    assert "已指定的 1 个调用系统" in effect.group(1) and "调用 0 次" in effect.group(1)
    r = sign_in("auditor").get(url)
    assert r.status_code == 200
    assert 'data-testid="revoke-form"' not in r.text and 'data-testid="systems-form"' not in r.text
    r = sign_in("jb_officer").get(url, headers=HTML)
    assert r.status_code == 404


def test_revoke_form(sign_in: Any, session: Session, grant: Grant) -> None:
    url = f"/sharing/grants/{grant.id}/revoke"
    r = sign_in("yz_officer").post(url, data={"reason": "不再需要"}, headers=HTML)
    assert r.status_code == 403
    police = sign_in("officer")
    r = police.post(url, data={"reason": ""})
    assert r.status_code == 422 and 'data-testid="revoke-error"' in r.text
    assert "请填写撤销理由" in r.text
    assert _state(session, grant.id) == "active"
    # Without the CSRF token the form is refused.
    r = police.client.post(url, data={"reason": "超出职责范围"})
    assert r.status_code == 403
    r = police.post(url, data={"reason": "超出职责范围"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?msg=revoked")
    page = police.get(r.headers["location"])
    assert 'data-testid="grant-state">已撤销' in page.text
    assert "超出职责范围" in page.text and 'data-testid="revoke-form"' not in page.text
    assert _state(session, grant.id) == "revoked"


def test_systems_form(sign_in: Any, session: Session, sc: ShareCity, grant: Grant) -> None:
    url = f"/sharing/grants/{grant.id}/systems"
    yz = sign_in("yz_officer")
    r = yz.post(url, data={"token_id": [str(sc.other_token_id)]})
    assert r.status_code == 422 and 'data-testid="systems-error"' in r.text
    assert grants.systems_of(session, grant.id) == [sc.token_id]
    r = yz.post(url, data={"token_id": ["abc"]})
    assert r.status_code == 422
    r = yz.post(url, data={}, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert grants.systems_of(session, grant.id) == []
    r = yz.get(r.headers["location"])
    assert "未指定（任何系统均不能使用）" in r.text
    r = yz.post(url, data={"token_id": [str(sc.token_id)]}, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert grants.systems_of(session, grant.id) == [sc.token_id]
    r = sign_in("officer").post(url, data={"token_id": []}, headers=HTML)
    assert r.status_code == 403


@pytest.mark.parametrize(
    "username", ["city", "yz_admin", "jb_admin", "officer", "head", "yz_officer", "auditor"]
)
def test_every_role_of_the_nav_opens_the_pages(sign_in: Any, username: str) -> None:
    # The nav shows 共享目录 and 共享授权 to these roles (sharing/domain.py); both open, also
    # before anything is shared.
    c = sign_in(username)
    for url in ("/sharing/catalog", "/sharing/grants"):
        r = c.get(url, headers=HTML)
        assert r.status_code == 200, (url, r.status_code)
        assert '<html lang="zh-CN">' in r.text


def test_plain_staff_without_a_role_is_refused(sign_in: Any) -> None:
    c = sign_in("plain")
    for url in ("/sharing/catalog", "/sharing/grants"):
        assert c.get(url, headers=HTML).status_code == 403, url
