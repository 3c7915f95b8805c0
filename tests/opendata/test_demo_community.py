"""The community demo (Art. 36, 37): contributions in every state, made through the services,
loaded once."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.opendata.demo import community
from govdata.opendata.models import DataRequest, DatasetFeedback, Reuse
from tests.opendata.helpers import build_open_city
from tests.world import World


def test_demo_community_makes_every_state_once(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_open_city(session, world)
    # The test world's accounts stand in for the demo city's.
    monkeypatch.setattr(community, "BUREAU", "city")
    monkeypatch.setattr(community, "CONTRIBUTORS", ("citizen", "company", "officer2"))
    made = community.demo_community(session)
    assert made == 12  # 4 feedback, 4 requests, 4 reuses
    assert set(session.scalars(select(DatasetFeedback.status))) == {
        "published",
        "pending",
        "rejected",
    }
    assert set(session.scalars(select(DataRequest.status))) == {
        "pending",
        "answered",
        "rejected",
    }
    assert set(session.scalars(select(Reuse.status))) == {"published", "pending", "rejected"}
    # company has no checked identity: it contributes nothing (Art. 33 ¶3).
    authors = set(session.scalars(select(DatasetFeedback.author_id)))
    assert world.people["company"] not in authors
    assert community.demo_community(session) == 0
