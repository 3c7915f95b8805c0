"""Published releases and approved applications for the portal's tests, written directly
(the release builder and the applications are other parts' work, tested there)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.db import utcnow
from govdata.opendata import store
from govdata.opendata.models import (
    OpenApplication,
    OpenApplicationStatus,
    OpenDataset,
    Release,
    ReleaseStatus,
)
from tests.world import World


def publish(
    session: Session,
    dataset: OpenDataset,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    *,
    version: int = 1,
) -> Release:
    """A published release of ``rows`` (``columns``: (item name, data type)), made current."""
    session.execute(
        update(Release)
        .where(Release.dataset_id == dataset.id, Release.status == ReleaseStatus.PUBLISHED)
        .values(status=ReleaseStatus.SUPERSEDED)
    )
    release = Release(
        dataset_id=dataset.id,
        version=version,
        status=ReleaseStatus.PUBLISHED,
        columns=[store.released_column(i, n, t) for i, (n, t) in enumerate(columns)],
        row_count=len(rows),
        published_at=utcnow(),
    )
    session.add(release)
    session.flush()
    conn = session.connection()
    store.create_table(conn, release)
    store.insert_rows(conn, release, rows, first_row=1)
    dataset.current_release_id = release.id
    session.flush()
    return release


def approve(
    session: Session, world: World, dataset: OpenDataset, granted: Sequence[str]
) -> OpenApplication:
    """An approved application of the citizen for ``dataset``, in force today (Art. 33 ¶2)."""
    today: date = calendar.today()
    app = OpenApplication(
        dataset_id=dataset.id,
        applicant_id=world.people["citizen"],
        provider_department_id=dataset.department_id,
        status=OpenApplicationStatus.APPROVED,
        items=list(granted),
        purpose="研究",
        scenario="论文",
        safeguards="离线存储",
        period_from=today,
        period_until=today + timedelta(days=30),
        agreement_version="2026-1",
        received_on=today,
        granted_items=list(granted),
        granted_from=today - timedelta(days=1),
        granted_until=today + timedelta(days=30),
    )
    session.add(app)
    session.flush()
    return app
