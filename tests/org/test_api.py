"""The JSON API over HTTP: sign-in and lockout (Art. 39), scoped reads (Art. 6, 7), CSRF, the
error shape, department-system tokens, the audit chain (Art. 49) and the statutory calendar
(Art. 14, 19, 32, 33 count working days).
"""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from govdata.core.audit_seal import seal
from govdata.core.calendar import CalendarDay
from govdata.core.crypto import new_token, token_digest
from govdata.core.db import utcnow
from govdata.org import auth
from govdata.org.models import ApiToken, Person
from govdata.org.schemas import TokenCreate
from tests.world import PASSWORD, World

WRONG = "WrongPass2026"


def _error(r) -> dict:
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "detail"}, body
    return body["error"]


def _sign_in_raw(client: TestClient, username: str, password: str):
    return client.post("/api/v1/auth/session", json={"username": username, "password": password})


def _people_total(c) -> int:
    return c.get("/api/v1/org/people?limit=1").json()["total"]


def _new_person(username: str, department_id: int, **kw: object) -> dict:
    return {
        "username": username,
        "name": "新同事",
        "password": PASSWORD,
        "department_id": department_id,
        **kw,
    }


# --- sign-in (Art. 39) -----------------------------------------------------------------------


def test_sign_in_sets_an_httponly_samesite_cookie(client: TestClient, world: World) -> None:
    r = _sign_in_raw(client, "city", PASSWORD)
    assert r.status_code == 200
    body = r.json()
    assert body["person"]["username"] == "city"
    assert len(body["csrf_token"]) == 40
    (cookie,) = [c for c in r.headers.get_list("set-cookie") if c.startswith("govdata_session=")]
    attributes = {a.strip().lower() for a in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert client.get("/api/v1/me").json()["name"] == "陈市管"


def test_wrong_password_is_401_in_our_error_shape(client: TestClient) -> None:
    r = _sign_in_raw(client, "city", WRONG)
    assert r.status_code == 401
    assert _error(r) == {
        "code": "auth.invalid_credentials",
        "message": auth.INVALID_CREDENTIALS,
        "detail": None,
    }
    assert "govdata_session" not in client.cookies


def test_unknown_user_gets_the_same_answer(client: TestClient) -> None:
    wrong = _sign_in_raw(client, "city", WRONG)
    unknown = _sign_in_raw(client, "no.such.user", WRONG)
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())


def test_five_failures_lock_the_account_without_saying_so(
    client: TestClient, session: Session, world: World
) -> None:
    # Each failure is committed although the request fails, so the count survives requests.
    answers = [_sign_in_raw(client, "officer", WRONG) for _ in range(5)]
    # Art. 39: the lock is applied, but the answer is the one an unknown account gets, so that
    # the lockout does not tell an attacker which accounts exist.
    assert {(r.status_code, r.text) for r in answers} == {(401, answers[0].text)}
    right = _sign_in_raw(client, "officer", PASSWORD)
    assert (right.status_code, right.text) == (401, answers[0].text)
    person = session.get(Person, world.people["officer"])
    assert person is not None
    session.refresh(person)
    assert person.failed_logins == 5
    assert person.locked_until is not None


def test_me_describes_the_signed_in_person(sign_in, world: World) -> None:
    r = sign_in("officer").get("/api/v1/me")
    assert r.status_code == 200
    assert r.json() == {
        "person_id": world.people["officer"],
        "name": "王专员",
        "roles": [
            {
                "role": "department_officer",
                "region_id": None,
                "department_id": world.police,
            }
        ],
        "token_id": None,
        "scopes": [],
    }


def test_sign_out_ends_the_session(sign_in) -> None:
    c = sign_in("officer")
    assert c.delete("/api/v1/auth/session").status_code == 204
    assert c.get("/api/v1/me").status_code == 401


# --- scoped reads (Art. 6, 7) ----------------------------------------------------------------


