"""Browser tests: the real app over HTTP (uvicorn in a thread) on a fresh database of the backend
under test, loaded with the demo city, driven by Playwright through Debian's Chromium.

Never a downloaded browser (DESIGN: "Browser tests"): a missing /usr/bin/chromium fails loudly.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from govdata.app import create_app
from govdata.core.actor import Role
from govdata.core.audit_checkpoints import audit_config
from govdata.core.audit_seal import start_sealer
from govdata.core.db import WRITES, make_engine, utcnow
from govdata.core.migrate import upgrade
from govdata.core.settings import Settings
from govdata.org.demo import BOOTSTRAP, default_regions_csv, load_demo_org
from govdata.org.models import Department, Region
from govdata.org.schemas import GrantIn, PersonCreate
from govdata.org.service import create_person
from tests.conftest import new_database_url
from tests.e2e.helpers import (
    LOCKED_USERNAME,
    LOCKOUT_NAME,
    LOCKOUT_PASSWORD,
    LOCKOUT_USERNAME,
    LiveServer,
    login,
    login_ok,
)
from tests.pgcluster import PgCluster

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(
    pg_cluster: PgCluster | None, tmp_path_factory: pytest.TempPathFactory, worker: str
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("e2e")
    url = new_database_url(pg_cluster, tmp, f"govdata_e2e_{worker}")
    engine = make_engine(url)
    upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session, session.begin():
        assert load_demo_org(session, default_regions_csv()) is not None
        departments = {d.name: d.id for d in session.scalars(select(Department))}
        # The lockout account sits in the last region's police department (after the first 200
        # departments in list order), so pages listing people must not depend on a short list.
        last_region = session.scalars(select(Region).order_by(Region.id.desc())).first()
        assert last_region is not None
        lockout_dept = f"{last_region.name}公安分局"
        person = create_person(
            session,
            BOOTSTRAP,
            PersonCreate(
                username=LOCKOUT_USERNAME,
                name=LOCKOUT_NAME,
                password=LOCKOUT_PASSWORD,
                department_id=departments[lockout_dept],
                kind="staff",
                grants=[
                    GrantIn(role=Role.DEPARTMENT_OFFICER, department_id=departments[lockout_dept])
                ],
            ),
        )
        lockout_id = person.id
        # And one account that is locked right now (the home page's 临时锁定的账户 stat).
        locked = create_person(
            session,
            BOOTSTRAP,
            PersonCreate(
                username=LOCKED_USERNAME,
                name="已锁定测试员",
                password=LOCKOUT_PASSWORD,
                department_id=departments["市大数据应用发展管理局"],
                kind="staff",
            ),
        )
        locked.failed_logins = 5
        locked.locked_until = utcnow() + timedelta(days=1)
    settings = Settings(
        database_url=url, secret_key="e2e", var_dir=tmp, log_json=True, rate_limit_enabled=False
    )
    app = create_app(settings, engine)
    # The audit sealer beside the server, as `govdata serve` runs it (decision 0010).
    sealer_stop = threading.Event()
    start_sealer(
        app.state.sessionmaker, audit_config(tmp, None, None), interval=0.2, stop=sealer_stop
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the e2e server thread died while starting (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the e2e server did not start on port {port} within 20 s")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(f"{base}/login", timeout=10) as answer:  # it answers
        assert answer.status == 200
    try:
        yield LiveServer(
            url=base,
            # The tests' own writes into the live database begin IMMEDIATE on SQLite, as the
            # platform's writing units of work do (core.db.WRITES): a deferred transaction that
            # reads, then writes after the server's sealer committed, fails at once with
            # SQLITE_BUSY_SNAPSHOT (no busy timeout applies to it).
            engine=engine.execution_options(**{WRITES: True}),
            departments=departments,
            lockout_person_id=lockout_id,
            lockout_department=lockout_dept,
        )
    finally:
        server.should_exit = True
        sealer_stop.set()
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    p = sync_playwright().start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests use Debian's chromium (apt-get install "
            "chromium fonts-noto-cjk; .ci/run does), never a downloaded browser",
            pytrace=False,
        )
    b = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    context.set_default_timeout(10_000)
    p = context.new_page()
    try:
        yield p
    finally:
        context.close()


@pytest.fixture
def new_page(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[], Page]]:
    """A further page in its own browser context (another person at another computer)."""
    contexts = []

    def _new() -> Page:
        context = browser.new_context(locale="zh-CN", base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _new
    for c in contexts:
        c.close()


@pytest.fixture(name="login")
def login_fixture() -> Callable[..., None]:
    """``login(page, username, password="Demo2026pass")``: fill 用户名 and 密码, click 登录."""
    return login


@pytest.fixture(name="login_ok")
def login_ok_fixture() -> Callable[..., None]:
    """Like ``login``, and asserts the sign-in succeeded."""
    return login_ok
