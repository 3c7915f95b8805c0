"""Canary property (Art. 24, 26 ¶2): an item a grant does not name never leaves the platform.

Every source kind (a pool, the person base database, a thematic database) gets canary values in
the items a randomly drawn grant leaves out; random calls of every endpoint (lookup, verify,
paged query, sync) with random item selections and filters, allowed or refused, must never
carry a canary in their bodies, error bodies included.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlalchemy.orm import Session

from govdata.aggregation import thematic
from govdata.catalog import review
from govdata.catalog.models import ReviewEntry
from govdata.sharing.models import GrantMode
from govdata.sharing.sources import SharedSource, data_table, get_source
from tests.aggregation.base_helpers import K1, K2, K3, K4
from tests.sharing.data_helpers import lookup, rows, verify
from tests.sharing.helpers import ShareCity, build_share_city, grant_to_yz
from tests.world import World

KEYS = [K1, K2, K3, K4, "500101199912319999"]
CANARY_DATE = date(1911, 10, 10)
_serial = itertools.count(1)


def _publish_thematic(session: Session, world: World, sc: ShareCity) -> SharedSource:
    db = thematic.define(
        session,
        world.actor(session, "officer"),
        world.police,
        name="户籍经营人员专题",
        description="户籍人口与个体经营者信息的主题数据库。",
        definition={
            "base_kind": "person",
            "base_items": ["姓名", "出生日期", "经营状态"],
            "pool_items": [],
            "filters": [],
        },
    )
    city = world.actor(session, "city")
    submission = review.submit(session, city, world.police)
    session.refresh(submission)
    for entry in session.query(ReviewEntry).filter(ReviewEntry.submission_id == submission.id):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    session.refresh(db)
    found = next(
        (
            s
            for s in [get_source(session, c) for c in _resource_codes(session, db.resource_id)]
            if s
        ),
        None,
    )
    assert found is not None and found.loaded
    return found


def _resource_codes(session: Session, resource_id: int | None) -> list[str]:
    from govdata.catalog.models import Resource

    res = session.get(Resource, resource_id)
    return [res.code] if res is not None else []


@pytest.fixture
def canary_city(session: Session, world: World) -> tuple[ShareCity, list[SharedSource]]:
    sc = build_share_city(session, world)
    sources = [sc.person_source, sc.base_source, _publish_thematic(session, world, sc)]
    session.commit()
    return sc, sources


def _plant(session: Session, source: SharedSource, ungranted: list[str], tag: str) -> list[str]:
    """Write canaries into every row's ungranted items; returns the strings to look for."""
    table = data_table(source)
    assert table is not None
    values: dict[str, Any] = {}
    needles: list[str] = []
    for name in ungranted:
        item = source.item(name)
        assert item is not None
        if item.is_subject_key:
            continue  # the key is how a row is found; grants always may ask for it
        if item.data_type == "D" and source.kind.value == "pool":
            values[item.column] = CANARY_DATE
            needles.append(CANARY_DATE.isoformat())
        else:
            values[item.column] = f"CANARY{tag}{item.column}"
            needles.append(f"CANARY{tag}")
    if values:
        session.execute(update(table).values(values))
    return needles


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_response_carries_an_ungranted_item(
    client: TestClient,
    session: Session,
    world: World,
    canary_city: tuple[ShareCity, list[SharedSource]],
    data: st.DataObject,
) -> None:
    sc, sources = canary_city
    source = data.draw(st.sampled_from(sources), label="source")
    names = [i.name for i in source.items]
    granted = data.draw(
        st.lists(st.sampled_from(names), min_size=1, max_size=len(names) - 1, unique=True),
        label="granted",
    )
    mode = data.draw(st.sampled_from([GrantMode.DATA, GrantMode.VERIFICATION]), label="mode")
    ungranted = [n for n in names if n not in granted]
    tag = str(next(_serial))
    needles = _plant(session, source, ungranted, tag)
    cond_item = data.draw(st.sampled_from([None, *granted]), label="row condition")
    row_condition = (
        {"item": cond_item, "values": [data.draw(st.sampled_from(["张三", "存续", K1, "x"]))]}
        if cond_item is not None
        else None
    )
    grant = grant_to_yz(session, world, sc, source, granted, mode=mode, row_condition=row_condition)
    session.commit()
    any_items = st.lists(st.sampled_from(names), max_size=3, unique=True)
    bodies: list[str] = []
    for _ in range(4):
        key = data.draw(st.sampled_from(KEYS), label="key")
        asked = data.draw(any_items, label="items")
        items = ",".join(asked) or None
        bodies.append(lookup(client, sc.token, grant.id, key, items=items).text)
        values = {n: data.draw(st.sampled_from(["张三", "存续", key, ""])) for n in asked}
        bodies.append(verify(client, sc.token, grant.id, key, values).text)
        filters = {
            n: data.draw(st.sampled_from(["张三", "存续", "注销", K2, "CANARY"]))
            for n in data.draw(any_items, label="filters")
        }
        params: dict[str, Any] = {"limit": data.draw(st.integers(1, 3))} | filters
        if items:
            params["items"] = items
        page = rows(client, sc.token, grant.id, **params)
        bodies.append(page.text)
        if page.status_code == 200 and page.json()["next_cursor"]:
            more = rows(client, sc.token, grant.id, cursor=page.json()["next_cursor"], **params)
            bodies.append(more.text)
        since = data.draw(st.sampled_from(["2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"]))
        bodies.append(rows(client, sc.token, grant.id, changed_since=since, **params).text)
    for body in bodies:
        for needle in needles:
            assert needle not in body, (source.code, granted, body)
