"""Developer keys (issue 14 §9, Art. 33 ¶3): only an identified person holds one; shown once,
listed with today's calls, revocable; ``api_caller`` charges a key's daily quota and limits
anonymous callers per address; refusals from the refused side."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.crypto import subject_digest
from govdata.core.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from govdata.core.ids import make_id_number
from govdata.core.ratelimit import RateLimited
from govdata.opendata import keys
from govdata.opendata.api_auth import (
    InvalidKey,
    KeyQuotaExceeded,
    api_caller,
    beijing_day,
    take_key_call,
)
from govdata.opendata.models import DeveloperKey, DeveloperKeyUsage
from govdata.org.models import Person
from govdata.web.deps import DbSession
from tests.world import World

API = "/api/v1/opendata/keys"
NUMBER = make_id_number("500103", date(1991, 7, 1), 31)


@pytest.fixture
def citizen(session: Session, world: World) -> Actor:
    """The world's citizen, with a checked identity (Art. 33 ¶3)."""
    session.execute(
        update(Person)
        .where(Person.id == world.people["citizen"])
        .values(identity_digest=subject_digest(NUMBER))
    )
    session.commit()
    return world.actor(session, "citizen")


def _request(
    app: FastAPI, headers: dict[str, str] | None = None, host: str = "10.1.1.1"
) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/3/action/package_search",
        "query_string": b"",
        "headers": raw,
        "client": (host, 5000),
        "app": app,
    }
    return Request(scope)


def _usage(session: Session, key_id: int) -> int:
    session.expire_all()
    calls = session.scalar(
        select(DeveloperKeyUsage.calls).where(
            DeveloperKeyUsage.key_id == key_id, DeveloperKeyUsage.day == beijing_day()
        )
    )
    return int(calls or 0)


# --- the keys' service ----------------------------------------------------------------------------


def test_an_identified_person_creates_lists_and_revokes_keys(
    session: Session, citizen: Actor, world: World
) -> None:
    issued = keys.create_key(session, citizen, "  交通 小程序 ")
    assert issued.secret.startswith("od_") and issued.key.name == "交通 小程序"
    assert issued.secret not in {issued.key.digest, issued.key.prefix}  # stored as a digest
    assert issued.secret.startswith(issued.key.prefix)
    views = keys.list_keys(session, citizen, beijing_day())
    assert [(v.key.id, v.calls_today) for v in views] == [(issued.key.id, 0)]
    # Staff are identified by their department: they may hold keys too.
    officer = world.actor(session, "officer")
    assert keys.create_key(session, officer, "内部测试").key.person_id == officer.person_id
    assert [v.key.id for v in keys.list_keys(session, citizen, beijing_day())] == [issued.key.id]
    # Another person's key does not exist for them.
    with pytest.raises(keys.KeyNotFound):
        keys.revoke_key(session, officer, issued.key.id)
    assert keys.revoke_key(session, citizen, issued.key.id).revoked_at is not None
    assert keys.key_for_secret(session, issued.secret) is None


def test_keys_need_a_checked_identity(session: Session, world: World) -> None:  # Art. 33 ¶3
    company = world.actor(session, "company")  # a public account without identity
    with pytest.raises(NotAuthenticated) as err:
        keys.create_key(session, company, "x")
    assert err.value.code == "opendata.identity_required" and "身份认证" in err.value.message
    system = Actor(
        person_id=None,
        name="系统",
        grants=(RoleGrant(Role.DEPARTMENT_SYSTEM, department_id=world.police),),
        token_id=1,
    )
    with pytest.raises(PermissionDenied) as refused:  # a system token: refused outright
        keys.create_key(session, system, "x")
    assert refused.value.code == "opendata.people_only"
    with pytest.raises(NotAuthenticated):
        keys.list_keys(session, None, beijing_day())


def test_key_name_and_count_are_bounded(session: Session, citizen: Actor) -> None:
    with pytest.raises(InvalidInput) as bad:
        keys.create_key(session, citizen, "   ")
    assert bad.value.code == "opendata.key_name_invalid"
    with pytest.raises(InvalidInput) as nul:  # found by schemathesis: PostgreSQL refused a NUL
        keys.create_key(session, citizen, "a\x00b")
    assert nul.value.code == "opendata.key_name_invalid" and "控制字符" in nul.value.message
    for i in range(keys.MAX_LIVE_KEYS):
        keys.create_key(session, citizen, f"k{i}")
    with pytest.raises(Conflict) as full:
        keys.create_key(session, citizen, "one more")
    assert full.value.code == "opendata.key_limit"


# --- api_caller ---------------------------------------------------------------------------------------


def test_api_caller_reads_the_key_as_ckan_clients_send_it(
    app: FastAPI, session: Session, citizen: Actor
) -> None:
    secret = keys.create_key(session, citizen, "ckan").secret
    key_id = keys.key_for_secret(session, secret).id  # type: ignore[union-attr]
    for headers in (
        {"Authorization": secret},
        {"Authorization": f"Bearer {secret}"},
        {"X-CKAN-API-Key": secret},
    ):
        actor = api_caller(_request(app, headers), session)
        assert actor is not None and actor.person_id == citizen.person_id
        assert actor.address == "10.1.1.1"
    assert _usage(session, key_id) == 3


