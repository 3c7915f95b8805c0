"""Builders for aggregation tests: published resources and pools filled with given rows.

``fill_pool`` writes rows straight into a new data table and installs it, without the load
pipeline, so that base, thematic, quality and correction tests do not depend on file parsing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from govdata.aggregation import pools
from govdata.aggregation.models import BadRowPolicy, Load, LoadMode, LoadStatus, Pool
from govdata.aggregation.tables import LOAD_COLUMN, ROW_COLUMN, pool_table_name
from govdata.catalog import published, review, service
from govdata.catalog.models import Resource, ReviewEntry
from govdata.catalog.published import PublishedResource
from govdata.catalog.schemas import InfoItemIn, ResourceIn
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from tests.world import World

Item = tuple[str, str, int | None]  # name, data type letter, length


def resource_input(
    name: str,
    items: list[Item],
    *,
    key: str | None = None,
    subject_kind: str = "person",
    category: str = "department",
    class_path: str = "测试/汇聚",
    update_cycle: str = "monthly",
) -> ResourceIn:
    return ResourceIn.model_validate(
        {
            "category": category,
            "class_path": class_path,
            "name": name,
            "abstract": f"{name}（测试数据）",
            "format": "database",
            "share_type": "unconditional",
            "open_type": "none",
            "legal_basis": "测试依据",
            "update_cycle": update_cycle,
            "security_level": "internal",
            "subject_kind": subject_kind,
            "items": [
                InfoItemIn(name=n, data_type=t, length=length, is_subject_key=(n == key))
                for n, t, length in items
            ],
        }
    )


def publish(session: Session, world: World, department_id: int, data: ResourceIn) -> Resource:
    """Create, submit, approve and publish one resource (the city bureau does it all)."""
    city = world.actor(session, "city")
    resource = service.create_resource(session, city, department_id, data)
    submission = review.submit(session, city, department_id)
    session.refresh(submission)
    entries = session.query(ReviewEntry).filter(ReviewEntry.submission_id == submission.id)
    for entry in entries:
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    session.refresh(resource)
    return resource


def person_pool_resource(
    session: Session, world: World, department_id: int, name: str, items: list[Item]
) -> Resource:
    """A published person resource keyed by 公民身份号码 (which is prepended to ``items``)."""
    return publish(
        session,
        world,
        department_id,
        resource_input(name, [("公民身份号码", "C", 18), *items], key="公民身份号码"),
    )


def published_form(session: Session, resource: Resource) -> PublishedResource:
    """The published catalog's form of a resource (``catalog.published``)."""
    found = published.find(session, resource.code)
    assert found is not None, f"{resource.code} is not published"
    return found


def fill_pool(
    session: Session,
    actor: Actor,
    resource: Resource,
    rows: list[dict[str, Any]],
    *,
    loaded_at: Any = None,
) -> tuple[Pool, Load]:
    """Install ``rows`` (item name -> typed value) as the pool's current data via a load record."""
    pool = pools.ensure_pool(session, published_form(session, resource))
    pools.follow_revision(session, pool)
    load = Load(
        pool_id=pool.id,
        department_id=pool.department_id,
        status=LoadStatus.SUCCEEDED,
        policy=BadRowPolicy.REJECT_FILE,
        mode=LoadMode.REPLACE,
        channel="test",
        filename="test.csv",
        file_format="csv",
        created_by=actor.person_id,
        created_by_name=actor.name,
        started_at=utcnow(),
        finished_at=loaded_at or utcnow(),
        rows_read=len(rows),
        rows_loaded=len(rows),
    )
    session.add(load)
    session.flush()
    name = pool_table_name(pool.id, load.id)
    conn = session.connection()
    table = pools.create_data_table(conn, name, pool.columns, pool.subject_column)
    by_name = {c["name"]: c["column"] for c in pool.columns}
    if rows:
        conn.execute(
            insert(table),
            [
                {ROW_COLUMN: i + 2, LOAD_COLUMN: load.id} | {by_name[k]: v for k, v in row.items()}
                for i, row in enumerate(rows)
            ],
        )
    pools.index_subject(conn, table, pool.subject_column)
    pools.install(session, pool, load, name, len(rows))
    return pool, load
