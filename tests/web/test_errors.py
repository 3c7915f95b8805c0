"""Bad input never gives a 500: every refusal has our error shape (DESIGN: errors; Art. 39)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govdata.org.models import Department
from govdata.web.deps import ApiActor, DbSession, unit_of_work
from tests.world import PASSWORD, World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _error(r) -> dict:
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "detail"}, body
    return body["error"]


def _count_people(sign_in) -> int:
    return sign_in("city").get("/api/v1/org/people?limit=1").json()["total"]


def test_oversized_body_with_content_length_is_413(client: TestClient, settings) -> None:
    body = b'{"username": "' + b"a" * (settings.max_body_bytes + 10) + b'"}'
    r = client.post(
        "/api/v1/auth/session", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    err = _error(r)
    assert err["code"] == "request.too_large"
    assert err["detail"] == {"limit_bytes": settings.max_body_bytes}


def test_too_large_message_states_the_real_limit(client: TestClient, settings) -> None:
    # The limit is configurable (GOVDATA_MAX_BODY_BYTES); 64 KiB must not read "0 MB".
    body = b"x" * (settings.max_body_bytes + 1)
    r = client.post("/api/v1/auth/session", content=body)
    assert r.status_code == 413
    assert "上限为 0 MB" not in _error(r)["message"]


def test_oversized_chunked_body_is_413(client: TestClient, settings) -> None:
    chunk = b"a" * 8192
    n = settings.max_body_bytes // len(chunk) + 2

    def body() -> Iterator[bytes]:
        yield b'{"username": "'
        for _ in range(n):
            yield chunk
        yield b'", "password": "x"}'

    r = client.post(
        "/api/v1/auth/session", content=body(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413, r.text
    assert _error(r)["code"] == "request.too_large"


def test_invalid_utf8_json_is_a_4xx_with_our_shape(client: TestClient) -> None:
    r = client.post(
        "/api/v1/auth/session",
        content=b'{"username": "\xff\xfe", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500, r.text
    assert _error(r)["code"] in {"request.bad_encoding", "request.malformed", "request.invalid"}


def test_malformed_json_is_422_request_invalid(client: TestClient) -> None:
    r = client.post(
        "/api/v1/auth/session",
        content=b'{"username": "city", ',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    err = _error(r)
    assert err["code"] == "request.invalid"
    assert err["message"].startswith("请求内容不符合要求")
    assert err["detail"][0]["type"] == "json_invalid"


def test_unknown_api_route_is_json_404(client: TestClient) -> None:
    r = client.get("/api/v1/no-such-thing", headers=HTML)  # /api stays JSON even for browsers
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert _error(r)["code"] == "not_found"


def test_unknown_page_is_html_404_for_browsers(client: TestClient) -> None:
    r = client.get("/no-such-page", headers=HTML)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in r.text
    assert "not_found" in r.text
    assert "您访问的页面不存在。" in r.text


def test_unauthenticated_page_redirects_to_login(client: TestClient) -> None:
    r = client.get("/org/people", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/org/people"


def test_unauthenticated_api_is_401_auth_required(client: TestClient) -> None:
    r = client.get("/api/v1/me", headers=HTML)
    assert r.status_code == 401
    assert _error(r)["code"] == "auth.required"
    assert r.headers["www-authenticate"] == "Bearer"


def test_wrong_method_is_405_in_our_shape(client: TestClient) -> None:
    r = client.put("/api/v1/me", json={})
    assert r.status_code == 405
    assert _error(r)["code"] == "request.method_not_allowed"
    assert "GET" in r.headers["allow"]


def test_wrong_query_type_is_422_not_500(client: TestClient, sign_in) -> None:
    c = sign_in("city")
    r = c.get("/api/v1/org/departments?limit=many")
    assert r.status_code == 422
    err = _error(r)
    assert err["code"] == "request.invalid"
    assert err["detail"][0] == {
        "field": "limit",
        "in": "query",
        "type": "int_parsing",
        "message": "应为整数",
    }


def test_explicit_null_in_person_update_is_refused_not_500(sign_in, world: World) -> None:
    # PersonUpdate allows ``null`` for name/active but the columns are NOT NULL: an explicit
    # null must be refused as bad input (4xx), never reach the database as a 500.
    c = sign_in("city")
    r = c.patch(f"/api/v1/org/people/{world.people['officer']}", json={"name": None})
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"]["code"] != "internal_error"
    assert c.get(f"/api/v1/org/people/{world.people['officer']}").json()["name"] == "王专员"


def test_invalid_username_in_person_form_is_refused_not_500(sign_in, world: World) -> None:
    # The page builds PersonCreate inside the handler: its validation error must still be 4xx.
    c = sign_in("city")
    before = _count_people(sign_in)
    r = c.post(
        "/org/people",
        data={
            "username": "ab",  # shorter than the 3 characters PersonCreate requires
            "name": "短名",
            "password": PASSWORD,
            "department_id": str(world.police),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert 400 <= r.status_code < 500, r.status_code
    assert "internal_error" not in r.text
    assert _count_people(sign_in) == before


def test_non_ascii_digit_in_person_form_is_refused_not_500(sign_in) -> None:
    # "²".isdigit() is True but int("²") raises: the form must refuse it, not crash.
    c = sign_in("city")
    r = c.post(
        "/org/people",
        data={
            "username": "digits.test",
            "name": "上标",
            "password": PASSWORD,
            "department_id": "²",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert 400 <= r.status_code < 500, r.status_code
    assert "internal_error" not in r.text


def test_id_beyond_the_database_range_is_422_not_500(sign_in) -> None:
    # PostgreSQL ids are 32-bit: a larger id must be refused at the edge on both backends.
    r = sign_in("city").get(f"/api/v1/org/departments/{2**31}")
    assert r.status_code == 422
    assert _error(r)["code"] == "request.invalid"


def test_a_constraint_refusal_is_409_request_conflict_and_stores_nothing(
    app: FastAPI, sign_in, world: World
) -> None:
    # A write that loses a race ends on a unique or foreign-key constraint: 409 with a stable
    # code (the client may reload and retry), never a 500. Both shapes of unit of work.
    router = APIRouter()

    def add_duplicate(session: Session) -> None:
        session.add(Department(code="500000-007", name="重复的部门", region_id=world.city))
        session.flush()

    @router.post("/api/test/one-hop")
    @unit_of_work
    def one_hop(session: DbSession, actor: ApiActor) -> None:
        add_duplicate(session)

    @router.post("/api/test/dependencies")
    def dependencies(session: DbSession, actor: ApiActor) -> None:
        add_duplicate(session)

    app.include_router(router)
    c = sign_in("city")
    for path in ("/api/test/one-hop", "/api/test/dependencies"):
        r = c.post(path)
        assert r.status_code == 409, r.text
        err = _error(r)
        assert err["code"] == "request.conflict"
        assert err["message"] == "数据已被其他操作同时修改，请刷新后重试。"
    names = c.get("/api/v1/org/departments?limit=200").json()["items"]
    assert "重复的部门" not in {d["name"] for d in names}


@pytest.mark.parametrize(
    "url",
    ["/api/v1/aggregation/loads?resource=%00", "/api/v1/catalog/search?q=a%00b", "/org/people%00"],
)
def test_a_nul_in_the_url_is_refused_before_any_route(client: TestClient, url: str) -> None:
    # PostgreSQL cannot hold NUL in text: a parameter carrying one reached the driver (500).
    r = client.post(url) if "loads" in url else client.get(url)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "request.bad_text"
    assert r.headers["x-content-type-options"] == "nosniff"  # the security headers still apply
