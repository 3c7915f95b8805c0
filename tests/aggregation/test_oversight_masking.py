"""Issue 16 beyond the pool page: auditors read the personal data in a load's problems and
quarantined rows, in thematic database rows and under a correction masked, on the pages, in the
API and in the report download; revealing needs a stated reason and is audited under the pool
reveal's one action, with an access record (Art. 40, 41, 42, 49). The owner department's
officer reads its values as before."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import corrections, loading, report, thematic
from govdata.aggregation.models import BadRowPolicy, Correction, Load, ThematicDatabase
from govdata.core.access import AccessRecord
from govdata.core.audit import AuditEvent
from govdata.core.errors import InvalidInput, PermissionDenied
from govdata.core.ids import make_id_number
from tests.aggregation.base_helpers import K1, K2, City, build_city
from tests.aggregation.factories import person_pool_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}
REVEAL = "aggregation.pool_row.reveal"
WHY = "核查第12号审计事项"

# Row 2 is good; row 3 has a bad ID number (its check digit) and a phone too long.
GOOD_ID = make_id_number("500103", date(1990, 1, 1), 1)
BAD_ID = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")  # a wrong check character
MASKED_BAD = BAD_ID[:3] + "*" * 11 + BAD_ID[-4:]
FILE = (
    "公民身份号码,姓名,手机号码,民族\n"
    f"{GOOD_ID},张三,13812345678,汉族\n"
    f"{BAD_ID},欧阳娜娜,138123456789,土家族\n"
)


def _events(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == REVEAL)))


def _records(session: Session, action: str) -> list[AccessRecord]:
    stmt = select(AccessRecord).where(AccessRecord.action == action).order_by(AccessRecord.id)
    return list(session.scalars(stmt))


def _refused_without_reason(call: Any) -> None:
    for reason in ("", "  ", "核查"):
        with pytest.raises(InvalidInput) as err:
            call(reason)
        assert err.value.code == "aggregation.reveal_reason_required"
        assert "须说明理由" in err.value.message


# --- a load's problems and quarantined rows ------------------------------------------------------


@pytest.fixture
def load(session: Session, world: World, tmp_path: Path) -> Load:
    resource = person_pool_resource(
        session,
        world,
        world.police,
        "户籍人口加载遮盖测试",
        [("姓名", "C", 20), ("手机号码", "C", 11), ("民族", "C", 10)],
    )
    path = tmp_path / "people.csv"
    path.write_text(FILE, encoding="utf-8")
    created = loading.create_load(
        session,
        world.actor(session, "officer"),
        resource_code=resource.code,
        path=path,
        filename=path.name,
        policy=BadRowPolicy.QUARANTINE,
    )
    session.commit()
    done = loading.execute(session, created.id)
    session.commit()
    assert done.rows_bad == 1
    return done


def test_auditors_read_load_problems_masked(session: Session, world: World, load: Load) -> None:
    auditor = world.actor(session, "auditor")
    listed, total = report.problems(session, auditor, load.id)
    values = {p.column: p.value for p in listed}
    assert total == 2 and values == {"公民身份号码": MASKED_BAD, "手机号码": "138*****6789"}
    assert report.masked_items(session, auditor, load.id) == ["公民身份号码", "姓名", "手机号码"]
    assert _records(session, "aggregation.load_problems.read")[-1].fields == ""  # none in clear
    as_json = report.as_json(session, auditor, load.id)
    assert BAD_ID not in str(as_json["problems"])
    # The owner department's officer reads the values as they were read.
    officer = world.actor(session, "officer")
    listed, _ = report.problems(session, officer, load.id)
    assert {p.column: p.value for p in listed}["公民身份号码"] == BAD_ID
    assert report.masked_items(session, officer, load.id) == []


def _sheet(content: bytes, name: str) -> list[list[Any]]:
    wb = load_workbook(io.BytesIO(content), read_only=True)
    return [list(r) for r in wb[name].iter_rows(values_only=True)]


def test_the_load_report_download_masks_problems_and_quarantined_rows(
    session: Session, world: World, load: Load
) -> None:
    audited = report.xlsx(session, world.actor(session, "auditor"), load.id)
    problems, quarantined = _sheet(audited, "问题清单"), _sheet(audited, "隔离数据")
    assert [r[4] for r in problems[1:]] == [MASKED_BAD, "138*****6789"]
    assert quarantined[0] == ["行号", "公民身份号码", "姓名", "手机号码", "民族"]
    assert quarantined[1] == [3, MASKED_BAD, "欧**娜", "138*****6789", "土家族"]
    [rec] = _records(session, "aggregation.load_report.download")
    assert rec.fields == "民族"
    owned = report.xlsx(session, world.actor(session, "officer"), load.id)
    assert _sheet(owned, "隔离数据")[1] == [3, BAD_ID, "欧阳娜娜", "138123456789", "土家族"]


def test_revealing_a_load_row_needs_a_reason_and_is_audited(
    session: Session, world: World, load: Load
) -> None:
    auditor = world.actor(session, "auditor")
    _refused_without_reason(lambda why: report.reveal_row(session, auditor, load.id, 3, why))
    assert _events(session) == []
    shown = report.reveal_row(session, auditor, load.id, 3, WHY)
    assert shown.data is not None and shown.data["姓名"] == "欧阳娜娜"
    assert {p.column: p.value for p in shown.problems}["公民身份号码"] == BAD_ID
    [event] = _events(session)
    assert event.object_type == "load" and WHY in event.summary
    assert event.department_id == world.police
    [rec] = _records(session, REVEAL)
    assert rec.personal and rec.purpose == WHY and rec.object_id == f"{load.id}:3"
    assert rec.fields.split(",") == ["公民身份号码", "姓名", "手机号码"]
    with pytest.raises(PermissionDenied) as refused:  # the owner has nothing to reveal
        report.reveal_row(session, world.actor(session, "officer"), load.id, 3, WHY)
    assert refused.value.code == "aggregation.reveal_not_needed"


def test_the_auditor_load_page_and_api_mask_and_reveal(  # type: ignore[no-untyped-def]
    session: Session, world: World, load: Load, sign_in
) -> None:
    auditor = sign_in("auditor")
    page = f"/aggregation/loads/{load.id}"
    r = auditor.get(page, headers=HTML)
    assert r.status_code == 200 and BAD_ID not in r.text and MASKED_BAD in r.text
    assert 'data-testid="masked-note"' in r.text and 'data-testid="reveal-form"' in r.text
    api = auditor.get(f"/api/v1/aggregation/loads/{load.id}/problems").json()
    assert BAD_ID not in str(api) and MASKED_BAD in str(api)
    r = auditor.post(f"{page}/reveal", data={"row": "3", "reason": ""})
    assert r.status_code == 400 and "须说明理由" in r.text and BAD_ID not in r.text
    r = auditor.post(f"{page}/reveal", data={"row": "9", "reason": WHY})
    assert r.status_code == 404 and "没有第 9 行" in r.text
    r = auditor.post(f"{page}/reveal", data={"row": "3", "reason": WHY})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    revealed = re.search(r'data-testid="revealed">(.*?)</div>', r.text, re.S)
    assert revealed is not None and BAD_ID in revealed.group(1) and "欧阳娜娜" in revealed.group(1)
    officer = sign_in("officer")
    r = officer.get(page, headers=HTML)
    assert BAD_ID in r.text and 'data-testid="reveal-form"' not in r.text
    assert officer.post(f"{page}/reveal", data={"row": "3", "reason": WHY}).status_code == 403
    session.expire_all()
    assert len(_events(session)) == 1  # only the auditor's reveal


# --- thematic database rows ----------------------------------------------------------------------


def _thematic(session: Session, world: World, c: City) -> ThematicDatabase:
    return thematic.define(
        session,
        world.actor(session, "officer"),
        world.police,
        name="户籍人口专题",
        description="户籍人口的姓名和出生日期。",
        definition={"base_kind": "person", "base_items": ["姓名", "出生日期"]},
    )


def test_auditors_read_thematic_rows_masked(session: Session, world: World) -> None:
    db = _thematic(session, world, build_city(session, world))
    page = thematic.rows(session, world.actor(session, "auditor"), db.id)
    assert page.key_masked and page.masked == ["姓名", "出生日期"]  # a person base: every column
    assert page.rows[0]["subject_key"] == "500***********0011" and page.rows[0]["姓名"] == "张*"
    assert _records(session, "aggregation.thematic_rows.read")[-1].fields == ""
    own = thematic.rows(session, world.actor(session, "officer"), db.id)
    assert not own.key_masked and own.masked == []
    assert own.rows[0]["subject_key"] == K1 and own.rows[0]["姓名"] == "张三"


def test_revealing_a_thematic_row_needs_a_reason_and_is_audited(
    session: Session, world: World
) -> None:
    db = _thematic(session, world, build_city(session, world))
    auditor = world.actor(session, "auditor")
    _refused_without_reason(lambda why: thematic.reveal_row(session, auditor, db.id, 2, why))
    assert _events(session) == []
    shown = thematic.reveal_row(session, auditor, db.id, 2, WHY)
    assert shown.row["subject_key"] == K2 and shown.row["姓名"] == "李四"
    [event] = _events(session)
    assert event.object_type == "thematic_database" and event.object_id == str(db.id)
    [rec] = _records(session, REVEAL)
    assert rec.purpose == WHY and rec.fields.split(",") == ["公民身份号码", "姓名", "出生日期"]
    with pytest.raises(PermissionDenied):
        thematic.reveal_row(session, world.actor(session, "officer"), db.id, 2, WHY)


def test_the_auditor_thematic_page_and_api_mask_and_reveal(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    db = _thematic(session, world, build_city(session, world))
    session.commit()
    auditor = sign_in("auditor")
    page = f"/aggregation/thematic/{db.id}"
    r = auditor.get(page, headers=HTML)
    assert r.status_code == 200 and K1 not in r.text and "张*" in r.text
    assert 'data-testid="masked-note"' in r.text and 'data-testid="reveal"' in r.text
    api = auditor.get(f"/api/v1/aggregation/thematic/{db.id}/rows").json()
    assert K1 not in str(api) and api["rows"][0]["姓名"] == "张*"
    r = auditor.post(f"{page}/reveal", data={"row": "1", "reason": "看看"})
    assert r.status_code == 400 and "须说明理由" in r.text and K1 not in r.text
    r = auditor.post(f"{page}/reveal", data={"row": "1", "reason": WHY})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    revealed = re.search(r'data-testid="revealed">(.*?)</div>', r.text, re.S)
    assert revealed is not None and K1 in revealed.group(1) and "张三" in revealed.group(1)
    officer = sign_in("officer")
    r = officer.get(page, headers=HTML)
    assert K1 in r.text and 'data-testid="reveal"' not in r.text
    assert officer.post(f"{page}/reveal", data={"row": "1", "reason": WHY}).status_code == 403


# --- the values under a correction ---------------------------------------------------------------


def _correction(session: Session, world: World) -> Correction:
    c = build_city(session, world)
    return corrections.apply(
        session,
        world.actor(session, "city"),
        pool_id=c.police_pool.id,
        subject_key=K2,
        item_name="姓名",
        proposed_value="李斯",
        reason="户籍登记簿记载为李斯",
    )


def test_auditors_read_a_corrections_values_masked(session: Session, world: World) -> None:
    c = _correction(session, world)
    pool = corrections.pools_by_id(session, [c.pool_id])[c.pool_id]
    auditor = world.actor(session, "auditor")
    seen = corrections.view(auditor, pool, c)
    assert seen.masks.key and seen.masks.value
    assert (seen.subject_key, seen.current_value, seen.proposed_value) == (
        "500***********0022",
        "李*",
        "李*",
    )
    assert corrections.live_text(session, auditor, c, seen.masks) == "李*"
    assert _records(session, "aggregation.correction_value.read")[-1].fields == ""
    officer = world.actor(session, "officer")
    own = corrections.view(officer, pool, c)
    assert not own.masks and (own.subject_key, own.current_value) == (K2, "李四")
    assert corrections.live_text(session, officer, c, own.masks) == "李四"


def test_revealing_a_corrections_values_needs_a_reason_and_is_audited(
    session: Session, world: World
) -> None:
    c = _correction(session, world)
    auditor = world.actor(session, "auditor")
    _refused_without_reason(lambda why: corrections.reveal(session, auditor, c.id, why))
    assert _events(session) == []
    shown = corrections.reveal(session, auditor, c.id, WHY)
    assert (shown.subject_key, shown.current_value, shown.live) == (K2, "李四", "李四")
    [event] = _events(session)
    assert event.object_type == "correction" and event.object_id == str(c.id)
    [rec] = _records(session, REVEAL)
    assert rec.purpose == WHY and rec.fields.split(",") == ["公民身份号码", "姓名"]
    with pytest.raises(PermissionDenied):
        corrections.reveal(session, world.actor(session, "officer"), c.id, WHY)


def test_the_auditor_correction_pages_and_api_mask_and_reveal(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    c = _correction(session, world)
    session.commit()
    auditor = sign_in("auditor")
    page = f"/aggregation/corrections/{c.id}"
    r = auditor.get(page, headers=HTML)
    assert r.status_code == 200 and K2 not in r.text and "李四" not in r.text
    assert re.search(r'data-testid="current-value">李\*<', r.text)
    assert 'data-testid="masked-note"' in r.text
    assert K2 not in auditor.get("/aggregation/corrections", headers=HTML).text
    api = auditor.get(f"/api/v1/aggregation/corrections/{c.id}").json()
    assert (api["subject_key"], api["current_value"], api["masked"]) == (
        "500***********0022",
        "李*",
        True,
    )
    r = auditor.post(f"{page}/reveal", data={"reason": ""})
    assert r.status_code == 400 and "须说明理由" in r.text and K2 not in r.text
    r = auditor.post(f"{page}/reveal", data={"reason": WHY})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    revealed = re.search(r'data-testid="revealed">(.*?)</div>', r.text, re.S)
    assert revealed is not None and K2 in revealed.group(1) and "李四" in revealed.group(1)
    officer = sign_in("officer")
    r = officer.get(page, headers=HTML)
    assert re.search(r'data-testid="current-value">李四<', r.text) and K2 in r.text
    assert 'data-testid="masked-note"' not in r.text
    assert officer.get(f"/api/v1/aggregation/corrections/{c.id}").json()["subject_key"] == K2
    assert officer.post(f"{page}/reveal", data={"reason": WHY}).status_code == 403


# --- base conflicts over the API (the pages mask them already) ----------------------------------


def test_the_conflicts_api_masks_as_the_page_does(  # type: ignore[no-untyped-def]
    session: Session, world: World, sign_in
) -> None:
    build_city(session, world)
    session.commit()
    listed = sign_in("auditor").get("/api/v1/aggregation/base-conflicts").json()
    [c] = [x for x in listed if x["item_name"] == "姓名"]
    assert (c["subject_key"], c["authoritative_value"], c["other_value"]) == (
        "500***********0022",
        "李*",
        "李*四",
    )
    rec = sign_in("auditor").get(f"/api/v1/aggregation/bases/person/records/{K2}").json()
    assert "李四四" not in str(rec) and rec["conflicts"][0]["other_value"] == "李*四"
    [c] = sign_in("city").get("/api/v1/aggregation/base-conflicts").json()
    assert (c["subject_key"], c["other_value"]) == (K2, "李四四")
