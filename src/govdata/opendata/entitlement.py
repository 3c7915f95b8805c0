"""Who may obtain a dataset's released data (Art. 33): the one check every read of released
rows makes (downloads, previews, ``datastore_search``, signed downloads).

- Art. 33 ¶3: unconditionally open data after identity authentication (``policy``);
- Art. 33 ¶2: conditionally open data only by an approved application in force today, and only
  the items it granted; the provider and the city bureau may always read what they release.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.vocab import OpenType
from govdata.core.actor import Actor
from govdata.core.calendar import today as beijing_today
from govdata.opendata import errors, policy
from govdata.opendata.models import OpenApplication, OpenApplicationStatus, OpenDataset


@dataclass(frozen=True)
class Entitlement:
    actor: Actor
    items: tuple[str, ...] | None  # the items it may read; None: every released item
    application_id: int | None  # the approved application it reads under (conditional)


def in_force(
    session: Session, person_id: int, dataset_id: int, today: date
) -> OpenApplication | None:
    """The applicant's approved application for the dataset whose granted period covers today."""
    return session.scalar(
        select(OpenApplication)
        .where(
            OpenApplication.applicant_id == person_id,
            OpenApplication.dataset_id == dataset_id,
            OpenApplication.status == OpenApplicationStatus.APPROVED.value,
            OpenApplication.granted_from <= today,
            OpenApplication.granted_until >= today,
        )
        .order_by(OpenApplication.granted_until.desc())
        .limit(1)
    )


def may_obtain(
    session: Session, actor: Actor | None, dataset: OpenDataset, *, today: date | None = None
) -> Entitlement:
    """The actor's entitlement to the dataset's released data, or the refusal to raise:
    ``opendata.identity_required`` (401) or ``opendata.application_required`` (403)."""
    who = policy.require_identity(session, actor)
    if policy.can_manage(who, dataset.department_id):
        return Entitlement(who, None, None)
    if dataset.open_type == OpenType.UNCONDITIONAL.value:
        return Entitlement(who, None, None)
    assert who.person_id is not None  # require_identity: a person
    found = in_force(session, who.person_id, dataset.id, today or beijing_today())
    if found is None:
        raise errors.ConditionalNotGranted()
    return Entitlement(who, tuple(found.granted_items), found.id)
