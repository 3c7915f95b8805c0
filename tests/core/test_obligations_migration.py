"""Migration 0005 enters the statutory clocks that already exist into the obligations register
as the services would have (Art. 14 ¶1, ¶2; Art. 19 ¶2; Art. 50(8))."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from govdata.catalog import review, service, updates
from govdata.catalog.models import Resource, ReviewEntry
from govdata.catalog.schemas import ChangeIn
from govdata.core import calendar, obligations
from govdata.core.audit_seal import seal
from govdata.core.db import UTCDateTime, make_engine
from govdata.core.migrate import downgrade, upgrade
from govdata.core.obligations import Obligation
from tests.catalog.factories import person_resource
from tests.conftest import new_database_url
from tests.world import World, build_world

_SKIP = {"id", "created_at"}


def _rows(engine: Engine) -> dict[tuple[str, int], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Obligation.__table__)).mappings().all()
    return {
        (r["kind"], r["subject_id"]): {k: v for k, v in r.items() if k not in _SKIP} for r in rows
    }


def _today(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    monkeypatch.setattr(calendar, "today", lambda: day)


def _catalog(session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two changes (one applied late, one open), a reviewed update application, an open one."""
    officer, city = world.actor(session, "officer"), world.actor(session, "city")
    _today(monkeypatch, date(2026, 2, 2))
    service.create_resource(session, officer, world.police, person_resource())
    review.submit(session, officer, world.police)
    for entry in session.scalars(select(ReviewEntry).where(ReviewEntry.status == "pending")):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    _today(monkeypatch, date(2026, 3, 2))
    applied = updates.record_change(
        session,
        officer,
        world.police,
        ChangeIn(kind="law", description="《某条例》修订", occurred_on=date(2026, 2, 12)),
    )
    updates.record_change(
        session,
        officer,
        world.police,
        ChangeIn(kind="function", description="职能调整", occurred_on=date(2026, 3, 2)),
    )
    _today(monkeypatch, date(2026, 3, 5))
    service.create_resource(session, officer, world.police, person_resource("资源二"))
    reviewed = review.submit(session, officer, world.police, change_id=applied.id)
    _today(monkeypatch, date(2026, 3, 9))
    for entry in session.scalars(
        select(ReviewEntry).where(ReviewEntry.submission_id == reviewed.id)
    ):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city)
    service.create_resource(session, officer, world.police, person_resource("资源三"))
    review.submit(session, officer, world.police)


def _insert(session: Session, table: str, values: dict[str, Any]) -> int:
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)

    def typed(v: Any) -> Any:
        if isinstance(v, datetime):
            return UTCDateTime()
        return sa.JSON() if isinstance(v, list) else None

    binds = [sa.bindparam(k, v, type_=typed(v)) for k, v in values.items()]
    stmt = sa.text(f"INSERT INTO {table} ({columns}) VALUES ({params}) RETURNING id")
    return int(session.execute(stmt.bindparams(*binds)).scalar_one())


def _corrections(session: Session, world: World) -> tuple[int, int]:
    """Two corrections written as migration 0004's schema holds them (the aggregation services
    enter their clocks into the register once they adopt it)."""
    resource = session.scalar(select(Resource).where(Resource.name == "资源二"))
    assert resource is not None and resource.published_revision_id is not None
    now = datetime.now(UTC)
    pool = _insert(
        session,
        "aggregation_pools",
        {
            "resource_id": resource.id,
            "department_id": world.police,
            "revision_id": resource.published_revision_id,
            "code": resource.code,
            "name": "常住人口信息",
            "subject_kind": "person",
            "update_cycle": "monthly",
            "columns": [],
            "row_count": 0,
            "created_at": now,
        },
    )
    common = {
        "pool_id": pool,
        "department_id": world.police,
        "subject_key": "500103199001011234",
        "item_name": "姓名",
        "reason": "姓名有误",
        "evidence": "",
        "applicant_kind": "department",
        "applicant_department_id": world.market,
        "applicant_person_id": world.people["officer2"],
        "applicant_name": "孙专员",
        "channel": "sharing",
        "answer": "",
        "created_at": now,
    }
    open_ = _insert(
        session,
        "aggregation_corrections",
        common
        | {
            "received_on": date(2026, 3, 2),
            "due_on": date(2026, 3, 16),
            "due_provisional": False,
            "extension_days": 0,
            "extension_reason": "",
            "status": "open",
        },
    )
    late = _insert(
        session,
        "aggregation_corrections",
        common
        | {
            "item_name": "住址",
            "received_on": date(2025, 9, 15),
            "due_on": date(2025, 10, 17),
            "due_provisional": False,
            "extension_days": 10,
            "original_due_on": date(2025, 9, 28),
            "extended_by": world.people["head"],
            "extension_reason": "涉及多个部门",
            "status": "accepted",
            "answered_on": date(2025, 10, 20),
            "answered_by": world.people["officer"],
        },
    )
    return open_, late


def test_existing_clocks_enter_the_register(  # type: ignore[no-untyped-def]
    pg_cluster, tmp_path: Path, worker: str, monkeypatch
) -> None:
    engine = make_engine(new_database_url(pg_cluster, tmp_path, f"govdata_obl_{worker}"))
    try:
        upgrade(engine)
        real_today = calendar.today()
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        with factory() as session, session.begin():
            world = build_world(session)
            _catalog(session, world, monkeypatch)
            open_, late = _corrections(session, world)
            # What the services wrote, flagged as the daily scan would today.
            obligations.scan_overdue(session, real_today)
        before = _rows(engine)
        assert {k for k, _ in before} == {"catalog.law_change", "catalog.update_application"}
        assert len(before) == 4

        seal(factory)  # the old audit table has no place for unsealed events
        downgrade(engine, "0004")
        upgrade(engine)
        after = _rows(engine)

        for key, row in before.items():
            if key[0] == "catalog.update_application":
                row["answered_by"] = None  # who reviewed is not kept on the submission
            assert after[key] == row, key
        assert after[("aggregation.correction", open_)] | {"title": ""} == {
            "kind": "aggregation.correction",
            "article": "第十九条第二款",
            "title": "",
            "subject_type": "correction",
            "subject_id": open_,
            "department_id": world.police,
            "region_id": world.city,
            "started_on": date(2026, 3, 2),
            "working_days": 10,
            "due_on": date(2026, 3, 16),
            "provisional": False,
            "extension_requested_days": None,
            "extension_requested_by": None,
            "extension_requested_on": None,
            "extension_reason": "",
            "extension_days": 0,
            "extended_by": None,
            "extended_on": None,
            "original_due_on": None,
            "answered_on": None,
            "answered_by": None,
            "overdue": real_today > date(2026, 3, 16),
        }
        assert after[("aggregation.correction", open_)]["title"] == (
            f"第{open_}号校核申请：常住人口信息的信息项“姓名”"
        )
        done = after[("aggregation.correction", late)]
        assert (done["due_on"], done["original_due_on"], done["extension_days"]) == (
            date(2025, 10, 17),
            date(2025, 9, 28),
            10,
        )
        assert (done["extended_by"], done["extension_reason"]) == (
            world.people["head"],
            "涉及多个部门",
        )
        assert (done["answered_on"], done["answered_by"], done["overdue"]) == (
            date(2025, 10, 20),
            world.people["officer"],
            True,
        )
        assert len(after) == 6
    finally:
        engine.dispose()
