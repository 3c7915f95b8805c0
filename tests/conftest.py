"""Test fixtures: one migrated database per engine and xdist worker, a rolled-back transaction
per test, the app over HTTP, and a seeded "world" of regions, departments and people.

``GOVDATA_TEST_DB=sqlite`` (default), ``postgresql`` or ``citus``. PostgreSQL uses
``GOVDATA_TEST_DATABASE_URL`` when set (a server you run), else a throwaway cluster. ``citus``
(``make test-citus``, decision 0022) starts a coordinator and two workers and runs the tests on
databases formed into a cluster; it needs Citus built into the server (the target does that).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from govdata.app import create_app
from govdata.core.db import make_engine
from govdata.core.migrate import upgrade
from govdata.core.settings import Settings
from tests.demo_city import DemoCityBase
from tests.pgcluster import CitusCluster, PgCluster, citus_installed
from tests.world import World, build_world

BACKEND = os.environ.get("GOVDATA_TEST_DB", "sqlite")
# PostgreSQL, plain or distributed on Citus: the tests of PostgreSQL's own behaviour run on both.
POSTGRES = BACKEND in ("postgresql", "citus")

# Hypothesis' deadline and too_slow health check are timing assertions: on a shared 2-core
# machine they fail whatever the code does. Properties are checked, never their speed.
hypothesis.settings.register_profile(
    "govdata", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("govdata")


def pytest_report_header() -> str:
    return f"govdata test database: {BACKEND}"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster | CitusCluster | None]:
    if BACKEND == "citus":
        if not citus_installed():
            pytest.exit("GOVDATA_TEST_DB=citus: Citus is not installed (make test-citus builds it)")
        citus = CitusCluster().start()
        try:
            yield citus
        finally:
            citus.stop()
        return
    if BACKEND != "postgresql" or os.environ.get("GOVDATA_TEST_DATABASE_URL"):
        yield None
        return
    cluster = PgCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _create_pg_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # FORCE: a session an earlier (failed) test left must not fail this one's setup.
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def new_database_url(pg_cluster: PgCluster | CitusCluster | None, tmp: Path, name: str) -> str:
    """A fresh, empty database of the backend under test."""
    if BACKEND == "sqlite":
        return f"sqlite:///{tmp / (name + '.db')}"
    if BACKEND == "citus":
        assert isinstance(pg_cluster, CitusCluster)
        return pg_cluster.create_database(name)
    if BACKEND != "postgresql":
        raise RuntimeError(f"unknown GOVDATA_TEST_DB={BACKEND!r}")
    configured = os.environ.get("GOVDATA_TEST_DATABASE_URL")
    if configured:
        base = re.sub(r"/[^/?]*(\?|$)", r"/postgres\1", configured, count=1)
        _create_pg_database(base, name)
        return re.sub(r"/[^/?]*(\?|$)", rf"/{name}\1", configured, count=1)
    assert isinstance(pg_cluster, PgCluster)
    _create_pg_database(pg_cluster.url(), name)
    return pg_cluster.url(name)


@pytest.fixture(scope="session")
def worker(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


@pytest.fixture(scope="session")
def engine(
    pg_cluster: PgCluster | CitusCluster | None,
    tmp_path_factory: pytest.TempPathFactory,
    worker: str,
) -> Iterator[Engine]:
    url = new_database_url(pg_cluster, tmp_path_factory.mktemp("db"), f"govdata_test_{worker}")
    eng = make_engine(url)
    upgrade(eng)  # the real migrations, on the real engine
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def world(engine: Engine) -> World:
    """Committed once per session; every test runs in a transaction on top of it."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session, session.begin():
        return build_world(session)


@pytest.fixture
def connection(engine: Engine, world: World) -> Iterator[object]:
    conn = engine.connect()
    outer = conn.begin()
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()


@pytest.fixture
def test_sessionmaker(connection: object) -> sessionmaker[Session]:
    # Each Session's commit only releases a savepoint: the outer transaction rolls back.
    return sessionmaker(
        bind=connection,  # type: ignore[arg-type]
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )


@pytest.fixture
def session(test_sessionmaker: sessionmaker[Session]) -> Iterator[Session]:
    s = test_sessionmaker()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var = tmp_path_factory.mktemp("var")
    return Settings(
        database_url="sqlite://",  # unused: tests hand the app its engine
        secret_key="test-secret-key",
        var_dir=var,
        max_body_bytes=64 * 1024,
        log_json=True,
        # The suite makes many requests from one address: limits only in their own tests.
        rate_limit_enabled=False,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine, test_sessionmaker: sessionmaker[Session]) -> FastAPI:
    application = create_app(settings, engine)
    application.state.sessionmaker = test_sessionmaker
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@dataclass
class SignedInClient:
    client: TestClient
    csrf: str

    def get(self, url: str, **kw: object) -> object:
        return self.client.get(url, **kw)  # type: ignore[arg-type]

    def _unsafe(self, method: str, url: str, **kw: object) -> object:
        headers = dict(kw.pop("headers", {}) or {})  # type: ignore[call-overload]
        headers.setdefault("X-CSRF-Token", self.csrf)
        return self.client.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]

    def post(self, url: str, **kw: object) -> object:
        return self._unsafe("POST", url, **kw)

    def put(self, url: str, **kw: object) -> object:
        return self._unsafe("PUT", url, **kw)

    def patch(self, url: str, **kw: object) -> object:
        return self._unsafe("PATCH", url, **kw)

    def delete(self, url: str, **kw: object) -> object:
        return self._unsafe("DELETE", url, **kw)


@pytest.fixture
def sign_in(app: FastAPI) -> Iterator[object]:
    """``sign_in("city")`` → a client signed in as that world account, with its CSRF token."""
    clients: list[TestClient] = []

    def _sign_in(username: str, password: str | None = None) -> SignedInClient:
        from tests.world import PASSWORD

        c = TestClient(app, raise_server_exceptions=False)
        c.__enter__()
        clients.append(c)
        r = c.post(
            "/api/v1/auth/session", json={"username": username, "password": password or PASSWORD}
        )
        assert r.status_code == 200, r.text
        return SignedInClient(c, r.json()["csrf_token"])

    yield _sign_in
    for c in clients:
        c.__exit__(None, None, None)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Whole files to a worker (``--dist loadfile``), except that the modules starting from the
    built demo city go together (``tests.demo_city.SHARED_SCOPES``): one build serves them."""
    from xdist.scheduler import LoadScopeScheduling

    from tests.demo_city import SHARED_SCOPES

    class _Scheduler(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return SHARED_SCOPES.get(path, path)

    return _Scheduler(config, log)


@pytest.fixture(scope="session")
def demo_city_base(
    pg_cluster: PgCluster | None, tmp_path_factory: pytest.TempPathFactory, worker: str
) -> DemoCityBase:
    """The demo city's organization, catalog and loaded pools, built once per worker; a module
    takes its own copy with ``tests.demo_city.copy``."""
    from tests.demo_city import build

    return build(pg_cluster, tmp_path_factory.mktemp("demo-city"), f"govdata_democity_{worker}")
