"""Earlier months of the sharing demo's recorded calls (Art. 40): the sharing demo records
about 60 days of calls; its grants were given months before (``valid_from``), and were used
from then on, less at first.

The earlier calls repeat the recorded ones 9, 18, 27 … weeks before (the same weekday and
hour, so office hours stay office hours), thinned the further back they go, and only within the
grant's life: a copy that would fall before the grant's ``valid_from``, or change a working day
into a holiday or back, is left out, and so is a refusal for a grant that had ended (it was
valid then). The grants' daily counters (``GrantUsage``) are added for those days. Set-based
inserts, as ``sharing.demo.calls`` makes its records.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.core.calendar import CITY_TZ
from govdata.core.workdays import WorkCalendar
from govdata.sharing.models import Grant, GrantUsage

WEEKS = 9  # one step back: about the 60 days the sharing demo records
KEEP = (0.7, 0.5, 0.36, 0.25, 0.16)  # the share of calls repeated 1, 2 … steps back
ENDED = {"sharing.grant_revoked", "sharing.grant_expired"}
BATCH = 5000
_COPIED = (
    "actor_id", "token_id", "actor_name", "actor_department_id", "address", "action",
    "object_type", "object_id", "owner_department_id", "rows", "personal", "fields", "outcome",
    "reason", "grant_id", "purpose", "subject_digest",
)  # fmt: skip


def write_calls(session: Session, cal: WorkCalendar, rng: random.Random) -> int:
    """Insert the earlier calls and their daily counters; the number of calls written."""
    valid_from = dict(session.execute(select(Grant.id, Grant.valid_from)).all())
    if not valid_from:
        return 0
    recorded = session.execute(
        select(AccessRecord.at, *(getattr(AccessRecord, c) for c in _COPIED))
        .where(AccessRecord.grant_id.is_not(None))
        .order_by(AccessRecord.id)
    ).all()
    if not recorded:
        return 0
    first = min(r.at for r in recorded)
    out: list[dict[str, Any]] = []
    calls: Counter[tuple[int, date]] = Counter()
    rows: Counter[tuple[int, date]] = Counter()
    for step, keep in enumerate(KEEP, start=1):
        shift = timedelta(weeks=WEEKS * step)
        for r in recorded:
            if r.reason in ENDED or rng.random() >= keep:
                continue
            at = r.at - shift
            was, day = _day(r.at), _day(at)
            start = valid_from.get(r.grant_id)
            if start is None or day < start or cal.is_workday(day) != cal.is_workday(was):
                continue
            if at >= first:  # never among the recorded days themselves
                continue
            row = {c: getattr(r, c) for c in _COPIED} | {"at": at}
            out.append(row)
            if r.outcome == "allowed":
                calls[(r.grant_id, day)] += 1
                rows[(r.grant_id, day)] += r.rows
    out.sort(key=lambda x: x["at"])
    conn = session.connection()
    for i in range(0, len(out), BATCH):
        conn.execute(insert(AccessRecord), out[i : i + BATCH])
    existing = {(g, d) for g, d in session.execute(select(GrantUsage.grant_id, GrantUsage.day))}
    usage = [
        {"grant_id": g, "day": d, "calls": n, "rows": rows[(g, d)]}
        for (g, d), n in sorted(calls.items())
        if (g, d) not in existing
    ]
    for i in range(0, len(usage), BATCH):
        conn.execute(insert(GrantUsage), usage[i : i + BATCH])
    return len(out)


def _day(at: datetime) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(CITY_TZ).date()
