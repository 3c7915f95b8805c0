"""Signed records of open datasets (Art. 34; Art. 28): a dataset designated a document class in
the sharing system delivers a released record in sharing's signed envelope, to an entitled
caller only, recorded, and verifiable by sharing's verifier, its ``/verify`` page, its API and
``govdata verify``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from govdata.cli import app as cli_app
from govdata.core.access import AccessRecord
from govdata.core.calendar import today
from govdata.core.db import utcnow
from govdata.opendata.models import OpenApplication, OpenApplicationStatus
from govdata.sharing import keys, signing
from govdata.sharing.models import DocumentClass, SigningKey
from tests.aggregation.base_helpers import K1
from tests.opendata.community_helpers import publish_release
from tests.opendata.helpers import OpenCity, build_open_city
from tests.world import World


@pytest.fixture(autouse=True)
def kek(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.KEK_ENV, "test-signing-kek-opendata")


@pytest.fixture
def oc(session: Session, world: World) -> OpenCity:
    city = build_open_city(session, world)
    publish_release(session, city.person, city.city.police_pool)
    publish_release(session, city.market, city.city.market_pool)
    head = world.actor(session, "head")
    signing.designate(
        session, head, source_code=city.person.code, document_class=DocumentClass.LICENCE
    )
    signing.designate(
        session,
        world.actor(session, "city"),
        source_code=city.market.code,
        document_class=DocumentClass.DOCUMENT,
    )
    keys.create(session, head, world.police)
    keys.create(session, world.actor(session, "city"), world.market)
    session.commit()
    return city


def _url(code: str, row: int) -> str:
    return f"/open/datasets/{code}/records/{row}/signed.json"


def _records(session: Session, code: str) -> list[AccessRecord]:
    return list(
        session.scalars(
            select(AccessRecord)
            .where(AccessRecord.object_id == code, AccessRecord.action == "opendata.signed_record")
            .order_by(AccessRecord.id)
        )
    )


def test_an_entitled_caller_gets_a_signed_record_that_sharing_verifies(
    client: TestClient,
    sign_in: object,
    session: Session,
    world: World,
    oc: OpenCity,
    tmp_path: Path,
) -> None:
    citizen = sign_in("citizen")  # type: ignore[operator]
    r = citizen.get(_url(oc.person.code, 1))
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    envelope: dict[str, Any] = r.json()
    doc = envelope["document"]
    assert doc["dataset"] == oc.person.code and doc["row"] == 1 and doc["release"] == 1
    # Only released, masked values: no original key or name, no item that is not open.
    assert doc["record"] == {"公民身份号码": "5001**********0011", "姓名": "张*"}
    assert K1 not in r.text and "张三" not in r.text and "出生日期" not in r.text
    assert envelope["signature"]["source"] == oc.person.code
    # The sharing verifier, its API and its page accept it.
    assert signing.verify(envelope, signing.known_keys(session)).valid
    api = client.post("/api/v1/sharing/verify", json=envelope).json()
    assert api["valid"] and api["department_name"] == "市公安局"
    page = citizen.post("/verify", files={"file": ("r.json", r.content, "application/json")})
    assert 'data-valid="true"' in page.text
    # Offline: ``govdata verify`` with the published keys.
    (tmp_path / "keys.json").write_bytes(client.get("/api/v1/sharing/keys").content)
    (tmp_path / "r.json").write_bytes(r.content)
    ran = CliRunner().invoke(
        cli_app, ["verify", str(tmp_path / "r.json"), "--keys", str(tmp_path / "keys.json")]
    )
    assert ran.exit_code == 0, ran.output
    # A changed byte does not survive.
    envelope["document"]["record"]["姓名"] = "李*"
    assert signing.verify(envelope, signing.known_keys(session)).code == "digest_mismatch"
    # Recorded (Art. 40), with the items delivered.
    recs = _records(session, oc.person.code)
    assert len(recs) == 1 and recs[0].actor_id == world.people["citizen"]
    # The JSON API gives the same envelope shape.
    api_env = citizen.get(f"/api/v1/opendata/datasets/{oc.person.code}/records/2/signed").json()
    assert (
        api_env["document"]["row"] == 2
        and signing.verify(api_env, signing.known_keys(session)).valid
    )


def test_refused_callers_get_nothing_and_nothing_unsigned(
    client: TestClient, sign_in: object, session: Session, world: World, oc: OpenCity
) -> None:
    url = _url(oc.person.code, 1)
    assert client.get(url).status_code == 401  # Art. 33 ¶3: identity first
    r = sign_in("company").get(url)  # type: ignore[operator]
    assert r.status_code == 401 and "张*" not in r.text
    citizen = sign_in("citizen")  # type: ignore[operator]
    # Conditional data without an approved application in force (Art. 33 ¶2).
    r = citizen.get(_url(oc.market.code, 1))
    assert r.status_code == 403 and "经营状态" not in r.text and "存续" not in r.text
    assert citizen.get(_url(oc.person.code, 99)).status_code == 404
    # A department system's token is not a user of the portal, whatever it holds.
    from govdata.org import auth
    from govdata.org.schemas import TokenCreate

    secret = auth.issue_token(
        session,
        world.actor(session, "officer"),
        world.police,
        TokenCreate(name="业务系统", scopes=["catalog:read", "sharing:read"]),
    ).secret
    session.commit()
    api = f"/api/v1/opendata/datasets/{oc.person.code}/records/1/signed"
    r = client.get(api, headers={"Authorization": f"Bearer {secret}"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "opendata.people_only")
    assert client.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert citizen.get(_url("NO-SUCH", 1)).status_code == 404
    # A dataset not designated a document class has no signed records.
    signing.designate(
        session, world.actor(session, "head"), source_code=oc.person.code, document_class=None
    )
    session.commit()
    r = citizen.get(url)
    assert r.status_code == 404 and "opendata.not_a_document" in r.text
    assert _records(session, oc.person.code) == []


def test_no_key_means_no_delivery(
    sign_in: object, session: Session, world: World, oc: OpenCity
) -> None:
    # Every key of the provider retired: nothing signs for it now.
    session.execute(
        update(SigningKey)
        .where(SigningKey.department_id == world.police)
        .values(retired_at=utcnow())
    )
    session.commit()
    r = sign_in("citizen").get(_url(oc.person.code, 1))  # type: ignore[operator]
    assert r.status_code == 503 and "张*" not in r.text
    assert _records(session, oc.person.code) == []


def test_a_conditional_record_holds_only_the_granted_items(
    sign_in: object, session: Session, world: World, oc: OpenCity
) -> None:
    now = today()
    session.add(
        OpenApplication(
            dataset_id=oc.market.id,
            applicant_id=world.people["citizen"],
            provider_department_id=oc.market.department_id,
            status=OpenApplicationStatus.APPROVED,
            items=["姓名", "经营状态"],
            purpose="研究",
            scenario="论文",
            safeguards="离线存储",
            period_from=now,
            period_until=now + timedelta(days=30),
            agreement_version="2026-1",
            received_on=now,
            granted_items=["经营状态"],
            granted_from=now - timedelta(days=1),
            granted_until=now + timedelta(days=30),
        )
    )
    session.commit()
    r = sign_in("citizen").get(_url(oc.market.code, 2))  # type: ignore[operator]
    assert r.status_code == 200, r.text
    doc = r.json()["document"]
    assert doc["record"] == {"经营状态": "注销"} and doc["application_id"] is not None
    assert json.loads(r.text)["signature"]["key_id"]
    assert isinstance(date.fromisoformat(r.json()["signature"]["signed_at"][:10]), date)
