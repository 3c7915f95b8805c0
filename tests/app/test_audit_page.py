"""The audit page as an auditor reads it (Art. 41, 42, 49): zh-CN names of actions and objects,
filters by those names, and the export of what the filter shows, Excel-safe and itself audited.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.app import audit_view
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.audit import AuditEvent
from govdata.core.audit_query import AuditFilter
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _failed_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    r = client.client.post(
        "/api/v1/auth/session", json={"username": "officer", "password": "wrong password 1"}
    )
    assert r.status_code == 401


def _exports(session: Session) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == "audit.export").order_by(AuditEvent.id)
        )
    )


def test_the_page_names_actions_and_objects_in_chinese(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("auditor")
    name = world.actor(session, "auditor").name
    page = c.get("/audit?action=auth.sign_in", headers=HTML).text
    cells = page.split('data-testid="action-cell">')[1:]
    assert cells and all(cell.startswith("登录<") for cell in cells)
    # the person by name (staff), not "person #3"
    assert f'<td title="person #{world.people["auditor"]}">人员 {name}</td>' in page
    assert f"person #{world.people['auditor']}</td>" not in page
    assert '<optgroup label="登录与会话">' in page
    assert '<option value="auth.sign_in" selected>登录</option>' in page
    assert '<option value="person">人员</option>' in page


def test_a_staff_member_is_named_and_a_member_of_the_public_is_not(
    session: Session, world: World
) -> None:
    staff = world.people["officer"]
    rows = audit_view.rows(
        session,
        [
            AuditEvent(action="auth.sign_in", object_type="person", object_id=str(staff)),
            AuditEvent(
                action="org.department.update",
                object_type="department",
                object_id=str(world.police),
            ),
            AuditEvent(action="catalog.resource.create", object_type="resource", object_id="12"),
            AuditEvent(action="legacy.thing", object_type="legacy", object_id="5"),
        ],
    )
    officer_name = world.actor(session, "officer").name
    assert [r.object for r in rows] == [
        f"人员 {officer_name}",
        "部门 市公安局",
        "目录资源 #12",
        "legacy #5",  # an unknown code is shown as it is
    ]
    assert [r.action for r in rows][:3] == ["登录", "修改部门", "新建目录资源"]


def test_filter_by_chosen_action_is_exact_and_by_name_finds_all(sign_in) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("auditor")
    _failed_sign_in(c)
    exact = c.get("/audit?action=auth.sign_in", headers=HTML).text
    assert "登录失败" not in exact.split("<tbody>")[1]
    failed = c.get("/audit?action=auth.sign_in_failed", headers=HTML).text
    assert '<td title="auth.sign_in_failed" data-testid="action-cell">登录失败</td>' in failed
    by_name = c.get("/audit?action=登录", headers=HTML).text.split("<tbody>")[1]
    assert "登录失败" in by_name and ">登录<" in by_name
    area = c.get("/audit?action=auth.", headers=HTML).text.split("<tbody>")[1]
    assert "登录失败" in area
    nothing = c.get("/audit?action=没有这种操作", headers=HTML).text
    assert "没有符合条件的事件" in nothing


def test_filter_by_object_type(sign_in) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("auditor")
    page = c.get("/audit?object_type=person", headers=HTML).text
    assert '<option value="person" selected>人员</option>' in page
    assert "没有符合条件的事件" not in page
    assert "没有符合条件的事件" in c.get("/audit?object_type=grant", headers=HTML).text


def test_export_xlsx_is_what_the_filter_shows_and_is_audited(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("auditor")
    _failed_sign_in(c)
    shown = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "auth.sign_in_failed")
    )
    r = c.get("/audit/export.xlsx?action=auth.sign_in_failed")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="audit-log-')
    assert "审计日志-" in unquote(disposition.split("filename*=UTF-8''")[1])
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.values)
    assert values[0][:4] == ("序号", "时间（北京时间）", "操作人", "操作")
    assert len(values) - 1 == shown == int(r.headers["x-export-rows"])
    assert {row[3] for row in values[1:]} == {"登录失败"}
    (event,) = _exports(session)
    assert event.actor_id == world.people["auditor"]
    assert event.object_id == "xlsx"
    assert f"导出审计日志 {shown} 条" in event.summary and "操作：登录失败" in event.summary


def test_export_csv_neutralizes_formulas(sign_in, session: Session) -> None:  # type: ignore[no-untyped-def]
    # Art. 39: a summary that came from outside must not run as a formula in Excel.
    audit.record(
        session,
        Actor(person_id=None, name='=HYPERLINK("http://x","点此")'),
        "catalog.resource.create",
        object_type="resource",
        object_id=1,
        summary="+cmd|' /C calc'!A0",
    )
    session.commit()
    c = sign_in("auditor")
    r = c.get("/audit/export.csv?action=catalog.resource.create")
    assert r.status_code == 200
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][3] == "操作"
    mine = [row for row in rows[1:] if "HYPERLINK" in row[2]]
    assert mine and mine[0][2].startswith("'=") and mine[0][8].startswith("'+cmd")
    x = c.get("/audit/export.xlsx?action=catalog.resource.create")
    ws = load_workbook(io.BytesIO(x.content)).active
    cells = [row for row in ws.iter_rows(min_row=2) if "HYPERLINK" in str(row[2].value)]
    assert cells and cells[0][2].data_type == "s" and cells[0][8].data_type == "s"


def test_officer_may_not_export(sign_in, session: Session) -> None:  # type: ignore[no-untyped-def]
    r = sign_in("officer").get("/audit/export.csv")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "audit.forbidden"
    assert _exports(session) == []


def test_unknown_format_and_too_large_are_refused(
    sign_in, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("auditor")
    assert c.get("/audit/export.pdf").status_code == 404
    _failed_sign_in(c)  # two events at least
    monkeypatch.setattr(audit_view, "EXPORT_LIMIT", 1)
    r = c.get("/audit/export.xlsx")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "audit.export_too_large"
    assert "请缩小" in r.json()["error"]["message"]
    assert _exports(session) == []  # nothing half-written


def test_the_page_links_exports_with_its_filter(sign_in) -> None:  # type: ignore[no-untyped-def]
    page = sign_in("auditor").get("/audit?action=auth.&since=2026-01-01", headers=HTML).text
    assert 'href="/audit/export.xlsx?action=auth.&amp;since=2026-01-01"' in page
    assert 'href="/audit/export.csv?action=auth.&amp;since=2026-01-01"' in page


def test_service_refuses_other_roles(session: Session, world: World) -> None:
    from govdata.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        audit_view.export(session, world.actor(session, "officer"), AuditFilter(), "csv")


def test_access_records_link_the_audit_log_only_for_its_readers(sign_in) -> None:  # type: ignore[no-untyped-def]
    # A district bureau reads its region's access records (Art. 40) but not the audit chain.
    district = sign_in("yz_admin")
    page = district.get("/audit/access", headers=HTML)
    assert page.status_code == 200
    assert 'href="/audit"' not in page.text
    assert district.get("/audit", headers=HTML).status_code == 403
    assert 'href="/audit"' in sign_in("auditor").get("/audit/access", headers=HTML).text
