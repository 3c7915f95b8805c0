"""Reading grants (Art. 26 ¶2, 40, 50(4)(5)) at the service: the tabs of each side, states,
calls of the last 30 days, who may revoke and who names systems, from the refused side."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.db import utcnow
from govdata.core.errors import DomainError
from govdata.sharing import grant_views, grants
from govdata.sharing.models import Grant
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.world import World


@pytest.fixture
def sc(session: Session, world: World) -> ShareCity:
    return build_share_city(session, world)


@pytest.fixture
def grant(session: Session, world: World, sc: ShareCity) -> Grant:
    return grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])


def listed(session: Session, actor: Actor, **kw: object) -> tuple[str, list[int]]:
    view, page = grant_views.list_grants(session, actor, **kw)  # type: ignore[arg-type]
    return view, [g.id for g in page.items]


def test_each_side_sees_its_tab(
    session: Session, world: World, sc: ShareCity, grant: Grant
) -> None:
    yz = world.actor(session, "yz_officer")
    police = world.actor(session, "officer")
    assert grant_views.views(yz) == ["received", "provided"]
    assert listed(session, yz) == ("received", [grant.id])
    assert listed(session, yz, view="provided") == ("provided", [])
    assert listed(session, police, view="provided") == ("provided", [grant.id])
    assert listed(session, police, view="received") == ("received", [])
    # A department officer has no "all" tab: asking for it shows its first tab.
    assert listed(session, yz, view="all") == ("received", [grant.id])
    for username in ("city", "auditor"):
        actor = world.actor(session, username)
        assert grant_views.views(actor) == ["all"]
        assert listed(session, actor) == ("all", [grant.id])
    # 渝中区's bureau sees its region's departments' grants; 江北区's does not.
    assert listed(session, world.actor(session, "yz_admin")) == ("all", [grant.id])
    assert listed(session, world.actor(session, "jb_admin")) == ("all", [])


def test_another_department_does_not_find_it(
    session: Session, world: World, sc: ShareCity, grant: Grant
) -> None:
    jb = world.actor(session, "jb_officer")
    assert listed(session, jb, view="received") == ("received", [])
    with pytest.raises(DomainError) as exc:
        grant_views.get_grant(session, jb, grant.id)
    assert (exc.value.code, exc.value.status) == ("sharing.grant_not_found", 404)


def test_states_filter(session: Session, world: World, sc: ShareCity, grant: Grant) -> None:
    city = world.actor(session, "city")
    later = grant_to_yz(session, world, sc, sc.base_source, ["公民身份号码", "姓名"])
    later.valid_from = date.today() + timedelta(days=10)
    old = grant_to_yz(session, world, sc, sc.market_source, ["公民身份号码", "姓名"])
    old.valid_from = date.today() - timedelta(days=30)
    old.expires_on = date.today() - timedelta(days=2)
    gone = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码"])
    grants.revoke(session, world.actor(session, "officer"), gone.id, "职责调整")
    session.flush()
    today = date.today()
    expected = {"active": grant, "not_yet": later, "expired": old, "revoked": gone}
    for state, g in expected.items():
        assert listed(session, city, state=state) == ("all", [g.id]), state
        assert grants.state(g, today) == state
    assert len(listed(session, city)[1]) == 4


def test_calls_of_the_last_30_days(
    session: Session, world: World, sc: ShareCity, grant: Grant
) -> None:
    # Art. 40: counted from the access records naming the grant.
    now = utcnow()

    def record(at_days_ago: int, outcome: str, grant_id: int | None = grant.id) -> None:
        session.add(
            AccessRecord(
                at=now - timedelta(days=at_days_ago),
                token_id=sc.token_id,
                actor_name="渝中区公安分局系统",
                action="sharing.data.read",
                object_type="source",
                object_id=sc.person_source.code,
                outcome=outcome,
                grant_id=grant_id,
            )
        )

    record(1, "allowed")
    record(2, "allowed")
    record(3, "refused")
    record(40, "allowed")  # outside the window
    record(1, "allowed", grant_id=None)  # another call
    session.flush()
    calls = grant_views.calls(session, grant.id)
    assert (calls.allowed, calls.refused, calls.total, calls.days) == (2, 1, 3, 30)


def test_who_may_revoke(session: Session, world: World, sc: ShareCity, grant: Grant) -> None:
    # Art. 6, 50(4)(5): the provider or the bureau over it; never the requester or an auditor.
    for username in ("yz_officer", "auditor", "yz_admin"):
        actor = world.actor(session, username)
        assert not grant_views.can_revoke(session, actor, grant)
        with pytest.raises(DomainError) as exc:
            grants.revoke(session, actor, grant.id, "试图撤销")
        assert (exc.value.code, exc.value.status) == ("sharing.revoke_forbidden", 403)
    assert grants.state(grant) == "active"
    assert grant_views.can_revoke(session, world.actor(session, "city"), grant)
    police = world.actor(session, "officer")
    assert grant_views.can_revoke(session, police, grant)
    grants.revoke(session, police, grant.id, "超出职责范围")
    assert grants.state(grant) == "revoked"
    assert not grant_views.can_revoke(session, police, grant)  # nothing left to revoke


def test_who_names_systems(session: Session, world: World, sc: ShareCity, grant: Grant) -> None:
    yz = world.actor(session, "yz_officer")
    assert grant_views.can_name_systems(yz, grant)
    # Only the requester's live sharing:read tokens are offered.
    assert [t.id for t in grant_views.candidate_systems(session, yz, grant)] == [sc.token_id]
    for username in ("officer", "city", "auditor"):
        actor = world.actor(session, username)
        assert not grant_views.can_name_systems(actor, grant)
        assert grant_views.candidate_systems(session, actor, grant) == []
    with pytest.raises(DomainError) as exc:
        grants.set_systems(session, world.actor(session, "officer"), grant.id, [])
    assert exc.value.code == "sharing.not_requester"
    grants.set_systems(session, yz, grant.id, [])
    session.flush()
    assert grant_views.labels(session, [grant]).systems[grant.id] == []


def test_labels_name_departments_and_systems(
    session: Session, world: World, sc: ShareCity, grant: Grant
) -> None:
    lb = grant_views.labels(session, [grant])
    assert lb.departments[grant.requester_department_id] == "渝中区公安分局"
    assert lb.departments[grant.provider_department_id] == "市公安局"
    assert lb.systems[grant.id] == [(sc.token_id, "yz_officer系统")]


def test_tokens_and_the_public_read_no_grants(
    session: Session, world: World, sc: ShareCity, grant: Grant
) -> None:
    system = Actor(
        person_id=None,
        name="渝中区公安分局系统",
        grants=(RoleGrant(Role.DEPARTMENT_SYSTEM, department_id=world.yz_police),),
        token_id=sc.token_id,
        scopes=frozenset({"sharing:read", "catalog:read"}),
    )
    with pytest.raises(DomainError) as exc:
        grant_views.list_grants(session, system)
    assert exc.value.code == "auth.people_only"
    with pytest.raises(DomainError) as exc:
        grant_views.get_grant(session, world.actor(session, "citizen"), grant.id)
    assert (exc.value.code, exc.value.status) == ("sharing.grants_forbidden", 403)
