"""Usage over HTTP (Art. 40, 41, 49): the JSON API, the page and its xlsx export, from the
refused side too (tokens, citizens, another provider), and the export's formula safety
(Art. 39)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.org import auth
from govdata.org.schemas import TokenCreate
from govdata.sharing import usage_export
from tests.sharing.usage_calls import call
from tests.world import World

Q = "?since=2026-03-02&until=2026-03-02"
EVIL = "=cmd|' /C calc'!A0"


def _city(session: Session, world: World) -> None:
    call(session, requester=world.yz_police, provider=world.police, rows=3, purpose=EVIL)
    call(
        session,
        requester=world.yz_police,
        provider=world.police,
        outcome="refused",
        reason="sharing.item_not_granted",
    )
    call(session, requester=world.jb_police, provider=world.market, source="SRC-2", rows=2)
    session.commit()


def _code(r: Any) -> str:
    return str(r.json()["error"]["code"])


def test_api_summary_and_records_are_scoped(session: Session, world: World, sign_in: Any) -> None:
    _city(session, world)
    officer = sign_in("officer")
    r = officer.get(f"/api/v1/sharing/usage/summary{Q}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["calls"], body["allowed"], body["refused"], body["rows"]) == (2, 1, 1, 3)
    assert [t["label"] for t in body["requesters"]] == ["渝中区公安分局"]
    assert body["refusals"][0]["key"] == "sharing.item_not_granted"
    assert body["days"] == [
        {"day": "2026-03-02", "calls": 2, "allowed": 1, "refused": 1, "rows": 3}
    ]
    r = officer.get(f"/api/v1/sharing/usage/records{Q}&outcome=allowed")
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 1
    [item] = page["items"]
    assert item["provider"] == "市公安局" and item["purpose"] == EVIL
    assert not {k for k in item if "subject" in k}
    # The market's officer sees only the market's read.
    market = sign_in("officer2").get(f"/api/v1/sharing/usage/records{Q}").json()
    assert [i["provider"] for i in market["items"]] == ["市市场监督管理局"]


def test_api_refuses_tokens_citizens_and_bad_input(
    client: TestClient, session: Session, world: World, sign_in: Any
) -> None:
    _city(session, world)
    issued = auth.issue_token(
        session,
        world.actor(session, "officer"),
        world.police,
        TokenCreate(name="业务系统", scopes=sorted(auth.SCOPES)),
    )
    session.commit()
    bearer = {"Authorization": f"Bearer {issued.secret}"}
    for path in ("summary", "records"):
        r = client.get(f"/api/v1/sharing/usage/{path}{Q}", headers=bearer)
        assert (r.status_code, _code(r)) == (403, "auth.people_only")
        r = sign_in("citizen").get(f"/api/v1/sharing/usage/{path}{Q}")
        assert (r.status_code, _code(r)) == (403, "sharing.usage_forbidden")
    r = sign_in("officer").get("/api/v1/sharing/usage/summary?since=2026-13-01")
    assert (r.status_code, _code(r)) == (400, "sharing.usage_bad_date")
    assert "不是有效日期" in r.json()["error"]["message"]


def test_page_renders_figures_charts_and_records(
    session: Session, world: World, sign_in: Any
) -> None:
    _city(session, world)
    r = sign_in("officer").get(f"/sharing/usage{Q}")
    assert r.status_code == 200, r.text
    html = r.text
    assert "共享调用" in html and "本部门" in html
    assert html.count('<svg role="img"') == 3
    assert 'data-testid="total-calls">2<' in html
    assert "渝中区公安分局" in html
    assert "所请求的信息项不在授权范围内" in html  # the refusal, in words
    assert "市市场监督管理局" not in html  # another provider's reads are not shown
    assert "export.xlsx?since=2026-03-02" in html
    # The district bureau of Jiangbei sees its department's read only.
    jb = sign_in("jb_admin").get(f"/sharing/usage{Q}")
    assert jb.status_code == 200 and "本区县" in jb.text
    assert "江北区公安分局" in jb.text and "渝中区公安分局" not in jb.text


def test_page_refuses_people_without_a_sharing_role(
    session: Session, world: World, sign_in: Any
) -> None:
    for username in ("citizen", "plain"):
        r = sign_in(username).get("/sharing/usage", headers={"Accept": "text/html"})
        assert r.status_code == 403, username
    r = sign_in("officer").get("/sharing/usage?since=bad", headers={"Accept": "text/html"})
    assert r.status_code == 400 and "不是有效日期" in r.text


def _cells(content: bytes, sheet: str) -> list[list[Any]]:
    workbook = load_workbook(io.BytesIO(content))
    return [list(row) for row in workbook[sheet].iter_rows()]


def test_export_is_formula_safe_scoped_and_recorded(
    session: Session, world: World, sign_in: Any
) -> None:
    # Art. 39: a purpose typed as a formula is text in the file, never a live formula.
    _city(session, world)
    r = sign_in("officer").get(f"/sharing/usage/export.xlsx{Q}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    rows = _cells(r.content, "调用记录")
    header = [c.value for c in rows[0]]
    assert header == usage_export.EXPORT_HEADER
    assert len(rows) == 3  # the header and the police's two records, not the market's
    purpose = header.index("声明用途")
    evil = [row[purpose] for row in rows[1:] if row[purpose].value == EVIL]
    assert len(evil) == 1
    assert evil[0].data_type == "s" and evil[0].quotePrefix
    for row in rows:
        assert all(c.data_type != "f" for c in row)
    # The download is itself a read (Art. 40).
    session.expire_all()
    trace = session.scalars(
        select(AccessRecord).where(AccessRecord.action == "sharing.usage.export")
    ).one()
    assert trace.rows == 2 and trace.actor_name == "王专员"


def test_export_is_capped_with_a_note(
    session: Session, world: World, sign_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _city(session, world)
    monkeypatch.setattr(usage_export, "EXPORT_MAX_ROWS", 1)
    r = sign_in("city").get(f"/sharing/usage/export.xlsx{Q}")
    assert r.status_code == 200
    assert (r.headers["x-export-rows"], r.headers["x-export-total"]) == ("1", "3")
    assert len(_cells(r.content, "调用记录")) == 2
    about = {row[0].value: row[1].value for row in _cells(r.content, "说明")}
    assert about["符合条件的调用记录"] == 3 and about["本文件包含"] == 1
    assert "仅导出最新的 1 条" in about["注意"]


@pytest.mark.parametrize(
    ("username", "view", "calls"),
    [
        ("city", "全市", 3),
        ("auditor", "全市（审计监督，只读）", 3),
        ("yz_admin", "本区县", 2),
        ("head", "本部门", 2),
        ("yz_officer", "本部门", 2),
    ],
)
def test_page_opens_for_every_role_that_sees_it(
    session: Session, world: World, sign_in: Any, username: str, view: str, calls: int
) -> None:
    _city(session, world)
    r = sign_in(username).get(f"/sharing/usage{Q}", headers={"Accept": "text/html"})
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text
    assert f"<strong>{view}</strong>" in r.text
    assert f'data-testid="total-calls">{calls}<' in r.text
