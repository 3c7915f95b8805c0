"""Rate limits from the attacker's side (Art. 39 控制; decision 0011): a bulk read of a pool is
stopped with 429 and ``Retry-After`` before the end, a person's sessions share one budget,
other people and addresses are unaffected, and on PostgreSQL every app instance counts in
the same counters."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from govdata.app.factory import create_app
from govdata.core.access import AccessRecord
from govdata.core.ratelimit import (
    Budgets,
    DatabaseStorage,
    Limiter,
    counter_engine,
    parse_limit,
)
from govdata.core.settings import Settings
from govdata.org import auth
from govdata.org.schemas import TokenCreate
from tests.aggregation.test_access_records import person_pool
from tests.world import PASSWORD, World

HTML = {"Accept": "text/html"}
OFF = {
    "rate_limit_per_address": "",
    "rate_limit_per_person": "",
    "rate_limit_per_token": "",
    "rate_limit_personal_reads": "",
    "rate_limit_personal_rows": "",
}

MakeApp = Callable[..., FastAPI]


@pytest.fixture
def make_app(
    settings: Settings, engine: Engine, test_sessionmaker: sessionmaker[Session]
) -> Iterator[MakeApp]:
    """Apps with the given limits (the others off), on the test's transaction; counters start
    empty and are emptied again afterwards (on PostgreSQL they outlive the transaction)."""
    made: list[FastAPI] = []

    def _make(**limits: str) -> FastAPI:
        chosen = {**OFF, **limits}
        app = create_app(dataclasses.replace(settings, rate_limit_enabled=True, **chosen), engine)
        app.state.sessionmaker = test_sessionmaker
        if not made:
            limiter(app).storage.reset()
        made.append(app)
        return app

    yield _make
    if made:
        limiter(made[0]).storage.reset()
    for app in made:
        limiter(app).close()


def limiter(app: FastAPI) -> Limiter:
    found = app.state.rate_limiter
    assert isinstance(found, Limiter)
    return found


def client(app: FastAPI, address: str = "198.51.100.1") -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 40000))


def signed_in(app: FastAPI, username: str, address: str = "198.51.100.1") -> TestClient:
    c = client(app, address)
    r = c.post("/api/v1/auth/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return c


def assert_limited(r: Any, scope: str) -> int:
    assert r.status_code == 429, r.text
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 60
    error = r.json()["error"]
    assert error["code"] == "request.rate_limited"
    assert error["message"] == f"请求过于频繁，请于{retry}秒后重试。"
    assert error["detail"]["scope"] == scope and error["detail"]["retry_after"] == retry
    return retry


# --- bulk extraction ------------------------------------------------------------------------------


def test_a_4000_row_pool_read_in_a_burst_is_stopped_before_the_end(
    make_app: MakeApp, session: Session, world: World
) -> None:
    # The issue's attack: a 4,000-row pool of ID numbers read whole in pages of 1,000.
    pool = person_pool(session, world, rows=4000)
    session.commit()
    app = make_app(
        rate_limit_per_address="600/minute",
        rate_limit_per_person="300/minute",
        rate_limit_personal_reads="60/minute",
        rate_limit_personal_rows="2000/minute",
    )
    c = signed_in(app, "officer")
    got = 0
    answers = []
    for offset in range(0, 4000, 1000):
        r = c.get(f"/api/v1/aggregation/pools/{pool.id}/rows?offset={offset}&limit=1000")
        answers.append(r.status_code)
        if r.status_code != 200:
            assert_limited(r, "personal_rows")
            break
        got += len(r.json()["rows"])
    assert answers == [200, 200, 429] and got == 2000
    # The refused read left its trace, and no allowed record for the rows it did not return.
    last = session.scalars(select(AccessRecord).order_by(AccessRecord.id.desc())).first()
    assert last is not None
    assert (last.outcome, last.reason, last.rows) == ("refused", "request.rate_limited", 0)
    # The pool page (HTML) is refused too, with a zh-CN page and Retry-After.
    page = c.get(f"/aggregation/pools/{pool.id}", headers=HTML)
    assert page.status_code == 429 and "请求过于频繁" in page.text
    assert int(page.headers["Retry-After"]) >= 1


def test_small_pages_at_a_high_rate_are_stopped_by_the_request_budget(
    make_app: MakeApp, session: Session, world: World
) -> None:
    pool = person_pool(session, world, rows=200)
    session.commit()
    app = make_app(rate_limit_personal_reads="5/minute")
    c = signed_in(app, "officer")
    codes = [
        c.get(f"/api/v1/aggregation/pools/{pool.id}/rows?offset={n * 20}&limit=20").status_code
        for n in range(6)
    ]
    assert codes == [200] * 5 + [429]


def test_a_persons_second_session_shares_the_budget_and_others_are_unaffected(
    make_app: MakeApp, session: Session, world: World
) -> None:
    pool = person_pool(session, world, rows=10)
    session.commit()
    app = make_app(rate_limit_personal_reads="4/minute")
    first, second = signed_in(app, "officer"), signed_in(app, "officer", address="198.51.100.2")
    url = f"/api/v1/aggregation/pools/{pool.id}/rows?limit=5"
    assert [first.get(url).status_code for _ in range(2)] == [200, 200]
    assert [second.get(url).status_code for _ in range(2)] == [200, 200]
    assert_limited(second.get(url), "personal_reads")
    assert_limited(first.get(url), "personal_reads")
    # Another person of the same department, from the same address, reads on.
    assert signed_in(app, "head").get(url).status_code == 200


def test_every_request_of_a_person_counts_across_sessions(make_app: MakeApp) -> None:
    app = make_app(rate_limit_per_person="3/minute")
    a, b = signed_in(app, "officer"), signed_in(app, "officer", address="198.51.100.9")
    assert a.get("/api/v1/me").status_code == 200
    assert b.get("/api/v1/me").status_code == 200
    assert a.get("/", headers=HTML).status_code == 200
    assert_limited(b.get("/api/v1/me"), "person")
    assert signed_in(app, "officer2").get("/api/v1/me").status_code == 200


def test_a_token_has_a_budget_of_its_own(make_app: MakeApp, session: Session, world: World) -> None:
    issued = auth.issue_token(
        session,
        world.actor(session, "officer"),
        world.police,
        TokenCreate(name="警务数据系统", scopes=["org:read"]),
    )
    session.commit()
    app = make_app(rate_limit_per_token="2/minute")
    c = client(app)
    bearer = {"Authorization": f"Bearer {issued.secret}"}
    assert [c.get("/api/v1/me", headers=bearer).status_code for _ in range(2)] == [200, 200]
    assert_limited(c.get("/api/v1/me", headers=bearer), "token")
    # The person who issued it is another budget.
    assert signed_in(app, "officer").get("/api/v1/me").status_code == 200


# --- per address, signed in or not ----------------------------------------------------------------


def test_anonymous_sign_in_attempts_are_limited_per_address(make_app: MakeApp) -> None:
    app = make_app(rate_limit_per_address="3/minute")
    c = client(app, "203.0.113.5")
    wrong = {"username": "nobody", "password": "guess"}
    codes = [c.post("/api/v1/auth/session", json=wrong).status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    assert_limited(c.post("/api/v1/auth/session", json=wrong), "address")
    page = c.get("/login", headers=HTML)
    assert page.status_code == 429 and "请求过于频繁" in page.text
    assert page.headers["Retry-After"]
    # Another address signs in; static assets are not counted.
    assert signed_in(app, "officer", address="203.0.113.6").get("/api/v1/me").status_code == 200
    assert c.get("/static/app.css").status_code != 429


# --- shared by every worker on PostgreSQL ---------------------------------------------------------


def test_two_app_instances_share_the_counters_on_postgresql(
    make_app: MakeApp, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one process: its counters are in memory")
    one = make_app(rate_limit_per_address="4/minute")
    two = make_app(rate_limit_per_address="4/minute")
    assert one.state.rate_limiter is not two.state.rate_limiter
    a, b = client(one, "192.0.2.10"), client(two, "192.0.2.10")
    assert [a.get("/login").status_code, b.get("/login").status_code] == [200, 200]
    assert [a.get("/login").status_code, b.get("/login").status_code] == [200, 200]
    assert_limited(b.get("/api/v1/me"), "address")
    assert_limited(a.get("/api/v1/me"), "address")
    assert client(one, "192.0.2.11").get("/login").status_code == 200
    with engine.connect() as conn:  # counters skip the write-ahead log
        persistence = conn.execute(
            text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_limit_counters'")
        ).scalar()
    assert persistence == "u"


def test_an_unreachable_counter_store_lets_requests_through() -> None:
    # The request needs the same database anyway: a counter outage must not refuse everyone.
    dead = counter_engine(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    tight = parse_limit("1/minute", "test")
    limiter = Limiter(DatabaseStorage(dead), Budgets(tight, tight, tight, tight, tight))
    for _ in range(3):
        limiter.check_address("192.0.2.50")
    limiter.close()


def test_a_limit_setting_that_is_not_a_rate_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="GOVDATA_RATE_LIMIT_PER_ADDRESS"):
        create_app(
            dataclasses.replace(
                settings, rate_limit_enabled=True, rate_limit_per_address="lots per minute"
            )
        )
