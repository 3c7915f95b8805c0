"""The sweep of loads whose process died (Art. 17 ¶1, 18; issue 11 §6): every load it fails
has its audit event, by the system, in the same transaction."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import loading
from govdata.aggregation.models import Load, LoadStatus
from govdata.core.audit import AuditEvent
from govdata.core.db import utcnow
from tests.aggregation.factories import person_pool_resource
from tests.aggregation.test_cli_pool import people_csv
from tests.world import World


def _running_load(session: Session, world: World, tmp_path: Path, name: str) -> Load:
    resource = person_pool_resource(
        session, world, world.police, name, [("姓名", "C", 20), ("出生日期", "D", None)]
    )
    load = loading.create_load(
        session,
        world.actor(session, "officer"),
        resource_code=resource.code,
        path=people_csv(tmp_path / f"{name}.csv", 3),
        filename="p.csv",
    )
    load.status = LoadStatus.RUNNING
    load.heartbeat_at = utcnow()
    session.flush()
    return load


def test_each_swept_load_has_its_audit_event(
    session: Session, world: World, tmp_path: Path
) -> None:
    dead = _running_load(session, world, tmp_path, "户籍人口甲")
    alive = _running_load(session, world, tmp_path, "户籍人口乙")
    alive.heartbeat_at = utcnow() + loading.STALE_AFTER + timedelta(minutes=5)
    session.flush()
    swept = loading.sweep(session, now=utcnow() + loading.STALE_AFTER + timedelta(minutes=1))
    assert swept == [dead.id]
    events = list(
        session.scalars(select(AuditEvent).where(AuditEvent.action == "aggregation.load_swept"))
    )
    assert [(e.object_type, e.object_id) for e in events] == [("load", str(dead.id))]
    event = events[0]
    assert event.actor_id is None and event.actor_name == "系统"
    assert event.department_id == world.police and "中断" in event.summary
    assert session.get(Load, dead.id).status == LoadStatus.FAILED  # type: ignore[union-attr]
    assert session.get(Load, alive.id).status == LoadStatus.RUNNING  # type: ignore[union-attr]


def test_the_event_rolls_back_with_the_sweep(
    session: Session, world: World, tmp_path: Path
) -> None:
    dead = _running_load(session, world, tmp_path, "户籍人口丙")
    session.commit()
    loading.sweep(session, now=utcnow() + loading.STALE_AFTER + timedelta(minutes=1))
    session.rollback()
    assert session.get(Load, dead.id).status == LoadStatus.RUNNING  # type: ignore[union-attr]
    assert (
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == "aggregation.load_swept")
        ).first()
        is None
    )
