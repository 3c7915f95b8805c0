"""Builders shared by the quality tests (service, API, pages): several resources published in
one catalog version, loads with chosen counts, and a controlled base-database agreement."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy.orm import Session

from govdata.aggregation import base, quality
from govdata.aggregation.models import Load, Pool, QualitySnapshot
from govdata.catalog import review, service
from govdata.catalog.models import Resource, ReviewEntry, SubmissionStatus
from govdata.catalog.schemas import ResourceIn
from govdata.core.calendar import CITY_TZ
from tests.aggregation.factories import fill_pool, resource_input
from tests.world import World

ITEMS = [("公民身份号码", "C", 18), ("姓名", "C", 20), ("出生日期", "D", None), ("备注", "C", 100)]


def person_input(name: str, *, update_cycle: str = "monthly") -> ResourceIn:
    return resource_input(name, ITEMS, key="公民身份号码", update_cycle=update_cycle)


def publish_many(
    session: Session, world: World, department_id: int, inputs: list[ResourceIn]
) -> list[Resource]:
    """Create the resources, submit, approve and publish them in one catalog version."""
    city = world.actor(session, "city")
    created = [service.create_resource(session, city, department_id, data) for data in inputs]
    submission = review.submit(session, city, department_id)
    if submission.status == SubmissionStatus.PENDING_DISTRICT:  # compiled by its district first
        district = world.actor(session, "yz_admin")
        review.compile_district(session, district, submission.region_id)
    for entry in session.query(ReviewEntry).filter(ReviewEntry.submission_id == submission.id):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    for r in created:
        session.refresh(r)
    return created


def beijing(day: date, hour: int = 10) -> datetime:
    """A moment on a Beijing date, as the aware UTC datetime the database keeps."""
    return datetime.combine(day, time(hour), CITY_TZ).astimezone(UTC)


def loaded(
    session: Session,
    world: World,
    resource: Resource,
    rows: list[dict[str, Any]],
    *,
    user: str = "officer",
    at: datetime | None = None,
    read: int | None = None,
    bad: int = 0,
    duplicates: int = 0,
    measure: bool = True,
) -> tuple[Pool, Load, QualitySnapshot | None]:
    """Install ``rows`` as the pool's data via a load with the counts the pipeline would have
    recorded (``read`` = every data row of the file), then measure as the pipeline does."""
    pool, load = fill_pool(session, world.actor(session, user), resource, rows, loaded_at=at)
    load.rows_loaded = len(rows)
    load.duplicates_removed = duplicates
    load.rows_bad = bad
    load.rows_read = read if read is not None else len(rows) + bad + duplicates
    session.flush()
    snapshot = quality.measure(session, pool, load) if measure else None
    return pool, load, snapshot


def fake_base(monkeypatch: pytest.MonkeyPatch) -> dict[str, float | None]:
    """What ``base.consistency_with_base`` answers, set by the test (``agreement["value"]``):
    base databases are another area's, tested there; here only their answer matters."""
    agreement: dict[str, float | None] = {"value": None}

    def consistency_with_base(session: Session, pool: Pool) -> float | None:
        return agreement["value"]

    monkeypatch.setattr(base, "consistency_with_base", consistency_with_base)
    return agreement
