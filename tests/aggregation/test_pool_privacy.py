"""Issue 16 on the pool pages: auditors read personal data masked and reveal a row only with a
reason, audited (Art. 41, 42, 49; Art. 40); a department corrects its own values directly,
audited (Art. 19 ¶2, 20 ¶2), and the ⚑ marks say what they do, with no dead links for
read-only roles; the load page shows no internal keys and puts the zh-CN message first."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import base, corrections, masking, pools
from govdata.aggregation.models import BaseKind, Load, Pool
from govdata.core.access import AccessRecord
from govdata.core.audit import AuditEvent
from govdata.core.errors import InvalidInput, NotFound, PermissionDenied
from tests.aggregation.base_helpers import K1, K2, base_rows, build_city
from tests.aggregation.factories import fill_pool, person_pool_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _records(session: Session, action: str) -> list[AccessRecord]:
    return list(
        session.scalars(
            select(AccessRecord).where(AccessRecord.action == action).order_by(AccessRecord.id)
        )
    )


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _police_pool(session: Session, world: World) -> Pool:
    resource = person_pool_resource(
        session,
        world,
        world.police,
        "户籍人口遮盖测试",
        [("姓名", "C", 20), ("手机号码", "C", 11), ("民族", "C", 10)],
    )
    rows: list[dict[str, Any]] = [
        {"公民身份号码": K1, "姓名": "张三", "手机号码": "13812345678", "民族": "汉族"},
        {"公民身份号码": K2, "姓名": "欧阳娜娜", "手机号码": None, "民族": "土家族"},
    ]
    pool, _ = fill_pool(session, world.actor(session, "city"), resource, rows)
    return pool


# --- masking (Art. 41, 42, 49) ------------------------------------------------------------------


def test_mask_keeps_only_the_ends() -> None:
    assert masking.mask("500101199001010011") == "500***********0011"
    assert masking.mask("13812345678") == "138****5678"
    assert masking.mask("张三") == "张*"
    assert masking.mask("欧阳娜娜") == "欧**娜"
    assert masking.mask("渝中区解放碑1号") == "渝中****1号"
    assert masking.mask("王") == "*"
    assert masking.mask(None) is None


def test_auditors_read_personal_items_masked(session: Session, world: World) -> None:
    pool = _police_pool(session, world)
    assert masking.personal_columns(pool) == ["公民身份号码", "姓名", "手机号码"]
    got = pools.read_rows(session, world.actor(session, "auditor"), pool.id)
    assert got.masked == ["公民身份号码", "姓名", "手机号码"]
    first = got.rows[0]
    assert (first["公民身份号码"], first["姓名"], first["手机号码"], first["民族"]) == (
        "500***********0011",
        "张*",
        "138****5678",
        "汉族",  # not personal: readable
    )
    assert got.rows[1]["手机号码"] is None
    assert got.keys == [K1, K2]  # for the "校核中" marks, never rendered
    [rec] = _records(session, "aggregation.pool_rows.read")
    assert rec.fields.split(",") == ["民族"]  # only what was shown in the clear
    # Those who work with the data read it as it is.
    for who in ("city", "officer"):
        plain = pools.read_rows(session, world.actor(session, who), pool.id)
        assert plain.masked == [] and plain.rows[0]["公民身份号码"] == K1, who


def test_revealing_a_row_needs_a_reason_and_is_audited(session: Session, world: World) -> None:
    pool = _police_pool(session, world)
    auditor = world.actor(session, "auditor")
    for reason in ("", "  ", "核查"):
        with pytest.raises(InvalidInput) as err:
            pools.reveal_row(session, auditor, pool.id, 1, reason)
        assert err.value.code == "aggregation.reveal_reason_required"
    assert _events(session, "aggregation.pool_row.reveal") == []
    with pytest.raises(NotFound):
        pools.reveal_row(session, auditor, pool.id, 99, "核查第12号审计事项")
    second = pools.read_rows(session, auditor, pool.id).rows[1]["_row"]
    shown = pools.reveal_row(session, auditor, pool.id, second, "核查第12号审计事项")
    assert shown.row["公民身份号码"] == K2 and shown.row["姓名"] == "欧阳娜娜"
    [event] = _events(session, "aggregation.pool_row.reveal")
    assert "核查第12号审计事项" in event.summary and event.department_id == world.police
    [rec] = _records(session, "aggregation.pool_row.reveal")
    assert rec.personal and rec.rows == 1 and rec.purpose == "核查第12号审计事项"
    assert rec.fields.split(",") == ["公民身份号码", "姓名", "手机号码"]
    # Whoever reads unmasked anyway has nothing to reveal; the public never reaches the pool.
    with pytest.raises(PermissionDenied) as refused:
        pools.reveal_row(session, world.actor(session, "city"), pool.id, 1, "核查第12号审计事项")
    assert refused.value.code == "aggregation.reveal_not_needed"
    with pytest.raises((PermissionDenied, NotFound)):
        pools.reveal_row(session, world.actor(session, "citizen"), pool.id, 1, "看看这个人的")


def test_the_auditor_pool_page_masks_reveals_and_has_no_flags(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    pool = _police_pool(session, world)
    session.commit()
    auditor = sign_in("auditor")
    r = auditor.get(f"/aggregation/pools/{pool.id}", headers=HTML)
    assert r.status_code == 200
    assert K1 not in r.text and "500***********0011" in r.text and "张*" in r.text
    assert 'data-testid="masked-note"' in r.text
    assert "⚑" not in r.text and "/aggregation/corrections/new" not in r.text  # read-only
    first = re.search(r'name="row" value="(\d+)"', r.text).group(1)  # type: ignore[union-attr]
    r = auditor.post(f"/aggregation/pools/{pool.id}/reveal", data={"row": first, "reason": ""})
    assert r.status_code == 400 and "须说明理由" in r.text and K1 not in r.text
    r = auditor.post(
        f"/aggregation/pools/{pool.id}/reveal", data={"row": first, "reason": "核查第12号审计事项"}
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    revealed = re.search(r'data-testid="revealed">(.*?)</div>', r.text, re.S)
    assert revealed is not None and K1 in revealed.group(1) and "13812345678" in revealed.group(1)
    # The city bureau reads in the clear and has nothing to reveal.
    city = sign_in("city")
    assert K1 in city.get(f"/aggregation/pools/{pool.id}", headers=HTML).text
    r = city.post(
        f"/aggregation/pools/{pool.id}/reveal", data={"row": first, "reason": "核查第12号审计事项"}
    )
    assert r.status_code == 403


# --- a department corrects its own value (Art. 19 ¶2, 20 ¶2) -----------------------------------


def test_a_department_corrects_its_own_value_audited(session: Session, world: World) -> None:
    c = build_city(session, world)
    officer = world.actor(session, "officer")
    before = corrections.own_value(session, officer, c.police_pool.id, K2, "姓名")
    assert before.text == "李四"
    done = corrections.correct_own_value(
        session,
        officer,
        c.police_pool.id,
        subject_key=K2,
        item_name="姓名",
        value=" 李斯 ",
        reason="户籍登记簿核对有误",
    )
    assert (done.old_value, done.new_value) == ("李四", "李斯")
    assert corrections.locate(session, c.police_pool, K2, "姓名").text == "李斯"
    [event] = _events(session, "aggregation.pool_value.correct")
    assert "户籍登记簿核对有误" in event.summary and event.department_id == world.police
    assert base_rows(session)[K2]["姓名"][0] == "李斯"  # the base takes it (Art. 16)


@pytest.mark.parametrize(
    ("who", "value", "reason", "code"),
    [
        ("officer2", "李斯", "核对", "aggregation.pool_not_found"),  # not its pool to see
        ("auditor", "李斯", "核对", "aggregation.own_correction_not_provider"),
        ("city", "李斯", "核对", "aggregation.own_correction_not_provider"),
        ("officer", "李斯", " ", "aggregation.own_correction_reason_required"),
        ("officer", "李四", "核对", "aggregation.own_correction_unchanged"),
        ("officer", "李" * 51, "核对", "aggregation.correction_value_invalid"),
    ],
)
def test_refused_own_corrections_write_nothing(  # Art. 19 ¶2
    session: Session, world: World, who: str, value: str, reason: str, code: str
) -> None:
    c = build_city(session, world)
    actor = world.actor(session, who)
    with pytest.raises((InvalidInput, PermissionDenied, NotFound)) as err:
        corrections.correct_own_value(
            session,
            actor,
            c.police_pool.id,
            subject_key=K2,
            item_name="姓名",
            value=value,
            reason=reason,
        )
    assert err.value.code == code
    assert corrections.locate(session, c.police_pool, K2, "姓名").text == "李四"
    assert _events(session, "aggregation.pool_value.correct") == []


def test_the_own_pool_flags_lead_to_the_correction_form(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    c = build_city(session, world)
    session.commit()
    officer = sign_in("officer")
    page = f"/aggregation/pools/{c.police_pool.id}"
    r = officer.get(page, headers=HTML)
    assert 'data-testid="marks-legend"' in r.text and "由本部门直接更正" in r.text
    assert 'data-testid="flag-apply"' not in r.text
    link = re.search(r'data-testid="flag-own" href="([^"]+)"', r.text)
    assert link is not None
    form = officer.get(link.group(1).replace("&amp;", "&"), headers=HTML)
    assert form.status_code == 200 and 'data-testid="correct-form"' in form.text
    # The application form's "请直接更正" now leads there too.
    r = officer.get(
        f"/aggregation/corrections/new?pool={c.police_pool.id}&key={K2}&item=姓名", headers=HTML
    )
    assert "请直接更正" in r.text and 'data-testid="correct-own"' in r.text
    r = officer.get(f"{page}/correct?key={K2}&item=姓名", headers=HTML)
    assert re.search(r'data-testid="current-value">李四<', r.text)
    r = officer.post(
        f"{page}/correct", data={"key": K2, "item": "姓名", "value": "李斯", "reason": ""}
    )
    assert r.status_code == 400 and "请说明更正的理由" in r.text and 'value="李斯"' in r.text
    r = officer.post(
        f"{page}/correct",
        data={"key": K2, "item": "姓名", "value": "李斯", "reason": "户籍登记簿核对有误"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = officer.get(r.headers["location"], headers=HTML)
    assert "已更正该数据" in r.text and "李斯" in r.text
    # Another department's officer asks for a 校核 instead; it cannot open the own-edit form.
    city = sign_in("city")
    r = city.get(page, headers=HTML)
    assert 'data-testid="flag-apply"' in r.text and 'data-testid="flag-own"' not in r.text
    assert city.get(f"{page}/correct?key={K2}&item=姓名", headers=HTML).status_code == 403
    r = city.post(
        f"{page}/correct", data={"key": K2, "item": "姓名", "value": "李", "reason": "核对"}
    )
    assert r.status_code == 403


# --- the load page (issue 16: no internal keys) -------------------------------------------------

GOOD_AND_BAD = "公民身份号码,姓名\n500103199001011234,坏号\n"


def test_the_load_page_shows_measures_and_messages_not_internal_keys(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    resource = person_pool_resource(
        session, world, world.police, "户籍人口加载页测试", [("姓名", "C", 20)]
    )
    session.commit()
    officer = sign_in("officer")
    r = officer.post(
        "/aggregation/pools/loads",
        data={"resource": resource.code, "policy": "quarantine", "mode": "replace"},
        files={"file": ("people.csv", GOOD_AND_BAD.encode(), "text/csv")},
        headers=HTML,
        follow_redirects=True,
    )
    assert r.status_code == 200
    load_id = int(str(r.url).rsplit("/", 1)[1])
    load = session.get(Load, load_id)
    assert load is not None and {"snapshot_id", "rows"} <= set(load.quality or {})
    html = r.text
    assert "snapshot_id" not in html and ">rows<" not in html
    assert len(re.findall(r'data-testid="load-quality"', html)) >= 3
    problem = re.search(r'<tr data-testid="load-problem">(.*?)</tr>', html, re.S)
    assert problem is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", problem.group(1), re.S)
    # Row, item, the zh-CN message, the value, then the code, short, the full code as a tooltip.
    assert cells[0] == "2" and cells[1] == "公民身份号码" and "校验" in cells[2]
    assert 'title="aggregation.invalid_id_number"' in cells[4] and ">invalid_id_number<" in cells[4]


def test_no_correction_links_for_read_only_roles(sign_in) -> None:  # type: ignore[no-untyped-def]
    """Auditors only read (Art. 49): the corrections list offers them no application form."""
    r = sign_in("auditor").get("/aggregation/corrections", headers=HTML)
    assert r.status_code == 200 and 'data-testid="apply-link"' not in r.text
    r = sign_in("officer").get("/aggregation/corrections", headers=HTML)
    assert 'data-testid="apply-link"' in r.text


# --- base records and conflicts, as auditors read them ------------------------------------------


def test_auditors_read_base_records_masked_and_reveal_with_a_reason(
    session: Session, world: World
) -> None:
    build_city(session, world)
    auditor = world.actor(session, "auditor")
    rec = base.record(session, auditor, BaseKind.PERSON, K2)
    assert rec.masked_items == ["姓名", "出生日期", "经营状态"]  # a person: every item
    assert {v.item: v.value for v in rec.values}["姓名"] == "李*"
    [read] = _records(session, "aggregation.base_record.read")
    assert read.fields == "公民身份号码"  # only what was shown in the clear
    with pytest.raises(InvalidInput) as err:
        base.record(session, auditor, BaseKind.PERSON, K2, reveal_reason="看看")
    assert err.value.code == "aggregation.reveal_reason_required"
    shown = base.record(session, auditor, BaseKind.PERSON, K2, reveal_reason="核查第12号审计事项")
    assert shown.masked_items == [] and {v.item: v.value for v in shown.values}["姓名"] == "李四"
    assert any(
        "核查第12号审计事项" in e.summary for e in _events(session, "aggregation.base.record.read")
    )
    assert _records(session, "aggregation.base_record.read")[-1].purpose == "核查第12号审计事项"
    # Those who work with the data read it as it is and have nothing to reveal.
    officer = world.actor(session, "officer2")
    assert base.record(session, officer, BaseKind.PERSON, K2).masked_items == []
    with pytest.raises(PermissionDenied):
        base.record(session, officer, BaseKind.PERSON, K2, reveal_reason="核查第12号审计事项")


def test_the_auditor_conflict_and_record_pages_mask(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    build_city(session, world)
    session.commit()
    auditor = sign_in("auditor")
    r = auditor.get("/aggregation/base/conflicts", headers=HTML)
    assert r.status_code == 200 and 'data-testid="masked-note"' in r.text
    assert K2 not in r.text and "李四四" not in r.text and "李*四" in r.text
    city = sign_in("city")
    assert K2 in city.get("/aggregation/base/conflicts", headers=HTML).text
    page = f"/aggregation/base/person/record?key={K2}"
    r = auditor.get(page, headers=HTML)
    assert "李四四" not in r.text and 'data-testid="reveal"' in r.text
    r = auditor.post("/aggregation/base/person/record/reveal", data={"key": K2, "reason": ""})
    assert r.status_code == 400 and "须说明理由" in r.text and "李四四" not in r.text
    r = auditor.post(
        "/aggregation/base/person/record/reveal", data={"key": K2, "reason": "核查第12号审计事项"}
    )
    assert r.status_code == 200 and "李四四" in r.text and r.headers["cache-control"] == "no-store"
    r = city.post(
        "/aggregation/base/person/record/reveal", data={"key": K2, "reason": "核查第12号审计事项"}
    )
    assert r.status_code == 403
