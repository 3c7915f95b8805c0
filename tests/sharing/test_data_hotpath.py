"""The hot path (decision 0014, PostgreSQL): the same refusal table as the ordinary path, the
same answers, one record per call, revocation at once, fail closed.

The hot path runs on connections of its own, so these tests use a database whose transactions
really commit (``tests.live``), and compare it with the ordinary path on the same data.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg.conninfo import make_conninfo
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from govdata.app import create_app
from govdata.core.access import AccessRecord
from govdata.core.settings import Settings
from govdata.core.shards import shard_map
from govdata.sharing import grants, hotpath, hotpath_nodes, hotpath_sql, keys, signing
from govdata.sharing.models import DocumentClass, GrantMode, GrantUsage
from tests.aggregation.base_helpers import K1, K2
from tests.conftest import BACKEND
from tests.live import LiveDb, live_database
from tests.pgcluster import PgCluster, free_port
from tests.sharing.data_helpers import bearer, lookup, verify
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.sharing.test_data import REFUSALS, _refusal_world

ID = "公民身份号码"


@pytest.fixture
def live(pg_cluster: PgCluster | None, tmp_path: Path) -> Iterator[LiveDb]:
    if pg_cluster is None:
        pytest.skip("the hot path serves PostgreSQL only; SQLite takes the ordinary path")
    with live_database(pg_cluster, tmp_path, "sharing_hot") as db:
        yield db


@dataclasses.dataclass
class Both:
    hot: TestClient
    plain: TestClient
    sc: ShareCity
    session: Session


@pytest.fixture
def both(live: LiveDb, settings: Settings) -> Iterator[Both]:
    session = live.factory()
    sc = build_share_city(session, live.world)
    session.commit()
    hot_app = create_app(dataclasses.replace(settings, sharing_hot_path_pool=2), live.engine)
    plain_app = create_app(settings, live.engine)
    with (
        TestClient(hot_app, raise_server_exceptions=False) as hot,
        TestClient(plain_app, raise_server_exceptions=False) as plain,
    ):
        yield Both(hot, plain, sc, session)
        served = hotpath.for_app(hot_app)
        assert served is not None and hotpath.for_app(plain_app) is None
        hot.portal.call(served.close)  # type: ignore[union-attr]
    session.close()


def _answer(r: Any) -> tuple[int, Any]:
    return r.status_code, r.json()


def _records(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(AccessRecord)) or 0)


def _last(session: Session, n: int) -> list[tuple[str, str, str, int | None, str]]:
    session.expire_all()
    recs = session.scalars(select(AccessRecord).order_by(AccessRecord.id.desc()).limit(n)).all()
    return [(r.action, r.outcome, r.reason, r.grant_id, r.purpose) for r in reversed(recs)]


def test_both_paths_answer_and_record_the_refusal_table_alike(live: LiveDb, both: Both) -> None:
    s, sc = both.session, both.sc
    w = _refusal_world(s, live.world, sc)
    secrets = {"token": sc.token, "jb": sc.jb_token, "other": sc.other_token}
    secrets["unnamed"] = w["unnamed_secret"]
    for name, who, which, purpose, items, status, code in REFUSALS:
        grant_id = 999_999 if which == "missing" else w[which]
        answers, recorded = [], []
        for client in (both.hot, both.plain):
            before = _records(s)
            r = lookup(client, secrets[who], grant_id, K1, purpose=purpose, items=items)
            answers.append(_answer(r))
            assert _records(s) == before + 1, (name, client is both.hot)  # recorded once
            recorded.append(_last(s, 1))
        assert answers[0] == answers[1], name
        assert answers[0][0] == status and answers[0][1]["error"]["code"] == code, name
        assert (
            recorded[0] == recorded[1] == [("sharing.lookup", "refused", code, grant_id, purpose)]
        )


def test_the_hot_path_serves_lookup_and_verification_as_the_ordinary_path(
    live: LiveDb, both: Both
) -> None:
    s, sc = both.session, both.sc
    g = grant_to_yz(
        s,
        live.world,
        sc,
        sc.base_source,
        [ID, "姓名", "经营状态"],
        row_condition={"item": "经营状态", "values": ["存续"]},
    )
    v = grant_to_yz(s, live.world, sc, sc.base_source, [ID, "姓名"], mode=GrantMode.VERIFICATION)
    s.commit()
    for key, items in ((K1, None), (K1, "姓名"), (K2, None), ("500101199912319999", None)):
        hot = _answer(lookup(both.hot, sc.token, g.id, key, items=items))
        plain = _answer(lookup(both.plain, sc.token, g.id, key, items=items))
        assert hot == plain
        hot_record, plain_record = _last(s, 2)
        assert hot_record[:3] == plain_record[:3]
    assert _answer(lookup(both.hot, sc.token, g.id, K1))[1]["values"] == {
        ID: K1,
        "姓名": "张三",
        "经营状态": "存续",
    }
    assert _last(s, 2)[0][2] == "sharing.subject_not_found"
    for values in ({"姓名": "张三"}, {"姓名": "张四", ID: K1.lower()}):
        hot = _answer(verify(both.hot, sc.token, v.id, K1, values))
        assert hot == _answer(verify(both.plain, sc.token, v.id, K1, values))
        assert "张三" not in str(hot[1]) or values["姓名"] == "张三"
    served = hotpath.for_app(both.hot.app)  # type: ignore[arg-type]
    assert served is not None
    both.hot.portal.call(served.flush_rows)  # type: ignore[union-attr]  # rows: within a second
    s.expire_all()
    usage = s.scalars(select(GrantUsage).where(GrantUsage.grant_id == g.id)).one()
    assert (usage.calls, usage.rows) == (9, 5)  # 8 + 1 lookups; K1 found five times


def test_quota_revocation_and_fail_closed_on_the_hot_path(
    live: LiveDb, both: Both, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, sc = both.session, both.sc
    g = grant_to_yz(s, live.world, sc, sc.person_source, [ID, "姓名"], daily_quota=2)
    s.commit()
    assert lookup(both.hot, sc.token, g.id, K1).status_code == 200
    assert lookup(both.plain, sc.token, g.id, K1).status_code == 200
    for client in (both.hot, both.plain):
        r = lookup(client, sc.token, g.id, K2)
        assert (r.status_code, r.json()["error"]["code"]) == (429, "sharing.quota_exceeded")
        assert int(r.headers["Retry-After"]) > 0 and "李四" not in r.text
    assert [x[1:3] for x in _last(s, 2)] == [("refused", "sharing.quota_exceeded")] * 2
    # Revocation takes effect on the next call: nothing about a grant is cached.
    g2 = grant_to_yz(s, live.world, sc, sc.person_source, [ID, "姓名"])
    s.commit()
    assert lookup(both.hot, sc.token, g2.id, K1).status_code == 200
    grants.revoke(s, live.world.actor(s, "officer"), g2.id, "职责调整")
    s.commit()
    r = lookup(both.hot, sc.token, g2.id, K1)
    assert r.json()["error"]["code"] == "sharing.grant_revoked"
    # Fail closed (Art. 40): the one statement cannot write its record, no data leaves.
    g3 = grant_to_yz(s, live.world, sc, sc.person_source, [ID, "姓名"])
    s.commit()
    before = _records(s)
    for statement in ("CALL", "RECORD"):  # one statement, or on Citus the record's own
        monkeypatch.setattr(
            hotpath_sql,
            statement,
            getattr(hotpath_sql, statement).replace(
                "INSERT INTO access_records", "INSERT INTO nowhere"
            ),
        )
    for r in (
        lookup(both.hot, sc.token, g3.id, K1),
        verify(both.hot, sc.token, g3.id, K1, {"姓名": "张三"}),
    ):
        assert (r.status_code, r.json()["error"]["code"]) == (503, "sharing.record_unavailable")
        assert "张三" not in r.text and K1 not in r.text
    assert _records(s) == before
    s.expire_all()
    # The quota's call was taken before the read and given back: nothing was served.
    usage = s.scalars(select(GrantUsage).where(GrantUsage.grant_id == g3.id)).one()
    assert usage.calls == 0


def test_the_per_token_limit_applies_on_the_hot_path(live: LiveDb, settings: Settings) -> None:
    s = live.factory()
    sc = build_share_city(s, live.world)
    g = grant_to_yz(s, live.world, sc, sc.person_source, [ID, "姓名"])
    s.commit()
    limited = dataclasses.replace(
        settings,
        sharing_hot_path_pool=1,
        rate_limit_enabled=True,
        rate_limit_per_address="",
        rate_limit_per_person="",
        rate_limit_per_token="2/minute",
        rate_limit_personal_reads="",
        rate_limit_personal_rows="",
    )
    app = create_app(limited, live.engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        codes = [lookup(client, sc.token, g.id, K1).status_code for _ in range(3)]
        served = hotpath.for_app(app)
        assert served is not None
        client.portal.call(served.close)  # type: ignore[union-attr]
        app.state.rate_limiter.close()
    assert codes == [200, 200, 429]
    s.close()


def test_the_hot_path_signs_documents_as_the_ordinary_path(
    live: LiveDb, both: Both, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Art. 28: a designated document source's lookups carry the provider's signature on both
    # paths; without a key, neither delivers it.
    s, sc = both.session, both.sc
    monkeypatch.setenv(keys.KEK_ENV, "test-signing-kek-hot")
    signing.designate(
        s,
        live.world.actor(s, "head"),
        source_code=sc.person_source.code,
        document_class=DocumentClass.LICENCE,
    )
    g = grant_to_yz(s, live.world, sc, sc.person_source, [ID, "姓名"])
    s.commit()
    for client in (both.hot, both.plain):
        status, body = _answer(lookup(client, sc.token, g.id, K1))
        assert status == 503 and "张三" not in str(body)
    keys.create(s, live.world.actor(s, "head"), live.world.police)
    s.commit()
    for client in (both.hot, both.plain):
        status, body = _answer(lookup(client, sc.token, g.id, K1))
        assert status == 200, body
        envelope = body["signed_document"]
        assert envelope["document"]["values"] == body["values"] == {ID: K1, "姓名": "张三"}
        assert signing.verify(envelope, signing.known_keys(s)).valid


# --- the hot dispatch (sharing.hot_dispatch): served before routing, else the router's answer


def _same(both: Both, method: str, url: str, **kw: Any) -> tuple[int, Any]:
    hot = both.hot.request(method, url, **kw)
    plain = both.plain.request(method, url, **kw)
    assert (hot.status_code, hot.text) == (plain.status_code, plain.text), url
    return hot.status_code, hot.json() if hot.text.startswith("{") else hot.text


def test_calls_are_served_before_routing(
    live: LiveDb, both: Both, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, sc = both.session, both.sc
    g = grant_to_yz(s, live.world, sc, sc.person_source, [ID, "姓名"])
    s.commit()
    routed: list[Any] = []
    serve = hotpath.HotPath.serve

    async def spy(self: hotpath.HotPath, request: Any, *args: Any, **kw: Any) -> Any:
        routed.append(request.scope.get("route"))
        return await serve(self, request, *args, **kw)

    monkeypatch.setattr(hotpath.HotPath, "serve", spy)
    assert lookup(both.hot, sc.token, g.id, K1).status_code == 200
    assert verify(both.hot, sc.token, g.id, K1, {"姓名": "张三"}).json()["match"] is True
    assert routed == [None, None]  # no route was matched: the dispatch served both


def test_what_does_not_validate_is_answered_by_the_router(live: LiveDb, both: Both) -> None:
    s, sc = both.session, both.sc
    g = grant_to_yz(s, live.world, sc, sc.person_source, [ID, "姓名"])
    s.commit()
    auth = bearer(sc.token)
    base = f"/api/v1/sharing/data/{g.id}"
    # Art. 50(5): every call states its purpose; a missing or malformed one is a 422.
    for params in ({}, {"purpose": "not a code"}, {"purpose": "x" * 65}):
        status, body = _same(both, "GET", f"{base}/subjects/{K1}", params=params, headers=auth)
        assert status == 422 and body["error"]["code"] == "request.invalid"
    status, body = _same(both, "GET", f"{base}/subjects/{'1' * 65}", params={"purpose": "a"})
    assert status in (401, 422)
    for grant in ("0", "abc", "99999999999999999999"):
        status, body = _same(
            both,
            "GET",
            f"/api/v1/sharing/data/{grant}/subjects/{K1}",
            params={"purpose": "household-check"},
            headers=auth,
        )
        assert status == 422
    body_ok = {"purpose": "household-check", "subject_key": K1, "values": {"姓名": "张三"}}
    for kw in (
        {"content": b"not json", "headers": auth | {"Content-Type": "application/json"}},
        {"json": body_ok | {"extra": 1}, "headers": auth},
        {"json": {"purpose": "household-check", "values": {}}, "headers": auth},
    ):
        status, body = _same(both, "POST", f"{base}/verify", **kw)
        assert status == 422, kw
    # Another method on the hot paths: the router's 405, not the hot path.
    status, _ = _same(both, "DELETE", f"{base}/verify", headers=auth)
    assert status == 405
    # A token the platform does not know: the same 401 from either path, and no data.
    status, body = _same(
        both, "GET", f"{base}/subjects/{K1}", params={"purpose": "household-check"},
        headers=bearer("gd_not_a_token"),
    )  # fmt: skip
    assert (status, body["error"]["code"]) == (401, "auth.invalid_token")


def test_the_app_closes_its_hot_path_at_shutdown(live: LiveDb, settings: Settings) -> None:
    # A pool left open at shutdown keeps sessions on the server (one stopped a later test's
    # DROP DATABASE in CI); the call's background "last used" write is waited for, not cut.
    s = live.factory()
    sc = build_share_city(s, live.world)
    g = grant_to_yz(s, live.world, sc, sc.person_source, [ID, "姓名"])
    s.commit()
    s.close()
    app = create_app(dataclasses.replace(settings, sharing_hot_path_pool=2), live.engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert lookup(client, sc.token, g.id, K1).status_code == 200
        assert hotpath.for_app(app) is not None
    live.engine.dispose()
    others = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend' AND application_name NOT LIKE 'citus%'"
    )  # Citus keeps its own daemon and connections between nodes
    deadline = time.monotonic() + 5  # a closed connection's server process ends soon after
    with live.engine.connect() as conn:
        while (left := conn.execute(others).scalar_one()) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert left == 0


_HOT_SESSIONS = text(
    "SELECT nodeport, result FROM run_command_on_workers($$"
    "SELECT coalesce(string_agg(query, ' | '), '') FROM pg_stat_activity "
    "WHERE datname = current_database() AND application_name = 'govdata-hotpath'$$)"
)


@pytest.mark.skipif(BACKEND != "citus", reason="runs on a Citus cluster (test-citus)")
def test_on_citus_the_read_runs_on_the_worker_holding_the_key(
    live: LiveDb, settings: Settings
) -> None:
    # Decision 0023: the read by key goes to the worker holding the key's shard; the record,
    # the token and the quota stay on the coordinator. Closed at shutdown like the rest.
    s = live.factory()
    sc = build_share_city(s, live.world)
    g = grant_to_yz(s, live.world, sc, sc.person_source, [ID, "姓名"])
    s.commit()
    table = sc.person_source.table_name
    assert table is not None
    found = shard_map(s.connection(), table)
    s.rollback()
    assert found is not None
    app = create_app(dataclasses.replace(settings, sharing_hot_path_pool=2), live.engine)
    before = _records(s)
    with TestClient(app, raise_server_exceptions=False) as client:
        for key in (K1, K2):
            r = lookup(client, sc.token, g.id, key)
            assert r.status_code == 200, r.text
        with live.engine.connect() as conn:
            seen = {int(p): str(q) for p, q in conn.execute(_HOT_SESSIONS)}
        # Each key's worker has a hot-path session whose last statement read the source.
        for key in (K1, K2):
            assert table in seen[found.node_for(key)[1]]
    assert _records(s) == before + 2  # one record a call, on the coordinator's connection
    s.close()
    with live.engine.connect() as conn:
        left = {int(p): str(q) for p, q in conn.execute(_HOT_SESSIONS)}
    assert set(left.values()) == {""}  # the worker pools closed at shutdown


@pytest.mark.skipif(BACKEND != "citus", reason="runs on a Citus cluster (test-citus)")
def test_on_citus_a_worker_out_of_reach_fails_closed(
    live: LiveDb, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Art. 40: when the worker holding the key cannot be reached, nothing is read or sent;
    # the call answers 503, its quota call is given back, and no "allowed" record is written.
    s = live.factory()
    sc = build_share_city(s, live.world)
    g = grant_to_yz(s, live.world, sc, sc.person_source, [ID, "姓名"])
    s.commit()
    nowhere = free_port()  # nothing listens there
    monkeypatch.setattr(hotpath_nodes.NodePools, "OPEN_SECONDS", 1.0)
    monkeypatch.setattr(
        hotpath_nodes.NodePools,
        "conninfo",
        lambda self, node: make_conninfo(self.dsn, host="127.0.0.1", port=str(nowhere)),
    )
    app = create_app(dataclasses.replace(settings, sharing_hot_path_pool=2), live.engine)
    before = _records(s)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = lookup(client, sc.token, g.id, K1)
    assert (r.status_code, r.json()["error"]["code"]) == (503, "sharing.record_unavailable")
    assert "张三" not in r.text and K1 not in r.text
    assert _records(s) == before
    usage = s.scalars(select(GrantUsage).where(GrantUsage.grant_id == g.id)).one()
    assert usage.calls == 0
    s.close()
