"""schemathesis over the OpenAPI schema of every JSON endpoint: no 500s, responses match the
schema (documented status codes, content types, bodies). Bounded to finish in a minute or two.

Driven through schemathesis's strategies rather than its pytest plugin: the plugin's
fixture-based loader (``schemathesis.pytest.from_fixture``) does not run under pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.schema

# Signing out would end the session the other examples run under.
SKIP = {("DELETE", "/api/v1/auth/session")}
EXAMPLES = 25
# A schema-valid request may still break a rule the schema cannot express (a weak password, a
# role granted out of scope): those are 400s with a stable code, not defects.
BUSINESS_REFUSALS = [schemathesis.checks.positive_data_acceptance]


@pytest.fixture
def city_headers(sign_in) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Signed in as the city bureau admin: every endpoint does its real work, not a 401."""
    c = sign_in("city")
    return {
        "Cookie": f"govdata_session={c.client.cookies.get('govdata_session')}",
        "X-CSRF-Token": c.csrf,
    }


def test_api_conforms_to_its_schema(app: FastAPI, city_headers: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=city_headers)
            case.validate_response(response, excluded_checks=BUSINESS_REFUSALS)

        run()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 20, checked
