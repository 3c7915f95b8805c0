"""schemathesis over the data access API (Art. 22, 26 ¶2, 40), called as a department's system.

``tests/test_openapi_schema.py`` runs every endpoint as the city admin, a person, whom the data
API refuses before doing anything (``sharing.system_required``). Here the caller is 渝中区公安分局's
system token holding ``sharing:read``, named on real grants (one data grant, one verification-only
grant), so the generated calls reach the grant checks, the lookups, the paging and the exports.
Part of the examples are steered onto the real grant, purpose and subject key, so that the
answers include successes as well as each kind of refusal. Checks: no 500, every answer
documented and matching its schema (status, content type, body).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from govdata.app import create_app
from govdata.core.settings import Settings
from govdata.sharing import hotpath
from govdata.sharing.models import Grant, GrantMode
from tests.aggregation.base_helpers import K1, K2
from tests.live import LiveDb, live_database
from tests.pgcluster import PgCluster
from tests.sharing.data_helpers import bearer
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.world import World

pytestmark = pytest.mark.schema

PREFIX = "/api/v1/sharing/data/"
EXAMPLES = 40
ID = "公民身份号码"
MISSING = "500101199912319990"  # no such subject: 404
# A schema-valid request may still break a rule the schema cannot express (an item not granted,
# a purpose not the grant's): those are refusals with a stable code, not defects.
BUSINESS_REFUSALS = [schemathesis.checks.positive_data_acceptance]


def _conform(
    app: FastAPI,
    send: Callable[[Any], Any],
    data_grant: Grant,
    check_grant: Grant,
    only: Callable[[str], bool] = lambda path: True,
) -> tuple[list[str], Counter[int]]:
    """Every data access operation (``only`` those paths), ``EXAMPLES`` cases each, some steered
    onto the real grants, purpose and subject keys; ``send`` makes the call."""
    # One choice per example: as generated, or steered onto a real grant (the data grant with
    # its purpose and a present subject, or an absent one; the verification-only grant).
    steers = st.sampled_from(
        [
            None,
            (data_grant.id, data_grant.purpose_code, K1),
            (data_grant.id, data_grant.purpose_code, MISSING),
            (check_grant.id, check_grant.purpose_code, K2.lower()),
        ]
    )
    statuses: Counter[int] = Counter()
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(PREFIX) or not only(operation.path):
            continue

        @given(case=operation.as_strategy(), steer=steers)
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any, steer: tuple[int, str, str] | None) -> None:
            if steer is not None:
                grant, purpose, key = steer
                params = case.path_parameters or {}
                if "grant_id" in params:
                    params["grant_id"] = grant
                if "subject_key" in params:
                    params["subject_key"] = key
                if isinstance(case.query, dict) and "purpose" in case.query:
                    case.query["purpose"] = purpose
                if isinstance(case.body, dict):
                    if "purpose" in case.body:
                        case.body["purpose"] = purpose
                    if "subject_key" in case.body:
                        case.body["subject_key"] = key
            response = send(case)
            statuses[response.status_code] += 1
            assert response.status_code < 500, (case.path, response.status_code, response.text)
            case.validate_response(response, excluded_checks=BUSINESS_REFUSALS)

        run()
        checked.append(f"{operation.method.upper()} {operation.path}")
    return checked, statuses


def _grants(session: Session, world: World, sc: ShareCity) -> tuple[Grant, Grant]:
    data_grant = grant_to_yz(session, world, sc, sc.person_source, [ID, "姓名"])
    check_grant = grant_to_yz(
        session, world, sc, sc.person_source, [ID, "出生日期"], mode=GrantMode.VERIFICATION
    )
    session.commit()
    return data_grant, check_grant


def test_data_api_conforms_to_its_schema_as_a_system(
    app: FastAPI, session: Session, world: World
) -> None:
    sc = build_share_city(session, world)
    data_grant, check_grant = _grants(session, world, sc)
    headers = bearer(sc.token)
    checked, statuses = _conform(
        app, lambda case: case.call(headers=headers), data_grant, check_grant
    )
    # lookup, verify, rows and the two bulk exports.
    assert len(checked) >= 5, checked
    # The steered examples reached real data, and the refusals were exercised too.
    assert statuses[200] > 0, statuses
    assert statuses[403] > 0 and statuses[404] > 0, statuses


@pytest.fixture
def live(pg_cluster: PgCluster | None, tmp_path: Path) -> Iterator[LiveDb]:
    if pg_cluster is None:
        pytest.skip("the hot path serves PostgreSQL only; SQLite takes the ordinary path")
    with live_database(pg_cluster, tmp_path, "sharing_schema_hot") as db:
        yield db


# Decision 0014: the hot path answers lookups and verifications itself; its answers must match
# the same schema.
def test_the_hot_path_conforms_to_the_same_schema(live: LiveDb, settings: Settings) -> None:
    session = live.factory()
    sc = build_share_city(session, live.world)
    data_grant, check_grant = _grants(session, live.world, sc)
    app = create_app(dataclasses.replace(settings, sharing_hot_path_pool=2), live.engine)
    headers = bearer(sc.token)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            served = hotpath.for_app(app)
            assert served is not None
            try:

                def send(case: Any) -> Any:
                    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
                    if not kwargs.get("cookies"):
                        kwargs.pop("cookies", None)  # none; per-request cookies are deprecated
                    return client.request(**kwargs)

                checked, statuses = _conform(
                    app,
                    send,
                    data_grant,
                    check_grant,
                    only=lambda path: path.endswith(("/verify", "/subjects/{subject_key}")),
                )
            finally:
                client.portal.call(served.close)  # type: ignore[union-attr]
    finally:
        session.close()
    assert len(checked) == 2, checked
    assert statuses[200] > 0 and statuses[403] > 0, statuses
