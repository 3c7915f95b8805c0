"""Demo: some downloads by the demo citizen (``demo.citizen``, identity checked), so that the
portal's counts, "most downloaded" and statistics show something (Art. 33 ¶3, 40).

Each download goes through ``downloads.start``, the gate the route uses (entitlement, access
record, count); the bytes are not produced. Run again, it adds nothing (idempotent: it stops
when the citizen has downloaded before).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.core.actor import Actor
from govdata.core.errors import DomainError
from govdata.opendata import datasets, downloads
from govdata.opendata.models import OpenDataset
from govdata.org.models import Person
from govdata.org.service import role_grants

CITIZEN = "demo.citizen"
# Per dataset, newest first: a few downloads in each format (a product decision for the demo).
PLAN: tuple[downloads.Format, ...] = ("csv", "xlsx", "csv", "json")


def demo_downloads(session: Session, *, username: str = CITIZEN) -> int:
    """Record downloads of every open dataset the demo citizen may obtain; the number made."""
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None or person.identity_digest is None:
        return 0
    done = session.scalar(
        select(func.count())
        .select_from(AccessRecord)
        .where(AccessRecord.actor_id == person.id, AccessRecord.action == downloads.ACTION)
    )
    if done:
        return 0
    datasets.ensure_synced(session)
    actor = Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))
    codes = session.scalars(
        select(OpenDataset.code)
        .where(OpenDataset.withdrawn.is_(False), OpenDataset.current_release_id.is_not(None))
        .order_by(OpenDataset.metadata_modified.desc(), OpenDataset.code)
    ).all()
    made = shown = 0
    for code in codes:
        before = made
        for fmt in PLAN[: len(PLAN) - shown % len(PLAN)]:  # uneven: "most used" has an order
            try:
                with session.begin_nested():
                    downloads.start(session, actor, code, fmt)
            except DomainError:
                break  # conditional without an approval, or no release: nothing to show
            made += 1
        shown += made > before
    session.flush()
    return made
