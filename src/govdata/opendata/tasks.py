"""Background jobs of releases (Art. 31 ¶2): a build, and the periodic rebuild of datasets
whose pool moved or whose update cycle came round (``releases.due_for_rebuild``).

As aggregation's loads: on PostgreSQL the jobs go to procrastinate's queue (``govdata
worker``); on SQLite they run in-process (a background task of the response, the periodic
thread of ``govdata serve``). On PostgreSQL a build is one transaction, so its progress goes
through another connection into the release's ``scan`` (``{"progress": …}``) while it builds;
the scan's report replaces it at the end.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import transaction
from govdata.core.jobs import job
from govdata.opendata import build, releases
from govdata.opendata.models import OpenDataset, Release, ReleaseStatus

log = structlog.get_logger(__name__)
REBUILDER = Actor(person_id=None, name="开放数据定期更新")
# Builds running in this process on SQLite: release id → (rows done, rows in all).
LOCAL_PROGRESS: dict[int, tuple[int, int]] = {}
REASON_LABELS = {"pool_changed": "资源池数据已更新", "cycle": "到达更新周期"}


def run_build(factory: sessionmaker[Session], release_id: int) -> None:
    """Build one requested release to its end (READY, BLOCKED or FAILED)."""
    bind = factory.kw.get("bind")

    def in_process(done: int, total: int) -> None:
        LOCAL_PROGRESS[release_id] = (done, total)

    # SQLite (and a test's connection): the build holds the one writer's lock, so its progress
    # stays in this process, where SQLite's builds run, for the page to read.
    progress: build.Progress = in_process
    if isinstance(bind, Engine) and bind.dialect.name != "sqlite":
        engine = bind

        def in_database(done: int, total: int) -> None:
            with engine.begin() as conn:
                conn.execute(
                    update(Release)
                    .where(Release.id == release_id, Release.status == ReleaseStatus.BUILDING.value)
                    .values(scan={"progress": {"rows": done, "total": total}})
                )

        progress = in_database

    try:
        with transaction(factory) as session:
            releases.execute_build(session, release_id, progress=progress)
    finally:
        LOCAL_PROGRESS.pop(release_id, None)


@job("opendata.build_release")
def build_release_job(factory: sessionmaker[Session], *, release_id: int) -> None:
    run_build(factory, release_id)


@job("opendata.rebuild_releases")
def rebuild_releases_job(factory: sessionmaker[Session]) -> None:
    """Periodic: a new version for each dataset whose pool moved since its latest release or
    whose update cycle came round; each built in a transaction of its own, so one failure does
    not hold back the others. A new version waits for the provider to publish it."""
    with transaction(factory) as session:
        due = [(d.id, reason) for d, reason in releases.due_for_rebuild(session)]
    for dataset_id, reason in due:
        try:
            with transaction(factory) as session:
                dataset = session.get(OpenDataset, dataset_id)
                assert dataset is not None
                release = releases.create_release(session, dataset, reason=reason, built_by=None)
                release_id = release.id
                # The schedule's own version is on the audit trail as a provider's is (Art. 41).
                audit.record(
                    session,
                    REBUILDER,
                    "opendata.release_requested",
                    object_type="open_release",
                    object_id=release_id,
                    summary=f"按计划生成{dataset.name}的开放数据第{release.version}版"
                    f"（{REASON_LABELS.get(reason, reason)}）",
                    change={"dataset": dataset.code, "version": release.version, "reason": reason},
                    department_id=dataset.department_id,
                )
            run_build(factory, release_id)
        except Exception:
            log.exception("opendata.rebuild_failed", dataset_id=dataset_id)


def start(factory: sessionmaker[Session], engine: Engine, jobs_mode: str, release_id: int) -> None:
    """Start a committed BUILDING release: queue it (procrastinate, PostgreSQL) or run it here
    (a background task of the response)."""
    from govdata.core import jobs

    url = engine.url.render_as_string(hide_password=False)
    if jobs.uses_queue(jobs_mode, url):
        jobs.defer("opendata.build_release", url, release_id=release_id)
        return
    run_build(factory, release_id)
