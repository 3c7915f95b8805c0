"""The security page and its JSON API (Art. 39): the city bureau sees, acknowledges and tunes;
auditors read (Art. 49); everyone else is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from govdata.core.db import utcnow
from govdata.core.errors import PermissionDenied
from govdata.security import rules, service
from govdata.security.scanning import scan
from tests.security.helpers import NOW, failed_sign_ins, refusals
from tests.world import World

MINUTE = timedelta(minutes=1)
HTML = {"Accept": "text/html,application/xhtml+xml"}
REFUSED = ["officer", "head", "yz_admin", "jb_admin", "citizen", "company", "plain"]
RULE = {
    "enabled": True,
    "threshold": 5,
    "window_minutes": 10,
    "factor": 1.0,
    "hours_from": 8,
    "hours_to": 20,
}


@pytest.fixture
def probing(session: Session, world: World) -> int:
    """One open probing signal about the officer, committed for the app to see."""
    refusals(session, world.actor(session, "officer"), 10)
    [signal] = scan(session, NOW).created
    session.commit()
    return signal.id


# --- refused side ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", REFUSED)
def test_others_are_refused_everywhere(sign_in, probing: int, username: str) -> None:  # type: ignore[no-untyped-def]
    c = sign_in(username)
    for url in (
        "/api/v1/security/signals",
        f"/api/v1/security/signals/{probing}",
        "/api/v1/security/signals/counts",
        "/api/v1/security/rules",
    ):
        r = c.get(url)
        assert r.status_code == 403, url
        assert r.json()["error"]["code"] == "security.forbidden"
    r = c.get("/security", headers=HTML)
    assert r.status_code == 403 and "安全监测仅对" in r.text
    assert 'href="/security"' not in c.get("/", headers=HTML).text  # no nav entry
    r = c.post(f"/api/v1/security/signals/{probing}/acknowledge", json={"note": "x"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "security.manage_forbidden"


def test_the_anonymous_are_asked_to_sign_in(client, probing: int) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/security/signals").status_code == 401
    r = client.get("/security", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_auditors_read_but_change_nothing(sign_in, probing: int, session: Session) -> None:  # type: ignore[no-untyped-def]
    auditor = sign_in("auditor")
    assert auditor.get("/api/v1/security/signals").json()["total"] == 1
    assert auditor.get("/api/v1/security/rules").status_code == 200
    page = auditor.get("/security", headers=HTML).text
    assert f'data-testid="signal-{probing}"' in page
    assert f'data-testid="ack-{probing}"' not in page and 'data-testid="save-probing"' not in page
    for method, url, body in (
        ("POST", f"/api/v1/security/signals/{probing}/acknowledge", {"note": "看过了"}),
        ("PUT", "/api/v1/security/rules/probing", RULE),
        ("POST", "/api/v1/security/scan", None),
    ):
        r = getattr(auditor, method.lower())(url, json=body)
        assert r.status_code == 403, url
        assert r.json()["error"]["code"] == "security.manage_forbidden"
    r = auditor.post(f"/security/signals/{probing}/acknowledge", data={"note": "x"})
    assert r.status_code == 403
    signal = service.get_signal(session, _city(session), probing)
    session.refresh(signal)
    assert signal.status == "open"


def _city(session: Session):  # type: ignore[no-untyped-def]
    from govdata.core.actor import Actor, Role, RoleGrant

    return Actor(person_id=None, name="测试", grants=(RoleGrant(Role.CITY_BUREAU_ADMIN),))


def test_services_refuse_the_same_people(session: Session, world: World, probing: int) -> None:
    for username in ("auditor", "officer", "yz_admin"):
        actor = world.actor(session, username)
        with pytest.raises(PermissionDenied):
            service.acknowledge(session, actor, probing, "x")
    with pytest.raises(PermissionDenied):
        service.list_signals(session, world.actor(session, "officer"))
    with pytest.raises(PermissionDenied):
        rules.list_rules(session, world.actor(session, "citizen"))


# --- the city bureau over the API --------------------------------------------------------------


def test_the_city_bureau_lists_and_acknowledges(sign_in, probing: int, world: World) -> None:  # type: ignore[no-untyped-def]
    city = sign_in("city")
    body = city.get("/api/v1/security/signals?status=open").json()
    assert body["total"] == 1
    [item] = body["items"]
    assert (item["id"], item["kind"], item["status"], item["events"]) == (
        probing,
        "probing",
        "open",
        10,
    )
    assert item["kind_label"] == "反复被拒绝的访问（试探）" and "第三十九条" in item["article"]
    counts = {c["kind"]: c["open"] for c in city.get("/api/v1/security/signals/counts").json()}
    assert counts["probing"] == 1 and counts["bulk_read"] == 0
    r = city.post(f"/api/v1/security/signals/{probing}/acknowledge", json={"note": "已约谈该专员"})
    assert r.status_code == 200, r.text
    acked = r.json()
    assert (acked["status"], acked["acknowledged_by"], acked["note"]) == (
        "acknowledged",
        world.people["city"],
        "已约谈该专员",
    )
    assert acked["acknowledged_at"] is not None
    r = city.post(f"/api/v1/security/signals/{probing}/acknowledge", json={"note": "again"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "security.already_acknowledged"
    assert city.get("/api/v1/security/signals?status=open").json()["total"] == 0


def test_bad_acknowledgements_are_refused(sign_in, probing: int) -> None:  # type: ignore[no-untyped-def]
    city = sign_in("city")
    url = f"/api/v1/security/signals/{probing}/acknowledge"
    r = city.post(url, json={"note": "   "})
    assert r.status_code == 400 and r.json()["error"]["code"] == "security.note_required"
    assert city.post(url, json={}).status_code == 422
    assert city.post(url, json={"note": "x" * 501}).status_code == 422
    r = city.post("/api/v1/security/signals/999999/acknowledge", json={"note": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "security.signal_not_found"
    assert city.get(f"/api/v1/security/signals/{probing}").json()["status"] == "open"


def test_open_signals_come_first(sign_in, session: Session, world: World) -> None:  # type: ignore[no-untyped-def]
    refusals(session, world.actor(session, "officer"), 10)
    failed_sign_ins(session, "203.0.113.9", [f"u{i}" for i in range(10)], end=NOW - 5 * MINUTE)
    old, new = scan(session, NOW).created
    assert (old.kind, new.kind) == ("probing", "failed_sign_ins")
    service.acknowledge(session, world.actor(session, "city"), old.id, "已处理")
    session.commit()  # the open one was active earlier, and comes first
    items = sign_in("city").get("/api/v1/security/signals").json()["items"]
    assert [i["id"] for i in items] == [new.id, old.id]


def test_the_city_bureau_sets_a_threshold_and_scans(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    refusals(session, world.actor(session, "officer"), 5, end=utcnow())  # the API scans now
    session.commit()
    city = sign_in("city")
    assert city.post("/api/v1/security/scan").json()["created"] == 0
    r = city.put("/api/v1/security/rules/probing", json=RULE)
    assert r.status_code == 200, r.text
    assert (r.json()["threshold"], r.json()["updated_by"]) == (5, world.people["city"])
    assert city.post("/api/v1/security/scan").json()["created"] == 1
    rules_out = {r["kind"]: r for r in city.get("/api/v1/security/rules").json()}
    assert rules_out["probing"]["threshold"] == 5 and rules_out["bulk_read"]["threshold"] == 1000


def test_bad_rules_are_refused(sign_in) -> None:  # type: ignore[no-untyped-def]
    city = sign_in("city")
    r = city.put("/api/v1/security/rules/probing", json=RULE | {"hours_from": 20, "hours_to": 8})
    assert r.status_code == 400 and r.json()["error"]["code"] == "security.hours_invalid"
    assert city.put("/api/v1/security/rules/nonsense", json=RULE).status_code == 422
    assert (
        city.put("/api/v1/security/rules/probing", json=RULE | {"threshold": -1}).status_code == 422
    )
    assert city.put("/api/v1/security/rules/probing", json=RULE | {"extra": 1}).status_code == 422
    assert city.get("/api/v1/security/rules").json()[2]["threshold"] == 10  # unchanged


# --- the page and the home card ----------------------------------------------------------------


def test_the_page_acknowledges_with_a_note(sign_in, probing: int) -> None:  # type: ignore[no-untyped-def]
    city = sign_in("city")
    page = city.get("/security", headers=HTML).text
    assert 'data-testid="open-total">1<' in page
    assert f'data-testid="ack-{probing}"' in page and "王专员" in page
    # A static chart: the only script is the navigation's file, on every page.
    assert '<svg role="img"' in page and page.count("<script") == 1
    assert '<script src="/static/nav.js">' in page
    r = city.post(
        f"/security/signals/{probing}/acknowledge",
        data={"note": "已核实"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = city.get("/security?msg=acknowledged", headers=HTML).text
    assert "已确认该安全预警" in page and "陈市管 于" in page and "已核实" in page


def test_the_page_sets_a_rule(sign_in, session: Session) -> None:  # type: ignore[no-untyped-def]
    city = sign_in("city")
    r = city.post(
        "/security/rules/off_hours_read",
        data={"enabled": "on", "threshold": "50", "window_minutes": "120", "factor": "1",
              "hours_from": "7", "hours_to": "21"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    rule = rules.list_rules(session, _city(session))[1]
    session.refresh(rule)
    assert (rule.kind, rule.threshold, rule.window_minutes, rule.hours_from, rule.hours_to) == (
        "off_hours_read",
        50,
        120,
        7,
        21,
    )
    # Unchecked "enabled" turns it off.
    r = city.post(
        "/security/rules/off_hours_read",
        data={"threshold": "50", "window_minutes": "120", "factor": "1",
              "hours_from": "7", "hours_to": "21"},
        follow_redirects=False,
    )  # fmt: skip
    session.refresh(rule)
    assert r.status_code == 303 and rule.enabled is False


def test_the_home_page_counts_open_signals(sign_in, probing: int) -> None:  # type: ignore[no-untyped-def]
    page = sign_in("city").get("/", headers=HTML).text
    assert 'data-testid="stat-security_open"' in page and "1 条未处理的安全预警" in page
    assert 'href="/security"' in page  # the nav entry
    auditor = sign_in("auditor").get("/", headers=HTML).text
    assert 'data-testid="stat-security_open"' in auditor
    assert 'data-testid="stat-security_open"' not in sign_in("officer").get("/", headers=HTML).text
