"""What a person contributed to the portal and how it stands (Art. 36, 37): its ratings and
comments, reuses and data requests with the bureau's decision, its note and the provider's or
the bureau's answer. Only the person's own; moderation notes are shown to their author only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.core.errors import NotAuthenticated
from govdata.opendata import policy
from govdata.opendata.models import DataRequest, DatasetFeedback, OpenDataset, Reuse

LIMIT = 200  # of each kind, newest first


@dataclass(frozen=True)
class Contributions:
    feedback: list[DatasetFeedback]
    reuses: list[Reuse]
    requests: list[DataRequest]
    datasets: dict[int, OpenDataset]  # the feedback's datasets, by id


def contributions(session: Session, actor: Actor | None) -> Contributions:
    """The actor's own contributions, newest first (a signed-in person; never a token)."""
    policy.require_person(actor)
    if actor is None or actor.person_id is None:
        raise NotAuthenticated()
    me = actor.person_id
    feedback = list(
        session.scalars(
            select(DatasetFeedback)
            .where(DatasetFeedback.author_id == me)
            .order_by(DatasetFeedback.id.desc())
            .limit(LIMIT)
        )
    )
    reuses = list(
        session.scalars(
            select(Reuse).where(Reuse.submitter_id == me).order_by(Reuse.id.desc()).limit(LIMIT)
        )
    )
    requests = list(
        session.scalars(
            select(DataRequest)
            .where(DataRequest.requester_id == me)
            .order_by(DataRequest.id.desc())
            .limit(LIMIT)
        )
    )
    ids = sorted({f.dataset_id for f in feedback})
    datasets = (
        {d.id: d for d in session.scalars(select(OpenDataset).where(OpenDataset.id.in_(ids)))}
        if ids
        else {}
    )
    return Contributions(feedback, reuses, requests, datasets)