def test_api_caller_refuses_an_invalid_or_revoked_key(
    app: FastAPI, session: Session, citizen: Actor, world: World
) -> None:
    for bad in ("od_nope", "gd_department_token", "garbage"):
        with pytest.raises(InvalidKey) as err:
            api_caller(_request(app, {"Authorization": bad}), session)
        assert err.value.code == "opendata.invalid_key" and err.value.status == 401
    issued = keys.create_key(session, citizen, "soon revoked")
    keys.revoke_key(session, citizen, issued.key.id)
    with pytest.raises(InvalidKey):
        api_caller(_request(app, {"X-CKAN-API-Key": issued.secret}), session)
    # A deactivated owner's keys stop working.
    live = keys.create_key(session, citizen, "live")
    session.execute(update(Person).where(Person.id == citizen.person_id).values(active=False))
    with pytest.raises(InvalidKey):
        api_caller(_request(app, {"Authorization": live.secret}), session)


def test_the_daily_quota(app: FastAPI, session: Session, citizen: Actor) -> None:
    issued = keys.create_key(session, citizen, "small")
    issued.key.daily_quota = 2
    session.flush()
    for _ in range(2):
        api_caller(_request(app, {"Authorization": issued.secret}), session)
    with pytest.raises(KeyQuotaExceeded) as err:
        api_caller(_request(app, {"Authorization": issued.secret}), session)
    assert err.value.code == "opendata.key_quota_exceeded" and err.value.status == 429
    assert 0 < err.value.retry_after <= 86_400 and "次日零时" in err.value.message
    assert _usage(session, issued.key.id) == 2  # the refused call took nothing
    # Another day starts over.
    assert take_key_call(session, issued.key.id, 2, date(2030, 1, 1)) == 1


def test_anonymous_calls_are_limited_per_address(app: FastAPI, session: Session) -> None:
    app.state.settings = dataclasses.replace(app.state.settings, opendata_anonymous_rate="3/minute")
    for _ in range(3):
        assert api_caller(_request(app), session) is None
    with pytest.raises(RateLimited) as err:
        api_caller(_request(app), session)
    assert err.value.code == "request.rate_limited" and err.value.retry_after > 0
    assert api_caller(_request(app, host="10.1.1.2"), session) is None  # another address


def test_over_http_a_spent_quota_is_429_with_retry_after(
    app: FastAPI, session: Session, citizen: Actor
) -> None:
    def probe(request: Request, session: DbSession) -> dict[str, Any]:
        actor = api_caller(request, session)
        return {"person_id": actor.person_id if actor else None}

    app.add_api_route("/test/opendata-caller", probe)
    issued = keys.create_key(session, citizen, "http")
    issued.key.daily_quota = 1
    session.commit()
    with TestClient(app, raise_server_exceptions=False) as c:
        ok = c.get("/test/opendata-caller", headers={"Authorization": issued.secret})
        assert ok.json() == {"person_id": citizen.person_id}
        spent = c.get("/test/opendata-caller", headers={"Authorization": issued.secret})
        assert spent.status_code == 429 and int(spent.headers["Retry-After"]) > 0
        assert spent.json()["error"]["code"] == "opendata.key_quota_exceeded"
        bad = c.get("/test/opendata-caller", headers={"X-CKAN-API-Key": "od_unknown"})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "opendata.invalid_key"
        assert c.get("/test/opendata-caller").json() == {"person_id": None}


# --- the JSON API and the pages -----------------------------------------------------------------


def test_keys_json_api(sign_in: Any, citizen: Actor, session: Session) -> None:
    c = sign_in("citizen")
    made = c.post(API, json={"name": "数据分析脚本"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["key"].startswith(body["prefix"]) and body["calls_today"] == 0
    listed = c.get(API).json()
    assert [k["id"] for k in listed] == [body["id"]] and "key" not in listed[0]
    gone = c.delete(f"{API}/{body['id']}")
    assert gone.status_code == 200 and gone.json()["revoked_at"] is not None
    assert c.delete(f"{API}/999999").json()["error"]["code"] == "opendata.key_not_found"
    bad = c.post(API, json={"name": ""})
    assert bad.status_code == 422


def test_keys_json_api_refuses_the_unidentified(sign_in: Any, client: TestClient) -> None:
    r = sign_in("company").post(API, json={"name": "x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "opendata.identity_required"
    assert client.get(API).status_code == 401


def test_keys_page_shows_the_secret_once(sign_in: Any, citizen: Actor, session: Session) -> None:
    c = sign_in("citizen")
    assert 'data-testid="no-keys"' in c.get("/open/developer/keys").text
    made = c.post("/open/developer/keys", data={"name": "可视化大屏"})
    assert made.status_code == 200
    secret = re.search(r'data-testid="secret">([^<]+)<', made.text)
    assert secret is not None and secret.group(1).startswith("od_")
    page = c.get("/open/developer/keys").text
    assert secret.group(1) not in page and "可视化大屏" in page and "0 / 10000" in page
    key = session.scalars(select(DeveloperKey).where(DeveloperKey.name == "可视化大屏")).one()
    r = c.post(f"/open/developer/keys/{key.id}/revoke", follow_redirects=False)
    assert r.status_code == 303
    assert "已吊销" in c.get("/open/developer/keys?msg=revoked").text


def test_keys_page_asks_for_identity_first(sign_in: Any) -> None:
    c = sign_in("company")
    r = c.get("/open/developer/keys")
    assert r.status_code == 200 and 'data-testid="keys-identity-required"' in r.text
    made = c.post("/open/developer/keys", data={"name": "x"})
    assert made.status_code == 403 and 'data-testid="keys-identity-required"' in made.text
    assert 'data-testid="secret"' not in made.text


def test_developers_page_is_public(client: TestClient) -> None:
    r = client.get("/open/developers")
    assert r.status_code == 200
    assert 'data-testid="curl"' in r.text and "RemoteCKAN" in r.text
    assert "opendata.key_quota_exceeded" in r.text and "/open/developer/keys" in r.text
