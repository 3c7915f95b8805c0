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

from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from govdata.sharing.models import GrantMode
from tests.aggregation.base_helpers import K1, K2
from tests.sharing.data_helpers import bearer
from tests.sharing.helpers import build_share_city, grant_to_yz
from tests.world import World

pytestmark = pytest.mark.schema

PREFIX = "/api/v1/sharing/data/"
EXAMPLES = 40
ID = "公民身份号码"
# A schema-valid request may still break a rule the schema cannot express (an item not granted,
# a purpose not the grant's): those are refusals with a stable code, not defects.
BUSINESS_REFUSALS = [schemathesis.checks.positive_data_acceptance]


def test_data_api_conforms_to_its_schema_as_a_system(
    app: FastAPI, session: Session, world: World
) -> None:
    sc = build_share_city(session, world)
    data_grant = grant_to_yz(session, world, sc, sc.person_source, [ID, "姓名"])
    check_grant = grant_to_yz(
        session, world, sc, sc.person_source, [ID, "出生日期"], mode=GrantMode.VERIFICATION
    )
    session.commit()
    headers = bearer(sc.token)
    grant_ids = st.sampled_from([data_grant.id, check_grant.id, None])  # None: as generated
    purposes = st.sampled_from([data_grant.purpose_code, None])
    keys = st.sampled_from([K1, K2.lower(), None])
    statuses: Counter[int] = Counter()

    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(PREFIX):
            continue

        @given(case=operation.as_strategy(), grant=grant_ids, purpose=purposes, key=keys)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any, grant: int | None, purpose: str | None, key: str | None) -> None:
            if grant is not None and "grant_id" in (case.path_parameters or {}):
                case.path_parameters["grant_id"] = grant
            if key is not None and "subject_key" in (case.path_parameters or {}):
                case.path_parameters["subject_key"] = key
            if purpose is not None:
                if isinstance(case.query, dict) and "purpose" in case.query:
                    case.query["purpose"] = purpose
                if isinstance(case.body, dict) and "purpose" in case.body:
                    case.body["purpose"] = purpose
                if isinstance(case.body, dict) and key is not None and "subject_key" in case.body:
                    case.body["subject_key"] = key
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            assert response.status_code < 500, (case.path, response.status_code, response.text)
            case.validate_response(response, excluded_checks=BUSINESS_REFUSALS)

        run()
        checked.append(f"{operation.method.upper()} {operation.path}")

    # lookup, verify, rows and the two bulk exports.
    assert len(checked) >= 5, checked
    # The steered examples reached real data, and the refusals were exercised too.
    assert statuses[200] > 0, statuses
    assert statuses[403] > 0 and statuses[404] > 0, statuses
