"""The data access API over HTTP (Art. 22, 26 ¶2, 40, 50(4)(5)): lookup, verification, paged
queries and sync under a grant; each refusal with its own code, recorded once; fail closed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from govdata.org import auth
from govdata.org.schemas import TokenCreate
from govdata.sharing import access, grants, keys, signing
from govdata.sharing.models import DocumentClass, Grant, GrantMode, GrantUsage
from tests.aggregation.base_helpers import K1, K2, K3, K4, upsert
from tests.sharing.data_helpers import (
    last_record_id,
    lookup,
    new_records,
    records,
    rows,
    verify,
)
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.world import World

ID = "公民身份号码"


@pytest.fixture
def sc(session: Session, world: World) -> ShareCity:
    city = build_share_city(session, world)
    session.commit()
    return city


def _grant(session: Session, world: World, sc: ShareCity, *args: Any, **kw: Any) -> Grant:
    g = grant_to_yz(session, world, sc, *args, **kw)
    session.commit()
    return g


def _code(r: Any) -> str:
    return str(r.json()["error"]["code"])


# --- lookup ----------------------------------------------------------------------------------


def test_lookup_returns_only_the_granted_items_asked_for(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    # Art. 26 ¶2: field-level; 出生日期 is not granted and never appears.
    g = _grant(session, world, sc, sc.person_source, [ID, "姓名"])
    r = lookup(client, sc.token, g.id, K1)
    assert r.status_code == 200, r.text
    assert r.json()["values"] == {ID: K1, "姓名": "张三"}
    r = lookup(client, sc.token, g.id, K1, items="姓名")
    assert r.json()["values"] == {"姓名": "张三"}
    assert "1990-01-01" not in r.text
    # The base database too (Art. 25(2)), by key with a lower-case check letter tolerated.
    gb = _grant(session, world, sc, sc.base_source, [ID, "出生日期"])
    r = lookup(client, sc.token, gb.id, K2)
    assert r.json()["values"] == {ID: K2, "出生日期": "1990-02-02"}
    assert "李四" not in r.text
    # Art. 40: one allowed record per call, with the grant, purpose, items and subject digest.
    recs = [x for x in records(session, sc.token_id) if x.grant_id == gb.id]
    assert len(recs) == 1
    rec = recs[0]
    assert (rec.action, rec.outcome, rec.rows, rec.purpose) == (
        "sharing.lookup",
        "allowed",
        1,
        "household-check",
    )
    assert rec.fields == f"{ID},出生日期" and rec.personal
    assert rec.subject_digest and K2 not in (rec.subject_digest or "")


def test_absent_and_outside_the_row_condition_answer_alike(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    # The grant covers 经营状态 = 存续 only: K2 (注销) exists but is outside.
    g = _grant(
        session,
        world,
        sc,
        sc.base_source,
        [ID, "姓名", "经营状态"],
        row_condition={"item": "经营状态", "values": ["存续"]},
    )
    assert lookup(client, sc.token, g.id, K1).status_code == 200
    before = last_record_id(session)
    outside = lookup(client, sc.token, g.id, K2)
    absent = lookup(client, sc.token, g.id, "500101199912319999")
    assert outside.status_code == absent.status_code == 404
    assert outside.json() == absent.json()
    assert _code(outside) == "sharing.subject_not_found"
    recs = new_records(session, before)
    # Recorded once each, with the true reason (Art. 40).
    assert [(x.action, x.outcome, x.reason) for x in recs] == [
        ("sharing.lookup", "refused", "sharing.outside_row_conditions"),
        ("sharing.lookup", "refused", "sharing.subject_not_found"),
    ]
    assert all(x.grant_id == g.id and x.subject_digest for x in recs)


# --- the refusal table -------------------------------------------------------------------------


def _refusal_world(session: Session, world: World, sc: ShareCity) -> dict[str, Any]:
    """One grant per refusal, and the token that meets it."""
    base = [ID, "姓名"]
    ok = grant_to_yz(session, world, sc, sc.person_source, base)
    expired = grant_to_yz(session, world, sc, sc.person_source, base)
    expired.valid_from = date.today() - timedelta(days=30)
    expired.expires_on = date.today() - timedelta(days=1)
    not_yet = grant_to_yz(session, world, sc, sc.person_source, base)
    not_yet.valid_from = date.today() + timedelta(days=3)
    revoked = grant_to_yz(session, world, sc, sc.person_source, base)
    grants.revoke(session, world.actor(session, "officer"), revoked.id, "职责调整")
    verification = grant_to_yz(
        session, world, sc, sc.person_source, base, mode=GrantMode.VERIFICATION
    )
    # A second system of the same department, not named by ``ok``.
    other = auth.issue_token(
        session,
        world.actor(session, "yz_officer"),
        world.yz_police,
        TokenCreate(name="另一系统", scopes=["sharing:read"]),  # type: ignore[call-arg]
    )
    session.commit()
    return {
        "ok": ok.id,
        "expired": expired.id,
        "not_yet": not_yet.id,
        "revoked": revoked.id,
        "verification": verification.id,
        "unnamed_secret": other.secret,
    }


# (case, token, grant, purpose, items, status, code)
REFUSALS = [
    ("no grant", "token", "missing", "household-check", None, 403, "sharing.no_grant"),
    ("other department", "jb", "ok", "household-check", None, 403, "sharing.grant_other_department"),
    ("system not named", "unnamed", "ok", "household-check", None, 403, "sharing.system_not_named"),
    ("scope missing", "other", "ok", "household-check", None, 403, "auth.scope_missing"),
    ("expired", "token", "expired", "household-check", None, 403, "sharing.grant_expired"),
    ("not yet valid", "token", "not_yet", "household-check", None, 403, "sharing.grant_not_yet_valid"),
    ("revoked", "token", "revoked", "household-check", None, 403, "sharing.grant_revoked"),
    ("purpose", "token", "ok", "tax-audit", None, 403, "sharing.purpose_mismatch"),
    ("verification only", "token", "verification", "household-check", None, 403, "sharing.verification_only"),
    ("ungranted item", "token", "ok", "household-check", "姓名,出生日期", 403, "sharing.item_not_granted"),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_each_refusal_has_its_code_is_recorded_once_and_leaks_nothing(
    client: TestClient, session: Session, world: World, sc: ShareCity, case: tuple[Any, ...]
) -> None:
    _, who, which, purpose, items, status, code = case
    w = _refusal_world(session, world, sc)
    secret = {
        "token": sc.token,
        "jb": sc.jb_token,
        "other": sc.other_token,
        "unnamed": w["unnamed_secret"],
    }[who]
    grant_id = 999_999 if which == "missing" else w[which]
    before = last_record_id(session)
    for r in (
        lookup(client, secret, grant_id, K1, purpose=purpose, items=items),
        rows(client, secret, grant_id, purpose=purpose, **({"items": items} if items else {})),
    ):
        assert (r.status_code, _code(r)) == (status, code)
        assert "张三" not in r.text and "1990" not in r.text and K1 not in r.text
    recs = new_records(session, before)
    # Once per call: the service's record, no second ``request.refused`` from the handler.
    assert [(x.action, x.outcome, x.reason) for x in recs] == [
        ("sharing.lookup", "refused", code),
        ("sharing.query", "refused", code),
    ]
    assert all(x.grant_id == grant_id and x.purpose == purpose for x in recs)
    assert recs[0].subject_digest is not None and recs[1].subject_digest is None


def test_revocation_takes_effect_on_the_next_call(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    g = _grant(session, world, sc, sc.person_source, [ID, "姓名"])
    assert lookup(client, sc.token, g.id, K1).status_code == 200
    grants.revoke(session, world.actor(session, "officer"), g.id, "超出职责范围")
    session.commit()
    r = lookup(client, sc.token, g.id, K1)
    assert (r.status_code, _code(r)) == (403, "sharing.grant_revoked")


# --- verification ------------------------------------------------------------------------------


def test_verification_answers_yes_or_no_and_returns_no_value(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    g = _grant(
        session, world, sc, sc.base_source, [ID, "姓名", "出生日期"], mode=GrantMode.VERIFICATION
    )
    r = verify(client, sc.token, g.id, K1, {"姓名": " 张三 ", "出生日期": "1990-01-01"})
    assert r.status_code == 200, r.text
    assert r.json() == {"grant_id": g.id, "match": True, "items": {"姓名": True, "出生日期": True}}
    r = verify(client, sc.token, g.id, K1, {"姓名": "张四", "出生日期": "1990-01-01"})
    assert r.json()["match"] is False and r.json()["items"] == {"姓名": False, "出生日期": True}
    assert "张三" not in r.text
    # The key's check letter either way; a NULL stored value matches nothing.
    r = verify(client, sc.token, g.id, K3, {ID: K3.lower(), "出生日期": ""})
    assert r.json()["items"] == {ID: True, "出生日期": False}
    # A verification-only grant gives no data (Art. 26 ¶2).
    r = lookup(client, sc.token, g.id, K1)
    assert _code(r) == "sharing.verification_only"
    recs = [x for x in records(session, sc.token_id) if x.action == "sharing.verify"]
    assert len(recs) == 3 and all(x.outcome == "allowed" and x.subject_digest for x in recs)


def test_verification_of_an_ungranted_item_is_refused(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    g = _grant(session, world, sc, sc.person_source, [ID, "姓名"])  # a data grant verifies too
    assert verify(client, sc.token, g.id, K1, {"姓名": "张三"}).json()["match"] is True
    r = verify(client, sc.token, g.id, K1, {"出生日期": "1990-01-01"})
    assert (r.status_code, _code(r)) == (403, "sharing.item_not_granted")
    assert "1990" not in r.json()["error"]["message"]
    r = verify(client, sc.token, g.id, K1, {})
    assert (r.status_code, _code(r)) == (400, "sharing.values_required")


# --- paged queries and sync --------------------------------------------------------------------


def test_rows_page_with_a_signed_cursor(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    g = _grant(session, world, sc, sc.base_source, [ID, "姓名"])
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = rows(client, sc.token, g.id, **params)
        assert r.status_code == 200, r.text
        seen += [row[ID] for row in r.json()["rows"]]
        assert all(set(row) == {ID, "姓名"} for row in r.json()["rows"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([K1, K2, K3, K4])
    # A forged or altered cursor, or one of another grant, is refused.
    first = rows(client, sc.token, g.id, limit=1).json()["next_cursor"]
    body, mac = first.rsplit(".", 1)
    for forged in (body + "." + ("0" * len(mac)), "abc", first[:-1]):
        r = rows(client, sc.token, g.id, cursor=forged)
        assert (r.status_code, _code(r)) == (400, "sharing.bad_cursor")
    g2 = _grant(session, world, sc, sc.base_source, [ID, "姓名"])
    assert _code(rows(client, sc.token, g2.id, cursor=first)) == "sharing.bad_cursor"


def test_rows_filters_and_the_row_condition(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    g = _grant(
        session,
        world,
        sc,
        sc.base_source,
        [ID, "姓名", "经营状态"],
        row_condition={"item": "经营状态", "values": ["存续"]},
    )
    r = rows(client, sc.token, g.id)
    assert [x[ID] for x in r.json()["rows"]] == [K1, K4]  # the row condition always applies
    r = rows(client, sc.token, g.id, **{"姓名": "张三"})
    assert [x[ID] for x in r.json()["rows"]] == [K1]
    r = rows(client, sc.token, g.id, **{"姓名": "李四"})  # exists, outside the rows: none
    assert r.json()["rows"] == []
    r = rows(client, sc.token, g.id, **{"经营状态": "注销"})
    assert (r.status_code, _code(r)) == (403, "sharing.outside_row_conditions")
    assert "李四" not in r.text
    r = rows(client, sc.token, g.id, **{"出生日期": "1990-02-02"})  # not granted: no oracle
    assert (r.status_code, _code(r)) == (403, "sharing.item_not_granted")


def test_incremental_sync_of_a_pool(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    # Pools: rows written by loads that finished after ``changed_since`` (``_load_id``).
    g = _grant(session, world, sc, sc.person_source, [ID, "姓名"])
    full = rows(client, sc.token, g.id)
    assert [x[ID] for x in full.json()["rows"]] == [K1, K2, K3]
    as_of = full.json()["as_of"]
    assert rows(client, sc.token, g.id, changed_since=as_of).json()["rows"] == []
    upsert(session, sc.city.police_pool, [{ID: K2, "姓名": "李思"}])
    session.commit()
    r = rows(client, sc.token, g.id, changed_since=as_of)
    assert r.json()["rows"] == [{ID: K2, "姓名": "李思"}]
    recs = [x for x in records(session, sc.token_id) if x.grant_id == g.id]
    assert [x.action for x in recs] == ["sharing.query", "sharing.sync", "sharing.sync"]
    assert [x.rows for x in recs] == [3, 0, 1]


def test_incremental_sync_of_a_base_database_follows_the_granted_items(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    # Base databases: rows where a granted item's provenance (``l<N>``) is a later load.
    from govdata.aggregation import base
    from govdata.aggregation.models import BaseKind

    g = _grant(session, world, sc, sc.base_source, [ID, "经营状态"])
    as_of = rows(client, sc.token, g.id).json()["as_of"]
    upsert(session, sc.city.market_pool, [{ID: K4, "经营状态": "注销"}])
    base.build(session, world.actor(session, "city"), BaseKind.PERSON)
    session.commit()
    r = rows(client, sc.token, g.id, changed_since=as_of)
    assert r.json()["rows"] == [{ID: K4, "经营状态": "注销"}]


# --- quota, rate limit, fail closed ---------------------------------------------------------


def test_the_daily_quota_answers_429_until_beijing_midnight(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    g = _grant(session, world, sc, sc.person_source, [ID, "姓名"], daily_quota=2)
    assert lookup(client, sc.token, g.id, K1).status_code == 200
    assert rows(client, sc.token, g.id).status_code == 200
    r = lookup(client, sc.token, g.id, K2)
    assert (r.status_code, _code(r)) == (429, "sharing.quota_exceeded")
    assert 0 < int(r.headers["Retry-After"]) <= 86400
    assert "李四" not in r.text
    session.expire_all()
    usage = session.scalars(select(GrantUsage).where(GrantUsage.grant_id == g.id)).one()
    assert (usage.calls, usage.rows) == (2, 4)  # the refused call took nothing
    rec = records(session, sc.token_id)[-1]
    assert (rec.outcome, rec.reason, rec.grant_id) == ("refused", "sharing.quota_exceeded", g.id)


def test_the_quota_counts_calls_on_the_beijing_day(session: Session) -> None:
    from datetime import datetime

    from govdata.sharing import quota

    at = datetime(2026, 3, 1, 15, 30, tzinfo=quota.CITY_TZ)
    assert quota.seconds_to_midnight(at) == 8 * 3600 + 30 * 60
    utc = datetime.fromisoformat("2026-03-01T17:00:00+00:00")  # 01:00 on the 2nd in Beijing
    assert quota.beijing_day(utc) == date(2026, 3, 2)


def test_fail_closed_when_the_record_cannot_be_written(
    client: TestClient,
    session: Session,
    world: World,
    sc: ShareCity,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Art. 40: no record, no data.
    g = _grant(session, world, sc, sc.person_source, [ID, "姓名"])

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("INSERT INTO access_records", {}, Exception("disk full"))

    monkeypatch.setattr(access, "record_access", broken)
    for r in (
        lookup(client, sc.token, g.id, K1),
        rows(client, sc.token, g.id),
        verify(client, sc.token, g.id, K1, {"姓名": "张三"}),
    ):
        assert (r.status_code, _code(r)) == (503, "sharing.record_unavailable")
        assert "张三" not in r.text and K1 not in r.text
    session.expire_all()
    # Nothing of the failed calls was kept: no quota taken either.
    assert session.scalars(select(GrantUsage).where(GrantUsage.grant_id == g.id)).all() == []


def test_expiry_is_read_on_every_call(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    g = _grant(session, world, sc, sc.person_source, [ID, "姓名"])
    session.execute(
        update(Grant)
        .where(Grant.id == g.id)
        .values(
            expires_on=date.today() - timedelta(days=1), valid_from=date.today() - timedelta(days=9)
        )
    )
    session.commit()
    assert _code(lookup(client, sc.token, g.id, K1)) == "sharing.grant_expired"


def test_incremental_sync_of_a_thematic_database_is_the_whole_table(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    # Thematic databases are rebuilt as a whole: all rows if refreshed after ``changed_since``,
    # none otherwise (no per-row provenance).
    from tests.sharing.test_canary import _publish_thematic

    source = _publish_thematic(session, world, sc)
    g = _grant(session, world, sc, source, ["姓名"])
    assert source.loaded_at is not None
    before = (source.loaded_at - timedelta(minutes=1)).isoformat()
    after = (source.loaded_at + timedelta(minutes=1)).isoformat()
    r = rows(client, sc.token, g.id, changed_since=before)
    assert r.status_code == 200, r.text
    assert sorted(x["姓名"] for x in r.json()["rows"] if x["姓名"]) == ["张三", "李四", "王五"]
    assert rows(client, sc.token, g.id, changed_since=after).json()["rows"] == []
    assert lookup(client, sc.token, g.id, K1).json()["values"] == {"姓名": "张三"}


# --- signed documents (Art. 28) --------------------------------------------------------------


def test_a_document_source_is_delivered_signed_or_not_at_all(
    client: TestClient,
    session: Session,
    world: World,
    sc: ShareCity,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Art. 28: documents, licences and contracts carry the provider's SM2 signature; without
    # a key the lookup is refused (recorded with its code), never delivered unsigned.
    monkeypatch.setenv(keys.KEK_ENV, "test-signing-kek-data")
    signing.designate(
        session,
        world.actor(session, "head"),
        source_code=sc.person_source.code,
        document_class=DocumentClass.DOCUMENT,
    )
    g = _grant(session, world, sc, sc.person_source, [ID, "姓名"])
    r = lookup(client, sc.token, g.id, K1)
    assert (r.status_code, _code(r)) == (503, "sharing.no_signing_key")
    assert "张三" not in r.text
    assert records(session, sc.token_id)[-1].reason == "sharing.no_signing_key"
    keys.create(session, world.actor(session, "head"), world.police)
    session.commit()
    r = lookup(client, sc.token, g.id, K1)
    assert r.status_code == 200, r.text
    envelope = r.json()["signed_document"]
    assert envelope["document"]["values"] == r.json()["values"] == {ID: K1, "姓名": "张三"}
    assert envelope["signature"]["grant_id"] == g.id
    assert signing.verify(envelope, signing.known_keys(session)).valid
    envelope["document"]["values"]["姓名"] = "张四"
    assert not signing.verify(envelope, signing.known_keys(session)).valid
    # Plain data is not signed.
    gb = _grant(session, world, sc, sc.base_source, [ID, "姓名"])
    assert lookup(client, sc.token, gb.id, K1).json()["signed_document"] is None


def test_a_malformed_purpose_or_key_is_refused_before_anything_is_stored(
    client: TestClient, session: Session, world: World, sc: ShareCity
) -> None:
    # A NUL or a control character cannot be held in PostgreSQL text: refused as malformed
    # (422) rather than failing the record's write (which would answer 503, fail closed).
    g = _grant(session, world, sc, sc.person_source, [ID, "姓名"])
    before = last_record_id(session)
    for purpose, key in (("house\x00hold", K1), ("household-check", "5001\x00"), ("用途", K1)):
        r = verify(client, sc.token, g.id, key, {"姓名": "张三"}, purpose=purpose)
        assert r.status_code == 422, (purpose, key, r.text)
    r = lookup(client, sc.token, g.id, K1, purpose="house hold")
    assert r.status_code == 422
    assert last_record_id(session) == before
