"""A database of its own whose transactions really commit: for tests of concurrent units of work.

The shared fixtures run every test inside one rolled-back connection, where two "requests" can
never race. ``live_database`` makes a fresh, migrated database of the backend under test (a
SQLite file in WAL mode, or a PostgreSQL database), seeds the test world and hands out its
engine and session factory; threads then open their own connections and commit for real.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from govdata.core.db import is_sqlite, make_engine, make_sessionmaker, transaction
from govdata.core.migrate import upgrade
from tests.conftest import new_database_url
from tests.pgcluster import PgCluster
from tests.world import World, build_world


@dataclass(frozen=True)
class LiveDb:
    engine: Engine
    factory: sessionmaker[Session]
    world: World


@contextmanager
def live_database(pg_cluster: PgCluster | None, tmp: Path, name: str) -> Iterator[LiveDb]:
    engine = make_engine(new_database_url(pg_cluster, tmp, name))
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        with transaction(factory) as session:
            world = build_world(session)
        yield LiveDb(engine, factory, world)
    finally:
        engine.dispose()


def wait_until_blocked(engine: Engine, thread: threading.Thread, *, timeout: float = 30) -> None:
    """Return once ``thread`` waits for a lock another transaction holds.

    PostgreSQL shows the wait in ``pg_stat_activity``; SQLite waits inside its busy handler,
    invisible from outside, so there a short pause stands in for it.
    """
    if is_sqlite(engine):
        time.sleep(0.5)
        return
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            # pg_stat_activity is read once per transaction and kept until its end: without
            # this, a wait that began after the first look was never seen (under a loaded run
            # the look came first, and the test sat out the whole timeout).
            conn.rollback()
            if waiting:
                return
            if not thread.is_alive():
                return  # it finished without waiting: the test's assertions will say so
            time.sleep(0.02)
    # Not seen waiting in time: go on. The first transaction then commits and the test's own
    # assertions judge what both did; a real deadlock still fails at the thread's join.


def in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    """Start ``fn`` in a thread; the dict receives its ``result`` or ``error``."""
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["result"] = fn()
        except BaseException as exc:  # handed to the test thread
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out