def test_officer_lists_only_its_department(sign_in, world: World) -> None:
    r = sign_in("officer").get("/api/v1/org/departments")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1
    assert [d["id"] for d in body["items"]] == [world.police]


def test_city_admin_lists_all_departments(sign_in) -> None:
    assert sign_in("city").get("/api/v1/org/departments").json()["total"] == 6


def test_department_outside_scope_is_404(sign_in, world: World) -> None:
    r = sign_in("officer").get(f"/api/v1/org/departments/{world.market}")
    assert r.status_code == 404
    assert _error(r)["code"] == "org.department_not_found"


def test_person_outside_scope_is_404(sign_in, world: World) -> None:
    r = sign_in("yz_admin").get(f"/api/v1/org/people/{world.people['officer']}")
    assert r.status_code == 404
    assert _error(r)["code"] == "org.person_not_found"


def test_public_account_cannot_list_people(sign_in) -> None:
    r = sign_in("citizen").get("/api/v1/org/people")
    assert r.status_code == 403
    assert _error(r)["code"] == "auth.staff_only"


# --- CSRF and writes -------------------------------------------------------------------------


def test_cookie_write_without_csrf_header_is_403(sign_in, world: World) -> None:
    c = sign_in("city")
    before = _people_total(c)
    r = c.client.post("/api/v1/org/people", json=_new_person("no.csrf", world.police))
    assert r.status_code == 403
    assert _error(r)["code"] == "auth.csrf_failed"
    forged = c.client.post(
        "/api/v1/org/people",
        json=_new_person("bad.csrf", world.police),
        headers={"X-CSRF-Token": "0" * 40},
    )
    assert forged.status_code == 403
    assert _error(forged)["code"] == "auth.csrf_failed"
    assert _people_total(c) == before


def test_create_person_then_duplicate_is_409(sign_in, world: World) -> None:
    c = sign_in("city")
    before = _people_total(c)
    r = c.post("/api/v1/org/people", json=_new_person("new.colleague", world.police))
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "new.colleague"
    assert "password" not in r.json()
    assert "password_hash" not in r.json()
    assert _people_total(c) == before + 1
    dup = c.post("/api/v1/org/people", json=_new_person("new.colleague", world.market))
    assert dup.status_code == 409
    assert _error(dup)["code"] == "org.username_taken"
    assert _people_total(c) == before + 1


def test_renaming_a_department_to_a_taken_name_is_409(sign_in, world: World) -> None:
    # POST gave 409 for a taken name; PATCH gave a 500 (the unique constraint's IntegrityError).
    c = sign_in("city")
    r = c.patch(f"/api/v1/org/departments/{world.market}", json={"name": "市公安局"})
    assert r.status_code == 409, r.text
    assert _error(r)["code"] == "org.department_name_taken"
    assert "重庆市已有名为“市公安局”的部门" in _error(r)["message"]
    after = c.get(f"/api/v1/org/departments/{world.market}").json()
    assert after["name"] == "市市场监督管理局"


def test_create_person_with_a_bad_grant_stores_nothing(sign_in, world: World) -> None:
    # DESIGN principle 4: the person row written before the grant failed is rolled back.
    c = sign_in("city")
    before = _people_total(c)
    body = _new_person(
        "half.written",
        world.police,
        grants=[{"role": "department_officer", "department_id": world.market}],
    )
    r = c.post("/api/v1/org/people", json=body)
    assert r.status_code == 400
    assert _error(r)["code"] == "org.grant_department_mismatch"
    assert _people_total(c) == before
    assert c.get("/api/v1/org/people?q=half.written").json()["total"] == 0


def test_unknown_field_is_422_with_a_zh_cn_message(sign_in, world: World) -> None:
    c = sign_in("city")
    r = c.post("/api/v1/org/people", json=_new_person("typo.field", world.police, nickname="x"))
    assert r.status_code == 422
    err = _error(r)
    assert err["code"] == "request.invalid"
    assert err["message"] == "请求内容不符合要求：nickname（不允许的字段）。"
    assert err["detail"] == [
        {"field": "nickname", "in": "body", "type": "extra_forbidden", "message": "不允许的字段"}
    ]


