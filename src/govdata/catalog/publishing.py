"""Publishing the next catalog version as a background job (Art. 12 ¶3).

A version of 100,000 resources took 28–41 s inside the request. The city bureau's page now
records a ``CatalogPublication`` and returns; the job ``catalog.publish`` (procrastinate on
PostgreSQL, in-process after the response on SQLite, as aggregation runs its loads) calls
``review.publish`` in a transaction of its own and reports its stage and progress, which the
publication's page shows.

Progress: on PostgreSQL the job writes it to the publication's row through another connection
(the publishing transaction is not committed yet); on SQLite, whose single writer is the job
itself, it is kept in this process (``live``), where the job runs. One publication at a time;
one whose job went silent for ``STALE_AFTER`` is failed so that the next can start.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from govdata.catalog import review, submissions
from govdata.catalog.models import CatalogPublication, PublicationStatus
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import open_session, transaction, utcnow
from govdata.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from govdata.core.jobs import job
from govdata.org import policy as org_policy
from govdata.org import service as org_service

log = structlog.get_logger(__name__)

STALE_AFTER = timedelta(minutes=15)
_ACTIVE = (PublicationStatus.QUEUED.value, PublicationStatus.RUNNING.value)

#: What each stage of ``review.publish`` is called on the page.
STAGES = {
    "": "等待开始",
    "members": "编入新版目录",
    "resources": "更新资源状态",
    "submissions": "办结已审核的清单",
    "index": "更新目录检索索引",
    "broad": "预先算出常用检索词的结果",
    "done": "完成",
}


@dataclass(frozen=True)
class Live:
    stage: str
    done: int
    total: int


_live: dict[int, Live] = {}
_live_lock = threading.Lock()


def live(publication_id: int) -> Live | None:
    """The progress of a publication running in this process (SQLite), if any."""
    with _live_lock:
        return _live.get(publication_id)


def progress(publication: CatalogPublication) -> tuple[str, int, int]:
    """(stage, done, total) of a publication: this process's live figures while it runs here
    (SQLite), else what the job last wrote to its row."""
    current = live(publication.id)
    if current is not None and not PublicationStatus(publication.status).finished:
        return current.stage, current.done, current.total
    return publication.stage, publication.done, publication.total


def _fail_stale(session: Session) -> None:
    session.execute(
        update(CatalogPublication)
        .where(
            CatalogPublication.status.in_(_ACTIVE),
            CatalogPublication.heartbeat_at < utcnow() - STALE_AFTER,
        )
        .values(
            status=PublicationStatus.FAILED.value,
            finished_at=utcnow(),
            error="发布进程已中断，未发布新版本；请重新发布。",
        )
        .execution_options(synchronize_session=False)
    )


def request(session: Session, actor: Actor, *, note: str = "") -> CatalogPublication:
    """The city bureau asks for the next version: recorded now, published by the job."""
    preview = submissions.publication_preview(session, actor)  # the city bureau only
    if not preview.total:
        raise InvalidInput("catalog.nothing_to_publish", "没有审核通过待发布的条目。")
    _fail_stale(session)
    running = session.scalar(
        select(CatalogPublication.id).where(CatalogPublication.status.in_(_ACTIVE)).limit(1)
    )
    if running is not None:
        raise Conflict(
            "catalog.publication_running",
            f"第 {running} 次发布尚未完成，请等待其完成后再发布。",
            detail={"publication_id": running},
        )
    publication = CatalogPublication(
        status=PublicationStatus.QUEUED,
        note=note,
        requested_by=actor.person_id,
        requested_by_name=actor.name[:64],
        total=preview.total,
    )
    session.add(publication)
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.version.publish_request",
        object_type="catalog_publication",
        object_id=publication.id,
        summary=(
            f"申请发布政务数据资源目录第{preview.number}版：新增{preview.added}、"
            f"变更{preview.changed}、撤销{preview.withdrawn}"
        ),
        change={"note": note, "number": preview.number},
    )
    return publication


def latest(session: Session, actor: Actor) -> CatalogPublication | None:
    """The newest publication, for the review page to show while (and after) it runs."""
    org_policy.require_staff(actor)
    if not org_policy.sees_everything(actor):
        return None
    return session.scalar(
        select(CatalogPublication).order_by(CatalogPublication.id.desc()).limit(1)
    )


def get(session: Session, actor: Actor, publication_id: int) -> CatalogPublication:
    """A publication, for the city bureau and those who oversee it (people, not systems)."""
    if actor.token_id is not None:
        raise PermissionDenied(
            "catalog.publication_people_only", "发布记录仅供市数据主管部门和审计监督人员查看。"
        )
    org_policy.require_staff(actor)
    publication = session.get(CatalogPublication, publication_id)
    if publication is None or not org_policy.sees_everything(actor):
        raise NotFound("catalog.publication_not_found", "未找到该发布记录。")
    return publication


def progress_writer(factory: sessionmaker[Session], publication_id: int) -> review.Progress:
    bind = factory.kw.get("bind")
    to_row = isinstance(bind, Engine) and bind.dialect.name != "sqlite"

    def write(stage: str, done: int, total: int) -> None:
        with _live_lock:
            _live[publication_id] = Live(stage, done, total)
        if to_row:
            assert isinstance(bind, Engine)
            with bind.begin() as conn:
                conn.execute(
                    update(CatalogPublication)
                    .where(CatalogPublication.id == publication_id)
                    .values(stage=stage, done=done, total=total, heartbeat_at=utcnow())
                )

    return write


def run(factory: sessionmaker[Session], publication_id: int) -> None:
    """Publish for a queued publication; it ends succeeded with its version, or failed with
    the reason (nothing of the version is written then)."""
    with transaction(factory) as session:
        publication = session.get(CatalogPublication, publication_id)
        if publication is None or publication.status != PublicationStatus.QUEUED:
            return
        publication.status = PublicationStatus.RUNNING
        publication.started_at = publication.heartbeat_at = utcnow()
        person_id, name, note = (
            publication.requested_by,
            publication.requested_by_name,
            publication.note,
        )
    progress = progress_writer(factory, publication_id)
    session = open_session(factory, write=True)
    try:
        grants = org_service.role_grants(session, person_id) if person_id else ()
        actor = Actor(person_id=person_id, name=name or "系统", grants=grants)
        version = review.publish(session, actor, note=note, progress=progress)
        session.execute(
            update(CatalogPublication)
            .where(CatalogPublication.id == publication_id)
            .values(
                status=PublicationStatus.SUCCEEDED.value,
                stage="done",
                done=version.added + version.changed + version.removed,
                version_number=version.number,
                finished_at=utcnow(),
                heartbeat_at=utcnow(),
            )
        )
        session.commit()
    except Exception as exc:
        session.rollback()
        log.exception("catalog.publish_failed", publication_id=publication_id)
        message = (
            exc.message if isinstance(exc, DomainError) else "发布时发生内部错误，已记录日志。"
        )
        with transaction(factory) as failed:
            failed.execute(
                update(CatalogPublication)
                .where(CatalogPublication.id == publication_id)
                .values(
                    status=PublicationStatus.FAILED.value,
                    error=f"未发布新版本：{message}",
                    finished_at=utcnow(),
                )
            )
    finally:
        session.close()
        with _live_lock:
            _live.pop(publication_id, None)


@job("catalog.publish")
def publish_job(factory: sessionmaker[Session], *, publication_id: int) -> None:
    run(factory, publication_id)


def start(
    factory: sessionmaker[Session], engine: Engine, jobs_mode: str, publication_id: int
) -> None:
    """After the request committed the publication: queue it (PostgreSQL) or run it here."""
    from govdata.core import jobs

    url = engine.url.render_as_string(hide_password=False)
    if jobs.uses_queue(jobs_mode, url):
        jobs.defer("catalog.publish", url, publication_id=publication_id)
        return
    run(factory, publication_id)
