"""The zh-CN pages over HTTP: sign-in form with CSRF (Art. 39), role navigation, scoped pages
(Art. 6, 7), the audit page for oversight only (Art. 49), forms that refuse bad input.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.org.models import Person
from tests.world import PASSWORD, World

HTML = {"Accept": "text/html,application/xhtml+xml"}
CSRF_FIELD = re.compile(r'<input type="hidden" name="csrf_token" value="([0-9a-f]{40})">')


def _csrf(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no csrf field on the page"
    return match.group(1)


def _nav(html: str) -> list[str]:
    match = re.search(r'<nav class="main"[^>]*>(.*?)</nav>', html, re.S)
    assert match, "no navigation"
    return re.findall(r'href="([^"]+)"', match.group(1))


def _stat(html: str, key: str) -> str:
    match = re.search(rf'data-testid="stat-{key}"><div class="n">([^<]*)</div>', html)
    assert match, f"no stat {key}"
    return match.group(1)


def _people(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Person)) or 0


def _browser(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, headers=HTML)


def _form_sign_in(c: TestClient, username: str, password: str = PASSWORD, next: str = "/"):
    token = _csrf(c.get("/login").text)
    return c.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next},
        follow_redirects=False,
    )


# --- sign-in form (Art. 39) ------------------------------------------------------------------


def test_login_page_has_csrf_field_and_sets_anonymous_cookie(app: FastAPI) -> None:
    with _browser(app) as c:
        r = c.get("/login")
        assert r.status_code == 200
        assert '<html lang="zh-CN">' in r.text
        assert len(_csrf(r.text)) == 40
        (cookie,) = [x for x in r.headers.get_list("set-cookie") if x.startswith("govdata_anon=")]
        assert "httponly" in cookie.lower()
        assert "govdata_anon" in c.cookies


def test_login_without_csrf_token_is_refused(app: FastAPI) -> None:
    with _browser(app) as c:
        c.get("/login")
        r = c.post("/login", data={"username": "city", "password": PASSWORD})
        assert r.status_code == 403
        assert "auth.csrf_failed" in r.text
        assert "页面已过期或请求来源不可信" in r.text
        assert "govdata_session" not in c.cookies


def test_form_login_redirects_home_with_a_session_cookie(app: FastAPI) -> None:
    with _browser(app) as c:
        r = _form_sign_in(c, "city")
        assert r.status_code == 303
        assert r.headers["location"] == "/"
        assert "govdata_session" in c.cookies
        assert "govdata_anon" not in c.cookies  # rotated at sign-in
        home = c.get("/")
        assert home.status_code == 200
        assert "您好，陈市管" in home.text


def test_form_login_follows_a_safe_next_only(app: FastAPI) -> None:
    with _browser(app) as c:
        assert _form_sign_in(c, "city", next="/audit").headers["location"] == "/audit"
    with _browser(app) as c:
        evil = _form_sign_in(c, "city", next="//evil.example/x")
        assert evil.headers["location"] == "/"


def test_form_login_with_wrong_password_shows_the_error(app: FastAPI) -> None:
    with _browser(app) as c:
        r = _form_sign_in(c, "city", password="WrongPass2026")
        assert r.status_code == 401
        assert 'data-testid="login-error"' in r.text
        assert "用户名或密码错误。" in r.text
        assert "govdata_session" not in c.cookies


def test_logout_ends_the_session_on_the_server(app: FastAPI, sign_in) -> None:
    c = sign_in("officer")
    secret = c.client.cookies["govdata_session"]
    r = c.post("/logout", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    assert c.get("/api/v1/me").status_code == 401
    # Replaying the old cookie does not work either: the session row is gone.
    with TestClient(app, raise_server_exceptions=False, cookies={"govdata_session": secret}) as old:
        assert old.get("/api/v1/me").status_code == 401


# --- home and navigation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "key", "value"),
    [
        ("city", "departments", "6"),
        ("city", "regions", "3"),
        ("yz_admin", "departments", "2"),
        ("officer", "members", "3"),
        ("officer", "tokens", "0"),
    ],
)
def test_home_page_shows_real_counts(sign_in, username: str, key: str, value: str) -> None:
    r = sign_in(username).get("/", headers=HTML)
    assert r.status_code == 200
    assert _stat(r.text, key) == value


AGGREGATION_LINKS = [
    "/aggregation/pools",
    "/aggregation/quality",
    "/aggregation/base",
    "/aggregation/thematic",
    "/aggregation/corrections",
]
SHARING_LINKS = [
    "/sharing/catalog",
    "/sharing/applications",
    "/sharing/grants",
    "/sharing/usage",
    "/sharing/objections",
    "/sharing/keys",
]
# Open data (Ch. 5): the portal for everyone; providers and the bureau answer applications and
# correction requests; the bureau moderates feedback and reuses.
OPEN_ANSWERS = [
    "/open",
    "/opendata/releases",
    "/opendata/applications",
    "/opendata/corrections",
]


def _oversight(*opendata: str, synonyms: bool = False) -> list[str]:
    return [
        "/",
        "/org/regions",
        "/org/departments",
        "/org/people",
        "/catalog/review",
        "/catalog",
        "/catalog/open",
        *(["/catalog/synonyms"] if synonyms else []),  # the city bureau keeps them
        *(["/catalog/vocabularies"] if synonyms else []),  # and the code lists (issue 16)
        *AGGREGATION_LINKS,
        *SHARING_LINKS,
        *opendata,
        "/security",
        "/workdays",
        "/audit",
        "/audit/access",
        "/account",
    ]


CITY_LINKS = _oversight(*OPEN_ANSWERS, "/opendata/moderation", synonyms=True)
# Auditors read applications and correction requests, never answer (Art. 49).
OVERSIGHT_LINKS = _oversight("/open", "/opendata/applications", "/opendata/corrections")
DISTRICT_LINKS = [
    "/",
    "/org/regions",
    "/org/departments",
    "/org/people",
    "/catalog/review",
    "/catalog",
    "/catalog/open",
    *AGGREGATION_LINKS,
    *SHARING_LINKS,
    "/open",
    "/opendata/applications",  # its districts' departments', read-only (Art. 6 ¶2)
    "/opendata/corrections",
    "/workdays",
    "/audit/access",  # its region's departments' access records (Art. 40)
    "/account",
]
DEPARTMENT_LINKS = [
    "/",
    "/org/regions",
    "/org/my-department",
    "/org/people",
    "/catalog/my",
    "/catalog",
    "/catalog/open",
    *AGGREGATION_LINKS,
    *SHARING_LINKS,
    *OPEN_ANSWERS,
    "/workdays",
    "/account",
]
PUBLIC_LINKS = [
    "/",
    "/catalog/open",
    "/my/data-use",
    "/open",
    "/open/identity",
    "/open/applications",
    "/open/corrections",
    "/open/developer/keys",
    "/open/my",
    "/account",
]
NO_ROLE_LINKS = ["/", "/catalog/open", "/open", "/account"]


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("city", CITY_LINKS),
        ("yz_admin", DISTRICT_LINKS),
        ("officer", DEPARTMENT_LINKS),
        ("head", DEPARTMENT_LINKS),
        ("auditor", OVERSIGHT_LINKS),
        ("jb_admin", DISTRICT_LINKS),
        ("citizen", PUBLIC_LINKS),
        ("plain", NO_ROLE_LINKS),
    ],
)
def test_every_nav_link_opens_for_the_role_that_sees_it(
    sign_in, username: str, expected: list[str]
) -> None:
    c = sign_in(username)
    links = _nav(c.get("/", headers=HTML).text)
    assert links == expected
    for href in links:
        r = c.get(href, headers=HTML)  # /org/my-department redirects to the department
        assert r.status_code == 200, (href, r.status_code)
        assert '<html lang="zh-CN">' in r.text


def test_my_department_redirects_to_the_officer_department(sign_in, world: World) -> None:
    r = sign_in("officer").get("/org/my-department", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/org/departments/{world.police}"


def test_officer_gets_404_page_for_another_department(sign_in, world: World) -> None:
    r = sign_in("officer").get(f"/org/departments/{world.market}", headers=HTML)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "org.department_not_found" in r.text
    assert "市市场监督管理局" not in r.text


def test_officer_gets_403_page_for_audit(sign_in) -> None:
    r = sign_in("officer").get("/audit", headers=HTML)
    assert r.status_code == 403
    assert "audit.forbidden" in r.text
    assert "无权访问" in r.text


def test_auditor_sees_the_audit_page_and_verifies(sign_in) -> None:
    r = sign_in("auditor").get("/audit?verify=1", headers=HTML)
    assert r.status_code == 200
    assert "auth.sign_in" in r.text


# --- forms -----------------------------------------------------------------------------------


def test_person_form_creates_a_person(sign_in, session: Session, world: World) -> None:
    c = sign_in("city")
    before = _people(session)
    token = _csrf(c.get("/org/people/new", headers=HTML).text)
    r = c.client.post(  # the form field, not the header, carries the token
        "/org/people",
        data={
            "csrf_token": token,
            "username": "form.person",
            "name": "表单新建",
            "password": PASSWORD,
            "department_id": str(world.police),
            "role": "department_officer",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/org/people/(\d+)\?msg=created", r.headers["location"])
    assert match
    assert _people(session) == before + 1
    page = c.get(r.headers["location"], headers=HTML)
    assert "表单新建" in page.text
    assert "已创建。" in page.text
    assert "部门数据专职人员" in page.text


def test_person_form_without_csrf_is_refused(sign_in, session: Session, world: World) -> None:
    c = sign_in("city")
    before = _people(session)
    r = c.client.post(
        "/org/people",
        data={
            "username": "no.csrf",
            "name": "无令牌",
            "password": PASSWORD,
            "department_id": str(world.police),
        },
        headers=HTML,
    )
    assert r.status_code == 403
    assert "auth.csrf_failed" in r.text
    assert _people(session) == before


def test_person_form_with_weak_password_shows_error_and_stores_nothing(
    sign_in, session: Session, world: World
) -> None:
    c = sign_in("city")
    before = _people(session)
    r = c.post(
        "/org/people",
        data={
            "username": "weak.form",
            "name": "弱密码",
            "password": "short",
            "department_id": str(world.police),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 400
    assert '<html lang="zh-CN">' in r.text
    assert "org.password_too_short" in r.text
    assert "密码至少需要12个字符（当前5个）" in r.text
    assert _people(session) == before


def test_token_form_shows_the_secret_only_once(sign_in, world: World) -> None:
    c = sign_in("officer")
    r = c.post(
        f"/org/departments/{world.police}/tokens",
        data={"name": "表单令牌", "scopes": ["org:read"], "expires_in_days": "30"},
        headers=HTML,
    )
    assert r.status_code == 201
    match = re.search(r'data-testid="token-secret">(gd_[^<]+)<', r.text)
    assert match
    again = c.get(f"/org/departments/{world.police}/tokens", headers=HTML)
    assert again.status_code == 200
    assert "表单令牌" in again.text
    assert match.group(1) not in again.text
