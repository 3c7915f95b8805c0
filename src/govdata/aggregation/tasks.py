"""Background jobs of aggregation: running a load, then what depends on the loaded pool.

``run_load`` is what the web upload, the API push (as a job) and the CLI (in the foreground,
with a progress bar) all call. After a successful load, in transactions of their own, the base
databases fed by the pool are rebuilt incrementally (Art. 17 ¶2, 18) and the thematic databases
reading it are refreshed (Art. 17 ¶3): a failure there never undoes the load, and is recorded.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import base, loading, thematic
from govdata.aggregation.models import Load, LoadStatus, Pool
from govdata.core.db import transaction, utcnow
from govdata.core.jobs import job

log = structlog.get_logger(__name__)


def _progress_writer(factory: sessionmaker[Session]) -> loading.Progress | None:
    """On PostgreSQL the load is one transaction: its progress goes through another connection
    so that the load page can show it. (On SQLite the load commits its batches itself.)"""
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name == "sqlite":
        return None

    def write(p: loading.LoadProgress) -> None:
        with bind.begin() as conn:
            conn.execute(
                update(Load)
                .where(Load.id == p.load_id, Load.status == LoadStatus.RUNNING)
                .values(
                    rows_read=p.rows_read,
                    rows_estimated=p.rows_estimated,
                    rows_bad=p.rows_bad,
                    heartbeat_at=utcnow(),
                )
            )

    return write


def run_load(
    factory: sessionmaker[Session],
    load_id: int,
    *,
    progress: loading.Progress | None = None,
) -> Load:
    """Run one queued load to its end, then refresh what depends on the pool."""
    writer = _progress_writer(factory)

    def both(p: loading.LoadProgress) -> None:
        if writer is not None:
            writer(p)
        if progress is not None:
            progress(p)

    session = factory()
    try:
        loading.sweep(session)
        session.commit()
        load = loading.execute(session, load_id, progress=both)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    loading.remove_spool(load)
    if load.status == LoadStatus.SUCCEEDED:
        after_load(factory, load.id)
    return load


def after_load(factory: sessionmaker[Session], load_id: int) -> None:
    """Rebuild base databases fed by the pool and refresh thematic databases reading it."""
    try:
        with transaction(factory) as session:
            load = session.get(Load, load_id)
            assert load is not None
            pool = session.get(Pool, load.pool_id)
            assert pool is not None
            base.rebuild_after_load(session, pool, load)
            thematic.refresh_dependents(session, pool)
    except Exception:
        # The load stands; the bases keep their previous state (their rebuild is atomic) and
        # the next load or a manual build catches up.
        log.exception("aggregation.after_load_failed", load_id=load_id)


@job("aggregation.run_load")
def run_load_job(factory: sessionmaker[Session], *, load_id: int) -> None:
    run_load(factory, load_id)


@job("aggregation.sweep")
def sweep_job(factory: sessionmaker[Session]) -> None:
    """Periodic: loads a killed process left running are failed and their staging removed."""
    with transaction(factory) as session:
        loading.sweep(session)


def start(factory: sessionmaker[Session], engine: Engine, jobs_mode: str, load_id: int) -> None:
    """Start a committed, queued load: queue it (procrastinate, PostgreSQL) or run it here.

    Called after the request's transaction has committed (a background task of the response).
    """
    from govdata.core import jobs

    url = engine.url.render_as_string(hide_password=False)
    if jobs.uses_queue(jobs_mode, url):
        jobs.defer("aggregation.run_load", url, load_id=load_id)
        return
    run_load(factory, load_id)
