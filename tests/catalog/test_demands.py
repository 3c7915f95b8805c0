"""Demand lists (Art. 12 ¶2) at the service level."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govdata.catalog import demands, review
from govdata.catalog.models import DemandStatus, ReviewEntry, SubmissionStatus
from govdata.catalog.schemas import DemandIn
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


def test_a_demand_is_submitted_reviewed_and_left_unmet(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "yz_officer"), world.actor(session, "city")
    demand = demands.create_demand(
        session,
        officer,
        world.yz_police,
        DemandIn(
            title="企业登记信息",
            wanted_items="统一社会信用代码、企业名称",
            purpose="治安管理中核验企业身份",
            provider_department_id=world.market,
        ),
    )
    assert demand.status == DemandStatus.DRAFT
    sub = review.submit(session, officer, world.yz_police)  # a demand list alone may be submitted
    assert sub.status == SubmissionStatus.PENDING_DISTRICT
    assert demand.status == DemandStatus.SUBMITTED
    with pytest.raises(Conflict):
        demands.update_demand(session, officer, demand.id, DemandIn(title="改名的需求"))
    review.compile_district(session, world.actor(session, "yz_admin"), world.yuzhong)
    entry = session.scalar(select(ReviewEntry).where(ReviewEntry.demand_id == demand.id))
    assert entry is not None
    review.decide(session, city, entry.id, approve=True)
    assert demand.status == DemandStatus.ACCEPTED
    session.refresh(sub)
    assert sub.status == SubmissionStatus.CLOSED  # an accepted demand has nothing to publish
    unmet = demands.list_demands(session, city, unmet=True)
    assert [d.id for d in unmet.items] == [demand.id]
    # The city matches it to nothing unpublished.
    with pytest.raises(InvalidInput) as err:
        demands.match_demand(session, city, demand.id, "101001000/000001")
    assert err.value.code == "catalog.demand_match_unpublished"


def test_returned_demands_carry_the_reason_and_can_be_edited(session, world) -> None:  # type: ignore[no-untyped-def]
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    demand = demands.create_demand(session, officer, world.police, DemandIn(title="不动产登记"))
    review.submit(session, officer, world.police)
    entry = session.scalar(select(ReviewEntry).where(ReviewEntry.demand_id == demand.id))
    assert entry is not None
    review.decide(session, city, entry.id, approve=False, reason="请写明用途")
    assert (demand.status, demand.return_reason) == (DemandStatus.RETURNED, "请写明用途")
    demands.update_demand(
        session, officer, demand.id, DemandIn(title="不动产登记", purpose="户籍迁移核验")
    )
    assert demand.status == DemandStatus.DRAFT


def test_demand_rules_and_refusals(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    with pytest.raises(InvalidInput) as err:
        demands.create_demand(
            session,
            officer,
            world.police,
            DemandIn(title="本部门数据", provider_department_id=world.police),
        )
    assert err.value.code == "catalog.demand_self"
    demand = demands.create_demand(session, officer, world.police, DemandIn(title="婚姻登记"))
    with pytest.raises(NotFound):
        demands.get_demand(session, world.actor(session, "officer2"), demand.id)
    with pytest.raises(PermissionDenied):
        demands.match_demand(session, officer, demand.id, None)
    with pytest.raises(PermissionDenied):
        demands.create_demand(
            session, world.actor(session, "head"), world.police, DemandIn(title="x需求")
        )
    demands.delete_demand(session, officer, demand.id)
    with pytest.raises(NotFound):
        demands.get_demand(session, officer, demand.id)
