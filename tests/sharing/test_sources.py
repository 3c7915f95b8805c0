"""Sources of the share catalog (Art. 24–26) and grants' state (Art. 26 ¶2, 50(4)(5))."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.errors import DomainError
from govdata.sharing import grants
from govdata.sharing.models import GrantMode
from govdata.sharing.sources import data_table, share_catalog
from tests.aggregation.base_helpers import K1
from tests.sharing.helpers import build_share_city, grant_to_yz
from tests.world import World


def test_share_catalog_lists_base_and_pools_with_share_types(
    session: Session, world: World
) -> None:
    sc = build_share_city(session, world)
    codes = {s.code: s for s in share_catalog(session)}
    # Art. 25(2): base items are unconditional.
    assert codes["base.person"].share_type == "unconditional"
    assert {i.share_type for i in codes["base.person"].items} == {"unconditional"}
    market = codes[sc.market_source.code]
    assert market.share_type == "conditional"
    assert market.item("从业人数").share_type == "none"  # type: ignore[union-attr]
    assert market.item("经营状态").share_type == "conditional"  # type: ignore[union-attr]
    assert sc.person_source.loaded and sc.person_source.row_count == 3
    assert sc.person_source.key_name == "公民身份号码"


def test_data_tables_read_the_subject(session: Session, world: World) -> None:
    sc = build_share_city(session, world)
    for source in (sc.person_source, sc.base_source):
        table = data_table(source)
        assert table is not None and source.key_column is not None
        name = source.item("姓名")
        assert name is not None
        row = session.execute(
            select(table.c[name.column]).where(table.c[source.key_column] == K1)
        ).one()
        assert row[0] == "张三"


def test_a_not_shared_item_cannot_be_granted(session: Session, world: World) -> None:
    # Art. 24: 不予共享 items never leave the platform.
    sc = build_share_city(session, world)
    with pytest.raises(DomainError) as exc:
        grant_to_yz(session, world, sc, sc.market_source, ["公民身份号码", "从业人数"])
    assert exc.value.code == "sharing.not_shared"


def test_grant_state_follows_dates_and_revocation(session: Session, world: World) -> None:
    sc = build_share_city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, ["公民身份号码", "姓名"])
    today = date.today()
    assert grants.state(g, today) == "active"
    assert grants.state(g, g.expires_on + timedelta(days=1)) == "expired"  # type: ignore[operator]
    assert grants.state(g, g.valid_from - timedelta(days=1)) == "not_yet"
    assert grants.systems_of(session, g.id) == [sc.token_id]
    # The requester's own officer may not revoke; the provider may (Art. 6, 50(4)(5)).
    with pytest.raises(DomainError) as exc:
        grants.revoke(session, world.actor(session, "yz_officer"), g.id, "不再需要")
    assert exc.value.code == "sharing.revoke_forbidden"
    grants.revoke(session, world.actor(session, "officer"), g.id, "超出职责范围")
    assert grants.state(g, today) == "revoked"


def test_a_system_without_the_scope_or_of_another_department_cannot_be_named(
    session: Session, world: World
) -> None:
    sc = build_share_city(session, world)
    for tid in (sc.other_token_id, sc.jb_token_id):
        with pytest.raises(DomainError) as exc:
            grants.check_systems(session, world.yz_police, [tid])
        assert exc.value.code == "sharing.system_invalid"


def test_verification_grant_mode(session: Session, world: World) -> None:
    sc = build_share_city(session, world)
    g = grant_to_yz(
        session, world, sc, sc.base_source, ["公民身份号码", "姓名"], mode=GrantMode.VERIFICATION
    )
    assert g.mode == "verification"
