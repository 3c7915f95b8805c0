"""The data access API under the platform's rate limits (Art. 39 控制): the per-token request
limit applies to systems; the personal-read budget does not (the grant's quota is the control,
``sharing.data``)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.aggregation.base_helpers import K1
from tests.sharing.data_helpers import lookup, records
from tests.sharing.helpers import build_share_city, grant_to_yz
from tests.web.test_ratelimit import MakeApp, make_app  # noqa: F401 - the fixture
from tests.world import World

ID = "公民身份号码"


@pytest.mark.usefixtures("make_app")
def test_the_per_token_limit_applies_to_the_data_access_api(
    make_app: MakeApp,  # noqa: F811
    session: Session,
    world: World,
) -> None:
    sc = build_share_city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, [ID, "姓名"])
    session.commit()
    app = make_app(rate_limit_per_token="2/minute")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert lookup(client, sc.token, g.id, K1).status_code == 200
        assert lookup(client, sc.token, g.id, K1).status_code == 200
        r = lookup(client, sc.token, g.id, K1)
    assert r.status_code == 429 and r.json()["error"]["code"] == "request.rate_limited"
    assert int(r.headers["Retry-After"]) > 0
    assert "张三" not in r.text
    # The refused call read nothing: two records of data, no third.
    assert len([x for x in records(session, sc.token_id) if x.action == "sharing.lookup"]) == 2


def test_a_grant_is_not_charged_the_personal_read_budget(
    make_app: MakeApp,  # noqa: F811
    session: Session,
    world: World,
) -> None:
    sc = build_share_city(session, world)
    g = grant_to_yz(session, world, sc, sc.person_source, [ID, "姓名"])
    session.commit()
    app = make_app(rate_limit_personal_reads="1/minute")
    with TestClient(app, raise_server_exceptions=False) as client:
        codes = [lookup(client, sc.token, g.id, K1).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    recs = [x for x in records(session, sc.token_id) if x.action == "sharing.lookup"]
    assert len(recs) == 3 and all(x.personal and x.outcome == "allowed" for x in recs)
