"""The home page's tiles link to filtered lists and say nothing is "coming" (issue 16)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.orm import Session

from govdata.core import calendar, obligations
from govdata.opendata.clocks import APPLICATION, CORRECTION
from tests.world import World

HTML = {"Accept": "text/html"}


def _href(html: str, key: str) -> str:
    match = re.search(rf'href="([^"]+)" data-testid="stat-{key}"', html)
    assert match, key
    return match.group(1).replace("&amp;", "&")


def test_no_role_is_told_a_module_is_coming(sign_in) -> None:  # type: ignore[no-untyped-def]
    for user in ("officer", "city", "auditor", "citizen"):
        html = sign_in(user).get("/", headers=HTML).text
        assert "上线" not in html, user


def test_auditor_tiles_open_the_filtered_audit_list(sign_in) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("auditor")
    c.client.post("/api/v1/auth/session", json={"username": "officer", "password": "wrong pw 12"})
    html = c.get("/", headers=HTML).text
    today = calendar.today()
    assert _href(html, "audit_today") == f"/audit?since={today.isoformat()}"
    failed = _href(html, "failed_logins")
    assert failed == (
        f"/audit?action=auth.sign_in_failed&since={(today - timedelta(days=1)).isoformat()}"
    )
    listed = c.get(failed, headers=HTML).text.split("<tbody>")[1]
    cells = re.findall(r'data-testid="action-cell">([^<]*)<', listed)
    assert cells and set(cells) == {"登录失败"}


def test_the_public_home_leads_to_the_open_data_portal(sign_in) -> None:  # type: ignore[no-untyped-def]
    html = sign_in("citizen").get("/", headers=HTML).text
    assert _href(html, "open_portal") == "/open"


def test_the_auditor_sees_an_open_data_clock_without_a_dead_link(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    # Auditors oversee every statutory clock, but the open-data answer pages are the provider's
    # and the city bureau's (Art. 29, 33 ¶2): no link that would answer 404.
    officer = world.actor(session, "officer")
    for kind, title in ((APPLICATION, "第41号开放申请"), (CORRECTION, "第42号目录更正申请")):
        obligations.open(
            session,
            officer,
            kind,
            subject_type="test",
            subject_id=41 if kind is APPLICATION else 42,
            department_id=world.police,
            region_id=world.city,
            title=title,
            deadline=obligations.deadline(session, kind, calendar.today()),
        )
    session.commit()
    auditor = sign_in("auditor").get("/", headers=HTML).text
    assert "第41号开放申请" in auditor and "第42号目录更正申请" in auditor
    assert 'href="/opendata/applications/41"' not in auditor
    assert 'href="/opendata/corrections/42"' not in auditor
    for user in ("officer", "city"):
        page = sign_in(user).get("/", headers=HTML).text
        assert 'href="/opendata/applications/41"' in page, user
        assert 'href="/opendata/corrections/42"' in page, user
