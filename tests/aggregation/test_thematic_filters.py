"""A thematic database's numeric filter is a finite number (Art. 17 ¶3; issue 11 §6): NaN and
the infinities compare with nothing and break PostgreSQL, so the definition refuses them with a
stable code and a zh-CN message, from the service, the API and the define page, storing nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.aggregation import thematic
from govdata.aggregation.models import ThematicDatabase
from govdata.catalog.models import Resource
from govdata.core.errors import InvalidInput
from tests.aggregation.base_helpers import build_city
from tests.world import World

API = "/api/v1/aggregation"
HTML = {"Accept": "text/html,application/xhtml+xml"}


def _nothing_stored(session: Session) -> None:
    assert session.scalar(select(func.count()).select_from(ThematicDatabase)) == 0
    assert (
        session.scalar(
            select(func.count()).select_from(Resource).where(Resource.name == "个体经营人员专题")
        )
        == 0
    )


def _definition(code: str, value: Any, op: str = "ge") -> dict[str, Any]:
    return {
        "base_kind": "person",
        "base_items": ["姓名"],
        "pool_items": [{"resource_code": code, "item": "从业人数"}],
        "filters": [{"item": "从业人数", "op": op, "value": value}],
    }


@pytest.mark.parametrize(
    "value",
    [
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        " -Infinity ",
        float("nan"),
        float("inf"),
        float("-inf"),
        ["1", "nan"],
        [2, float("inf")],
    ],
)
def test_a_numeric_filter_refuses_nan_and_infinity(
    session: Session, world: World, value: Any
) -> None:
    c = build_city(session, world)
    op = "in" if isinstance(value, list) else "ge"
    with pytest.raises(InvalidInput) as err:
        thematic.define(
            session,
            world.actor(session, "officer"),
            world.police,
            name="个体经营人员专题",
            description="测试",
            definition=_definition(c.market_res.code, value, op),
        )
    assert err.value.code == "aggregation.thematic_non_finite_value"
    assert "有限的数字" in err.value.message
    _nothing_stored(session)


def test_a_text_filter_may_still_read_inf(session: Session, world: World) -> None:
    c = build_city(session, world)
    definition = _definition(c.market_res.code, "inf", "eq") | {
        "filters": [{"item": "姓名", "op": "eq", "value": "inf"}]
    }
    db = thematic.define(
        session,
        world.actor(session, "officer"),
        world.police,
        name="个体经营人员专题",
        description="测试",
        definition=definition,
    )
    assert db.row_count == 0


def test_the_api_and_the_page_refuse_them(session: Session, world: World, sign_in) -> None:  # type: ignore[no-untyped-def]
    c = build_city(session, world)
    session.commit()
    officer = sign_in("officer")
    body = {
        "department_id": world.police,
        "name": "个体经营人员专题",
        "description": "测试",
        "definition": _definition(c.market_res.code, "-inf"),
    }
    r = officer.post(f"{API}/thematic", json=body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "aggregation.thematic_non_finite_value"
    assert "有限的数字" in error["message"]
    # A bare NaN literal (Python's JSON reads it) is refused by the model itself.
    raw = json.dumps(body | {"definition": _definition(c.market_res.code, float("nan"))})
    assert "NaN" in raw
    r = officer.post(f"{API}/thematic", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert [d["type"] for d in r.json()["error"]["detail"]] == ["non_finite_number"]
    form = {
        "department_id": str(world.police),
        "name": "个体经营人员专题",
        "description": "测试",
        "base_kind": "person",
        "base_items": ["姓名"],
        "pool_items": f"{c.market_res.code} 从业人数",
        "filters": "从业人数 >= nan",
        "legal_basis": "",
    }
    r = officer.post("/aggregation/thematic", data=form, headers=HTML)
    assert r.status_code == 422 and "有限的数字" in r.text and "从业人数 &gt;= nan" in r.text
    _nothing_stored(session)
