"""Conditional-open applications over HTTP (Art. 33 ¶2): the JSON API and the pages, refusals
seen from the refused side."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.opendata import entitlement, vocab
from govdata.opendata.models import OpenApplication
from tests.opendata.helpers import OpenCity, build_open_city
from tests.world import World

DAY = date(2025, 9, 26)
API = "/api/v1/opendata/applications"


@pytest.fixture
def oc(session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> OpenCity:
    monkeypatch.setattr(calendar, "today", lambda: DAY)
    return build_open_city(session, world)


def _error(r: Any) -> dict[str, Any]:
    return dict(r.json()["error"])


def body(code: str, **kw: Any) -> dict[str, Any]:
    return {
        "dataset": code,
        "items": ["姓名", "经营状态"],
        "purpose": "研究个体经营变化",
        "scenario": "课题组统计分析",
        "safeguards": "内网存放，专人管理",
        "period_from": "2025-09-26",
        "period_until": "2026-03-31",
        "agreement_version": vocab.AGREEMENT_VERSION,
    } | kw


def test_apply_answer_narrowed_and_then_obtain_only_the_granted_items(
    session: Session, world: World, oc: OpenCity, sign_in: Any
) -> None:
    citizen = sign_in("citizen")
    r = citizen.post(API, json=body(oc.market.code))
    assert r.status_code == 201, r.text
    a = r.json()
    assert (a["status"], a["due_on"], a["clock_label"]) == (
        "pending",
        "2025-10-16",
        "剩余10个工作日",
    )
    assert a["dataset_name"] == "个体经营者信息" and not a["overdue"]
    assert a["applicant_name"] == "郑公民"
    officer = sign_in("officer2")
    inbox = officer.get(API, params={"view": "inbox"}).json()
    assert [x["id"] for x in inbox["items"]] == [a["id"]]
    wider = officer.post(f"{API}/{a['id']}/approve", json={"granted_until": "2026-04-01"})
    assert (wider.status_code, _error(wider)["code"]) == (400, "opendata.narrowing_wider")
    ok = officer.post(
        f"{API}/{a['id']}/approve", json={"items": ["经营状态"], "granted_until": "2025-12-31"}
    )
    assert ok.status_code == 200, ok.text
    assert (ok.json()["granted_items"], ok.json()["granted_until"]) == (["经营状态"], "2025-12-31")
    assert citizen.get(f"{API}/{a['id']}").json()["status"] == "approved"
    ent = entitlement.may_obtain(
        session, world.actor(session, "citizen"), oc.market, today=date(2025, 10, 1)
    )
    assert ent.items == ("经营状态",)


def test_refusals_from_the_refused_side(
    session: Session, world: World, oc: OpenCity, sign_in: Any, client: Any
) -> None:
    citizen = sign_in("citizen")
    no_agreement = citizen.post(API, json=body(oc.market.code, agreement_version=None))
    assert (no_agreement.status_code, _error(no_agreement)["code"]) == (
        400,
        "opendata.agreement_required",
    )
    assert "数据利用协议" in _error(no_agreement)["message"]
    uncond = citizen.post(API, json=body(oc.person.code, items=["姓名"]))
    assert _error(uncond)["code"] == "opendata.unconditional_no_application"
    company = sign_in("company")  # identity not checked (Art. 33 ¶3)
    r = company.post(API, json=body(oc.market.code))
    assert (r.status_code, _error(r)["code"]) == (401, "opendata.identity_required")
    assert client.post(API, json=body(oc.market.code)).status_code in (401, 403)
    assert session.scalar(select(OpenApplication.id)) is None
    a = citizen.post(API, json=body(oc.market.code)).json()
    for who in ("company", "officer", "yz_admin"):
        other = sign_in(who)
        assert other.get(f"{API}/{a['id']}").status_code == 404
        assert other.post(f"{API}/{a['id']}/approve", json={}).status_code == 404
        assert other.get(API, params={"view": "all"}).json()["total"] == 0
    officer = sign_in("officer2")
    no_basis = officer.post(f"{API}/{a['id']}/refuse", json={"reason": "不符合条件", "basis": ""})
    assert (no_basis.status_code, _error(no_basis)["code"]) == (
        400,
        "opendata.refusal_basis_required",
    )
    ext = officer.post(f"{API}/{a['id']}/extend", json={"days": 5, "reason": "核实"})
    assert (ext.status_code, _error(ext)["code"]) == (403, "deadline.head_approval_required")
    assert officer.post(f"{API}/{a['id']}/withdraw").status_code == 403
    assert sign_in("city").get(f"{API}/{a['id']}").status_code == 200  # the bureau oversees
    w = citizen.post(f"{API}/{a['id']}/withdraw")
    assert w.status_code == 200 and w.json()["status"] == "withdrawn"
    again = officer.post(f"{API}/{a['id']}/approve", json={})
    assert (again.status_code, _error(again)["code"]) == (409, "opendata.application_closed")


def test_pages_form_inbox_answer_and_follow(
    session: Session, world: World, oc: OpenCity, sign_in: Any
) -> None:
    citizen = sign_in("citizen")
    form = citizen.get(f"/open/datasets/{oc.market.code}/apply")
    assert form.status_code == 200 and "数据利用协议" in form.text and "从业人数" not in form.text
    fields = {
        "items": ["姓名"],
        "purpose": "研究",
        "scenario": "统计",
        "safeguards": "内网",
        "period_from": "2025-09-26",
        "period_until": "2026-03-31",
        "csrf_token": citizen.csrf,
    }
    refused = citizen.post(
        f"/open/datasets/{oc.market.code}/apply", data=fields, follow_redirects=False
    )
    assert refused.status_code == 422 and "数据利用协议" in refused.text
    assert session.scalar(select(OpenApplication.id)) is None
    done = citizen.post(
        f"/open/datasets/{oc.market.code}/apply",
        data=fields | {"agreement": vocab.AGREEMENT_VERSION},
        follow_redirects=False,
    )
    assert done.status_code == 303
    aid = int(done.headers["location"].split("/")[-1].split("?")[0])
    mine = citizen.get("/open/applications")
    assert mine.status_code == 200 and "个体经营者信息" in mine.text and "2025-10-16" in mine.text
    officer = sign_in("officer2")
    inbox = officer.get("/opendata/applications")
    assert inbox.status_code == 200 and f"/opendata/applications/{aid}" in inbox.text
    page = officer.get(f"/opendata/applications/{aid}")
    assert 'data-testid="approve-form"' in page.text and 'data-testid="refuse-form"' in page.text
    bad = officer.post(
        f"/opendata/applications/{aid}/refuse",
        data={"reason": "不符合", "basis": "", "csrf_token": officer.csrf},
    )
    assert bad.status_code == 422 and "应当提供依据" in bad.text
    ok = officer.post(
        f"/opendata/applications/{aid}/approve",
        data={"items": ["姓名"], "csrf_token": officer.csrf},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    follow = citizen.get(f"/open/applications/{aid}")
    assert "同意开放" in follow.text and 'data-testid="approve-form"' not in follow.text
    assert sign_in("officer").get(f"/opendata/applications/{aid}").status_code == 404
    company = sign_in("company")
    assert company.get(f"/open/applications/{aid}").status_code == 404
    assert company.get("/opendata/applications").status_code == 404  # not staff
    # Identity not checked (Art. 33 ¶3): the form says so, and nothing is stored.
    assert (
        'data-testid="identity-note"' in company.get(f"/open/datasets/{oc.market.code}/apply").text
    )
    no_id = company.post(
        f"/open/datasets/{oc.market.code}/apply",
        data=fields | {"agreement": vocab.AGREEMENT_VERSION, "csrf_token": company.csrf},
        follow_redirects=False,
    )
    assert no_id.status_code == 401 and "身份认证" in no_id.text
    assert len(session.scalars(select(OpenApplication.id)).all()) == 1
    note = citizen.get(f"/open/datasets/{oc.person.code}/apply").text
    assert 'data-testid="unconditional-note"' in note


def test_extension_over_http_only_by_the_head_once(
    session: Session, world: World, oc: OpenCity, sign_in: Any
) -> None:
    from tests.opendata.test_applications import police_conditional

    police = police_conditional(session, oc)
    a = sign_in("citizen").post(API, json=body(police.code, items=["姓名"])).json()
    officer, head = sign_in("officer"), sign_in("head")
    asked = officer.post(
        f"{API}/{a['id']}/extend", json={"action": "request", "days": 4, "reason": "需核实"}
    )
    assert asked.status_code == 200 and asked.json()["extension_days"] == 0
    page = head.get(f"/opendata/applications/{a['id']}")
    assert "批准延期申请" in page.text
    too_long = head.post(f"{API}/{a['id']}/extend", json={"days": 11, "reason": "x"})
    assert (too_long.status_code, _error(too_long)["code"]) == (
        400,
        "deadline.extension_too_long",
    )
    done = head.post(
        f"/opendata/applications/{a['id']}/extension",
        data={"action": "approve", "csrf_token": head.csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    got = sign_in("citizen").get(f"{API}/{a['id']}").json()
    assert (got["extension_days"], got["original_due_on"], got["due_on"]) == (
        4,
        "2025-10-16",
        "2025-10-22",
    )
    again = head.post(
        f"/opendata/applications/{a['id']}/extension",
        data={"action": "approve", "days": "1", "reason": "再延", "csrf_token": head.csrf},
    )
    assert again.status_code == 422 and "不得再次延长" in again.text
