"""Each role's home page lists its own running statutory clocks (issue 11 §4); the department
head approves or refuses the extensions waiting for approval there (Art. 19 ¶2, 32 ¶3, 33 ¶2)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy.orm import Session

from govdata.core import calendar, obligations
from govdata.core.obligations import Kind, Obligation
from tests.world import World

# Like Art. 19's corrections: 10 working days, one extension.
KIND = obligations.register(
    Kind(
        code="test.home_answer",
        label="答复首页测试申请",
        article="第十九条第二款",
        working_days=10,
        extendable=True,
        href="/test/things/{subject_id}",
    )
)


@pytest.fixture
def pending(session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> Obligation:
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 12, 1))
    officer = world.actor(session, "officer")
    ob = obligations.open(
        session,
        officer,
        KIND,
        subject_type="thing",
        subject_id=7,
        department_id=world.police,
        region_id=world.city,
        title="第7号首页测试申请",
        deadline=obligations.deadline(session, KIND, date(2026, 12, 1)),
    )
    obligations.request_extension(session, officer, ob.id, days=5, reason="需调取纸质档案核对")
    session.commit()
    return ob


def test_the_head_sees_the_request_first_and_approves_it(sign_in, pending, session) -> None:  # type: ignore[no-untyped-def]
    head = sign_in("head")
    page = head.get("/").text
    assert "待办事项（法定时限）" in page
    assert "第7号首页测试申请" in page and 'href="/test/things/7"' in page
    assert f'data-testid="approve-{pending.id}"' in page
    r = head.post(f"/obligations/{pending.id}/extension/approve", follow_redirects=False)
    assert r.status_code == 303, r.text
    session.expire_all()
    ob = session.get(Obligation, pending.id)
    assert ob is not None and ob.extension_days == 5 and ob.due_on > ob.original_due_on
    assert "已同意延期" in head.get("/?msg=approved").text


def test_the_officer_sees_it_waiting_but_cannot_approve(sign_in, pending) -> None:  # type: ignore[no-untyped-def]
    officer = sign_in("officer")
    page = officer.get("/").text
    assert "第7号首页测试申请" in page and "待主要负责人审批" in page
    assert f'data-testid="approve-{pending.id}"' not in page
    r = officer.post(f"/obligations/{pending.id}/extension/approve", follow_redirects=False)
    assert r.status_code == 403
    assert "deadline.head_approval_required" in r.text or "主要负责人" in r.text


def test_another_department_sees_nothing_of_it(sign_in, pending) -> None:  # type: ignore[no-untyped-def]
    other = sign_in("officer2")
    assert "第7号首页测试申请" not in other.get("/").text
    r = other.post(f"/obligations/{pending.id}/extension/approve", follow_redirects=False)
    assert r.status_code == 404  # outside its scope: not found, never a leak
    citizen = sign_in("citizen").get("/").text
    assert "待办事项" not in citizen


def test_a_refusal_needs_a_reason(sign_in, pending, session) -> None:  # type: ignore[no-untyped-def]
    head = sign_in("head")
    r = head.post(f"/obligations/{pending.id}/extension/refuse", data={"reason": " "})
    assert r.status_code == 400
    assert "请说明理由" in r.text
    session.expire_all()
    ob = session.get(Obligation, pending.id)
    assert ob is not None and ob.extension_pending  # nothing changed
    r = head.post(
        f"/obligations/{pending.id}/extension/refuse",
        data={"reason": "期限内可以完成"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    ob = session.get(Obligation, pending.id)
    assert ob is not None and not ob.extension_pending and ob.extension_days == 0
    assert re.search("已不同意延期", head.get("/?msg=refused").text)


@pytest.fixture
def running(session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> Obligation:
    monkeypatch.setattr(calendar, "today", lambda: date(2026, 12, 1))
    ob = obligations.open(
        session,
        world.actor(session, "officer"),
        KIND,
        subject_type="thing",
        subject_id=8,
        department_id=world.police,
        region_id=world.city,
        title="第8号首页测试申请",
        deadline=obligations.deadline(session, KIND, date(2026, 12, 1)),
    )
    session.commit()
    return ob


def test_the_officer_asks_and_the_head_approves_from_the_home_page(  # type: ignore[no-untyped-def]
    sign_in, running, session
) -> None:
    officer = sign_in("officer")
    assert f'data-testid="request-{running.id}"' in officer.get("/").text
    bad = officer.post(
        f"/obligations/{running.id}/extension/request", data={"days": "11", "reason": "太多"}
    )
    assert bad.status_code == 422  # at most 10 working days (Art. 19 ¶2)
    r = officer.post(
        f"/obligations/{running.id}/extension/request",
        data={"days": "3", "reason": "需调取纸质档案"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = officer.get("/?msg=requested").text
    assert "待本部门主要负责人审批" in page
    assert f'data-testid="request-{running.id}"' not in page  # one request at a time
    head = sign_in("head")
    assert f'data-testid="approve-{running.id}"' in head.get("/").text
    head.post(f"/obligations/{running.id}/extension/approve")
    session.expire_all()
    ob = session.get(Obligation, running.id)
    assert ob is not None and ob.extension_days == 3


def test_another_department_cannot_ask(sign_in, running) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer2").post(
        f"/obligations/{running.id}/extension/request", data={"days": "3", "reason": "x"}
    )
    assert r.status_code == 404
