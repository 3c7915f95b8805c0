"""The daily overdue scan (Art. 50(8)) and its job."""

from __future__ import annotations

from datetime import date

import structlog
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from govdata.core import audit, calendar
from govdata.core.actor import SYSTEM
from govdata.core.db import transaction
from govdata.core.jobs import job
from govdata.core.obligations.models import Obligation

log = structlog.get_logger(__name__)

# --- the daily scan ---------------------------------------------------------------------------


def scan_overdue(session: Session, today: date) -> int:
    """Flag every open obligation whose due date is before ``today``; returns how many were
    newly flagged (Art. 50(8)). Idempotent: run daily, and again after a missed day."""
    flagged = list(
        session.execute(
            update(Obligation)
            .where(
                Obligation.answered_on.is_(None),
                Obligation.due_on < today,
                Obligation.overdue.is_(False),
            )
            .values(overdue=True)
            .returning(Obligation.id, Obligation.kind)
            .execution_options(synchronize_session="fetch")  # loaded rows pick up the flag
        ).all()
    )
    if not flagged:
        return 0
    by_kind: dict[str, int] = {}
    for _, code in flagged:
        by_kind[code] = by_kind.get(code, 0) + 1
    audit.record(
        session,
        SYSTEM,
        "obligation.overdue_scan",
        object_type="obligation_scan",
        object_id=today.isoformat(),
        summary=f"截至{today.isoformat()}，{len(flagged)}项法定时限已逾期未办结（第五十条第八项）",
        change={"today": today, "ids": sorted(i for i, _ in flagged), "by_kind": by_kind},
    )
    return len(flagged)


@job("core.scan_overdue")
def scan_overdue_job(factory: sessionmaker[Session]) -> None:
    """The daily scan (a periodic job): flags what ran out yesterday or before."""
    with transaction(factory) as session:
        count = scan_overdue(session, calendar.today())
    log.info("obligations.scan_overdue", flagged=count)