def test_wrong_type_is_422(sign_in) -> None:
    c = sign_in("city")
    r = c.post("/api/v1/org/people", json=_new_person("wrong.type", "abc"))  # type: ignore[arg-type]
    assert r.status_code == 422
    err = _error(r)
    assert err["code"] == "request.invalid"
    assert err["detail"][0]["field"] == "department_id"
    assert err["detail"][0]["message"] == "应为整数"


# --- department-system tokens ----------------------------------------------------------------


def _issue_committed(session: Session, world: World, username: str = "officer") -> str:
    """A token issued through the service and committed, for the tests of its use."""
    issued = auth.issue_token(
        session,
        world.actor(session, username),
        world.police,
        TokenCreate(name="警务数据系统", scopes=["org:read"]),
    )
    session.commit()
    return issued.secret


def test_issue_token_over_api_shows_the_secret_once(sign_in, world: World) -> None:
    officer = sign_in("officer")
    r = officer.post(
        f"/api/v1/org/departments/{world.police}/tokens",
        json={"name": "警务数据系统", "scopes": ["org:read"], "expires_in_days": 30},
    )
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["secret"].startswith("gd_")
    assert issued["scopes"] == ["org:read"]
    listed = officer.get(f"/api/v1/org/departments/{world.police}/tokens")
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [issued["id"]]
    assert "secret" not in listed.json()[0]
    assert issued["secret"] not in listed.text


def test_bearer_token_reads_until_revoked(
    app: FastAPI, sign_in, session: Session, world: World
) -> None:
    secret = _issue_committed(session, world)
    officer = sign_in("officer")
    (token,) = officer.get(f"/api/v1/org/departments/{world.police}/tokens").json()
    assert secret not in str(token)
    with TestClient(app, raise_server_exceptions=False) as system:
        auth_header = {"Authorization": f"Bearer {secret}"}
        r = system.get("/api/v1/org/departments", headers=auth_header)
        assert r.status_code == 200
        assert [d["id"] for d in r.json()["items"]] == [world.police]
        me = system.get("/api/v1/me", headers=auth_header).json()
        assert (me["person_id"], me["token_id"], me["scopes"]) == (None, token["id"], ["org:read"])

        revoked = officer.delete(f"/api/v1/org/tokens/{token['id']}")
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None

        r = system.get("/api/v1/org/departments", headers=auth_header)
        assert r.status_code == 401
        assert _error(r)["code"] == "auth.invalid_token"


def test_garbage_bearer_token_is_401(client: TestClient) -> None:
    r = client.get("/api/v1/org/departments", headers={"Authorization": "Bearer gd_nonsense"})
    assert r.status_code == 401
    assert _error(r)["code"] == "auth.invalid_token"
    assert r.headers["www-authenticate"] == "Bearer"


