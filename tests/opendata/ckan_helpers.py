"""A published release and an approved application, made directly (their workflows are tested
by their own parts): what the CKAN API and DCAT read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from govdata.core.db import utcnow
from govdata.opendata import store
from govdata.opendata.models import (
    OpenApplication,
    OpenApplicationStatus,
    OpenDataset,
    Release,
    ReleaseStatus,
)
from govdata.opendata.vocab import AGREEMENT_VERSION


def publish(
    session: Session,
    ds: OpenDataset,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    *,
    version: int = 1,
) -> Release:
    """A published release of ``ds`` with these (item, data type) columns and rows."""
    release = Release(
        dataset_id=ds.id,
        version=version,
        status=ReleaseStatus.PUBLISHED.value,
        columns=[store.released_column(i, n, t) for i, (n, t) in enumerate(columns)],
        row_count=len(rows),
        published_at=utcnow(),
    )
    session.add(release)
    session.flush()
    store.create_table(session.connection(), release)
    store.insert_rows(session.connection(), release, rows, first_row=1)
    ds.current_release_id = release.id
    session.flush()
    return release


def approve(
    session: Session, person_id: int, ds: OpenDataset, items: Sequence[str], *, days: int = 30
) -> OpenApplication:
    today = date.today()
    app = OpenApplication(
        dataset_id=ds.id,
        applicant_id=person_id,
        provider_department_id=ds.department_id,
        status=OpenApplicationStatus.APPROVED.value,
        items=list(items),
        purpose="学术研究",
        scenario="论文",
        safeguards="专人保管",
        period_from=today - timedelta(days=1),
        period_until=today + timedelta(days=days),
        agreement_version=AGREEMENT_VERSION,
        received_on=today,
        granted_items=list(items),
        granted_from=today - timedelta(days=1),
        granted_until=today + timedelta(days=days),
    )
    session.add(app)
    session.flush()
    return app
