"""Quality after an incremental load (Art. 20; issue 11 §6): the pool's snapshot measures the
pool as it now stands after the merge, the load's own figures stay on its report. A 20-row
upsert with 5 bad rows into a 4,000-row pool must not show the pool 75 % valid."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import loading
from govdata.aggregation.models import BadRowPolicy, Load, LoadMode, LoadStatus, QualitySnapshot
from govdata.catalog.models import Resource
from govdata.core.ids import make_id_number
from tests.aggregation.factories import person_pool_resource
from tests.world import World

HEADER = "公民身份号码,姓名,出生日期"


def pid(n: int) -> str:
    return make_id_number("500103", date(1950, 1, 1) + timedelta(days=n // 1000), n % 1000)


def _load(
    session: Session,
    world: World,
    resource: Resource,
    path: Path,
    *,
    mode: LoadMode,
    policy: BadRowPolicy = BadRowPolicy.QUARANTINE,
) -> Load:
    load = loading.create_load(
        session,
        world.actor(session, "officer"),
        resource_code=resource.code,
        path=path,
        filename=path.name,
        policy=policy,
        mode=mode,
    )
    session.commit()
    done = loading.execute(session, load.id)
    assert done.status == LoadStatus.SUCCEEDED, done.error_message
    return done


def _snapshot(session: Session, load: Load) -> QualitySnapshot:
    return session.scalars(select(QualitySnapshot).where(QualitySnapshot.load_id == load.id)).one()


def test_an_upsert_measures_the_pool_as_it_now_stands(
    session: Session, world: World, tmp_path: Path
) -> None:
    resource = person_pool_resource(
        session, world, world.police, "户籍人口质量", [("姓名", "C", 10), ("出生日期", "D", None)]
    )
    full = tmp_path / "full.csv"
    full.write_text(
        HEADER + "\n" + "".join(f"{pid(i)},居民{i},1990-01-01\n" for i in range(4000)),
        encoding="utf-8",
    )
    first = _load(session, world, resource, full, mode=LoadMode.REPLACE)
    assert (_snapshot(session, first).validity, first.quality["validity"]) == (1.0, 1.0)
    # 20 rows: 10 update existing people (one with an empty birth date), 5 are new people,
    # 5 are bad (a name too long) and go to quarantine.
    lines = [f"{pid(i)},改名{i},{'' if i == 0 else '1990-01-02'}" for i in range(10)]
    lines += [f"{pid(5000 + i)},新人{i},1990-01-03" for i in range(5)]
    lines += [f"{pid(6000 + i)},{'名字太长' * 5},1990-01-04" for i in range(5)]
    part = tmp_path / "part.csv"
    part.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    second = _load(session, world, resource, part, mode=LoadMode.UPSERT)
    assert (second.rows_read, second.rows_bad, second.rows_loaded) == (20, 5, 15)
    snap = _snapshot(session, second)
    # The pool: 4,005 people, of whom 15 came with the upsert (75 % of its file was valid).
    assert snap.rows == 4005
    assert snap.validity == pytest.approx((3990 * 1.0 + 15 * 0.75) / 4005)
    assert snap.validity > 0.99
    assert snap.uniqueness == 1.0
    assert snap.completeness == pytest.approx((4005 * 3 - 1) / (4005 * 3))
    assert snap.details["validity_basis"] == "pool"
    assert snap.details["load"]["validity"] == 0.75
    # The load's report keeps its own figures: its file, 15 rows written, one date empty.
    assert second.quality["snapshot_id"] == snap.id
    assert second.quality["rows"] == 15 and second.quality["validity"] == 0.75
    assert second.quality["completeness"] == pytest.approx(round((15 * 3 - 1) / 45, 4))