def test_token_without_the_scope_is_403(client: TestClient, session: Session, world: World) -> None:
    # Only ``org:read`` can be issued today, so a token of a future scope is stored directly.
    secret = f"gd_abcdefgh_{new_token(32)}"
    session.add(
        ApiToken(
            department_id=world.police,
            name="目录系统",
            prefix="abcdefgh",
            digest=token_digest(secret),
            scopes="catalog:read",
            expires_at=utcnow() + timedelta(days=1),
        )
    )
    session.commit()
    r = client.get("/api/v1/org/departments", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403
    assert _error(r)["code"] == "auth.scope_missing"


def test_token_cannot_manage_people(app: FastAPI, session: Session, world: World) -> None:
    secret = _issue_committed(session, world)
    with TestClient(app, raise_server_exceptions=False) as system:
        r = system.post(
            "/api/v1/org/people",
            json=_new_person("by.token", world.police),
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert r.status_code == 403
    assert _error(r)["code"] == "org.cannot_manage_people"


def test_officer_cannot_issue_token_for_another_department(sign_in, world: World) -> None:
    r = sign_in("officer").post(
        f"/api/v1/org/departments/{world.market}/tokens",
        json={"name": "x", "scopes": ["org:read"]},
    )
    assert r.status_code == 404
    assert _error(r)["code"] == "org.department_not_found"


# --- audit (Art. 49) -------------------------------------------------------------------------


def test_auditor_reads_and_verifies_the_audit_chain(sign_in, session) -> None:
    c = sign_in("auditor")
    r = c.get("/api/v1/audit/events")
    assert r.status_code == 200
    latest = r.json()["items"][0]
    assert (latest["action"], latest["actor_name"]) == ("auth.sign_in", "钱审计")
    seal(session)  # what the sealer thread does within a second
    v = c.get("/api/v1/audit/verify")
    assert v.status_code == 200
    assert v.json()["ok"] is True
    assert v.json()["checked"] >= 1
    assert v.json()["first_broken_seq"] is None


def test_officer_cannot_read_the_audit_chain(sign_in) -> None:
    c = sign_in("officer")
    for url in ("/api/v1/audit/events", "/api/v1/audit/verify"):
        r = c.get(url)
        assert r.status_code == 403
        assert _error(r)["code"] == "audit.forbidden"


# --- statutory calendar ----------------------------------------------------------------------


def test_deadline_skips_national_day_2025(sign_in) -> None:
    # 2025 schedule: Oct 1–8 off, Sun Sep 28 and Sat Oct 11 worked. From Tue Sep 30, 10 working
    # days: Oct 9, 10, 11 (make-up), 13, 14, 15, 16, 17, 20, 21.
    r = sign_in("officer").get("/api/v1/workdays/deadline?start=2025-09-30&days=10")
    assert r.status_code == 200
    assert r.json() == {
        "start": "2025-09-30",
        "working_days": 10,
        "due": "2025-10-21",
        "provisional": False,
        "label": "正式",
    }


def test_deadline_into_an_unpublished_year_is_provisional(sign_in) -> None:
    # Dec 21–25, 28–31 (9 days), then Fri 2027-01-01 on weekdays only: 2027 is not published.
    r = sign_in("officer").get("/api/v1/workdays/deadline?start=2026-12-20&days=10")
    assert r.status_code == 200
    assert r.json()["due"] == "2027-01-01"
    assert r.json()["provisional"] is True


def test_officer_cannot_change_the_calendar(sign_in) -> None:
    r = sign_in("officer").put(
        "/api/v1/workdays/days", json={"day": "2027-01-01", "is_workday": False, "name": "元旦"}
    )
    assert r.status_code == 403
    assert _error(r)["code"] == "workdays.forbidden"


def test_city_admin_changes_the_calendar(sign_in) -> None:
    c = sign_in("city")
    r = c.put(
        "/api/v1/workdays/days", json={"day": "2027-01-01", "is_workday": False, "name": "元旦"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"day": "2027-01-01", "is_workday": False, "name": "元旦"}
    days = c.get("/api/v1/workdays/years/2027").json()
    assert {"day": "2027-01-01", "is_workday": False, "name": "元旦"} in days


def test_deadline_sees_a_calendar_correction_made_by_another_process(
    sign_in, session: Session
) -> None:
    # App processes are stateless (DESIGN: scale behind a load balancer). Another process
    # corrects an existing day (Sat 2025-10-11 becomes a day off): its set_day invalidates only
    # its own cache, so this process must notice the change from the database.
    c = sign_in("officer")
    url = "/api/v1/workdays/deadline?start=2025-09-30&days=10"
    assert c.get(url).json()["due"] == "2025-10-21"
    session.execute(
        update(CalendarDay).where(CalendarDay.day == date(2025, 10, 11)).values(is_workday=False)
    )
    session.commit()
    assert c.get(url).json()["due"] == "2025-10-22"
