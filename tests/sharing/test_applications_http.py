"""Registrations and applications over HTTP (Art. 24, 26 ¶2): the JSON API and the pages, and
the refusals from the refused side."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.sharing.models import Grant, ShareApplication
from tests.sharing.helpers import ShareCity, build_share_city
from tests.sharing.test_applications import DAY, police_mixed
from tests.world import World

API = "/api/v1/sharing/applications"
PAGES = "/sharing/applications"


@pytest.fixture
def sc(session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> ShareCity:
    monkeypatch.setattr(calendar, "today", lambda: DAY)
    city = build_share_city(session, world)
    session.commit()
    return city


def _error(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


def _body(world: World, sc: ShareCity, **kw: Any) -> dict[str, Any]:
    return {
        "department_id": world.yz_police,
        "source": sc.market_source.code,
        "items": ["公民身份号码", "姓名", "经营状态"],
        "duty": "户籍管理",
        "legal_basis": "《中华人民共和国户口登记条例》第三条",
        "purpose": "核查辖区个体经营者",
        "purpose_code": "household-check",
        "calling_system": "渝中区人口核查系统",
        "token_ids": [sc.token_id],
        "period_from": "2025-09-26",
        "period_until": "2026-09-25",
        "scenario": "窗口办理业务时核对",
        "expected_daily_calls": 200,
    } | kw


def _count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _testid(html: str, name: str) -> str:
    m = re.search(rf'data-testid="{name}"[^>]*>(.*?)</', html, re.S)
    assert m, f"no {name} in page"
    return m.group(1).strip()


# --- the JSON API -------------------------------------------------------------------------------


def test_apply_list_and_approve_narrowed_over_http(
    sign_in: Any, session: Session, world: World, sc: ShareCity
) -> None:
    yz, market = sign_in("yz_officer"), sign_in("officer2")
    r = yz.post(API, json=_body(world, sc))
    assert r.status_code == 201, r.text
    a = r.json()
    assert (a["kind"], a["status"], a["status_label"]) == ("application", "pending", "待答复")
    assert (a["received_on"], a["due_on"]) == ("2025-09-26", "2025-10-16")
    assert (
        a["clock_label"] == "剩余10个工作日" and a["provider_department_name"] == "市市场监督管理局"
    )
    inbox = market.get(API, params={"view": "incoming"}).json()
    assert [x["id"] for x in inbox["items"]] == [a["id"]]
    assert yz.get(API, params={"view": "incoming"}).json()["total"] == 0
    r = market.post(
        f"{API}/{a['id']}/approve",
        json={
            "items": ["公民身份号码", "经营状态"],
            "row_condition": {"item": "经营状态", "values": ["存续"]},
            "daily_quota": 50,
        },
    )
    assert r.status_code == 200, r.text
    done = yz.get(f"{API}/{a['id']}").json()
    assert done["status"] == "narrowed" and done["grant_id"] and done["clock_label"] == "已按期办结"
    grant = session.get(Grant, done["grant_id"])
    assert grant is not None and grant.items == ["公民身份号码", "经营状态"]


def test_registration_and_plain_approval_over_http(
    sign_in: Any, session: Session, world: World, sc: ShareCity
) -> None:
    yz, market = sign_in("yz_officer"), sign_in("officer2")
    r = yz.post(API, json=_body(world, sc, source=sc.person_source.code, items=["姓名"]))
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["clock_label"]) == ("registered", None)
    a = yz.post(API, json=_body(world, sc)).json()
    r = market.post(f"{API}/{a['id']}/approve")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"


def test_refusals_from_the_refused_side(
    sign_in: Any, client: Any, session: Session, world: World, sc: ShareCity
) -> None:
    yz, market, jb = sign_in("yz_officer"), sign_in("officer2"), sign_in("jb_officer")
    a = yz.post(API, json=_body(world, sc)).json()
    # A department system's token opens no management route, whatever its scopes.
    bearer = {"Authorization": f"Bearer {sc.token}"}
    for r in (
        client.get(API, headers=bearer),
        client.get(f"{API}/{a['id']}", headers=bearer),
        client.post(API, json=_body(world, sc), headers=bearer),
        client.post(f"{API}/{a['id']}/approve", headers=bearer),
    ):
        assert r.status_code == 403, r.text
        assert _error(r)["code"] in {"sharing.applications_people_only", "sharing.apply_forbidden"}
    # The requester cannot answer; another department does not see it.
    r = yz.post(f"{API}/{a['id']}/approve")
    assert (r.status_code, _error(r)["code"]) == (403, "sharing.not_provider")
    r = jb.get(f"{API}/{a['id']}")
    assert (r.status_code, _error(r)["code"]) == (404, "sharing.application_not_found")
    # A refusal without its basis; a widening approval.
    r = market.post(f"{API}/{a['id']}/refuse", json={"reason": "超出职责范围", "basis": ""})
    assert (r.status_code, _error(r)["code"]) == (400, "sharing.refusal_basis_required")
    assert "依据" in _error(r)["message"]
    r = market.post(f"{API}/{a['id']}/approve", json={"items": ["从业人数"]})
    assert (r.status_code, _error(r)["code"]) == (400, "sharing.narrowing_wider")
    assert yz.get(f"{API}/{a['id']}").json()["status"] == "pending"
    assert _count(session, Grant) == 0
    # Not shared, on another's behalf, malformed.
    r = yz.post(API, json=_body(world, sc, items=["从业人数"]))
    assert (r.status_code, _error(r)["code"]) == (400, "sharing.not_shared")
    r = yz.post(API, json=_body(world, sc, department_id=world.jb_police))
    assert (r.status_code, _error(r)["code"]) == (403, "sharing.apply_forbidden")
    assert yz.post(API, json=_body(world, sc, extra="x")).status_code == 422
    assert _count(session, ShareApplication) == 1
    # Withdrawn by the requester; then nothing more.
    r = market.post(f"{API}/{a['id']}/withdraw")
    assert (r.status_code, _error(r)["code"]) == (403, "sharing.not_requester")
    assert yz.post(f"{API}/{a['id']}/withdraw").json()["status"] == "withdrawn"
    r = market.post(f"{API}/{a['id']}/refuse", json={"reason": "x", "basis": "y"})
    assert (r.status_code, _error(r)["code"]) == (409, "sharing.already_answered")


# --- the pages ----------------------------------------------------------------------------------


def test_the_form_adapts_and_submits(
    sign_in: Any, session: Session, world: World, sc: ShareCity
) -> None:
    yz = sign_in("yz_officer")
    # Without a source: a search of the share catalog, never a list of every source (issue 16).
    r = yz.get(f"{PAGES}/new")
    assert r.status_code == 200 and 'name="q"' in r.text
    assert sc.market_source.code not in r.text and "<select" not in r.text.split("<form")[1]
    r = yz.get(f"{PAGES}/new", params={"q": sc.market_source.name})
    assert "找到" in _testid(r.text, "source-found")
    assert f'href="/sharing/applications/new?source={sc.market_source.code}"' in r.text
    r = yz.get(f"{PAGES}/new", params={"q": "没有这样的资源"})
    assert "没有与“没有这样的资源”相符的资源" in _testid(r.text, "source-found")
    r = yz.get(f"{PAGES}/new", params={"source": sc.person_source.code})
    assert "无条件共享登记" in _testid(r.text, "form-kind") and "提交登记" in r.text
    r = yz.get(f"{PAGES}/new", params={"source": "base.person"})
    assert "无条件共享登记" in _testid(r.text, "form-kind") and "基础数据库" in r.text
    r = yz.get(f"{PAGES}/new", params={"source": "no-such-code"})
    assert r.status_code == 200 and 'data-testid="unknown-source"' in r.text
    r = yz.get(f"{PAGES}/new", params={"source": sc.market_source.code})
    assert "有条件共享申请" in _testid(r.text, "form-kind")
    # The not-shared item is shown, disabled.
    assert re.search(r'value="从业人数" disabled', r.text)
    assert re.search(r'value="经营状态"(?! disabled)', r.text)
    form = {
        "source": sc.market_source.code,
        "department_id": str(world.yz_police),
        "items": ["公民身份号码", "经营状态"],
        "duty": "户籍管理",
        "legal_basis": "《户口登记条例》",
        "purpose": "核查",
        "purpose_code": "household-check",
        "calling_system": "核查系统",
        "token_ids": [str(sc.token_id)],
        "period_from": "2025-09-26",
        "period_until": "2026-09-25",
        "scenario": "窗口核对",
        "expected_daily_calls": "",
    }
    r = yz.post(PAGES, data=form, follow_redirects=False)
    assert r.status_code == 422 and "预计每日调用次数" in _testid(r.text, "form-error")
    assert 'value="household-check"' in r.text  # what was typed is kept
    assert _count(session, ShareApplication) == 0
    r = yz.post(PAGES, data=form | {"expected_daily_calls": "30"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    detail = r.headers["location"]
    r = yz.get(detail)
    assert "共享申请已提交" in r.text and _testid(r.text, "due-on") == "2025-10-16"
    assert 'data-testid="withdraw-form"' in r.text and 'data-testid="approve-form"' not in r.text
    # Withdrawing says first what it does, with the items it gives up (issue 16).
    effect = _testid(r.text, "withdraw-effect")
    assert "2 个信息项" in effect and "无需答复" in effect and "不能恢复" in effect
    assert 'data-testid="withdraw-confirm"' in r.text and "确认撤回申请" in r.text
    r = yz.post(f"{detail.split('?')[0]}/withdraw", follow_redirects=False)
    assert r.status_code == 303, r.text
    r = yz.get(r.headers["location"])
    assert "申请已撤回" in r.text and _testid(r.text, "status") == "已撤回"
    assert 'data-testid="withdraw-form"' not in r.text


def test_inbox_overdue_answer_and_extension_pages(
    sign_in: Any, session: Session, world: World, sc: ShareCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    yz, market = sign_in("yz_officer"), sign_in("officer2")
    a = yz.post(API, json=_body(world, sc)).json()
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 10, 20))
    for who, view in ((market, "incoming"), (yz, "outgoing")):
        r = who.get(PAGES, params={"view": view})
        assert r.status_code == 200
        assert "已超期" in _testid(r.text, "clock-label")  # flagged on both sides
        assert 'data-testid="overdue-warning"' in r.text
    r = market.get(f"{PAGES}/{a['id']}")
    assert 'data-testid="overdue-flag"' in r.text and 'data-testid="approve-form"' in r.text
    assert 'data-testid="extension-form"' not in r.text  # past due: no extension any more
    r = market.post(f"{PAGES}/{a['id']}/refuse", data={"reason": "超出职责范围", "basis": ""})
    assert r.status_code == 422 and "依据" in _testid(r.text, "form-error")
    r = market.post(
        f"{PAGES}/{a['id']}/approve",
        data={"items": ["公民身份号码"], "daily_quota": "10"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = yz.get(f"{PAGES}/{a['id']}")
    assert "已批准（有缩减）" in r.text and 'data-testid="grant"' in r.text
    assert "逾期办结" in _testid(r.text, "clock-label")
    # The bureau and the auditor see everything; the public sees nothing.
    for who in ("city", "auditor"):
        r = sign_in(who).get(PAGES)
        assert r.status_code == 200 and f"第 {a['id']} 号" in r.text
    assert f"第 {a['id']} 号" not in sign_in("jb_officer").get(PAGES).text


def test_extension_on_the_page_staff_ask_the_head_approves(
    sign_in: Any, session: Session, world: World, sc: ShareCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    police_mixed(session, sc)
    session.commit()
    yz, officer, head = sign_in("yz_officer"), sign_in("officer"), sign_in("head")
    r = yz.post(
        API, json=_body(world, sc, source=sc.person_source.code, items=["姓名", "出生日期"])
    )
    assert r.status_code == 201 and r.json()["status"] == "pending", r.text
    aid = r.json()["id"]
    assert 'data-testid="extension-form"' not in yz.get(f"{PAGES}/{aid}").text
    r = officer.post(
        f"{PAGES}/{aid}/extension",
        data={"action": "approve", "days": "3", "reason": "需会商"},
    )
    assert r.status_code == 403  # only the head approves
    r = officer.post(
        f"{PAGES}/{aid}/extension",
        data={"action": "request", "days": "3", "reason": "需会商"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = head.get(f"{PAGES}/{aid}")
    assert "批准延期申请" in r.text and 'data-testid="extension-pending"' in r.text
    # The head may refuse, saying why; the staff may ask again.
    r = head.post(f"{PAGES}/{aid}/extension", data={"action": "refuse", "reason": ""})
    assert r.status_code == 422 and "理由" in _testid(r.text, "extension-error")
    r = head.post(
        f"{PAGES}/{aid}/extension",
        data={"action": "refuse", "reason": "期限足够"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert 'data-testid="extension-pending"' not in head.get(f"{PAGES}/{aid}").text
    r = officer.post(
        f"{PAGES}/{aid}/extension",
        data={"action": "request", "days": "3", "reason": "需会商"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = head.post(f"{PAGES}/{aid}/extension", data={"action": "approve"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    r = yz.get(f"{PAGES}/{aid}")
    assert _testid(r.text, "due-on") == "2025-10-21" and 'data-testid="extension"' in r.text


@pytest.mark.parametrize(
    ("username", "tabs"),
    [
        ("city", ["全部申请"]),
        ("auditor", ["全部申请"]),
        ("yz_admin", ["全部申请"]),
        ("officer", ["本部门提出的", "待本部门答复"]),
        ("head", ["本部门提出的", "待本部门答复"]),
    ],
)
def test_the_list_opens_for_the_roles_the_nav_shows_it_to(
    sign_in: Any, username: str, tabs: list[str]
) -> None:
    r = sign_in(username).get(PAGES, headers={"Accept": "text/html"})
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text
    nav = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', r.text, re.S)
    assert nav is not None and re.findall(r">([^<]+)</a>", nav.group(1)) == tabs


def test_the_public_opens_no_application_page(sign_in: Any, sc: ShareCity) -> None:
    citizen = sign_in("citizen")
    for url in (PAGES, f"{PAGES}/new", f"{PAGES}/new?source={sc.market_source.code}"):
        assert citizen.get(url, headers={"Accept": "text/html"}).status_code == 403, url
    r = citizen.get(API)
    assert (r.status_code, _error(r)["code"]) == (403, "sharing.applications_people_only")


def test_a_provider_with_applications_waiting_opens_on_its_inbox(
    sign_in: Any, world: World, sc: ShareCity
) -> None:
    # Art. 26 ¶2: the provider answers within 10 working days; its list opens where the work is.
    yz, market = sign_in("yz_officer"), sign_in("officer2")
    assert '?view=outgoing" aria-current="page"' in market.get(PAGES).text  # nothing waits
    a = yz.post(API, json=_body(world, sc)).json()
    r = market.get(PAGES)
    assert r.status_code == 200 and '?view=incoming" aria-current="page"' in r.text
    assert f"第 {a['id']} 号" in r.text  # the inbox, unasked
    r = yz.get(PAGES)  # the requester still opens on what it asked for
    assert f"第 {a['id']} 号" in r.text
    r = market.get(PAGES, params={"view": "outgoing"})  # an explicit choice is kept
    assert f"第 {a['id']} 号" not in r.text
