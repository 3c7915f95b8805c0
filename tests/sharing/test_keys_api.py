"""Signing keys and signed documents over HTTP (Art. 28): the published keys, making and
rotating keys, the public verify page and route; each refusal from the refused side."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govdata.org import auth
from govdata.org.schemas import TokenCreate
from govdata.sharing import keys, signing
from tests.sharing.helpers import build_share_city
from tests.world import World

KEK = "test-signing-kek-http"
HTML = {"Accept": "text/html"}


@pytest.fixture(autouse=True)
def kek(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.KEK_ENV, KEK)


def _signed(session: Session, world: World) -> dict[str, Any]:
    keys.create(session, world.actor(session, "head"), world.police)
    return signing.sign_delivery(
        session,
        department_id=world.police,
        payload={"证照编号": "JY15001030012345", "持证主体": "示例餐饮有限公司", "人数": 12},
        source_code="base.licence",
        grant_id=3,
    )


def _private_forms(session: Session, world: World) -> set[str]:
    found = set()
    for dept in (world.police, world.market):
        key = keys.current_key(session, dept)
        if key is not None:
            private = keys.private_key(key)
            found |= {private, private.upper()}
    return found


def test_the_published_keys_are_public_and_hold_no_private_key(
    client: TestClient, session: Session, world: World
) -> None:
    keys.create(session, world.actor(session, "head"), world.police)
    old = keys.current_key(session, world.police)
    keys.rotate(session, world.actor(session, "city"), world.police)
    r = client.get("/api/v1/sharing/keys")  # no sign-in
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["alg"] == "SM2-with-SM3" and body["user_id"] == "1234567812345678"
    assert len(body["keys"]) == 2
    for k in body["keys"]:
        assert set(k) == {
            "key_id",
            "department",
            "alg",
            "public_key",
            "created_at",
            "retired_at",
            "current",
        }
        assert k["department"]["name"] == "市公安局" and len(k["public_key"]) == 128
    retired = next(k for k in body["keys"] if k["key_id"] == old.key_id)  # type: ignore[union-attr]
    assert retired["retired_at"] is not None and not retired["current"]
    assert not any(p in r.text for p in _private_forms(session, world))
    assert "sealed" not in r.text and "sm4-gcm" not in r.text


def test_a_head_makes_and_rotates_the_key_of_their_department(
    sign_in: Any, session: Session, world: World
) -> None:
    head = sign_in("head")
    r = head.post("/api/v1/sharing/keys", json={"department_id": world.police})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["current"] and first["department"]["id"] == world.police
    r = head.post("/api/v1/sharing/keys", json={"department_id": world.police})
    assert r.status_code == 409 and r.json()["error"]["code"] == "sharing.signing_key_exists"
    r = head.post("/api/v1/sharing/keys/rotate", json={"department_id": world.police})
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["key_id"] != first["key_id"]
    listed = {k["key_id"]: k for k in head.get("/api/v1/sharing/keys").json()["keys"]}
    assert listed[first["key_id"]]["retired_at"] is not None and listed[second["key_id"]]["current"]
    assert not any(p in r.text for p in _private_forms(session, world))


def test_others_cannot_make_or_rotate_keys(
    client: TestClient, sign_in: Any, session: Session, world: World
) -> None:
    for username in ("officer", "yz_officer", "auditor"):
        c = sign_in(username)
        for path in ("/api/v1/sharing/keys", "/api/v1/sharing/keys/rotate"):
            r = c.post(path, json={"department_id": world.police})
            assert r.status_code == 403, (username, path, r.text)
            assert r.json()["error"]["code"] == "sharing.signing_forbidden"
    r = client.post("/api/v1/sharing/keys", json={"department_id": world.police})
    assert r.status_code == 401
    # A department system's token holding every scope speaks for no key (product decision).
    issued = auth.issue_token(
        session,
        world.actor(session, "head"),
        world.police,
        TokenCreate(name="证照系统", scopes=sorted(auth.SCOPES)),  # type: ignore[call-arg]
    )
    r = client.post(
        "/api/v1/sharing/keys",
        json={"department_id": world.police},
        headers={"Authorization": f"Bearer {issued.secret}"},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "sharing.signing_forbidden"
    assert keys.published(session) == []
    # Bad input: a zh-CN error, nothing made.
    r = sign_in("city").post("/api/v1/sharing/keys", json={"department_id": 99999})
    assert r.status_code == 404 and r.json()["error"]["code"] == "org.department_not_found"
    assert keys.published(session) == []


def test_the_verify_route_is_public(client: TestClient, session: Session, world: World) -> None:
    envelope = _signed(session, world)
    r = client.post("/api/v1/sharing/verify", json=envelope)
    assert r.status_code == 200, r.text
    assert r.json()["valid"] and r.json()["department_name"] == "市公安局"
    envelope["document"]["人数"] = 13
    r = client.post("/api/v1/sharing/verify", json=envelope)
    assert r.status_code == 200
    assert not r.json()["valid"] and r.json()["code"] == "digest_mismatch"
    assert "摘要不符" in r.json()["message"]
    # Whatever anyone posts is answered, never a server error.
    deep: Any = 1
    for _ in range(900):
        deep = [deep]
    for body in ({"document": deep, "signature": envelope["signature"]}, [1], "x", 0):
        r = client.post("/api/v1/sharing/verify", json=body)
        assert r.status_code == 200, r.text
        assert not r.json()["valid"] and r.json()["code"] in ("malformed", "digest_mismatch")


def test_designating_a_source_over_the_api(sign_in: Any, world: World) -> None:
    # Art. 28: base.licence needs no designation; an unknown source is not found.
    head = sign_in("head")
    r = head.put("/api/v1/sharing/document-sources/base.licence", json={"document_class": None})
    assert r.status_code == 400 and r.json()["error"]["code"] == "sharing.licence_by_nature"
    r = head.put("/api/v1/sharing/document-sources/none.such", json={"document_class": "contract"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "sharing.source_not_found"
    r = head.put("/api/v1/sharing/document-sources/x", json={"document_class": "poem"})
    assert r.status_code == 422


# --- pages -------------------------------------------------------------------------------------


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_the_keys_page_lets_the_head_manage_and_everyone_list(
    sign_in: Any, client: TestClient, session: Session, world: World
) -> None:
    head = sign_in("head")
    page = head.get("/sharing/keys")
    assert page.status_code == 200
    assert f'data-testid="create-{world.police}"' in page.text
    r = head.client.post(
        "/sharing/keys/create",
        data={"department_id": str(world.police), "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/sharing/keys?msg=created"
    key = keys.current_key(session, world.police)
    assert key is not None
    page = head.get("/sharing/keys?msg=created")
    assert "已生成签名密钥" in page.text and f'data-testid="rotate-{world.police}"' in page.text
    assert f'data-testid="rotate-confirm-{world.police}"' in page.text  # asks first (issue 16)
    assert f'密钥 <span class="mono">{key.key_id}</span> 停止签名' in page.text
    # Another department's officer sees the published key, and no way to change it.
    other = sign_in("yz_officer").get("/sharing/keys")
    assert other.status_code == 200
    assert key.key_id in other.text and key.public_key in other.text
    assert 'data-testid="manage"' not in other.text
    # Without the form's CSRF token nothing happens.
    r = head.client.post(
        "/sharing/keys/rotate", data={"department_id": str(world.police)}, follow_redirects=False
    )
    assert r.status_code == 403
    assert keys.current_key(session, world.police).key_id == key.key_id  # type: ignore[union-attr]
    # An officer posting the form is refused.
    officer = sign_in("officer")
    token = _csrf(officer.get("/sharing/keys").text)
    r = officer.client.post(
        "/sharing/keys/rotate",
        data={"department_id": str(world.police), "csrf_token": token},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 403 and "负责人" in r.text
    # Not signed in: to the sign-in page.
    r = client.get("/sharing/keys", headers=HTML, follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]


def test_the_head_designates_a_source_on_the_page(
    sign_in: Any, session: Session, world: World
) -> None:
    # Art. 28: the provider's head marks a source as documents; everyone sees which are.
    sc = build_share_city(session, world)
    head = sign_in("head")
    page = head.get("/sharing/keys")
    assert 'data-testid="designate-form"' in page.text and sc.person_source.code in page.text
    assert sc.market_source.code not in page.text  # another department's source
    r = head.client.post(
        "/sharing/keys/document-class",
        data={
            "source_code": sc.person_source.code,
            "document_class": "document",
            "csrf_token": _csrf(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert signing.document_class(session, sc.person_source.code) is not None
    listing = sign_in("yz_officer").get("/sharing/keys")
    row = f'data-testid="document-{sc.person_source.code}"'
    assert row in listing.text and "文书类" in listing.text
    assert 'data-testid="designate-form"' not in listing.text


def test_the_city_bureau_finds_a_source_to_designate_by_search(
    sign_in: Any, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The city bureau manages every department: thousands of sources are a search, not one
    # select (issue 16: the page took 0.53 s and 446 KB in the demo).
    from govdata.sharing import keys as keys_service

    sc = build_share_city(session, world)
    monkeypatch.setattr(keys_service, "DESIGNATE_LIST", 1)
    city = sign_in("city")
    page = city.get("/sharing/keys")
    assert 'data-testid="designate-search"' in page.text
    assert 'data-testid="designate-form"' not in page.text
    found = city.get("/sharing/keys", params={"q": sc.person_source.name})
    assert 'data-testid="designate-form"' in found.text
    assert f'value="{sc.person_source.code}"' in found.text
    none = city.get("/sharing/keys", params={"q": "没有这样的资源"})
    assert 'data-testid="designate-none"' in none.text
    assert 'data-testid="designate-form"' not in none.text
    # Within the list's size, every source the head may designate is in one list, no search.
    monkeypatch.setattr(keys_service, "DESIGNATE_LIST", 200)
    head = sign_in("head").get("/sharing/keys")
    assert 'data-testid="designate-search"' not in head.text
    assert 'data-testid="designate-form"' in head.text and sc.person_source.code in head.text


def _upload(client: TestClient, content: bytes) -> Any:
    form = client.get("/verify")
    assert form.status_code == 200 and 'data-testid="verify-form"' in form.text
    return client.post(
        "/verify",
        data={"csrf_token": _csrf(form.text)},
        files={"file": ("licence.json", content, "application/json")},
    )


def test_the_public_verify_page(client: TestClient, session: Session, world: World) -> None:
    # Anyone, signed in or not, checks a signed file and learns who signed it and when.
    envelope = _signed(session, world)
    raw = json.dumps(envelope, ensure_ascii=False, indent=2).encode("utf-8")
    r = _upload(client, raw)
    assert r.status_code == 200, r.text
    assert 'data-valid="true"' in r.text and "签名有效" in r.text
    assert '<dd data-testid="signer">市公安局</dd>' in r.text
    assert 'data-testid="signed-at"' in r.text
    tampered = raw.replace("示例餐饮".encode(), "示列餐饮".encode())
    r = _upload(client, tampered)
    assert r.status_code == 200
    assert 'data-valid="false"' in r.text and 'data-code="digest_mismatch"' in r.text
    assert "摘要不符" in r.text
    forged = json.loads(raw)
    forged["signature"]["grant_id"] = 4
    r = _upload(client, json.dumps(forged).encode())
    assert 'data-code="bad_signature"' in r.text
    assert "文件所称签名部门" in r.text  # an invalid file's signer is only claimed
    r = _upload(client, b"\xff not json")
    assert r.status_code == 422 and "不是 UTF-8 编码的 JSON" in r.text
    r = _upload(client, json.dumps({"document": {}}).encode())
    assert 'data-code="malformed"' in r.text
