"""Concurrent writers of the catalog: the second one waits or takes what the first created, and
is refused with a stable code when it would break a rule; never a 500 (Art. 11, 12).

Each test commits for real in a database of its own (``tests.live``): the first unit of work
holds its transaction open until the second one has started and waits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from govdata.catalog import service
from govdata.catalog.models import Classification, Resource
from govdata.catalog.spreadsheet import ImportRejected, import_catalog
from govdata.catalog.vocab import Category
from govdata.core.db import transaction
from govdata.core.errors import Conflict
from tests.catalog.factories import person_resource
from tests.catalog.test_spreadsheet import person_items, person_row, xlsx
from tests.live import LiveDb, in_thread, live_database, wait_until_blocked
from tests.pgcluster import PgCluster


@pytest.fixture
def live(pg_cluster: PgCluster | None, tmp_path: Path, worker: str) -> Any:
    with live_database(pg_cluster, tmp_path, f"govdata_catrace_{worker}") as db:
        yield db


def _codes(live: LiveDb) -> dict[str, str]:
    with live.factory() as s:
        return dict(s.execute(select(Classification.path, Classification.code)).all())


def _classification_exists(live: LiveDb) -> None:
    # The writers below then race on the department's list alone: without taking turns, both
    # checked the name against the list as it was and both stored (two resources, one name).
    with transaction(live.factory) as s:
        service.classification_for(s, Category.BASIC, "人口/户籍")


def test_two_first_uses_of_a_classification_node_get_the_same_node(live: LiveDb) -> None:
    # The second did not see the first's uncommitted node: check-then-insert raised an
    # IntegrityError on the unique (category, path) once the first committed.
    with transaction(live.factory) as first:
        node = service.classification_for(first, Category.BASIC, "人口/户籍")

        def second() -> str:
            with transaction(live.factory) as s:
                return service.classification_for(s, Category.BASIC, "人口/户籍").code

        thread, out = in_thread(second)
        wait_until_blocked(live.engine, thread)
    thread.join(30)
    assert out.get("error") is None, out.get("error")
    assert out["result"] == node.code == "101001000"
    assert _codes(live) == {"": "100000000", "人口": "101000000", "人口/户籍": "101001000"}


def test_two_new_sibling_nodes_at_once_get_their_own_codes(live: LiveDb) -> None:
    # Both number the new sibling 001 from what is committed; the second finds the code taken
    # once the first commits and takes the next number.
    with transaction(live.factory) as s:
        service.classification_for(s, Category.BASIC, "人口")
    with transaction(live.factory) as first:
        service.classification_for(first, Category.BASIC, "人口/户籍")

        def second() -> str:
            with transaction(live.factory) as s:
                return service.classification_for(s, Category.BASIC, "人口/婚姻").code

        thread, out = in_thread(second)
        wait_until_blocked(live.engine, thread)
    thread.join(30)
    assert out.get("error") is None, out.get("error")
    assert out["result"] == "101002000"
    assert _codes(live)["人口/户籍"] == "101001000"


def test_two_imports_into_one_department_take_turns(live: LiveDb) -> None:
    # The same file imported twice at once: the second waits for the first, then finds the
    # resource stored and reports the name as taken; one resource, not two (or a 500).
    content = xlsx([person_row()], person_items())
    world = live.world
    _classification_exists(live)
    with transaction(live.factory) as first:
        result = import_catalog(first, world.actor(first, "officer"), world.police, content)
        assert result.created == 1

        def second() -> object:
            with transaction(live.factory) as s:
                return import_catalog(s, world.actor(s, "officer"), world.police, content)

        thread, out = in_thread(second)
        wait_until_blocked(live.engine, thread)
    thread.join(30)
    error = out.get("error")
    assert isinstance(error, ImportRejected), error
    assert [p.code for p in error.problems] == ["catalog.import_name_taken"]
    with live.factory() as s:
        named = select(func.count()).where(Resource.name == "户籍人口基本信息")
        assert s.scalar(named) == 1


def test_two_new_resources_of_one_name_at_once_are_one_resource_and_a_409(live: LiveDb) -> None:
    world = live.world
    _classification_exists(live)
    with transaction(live.factory) as first:
        service.create_resource(
            first, world.actor(first, "officer"), world.police, person_resource()
        )

        def second() -> object:
            with transaction(live.factory) as s:
                actor = world.actor(s, "officer")
                return service.create_resource(s, actor, world.police, person_resource())

        thread, out = in_thread(second)
        wait_until_blocked(live.engine, thread)
    thread.join(30)
    error = out.get("error")
    assert isinstance(error, Conflict), error
    assert error.code == "catalog.resource_name_taken"
    with live.factory() as s:
        assert s.scalar(select(func.count()).select_from(Resource)) == 1
