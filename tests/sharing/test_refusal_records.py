"""A refused call on the caller's own grant is recorded with the grant's source and provider, so
that the providing department sees it on its dashboard beside the grant's allowed calls
(Art. 40, 50(4)(5)); a call on another department's grant names no source. Both the ordinary
path (every engine) and the hot path (PostgreSQL) record alike.

Found by the browser test (tests/e2e/test_sharing.py): the refusal of an item not granted was
recorded with no source and no provider, so the provider's dashboard never counted it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govdata.app import create_app
from govdata.core.access import AccessRecord
from govdata.core.settings import Settings
from govdata.sharing import hotpath, usage
from govdata.sharing.usage import UsageFilter
from tests.aggregation.base_helpers import K1
from tests.live import LiveDb, live_database
from tests.pgcluster import PgCluster
from tests.sharing.data_helpers import last_record_id, lookup, new_records
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.world import World

ID = "公民身份号码"


def _what(r: AccessRecord) -> tuple[str, str, str, int | None, bool]:
    return (r.outcome, r.reason, r.object_id, r.owner_department_id, r.personal)


def _calls(session: Session, world: World, sc: ShareCity, client: TestClient) -> list[Any]:
    """An allowed call, an item not granted, a wrong purpose (both on the caller's own grant),
    and 江北区公安分局's system trying 渝中区公安分局's grant."""
    g = grant_to_yz(session, world, sc, sc.person_source, [ID, "姓名"])
    session.commit()
    before = last_record_id(session)
    assert lookup(client, sc.token, g.id, K1).status_code == 200
    r = lookup(client, sc.token, g.id, K1, items="出生日期")
    assert r.json()["error"]["code"] == "sharing.item_not_granted"
    r = lookup(client, sc.token, g.id, K1, purpose="another-purpose")
    assert r.json()["error"]["code"] == "sharing.purpose_mismatch"
    r = lookup(client, sc.jb_token, g.id, K1)
    assert r.json()["error"]["code"] == "sharing.grant_other_department"
    return [_what(r) for r in new_records(session, before)]


def _expected(world: World, sc: ShareCity) -> list[tuple[str, str, str, int | None, bool]]:
    code, police = sc.person_source.code, sc.person_source.provider_department_id
    return [
        ("allowed", "", code, police, True),
        ("refused", "sharing.item_not_granted", code, police, True),
        ("refused", "sharing.purpose_mismatch", code, police, True),
        ("refused", "sharing.grant_other_department", "", None, False),
    ]


# Art. 40, 50(4)(5)
def test_refusals_on_the_callers_own_grant_name_its_source_and_reach_the_provider(
    client: TestClient, session: Session, world: World
) -> None:
    sc = build_share_city(session, world)
    session.commit()
    assert _calls(session, world, sc, client) == _expected(world, sc)
    # The provider's dashboard counts the two refusals under the grant; the foreign probe is
    # 江北区公安分局's own business, not the provider's.
    police = world.actor(session, "officer")
    summary = usage.summary(session, police, UsageFilter())
    (row,) = summary.grants
    assert (row.calls, row.refused) == (3, 2)


@pytest.fixture
def live(pg_cluster: PgCluster | None, tmp_path: Path) -> Iterator[LiveDb]:
    if pg_cluster is None:
        pytest.skip("the hot path serves PostgreSQL only; SQLite takes the ordinary path")
    with live_database(pg_cluster, tmp_path, "sharing_refusals") as db:
        yield db


# Art. 40, 50(4)(5): decision 0014, the hot path records as the ordinary path does.
def test_the_hot_path_records_refusals_alike(live: LiveDb, settings: Settings) -> None:
    session = live.factory()
    sc = build_share_city(session, live.world)
    session.commit()
    app = create_app(dataclasses.replace(settings, sharing_hot_path_pool=2), live.engine)
    try:
        with TestClient(app, raise_server_exceptions=False) as hot:
            served = hotpath.for_app(app)
            assert served is not None
            try:
                assert _calls(session, live.world, sc, hot) == _expected(live.world, sc)
            finally:
                hot.portal.call(served.close)  # type: ignore[union-attr]
    finally:
        session.close()
