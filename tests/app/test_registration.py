"""The shell builds the app from the domains' registrations: a new domain is one package and
one entry in the list, nothing else (issue 11 §1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from govdata.app import create_app
from govdata.app.domains import all_domains
from govdata.app.nav import entries
from govdata.core import jobs
from govdata.core.settings import Settings
from tests.app import probe


@pytest.fixture
def app(settings: Settings, engine: Engine, test_sessionmaker: sessionmaker[Session]) -> FastAPI:
    application = create_app(settings, engine, domains=[*all_domains(), probe.PROBE])
    application.state.sessionmaker = test_sessionmaker
    return application


def test_a_registered_domain_serves_its_api_and_pages(sign_in) -> None:  # type: ignore[no-untyped-def]
    city = sign_in("city")
    r = city.get("/api/v1/probe/ping")
    assert r.status_code == 200, r.text
    assert r.json() == {"pong": "陈市管"}
    page = city.get("/probe")
    assert page.status_code == 200
    assert "探针页面" in page.text


def test_its_navigation_calls_its_own_rule(sign_in) -> None:  # type: ignore[no-untyped-def]
    city = sign_in("city").get("/").text
    assert 'href="/probe"' in city
    assert "探针概况" in city  # its home section
    # The probe's rule admits only the city bureau: an officer sees neither entry nor section.
    officer = sign_in("officer").get("/").text
    assert 'href="/probe"' not in officer
    assert "探针概况" not in officer


def test_its_entry_stands_where_its_order_says() -> None:
    labels = [e.label for e in entries([*all_domains(), probe.PROBE])]
    assert labels.index("主题数据库") < labels.index("探针") < labels.index("工作日历")


def test_its_jobs_and_schedule_are_registered(
    app: FastAPI, test_sessionmaker: sessionmaker[Session]
) -> None:
    assert jobs.periodic_jobs()["probe.tick"] == "*/5 * * * *"
    due = jobs.next_runs(datetime(2026, 12, 5, 8, 1, tzinfo=UTC))
    assert due["probe.tick"] == datetime(2026, 12, 5, 8, 5, tzinfo=UTC)
    before = len(probe.RUNS)
    jobs.run_inline("probe.tick", test_sessionmaker)
    assert len(probe.RUNS) == before + 1


def test_the_platform_itself_names_no_domain_outside_the_shell() -> None:
    """core/ imports nothing above it; web/ knows no domain (issue 11 §1)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "src" / "govdata"
    above = {
        "core": (
            "govdata.org",
            "govdata.web",
            "govdata.app",
            "govdata.catalog",
            "govdata.aggregation",
        ),
        "web": ("govdata.org", "govdata.app", "govdata.catalog", "govdata.aggregation"),
    }
    offenders = []
    for package, forbidden in above.items():
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                offenders += [f"{path.name}: {n}" for n in names if n.startswith(forbidden)]
    assert offenders == []


def test_without_a_queue_the_web_process_runs_periodic_jobs(
    app: FastAPI, test_sessionmaker: sessionmaker[Session]
) -> None:
    """SQLite: ``govdata serve`` runs the schedule in a thread; a failing run does not stop it."""
    import threading

    calls: list[str] = []

    @jobs.job("probe.every_second")
    def every_second(factory: sessionmaker[Session]) -> None:
        calls.append("run")
        if len(calls) == 1:
            raise RuntimeError("the first run fails")

    jobs.register_periodic("probe.every_second", "* * * * * *")  # croniter: seconds field
    stop = threading.Event()
    try:
        thread = jobs.start_periodic_thread(test_sessionmaker, stop)
        deadline = datetime.now(UTC).timestamp() + 30
        while len(calls) < 2 and datetime.now(UTC).timestamp() < deadline:
            stop.wait(0.1)
    finally:
        stop.set()
        jobs._PERIODIC.pop("probe.every_second", None)
    thread.join(5)
    assert len(calls) >= 2  # the failure was logged and the schedule went on
    assert not thread.is_alive()
