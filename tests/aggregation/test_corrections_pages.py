"""The correction pages over HTTP (Art. 19): the lists with clocks and overdue flags, the
application form, the answer and extension forms, and refusals from the refused side."""

from __future__ import annotations

import re
from datetime import date

import pytest

from govdata.aggregation import corrections, pools
from govdata.aggregation.models import Correction, Pool
from govdata.core import calendar
from tests.aggregation.test_corrections import ID1, _pool

PAGES = "/aggregation/corrections"


@pytest.fixture
def pool(session, world) -> Pool:  # type: ignore[no-untyped-def]
    p = _pool(session, world)
    session.commit()
    return p


@pytest.fixture
def correction(session, world, pool, monkeypatch) -> Correction:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 9, 26))
    c = corrections.apply(
        session,
        world.actor(session, "city"),
        pool_id=pool.id,
        subject_key=ID1,
        item_name="住址",
        proposed_value="渝中区解放碑8号",
        reason="门牌号有误",
    )
    session.commit()
    return c


def _testid(html: str, name: str) -> str:
    m = re.search(rf'data-testid="{name}"[^>]*>(.*?)</', html, re.S)
    assert m, f"no {name} in page"
    return m.group(1).strip()


def test_application_form_to_correction_page(sign_in, session, world, pool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 9, 26))
    city = sign_in("city")
    r = city.get(f"{PAGES}/new", params={"pool": pool.id, "key": ID1, "item": "住址"})
    assert r.status_code == 200
    assert _testid(r.text, "current-value") == "渝中区解放碑1号"
    assert "提交校核申请" in r.text
    r = city.post(
        PAGES,
        data={
            "pool": str(pool.id),
            "key": ID1,
            "item": "住址",
            "proposed_value": "渝中区解放碑8号",
            "reason": "门牌号有误",
            "evidence": "房产证",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    detail = r.headers["location"]
    r = city.get(detail)
    assert "校核申请已提交" in r.text
    # Art. 19 ¶3 on the page and on the mark; the clock over National Day.
    assert "已经提供合法有效证明材料的" in _testid(r.text, "proof-note")
    assert 'data-testid="under-correction"' in r.text
    assert _testid(r.text, "due-on") == "2025-10-16"
    assert _testid(r.text, "clock-label") == "剩余10个工作日"
    # The same value cannot be challenged twice: the form says where the open one is.
    r = city.get(f"{PAGES}/new", params={"pool": pool.id, "key": ID1, "item": "住址"})
    assert 'data-testid="already-open"' in r.text and "提交校核申请" not in r.text


def test_application_form_refusals(sign_in, session, world, pool) -> None:  # type: ignore[no-untyped-def]
    # The provider's own officer is told to correct the pool instead.
    officer = sign_in("officer")
    r = officer.get(f"{PAGES}/new", params={"pool": pool.id, "key": ID1, "item": "住址"})
    assert r.status_code == 200 and "请直接更正本部门数据资源池" in _testid(r.text, "refusal")
    assert "提交校核申请" not in r.text
    city = sign_in("city")
    r = city.get(
        f"{PAGES}/new", params={"pool": pool.id, "key": "500103199001010000", "item": "住址"}
    )
    assert "没有该主体" in _testid(r.text, "lookup-error")
    r = city.post(
        PAGES,
        data={"pool": str(pool.id), "key": ID1, "item": "住址", "reason": " "},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "请说明" in _testid(r.text, "form-error")
    r = city.post(
        PAGES,
        data={
            "pool": str(pool.id),
            "key": ID1,
            "item": "出生日期",
            "proposed_value": "某天",
            "reason": "错",
        },
        follow_redirects=False,
    )
    assert r.status_code == 422 and "应为日期" in _testid(r.text, "form-error")
    assert corrections.list_corrections(session, world.actor(session, "city")).total == 0
    # Another department cannot see the pool; a form without the CSRF field is refused.
    assert sign_in("officer2").get(f"{PAGES}/new", params={"pool": pool.id}).status_code == 404
    r = city.client.post(
        PAGES, data={"pool": str(pool.id), "key": ID1, "item": "住址", "reason": "错"}
    )
    assert r.status_code == 403
    # The public applies on the open portal (Ch. 5), not on these staff pages.
    assert sign_in("citizen").get(PAGES).status_code == 403


def test_lists_show_clocks_and_overdue_flags(
    sign_in, session, world, correction, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 10, 9))
    officer = sign_in("officer")
    r = officer.get(PAGES)
    assert r.status_code == 200 and 'aria-current="page">待本部门校核' in r.text
    assert f"第 {correction.id} 号" in r.text
    assert _testid(r.text, "clock-label") == "剩余6个工作日"  # 10-10, 10-11 (调休), 10-13..16
    assert _testid(r.text, "count-open") == "1" and _testid(r.text, "count-overdue") == "0"
    r = officer.get(PAGES, params={"view": "outgoing"})
    assert f"第 {correction.id} 号" not in r.text

    monkeypatch.setattr(calendar, "today", lambda: date(2025, 10, 20))
    r = officer.get(PAGES)
    assert _testid(r.text, "count-overdue") == "1"
    assert "已超过答复期限" in _testid(r.text, "overdue-warning")
    assert _testid(r.text, "clock-label") == "已超期2个工作日"
    # The city bureau's overview: all corrections, by department, with the overdue count.
    r = sign_in("city").get(PAGES)
    assert 'aria-current="page">全部校核' in r.text
    table = re.search(r'data-testid="by-department".*?</table>', r.text, re.S)
    assert (
        table
        and "市公安局" in table.group(0)
        and '<span class="badge bad">1</span>' in table.group(0)
    )
    assert _testid(r.text, "count-overdue") == "1"
    r = sign_in("city").get(PAGES, params={"view": "all", "overdue": "1"})
    assert f"第 {correction.id} 号" in r.text
    r = sign_in("city").get(PAGES, params={"view": "all", "status": "accepted"})
    assert f"第 {correction.id} 号" not in r.text
    # Another department sees nothing of it.
    r = sign_in("officer2").get(PAGES)
    assert f"第 {correction.id} 号" not in r.text
    assert sign_in("officer2").get(f"{PAGES}/{correction.id}").status_code == 404


def test_officer_accepts_on_the_page(sign_in, session, world, pool, correction) -> None:  # type: ignore[no-untyped-def]
    officer = sign_in("officer")
    r = officer.get(f"{PAGES}/{correction.id}")
    assert 'data-testid="answer-form"' in r.text
    assert 'data-testid="extension-form"' not in r.text  # only the head extends
    assert 'value="渝中区解放碑8号"' in r.text  # the proposed value is the default
    assert re.search(r'name="clear" value="1"\s*(?:style="[^"]*")?>', r.text)  # not checked
    r = officer.post(
        f"{PAGES}/{correction.id}/answer",
        data={
            "decision": "accept",
            "answer": "经核实予以更正",
            "corrected_value": "渝中区解放碑8号",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = officer.get(r.headers["location"])
    assert "予以更正，数据资源池中的数据已更新" in r.text
    assert _testid(r.text, "current-value") == "渝中区解放碑8号"
    assert 'data-testid="under-correction"' not in r.text
    assert 'data-testid="proof-note"' not in r.text
    assert _testid(r.text, "status") == "已更正"
    session.expire_all()
    rows = pools.read_rows(session, world.actor(session, "officer"), pool.id, subject_key=ID1)
    assert rows.rows[0]["住址"] == "渝中区解放碑8号"


def test_answer_form_refusals(sign_in, session, world, pool, correction) -> None:  # type: ignore[no-untyped-def]
    officer = sign_in("officer")
    r = officer.post(f"{PAGES}/{correction.id}/answer", data={"decision": "reject", "answer": ""})
    assert r.status_code == 422 and "须说明理由" in _testid(r.text, "form-error")
    r = officer.post(
        f"{PAGES}/{correction.id}/answer",
        data={"decision": "accept", "answer": "改", "corrected_value": "x" * 41},
    )
    assert r.status_code == 422 and "超过信息项规定的长度" in _testid(r.text, "form-error")
    assert 'value="' + "x" * 41 + '"' in r.text  # what was typed is kept
    # The city bureau sees the correction but has no answer form, and its answer is refused.
    city = sign_in("city")
    assert 'data-testid="answer-form"' not in city.get(f"{PAGES}/{correction.id}").text
    r = city.post(f"{PAGES}/{correction.id}/answer", data={"decision": "reject", "answer": "无误"})
    assert r.status_code == 403
    session.expire_all()
    rows = pools.read_rows(session, world.actor(session, "officer"), pool.id, subject_key=ID1)
    assert rows.rows[0]["住址"] == "渝中区解放碑1号"
    assert (
        corrections.get_correction(session, world.actor(session, "city"), correction.id).status
        == "open"
    )


def test_head_extends_on_the_page(sign_in, session, world, correction, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 10, 9))
    head = sign_in("head")
    r = head.get(f"{PAGES}/{correction.id}")
    assert 'data-testid="extension-form"' in r.text
    r = head.post(f"{PAGES}/{correction.id}/extension", data={"days": "11", "reason": "调档"})
    assert r.status_code == 422 and "不得超过10个工作日" in _testid(r.text, "extension-error")
    r = head.post(
        f"{PAGES}/{correction.id}/extension",
        data={"days": "5", "reason": "需调取原始档案"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = head.get(r.headers["location"])
    assert "已批准延长校核期限" in r.text
    assert _testid(r.text, "due-on") == "2025-10-23"
    assert "需调取原始档案" in _testid(r.text, "extension")
    assert 'data-testid="extension-form"' not in r.text  # once only
    r = sign_in("officer").post(
        f"{PAGES}/{correction.id}/extension", data={"days": "1", "reason": "再延"}
    )
    assert r.status_code == 403
