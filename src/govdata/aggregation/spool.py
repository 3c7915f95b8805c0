"""Spooled uploads: nothing stays in ``var/spool`` once no load will read it (Art. 17 ¶1 files
are data of the departments; the platform keeps only what it loaded).

An uploaded or pushed file is spooled (``loading.spool_path``) and removed when its load ends
(``loading.remove_spool``). This module covers what can happen in between: a load that raised
(``remove_after_failure``), a request that failed after spooling its file, a process that died
while a load ran. ``remove_orphans`` removes every spooled file that no queued or running load
names once it is older than ``loading.STALE_AFTER``; it runs with every ``sweep`` of
``tasks.run_load`` and of the worker's start.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import loading, reading
from govdata.aggregation.models import Load, LoadStatus
from govdata.core.db import utcnow

log = structlog.get_logger(__name__)


def remove_after_failure(session: Session, load_id: int) -> None:
    """The file of a load whose run raised, once the load has ended (``loading.execute`` has
    recorded it as failed); a load still queued keeps its file for a later run."""
    try:
        load = session.get(Load, load_id)
        if load is not None and load.status != LoadStatus.QUEUED:
            loading.remove_spool(load)
    except Exception:  # the load's own error is the one to report
        log.exception("aggregation.spool_not_removed", load_id=load_id)


def remove_orphans(session: Session, *, now: datetime | None = None) -> list[Path]:
    """Remove spooled files that no queued or running load will read, older than
    ``loading.STALE_AFTER`` (a file being uploaded right now is younger); the files removed."""
    now = now or utcnow()
    cutoff = (now - loading.STALE_AFTER).timestamp()
    waiting = session.execute(
        select(Load.spool_path, Load.status).where(
            Load.status.in_([LoadStatus.QUEUED, LoadStatus.RUNNING])
        )
    ).all()
    kept = {Path(row.spool_path).name for row in waiting}
    running = any(row.status == LoadStatus.RUNNING for row in waiting)
    removed: list[Path] = []
    for path in loading.spool_dir().iterdir():
        if path.name in kept or (running and path.name.startswith(reading.TRANSCODED_PREFIX)):
            continue
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    if removed:
        log.info("aggregation.spool_orphans_removed", files=[p.name for p in removed])
    return removed
