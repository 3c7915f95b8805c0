"""The demo catalog holds to the regulation's rules and covers what the demo must show."""

from __future__ import annotations

from sqlalchemy import func, select

from govdata.catalog import versions
from govdata.catalog.demo import load_demo_catalog
from govdata.catalog.models import Demand, InfoItem, Resource, ReviewEntry


def test_demo_catalog(session, world) -> None:  # type: ignore[no-untyped-def]
    result = load_demo_catalog(session, per_city_department=12)
    assert result is not None
    assert result.published > 0 and result.pending_entries > 0 and result.demands >= 2
    assert load_demo_catalog(session) is None  # loaded once
    version = versions.get_version(session)
    assert version.number == 1
    share = versions.facet_counts(session, version.id, "share_type")
    opened = versions.facet_counts(session, version.id, "open_type")
    category = versions.facet_counts(session, version.id, "category")
    assert set(share) == {"unconditional", "conditional", "none"}
    assert set(opened) == {"unconditional", "conditional", "none"}
    assert set(category) == {"basic", "thematic", "department"}
    # Art. 16: persons by ID number, legal persons by USCC.
    for kind, key in (("person", "公民身份号码"), ("legal_person", "统一社会信用代码")):
        resources = session.scalar(
            select(func.count(Resource.id)).where(Resource.subject_kind == kind)
        )
        keyed = session.scalar(
            select(func.count(InfoItem.id))
            .join(Resource, Resource.id == InfoItem.resource_id)
            .where(Resource.subject_kind == kind, InfoItem.is_subject_key, InfoItem.name == key)
        )
        assert resources and resources == keyed
    assert session.scalar(select(func.count(Demand.id))) == result.demands
    assert (
        session.scalar(select(func.count(ReviewEntry.id)).where(ReviewEntry.status == "pending"))
        == result.pending_entries
    )
