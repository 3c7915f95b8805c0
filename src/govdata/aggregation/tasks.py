"""Background jobs of aggregation: running a load, then what depends on the loaded pool.

``run_load`` is what the web upload, the API push (as a job) and the CLI (in the foreground,
with a progress bar) all call. After a successful load, in transactions of their own, the base
databases fed by the pool are rebuilt incrementally (Art. 17 ¶2, 18) and the thematic databases
reading it are refreshed (Art. 17 ¶3): a failure there never undoes the load. A failed base
rebuild marks the bases stale (``base.staleness``: shown on their pages, cleared by the next
full build); on PostgreSQL the rebuild is a job of its own that procrastinate retries.
"""

from __future__ import annotations

import procrastinate
import structlog
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import base, loading, spool, thematic
from govdata.aggregation.models import Load, LoadStatus, Pool
from govdata.core.db import open_session, transaction, utcnow
from govdata.core.jobs import job

log = structlog.get_logger(__name__)

#: The rebuild after a load, retried on PostgreSQL: 5 attempts, waiting 10 s, 20 s, 40 s …
AFTER_LOAD_RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=10)


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
    queue_url: str | None = None,
) -> Load:
    """Run one queued load to its end, then refresh what depends on the pool: here, or as
    the retried job ``aggregation.after_load`` when ``queue_url`` names procrastinate's
    database (a worker)."""
    writer = _progress_writer(factory)

    def both(p: loading.LoadProgress) -> None:
        if writer is not None:
            writer(p)
        if progress is not None:
            progress(p)

    # A writing unit of work (on SQLite: BEGIN IMMEDIATE). Deferred, its first write after a
    # read failed at once with SQLITE_BUSY_SNAPSHOT whenever another writer (the audit and
    # access-record sealer, every half second) committed in between.
    session = open_session(factory, write=True)
    try:
        loading.sweep(session)
        spool.remove_orphans(session)
        session.commit()
        load = loading.execute(session, load_id, progress=both)
        session.commit()
    except BaseException:
        session.rollback()
        spool.remove_after_failure(session, load_id)
        raise
    finally:
        session.close()
    loading.remove_spool(load)
    if load.status == LoadStatus.SUCCEEDED:
        if queue_url is not None:
            from govdata.core import jobs

            jobs.defer("aggregation.after_load", queue_url, load_id=load.id)
        else:
            after_load(factory, load.id)
    return load


def after_load(factory: sessionmaker[Session], load_id: int, *, reraise: bool = False) -> None:
    """Rebuild base databases fed by the pool and refresh thematic databases reading it.

    A failed base rebuild leaves the bases as they were (it is atomic) and marks them stale,
    in a transaction of its own; ``reraise`` lets procrastinate retry the job.
    """
    try:
        with transaction(factory) as session:
            load = session.get(Load, load_id)
            assert load is not None
            pool = session.get(Pool, load.pool_id)
            assert pool is not None
            base.rebuild_after_load(session, pool, load)
            thematic.refresh_dependents(session, pool)
    except Exception:
        log.exception("aggregation.after_load_failed", load_id=load_id)
        with transaction(factory) as session:
            base.mark_stale(session, load_id)
        if reraise:
            raise


@job("aggregation.run_load")
def run_load_job(factory: sessionmaker[Session], *, load_id: int) -> None:
    """In a worker (PostgreSQL): what follows the load is a retried job of its own."""
    bind = factory.kw.get("bind")
    assert isinstance(bind, Engine)
    run_load(factory, load_id, queue_url=bind.url.render_as_string(hide_password=False))


@job("aggregation.after_load", retry=AFTER_LOAD_RETRY)
def after_load_job(factory: sessionmaker[Session], *, load_id: int) -> None:
    after_load(factory, load_id, reraise=True)


@job("aggregation.sweep")
def sweep_job(factory: sessionmaker[Session]) -> None:
    """Periodic: loads a killed process left running are failed and their staging removed;
    spooled upload files no queued or running load owns are deleted."""
    with transaction(factory) as session:
        loading.sweep(session)
        spool.remove_orphans(session)


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
