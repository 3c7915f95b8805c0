"""The objection pages over HTTP (Art. 27): the lists by side, the form, the detail page with
its notes, clock and steps; refusals from the refused side."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.sharing.models import ApplicationStatus, Grant, Objection
from tests.sharing.helpers import ShareCity, build_share_city
from tests.sharing.objection_helpers import application
from tests.world import World

PAGES = "/sharing/objections"


def _testid(html: str, name: str) -> str:
    m = re.search(rf'data-testid="{name}"[^>]*>(.*?)</', html, re.S)
    assert m, f"no {name} in page"
    return m.group(1).strip()


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


def _raise(yz, refused_id: int) -> int:  # type: ignore[no-untyped-def]
    r = yz.post(
        PAGES,
        data={"kind": "refusal", "application": str(refused_id), "reason": "救助核查是法定职责"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return int(r.headers["location"].split("/")[-1].split("?")[0])


def test_form_to_objection_page(sign_in, session: Session, refused_id: int) -> None:  # type: ignore[no-untyped-def]
    yz = sign_in("yz_officer")
    r = yz.get(f"{PAGES}/new", params={"application": refused_id})
    assert r.status_code == 200 and "提交异议" in r.text
    assert "答复：未予批准（不符合共享条件" in r.text
    # A missing reason: the form again with the message, nothing stored.
    r = yz.post(PAGES, data={"kind": "refusal", "application": str(refused_id), "reason": ""})
    assert r.status_code == 422
    assert _testid(r.text, "form-error") == "请说明异议的理由和依据。"
    assert session.scalar(select(Objection.id)) is None
    oid = _raise(yz, refused_id)
    r = yz.get(f"{PAGES}/{oid}", params={"msg": "raised"})
    assert r.status_code == 200
    assert "由数据主管部门会同数据提供部门协调处理" in _testid(r.text, "flash")
    assert _testid(r.text, "status") == "已受理"
    assert _testid(r.text, "clock-label") == "剩余10个工作日"
    assert 'data-testid="withdraw-form"' in r.text and 'data-testid="note-form"' in r.text
    assert "期限随之终止" in _testid(r.text, "withdraw-effect")  # says what it does (issue 16)
    assert 'data-testid="take-up-form"' not in r.text  # the objector does not coordinate
    r = yz.get(PAGES, params={"side": "raised"})
    assert r.status_code == 200 and f'href="/sharing/objections/{oid}"' in r.text


def test_share_type_and_value_forms_render(sign_in, sc: ShareCity) -> None:  # type: ignore[no-untyped-def]
    yz = sign_in("yz_officer")
    r = yz.get(f"{PAGES}/new", params={"source": sc.market_source.code, "kind": "share_type"})
    assert r.status_code == 200 and "从业人数（不予共享）" in r.text
    r = yz.get(f"{PAGES}/new", params={"source": sc.person_source.code, "kind": "value"})
    assert r.status_code == 200 and 'name="key"' in r.text and "申请校核" in r.text
    r = yz.get(f"{PAGES}/new", params={"source": "NOPE"})
    assert r.status_code == 200 and 'data-testid="source-missing"' in r.text


def test_the_bureau_takes_up_and_settles_with_an_ordered_grant(  # type: ignore[no-untyped-def]
    sign_in, session: Session, sc: ShareCity, refused_id: int
) -> None:
    yz, city, market = sign_in("yz_officer"), sign_in("city"), sign_in("officer2")
    oid = _raise(yz, refused_id)
    r = city.get(f"{PAGES}/{oid}")
    assert r.status_code == 200 and 'data-testid="take-up-form"' in r.text
    assert 'data-testid="extension-form"' in r.text
    r = city.post(f"{PAGES}/{oid}/take-up", data={"note": "已函询"}, follow_redirects=False)
    assert r.status_code == 303
    r = market.post(
        f"{PAGES}/{oid}/notes", data={"text": "同意共享经营状态"}, follow_redirects=False
    )
    assert r.status_code == 303
    r = city.get(f"{PAGES}/{oid}")
    assert 'data-testid="settle-form"' in r.text and 'data-testid="grant-fields"' in r.text
    assert "同意共享经营状态" in r.text
    # A refused settlement shows the form again and stores nothing.
    r = city.post(f"{PAGES}/{oid}/settle", data={"result": "upheld", "outcome": ""})
    assert r.status_code == 422 and _testid(r.text, "settle-error") == "请填写协调处理结果及理由。"
    today = calendar.today().isoformat()
    r = city.post(
        f"{PAGES}/{oid}/settle",
        data={
            "result": "upheld",
            "outcome": "经协调同意共享",
            "order": "grant",
            "items": ["公民身份号码", "经营状态"],
            "valid_from": today,
            "systems": [str(sc.token_id)],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = yz.get(f"{PAGES}/{oid}")
    assert _testid(r.text, "status") == "已办结"
    assert "责令授权" in r.text and "异议成立" in r.text
    assert 'data-testid="withdraw-form"' not in r.text
    session.expire_all()
    g = session.scalars(select(Grant).where(Grant.objection_id == oid)).one()
    assert g.items == ["公民身份号码", "经营状态"] and g.origin == "order"


def test_refused_sides_of_the_pages(sign_in, client, refused_id: int) -> None:  # type: ignore[no-untyped-def]
    yz = sign_in("yz_officer")
    oid = _raise(yz, refused_id)
    r = sign_in("jb_officer").get(f"{PAGES}/{oid}")
    assert r.status_code == 404
    # The provider takes part in notes but neither takes up nor withdraws.
    market = sign_in("officer2")
    r = market.post(f"{PAGES}/{oid}/take-up", data={})
    assert r.status_code == 403
    r = market.post(f"{PAGES}/{oid}/withdraw", data={})
    assert r.status_code == 403
    # The public has no objection pages; forms need the CSRF token.
    assert sign_in("citizen").get(PAGES).status_code == 403
    assert sign_in("city").get(f"{PAGES}/new").status_code == 403
    r = yz.client.post(f"{PAGES}/{oid}/withdraw", data={})
    assert r.status_code == 403
    r = client.get(PAGES, headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = sign_in("auditor").get(PAGES)
    assert r.status_code == 200 and f'href="/sharing/objections/{oid}"' in r.text
