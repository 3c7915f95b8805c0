"""Repeated subject keys across batches, and the staging writer's failures (Art. 16, 17 ¶1).

Loads run with batches of 3 rows, so a key repeated at rows 2, 6 and 9 crosses two batch
boundaries: the earlier rows are already written when the later one arrives.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import duplicates, loading, quality, writing
from govdata.aggregation.models import (
    BadRowPolicy,
    LoadProblem,
    LoadStatus,
    Pool,
    QualitySnapshot,
    QuarantinedRow,
)
from govdata.catalog.models import Resource
from tests.aggregation.test_loading import HEADER, current, good_csv, pid, run, write
from tests.world import World

# Rows (file row numbers from 2): pid(1) at 2, 6 and 9; pid(2) at 3 and 4 (one batch);
# pid(3) at 5 and 10. Winners: 9, 4 and 10.
REPEATS = (
    "\n".join(
        [
            HEADER,
            f"{pid(1)},第一次,1990-01-02,1,是",  # 2
            f"{pid(2)},乙旧,1990-01-03,,是",  # 3
            f"{pid(2)},乙新,1990-01-03,2,是",  # 4
            f"{pid(3)},丙旧,1990-01-04,3,否",  # 5
            f"{pid(1)},第二次,,1,是",  # 6
            f"{pid(4)},丁,1990-01-05,0,是",  # 7
            f"{pid(5)},戊,1990-01-06,0,否",  # 8
            f"{pid(1)},第三次,1990-01-02,,是",  # 9
            f"{pid(3)},丙新,1990-01-04,4,",  # 10
        ]
    )
    + "\n"
)


def _notes(session: Session, load_id: int) -> dict[int, str]:
    rows = session.scalars(
        select(LoadProblem).where(
            LoadProblem.load_id == load_id,
            LoadProblem.code == "aggregation.duplicate_subject_key",
        )
    )
    return {p.row_number: p.message for p in rows}


@pytest.fixture
def resource(session: Session, world: World) -> Resource:
    from tests.aggregation.factories import person_pool_resource
    from tests.aggregation.test_loading import ITEMS

    return person_pool_resource(session, world, world.police, "户籍人口去重测试", ITEMS)


def test_the_last_row_of_a_key_wins_across_batches(  # Art. 16
    session: Session, world: World, resource: Resource, tmp_path: Path
) -> None:
    load = run(session, world, resource, write(tmp_path, "r.csv", REPEATS))
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert (load.rows_read, load.duplicates_removed, load.rows_loaded) == (9, 4, 5)
    data = current(session, world, load)
    assert {k: data[k]["姓名"] for k in (pid(1), pid(2), pid(3))} == {
        pid(1): "第三次",
        pid(2): "乙新",
        pid(3): "丙新",
    }
    notes = _notes(session, load.id)
    assert sorted(notes) == [2, 3, 5, 6]
    # Each removed row names the key's final winner, not the next repeat.
    assert "第 9 行" in notes[2] and "第 9 行" in notes[6]
    assert "第 4 行" in notes[3] and "第 10 行" in notes[5]


def test_fill_counts_of_a_full_load_equal_a_scan(  # Art. 20
    session: Session, world: World, resource: Resource, tmp_path: Path
) -> None:
    load = run(session, world, resource, write(tmp_path, "r.csv", REPEATS))
    snap = session.scalars(select(QualitySnapshot).where(QualitySnapshot.load_id == load.id)).one()
    pool = session.get(Pool, snap.pool_id)
    assert pool is not None
    rescanned = quality.measure(session, pool, None)
    assert rescanned.details["items"] == snap.details["items"]
    assert rescanned.completeness == pytest.approx(snap.completeness)
    # 子女数 is empty in the winners of pid(1) (row 9) only: 4 of 5 rows.
    assert snap.details["items"]["子女数"] == pytest.approx(4 / 5)


def test_a_hash_collision_removes_nothing(
    session: Session,
    world: World,
    resource: Resource,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every key hashing alike makes every earlier row a candidate; the DELETE compares the
    keys themselves, so only the real repeats go."""

    def same_hash(keys: pl.Series) -> pl.Series:
        return pl.Series(keys.name, [7] * keys.len(), dtype=pl.UInt64)

    monkeypatch.setattr(duplicates, "key_hash", same_hash)
    load = run(session, world, resource, write(tmp_path, "r.csv", REPEATS))
    assert (load.duplicates_removed, load.rows_loaded) == (4, 5)
    assert set(current(session, world, load)) == {pid(n) for n in range(1, 6)}
    assert sorted(_notes(session, load.id)) == [2, 3, 5, 6]


def test_quarantined_rows_are_stored_while_the_copy_pauses(
    session: Session,
    world: World,
    resource: Resource,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bad row in every batch, stored as soon as one waits: the COPY pauses and reopens."""
    monkeypatch.setattr(loading.pipeline, "PENDING_BAD_ROWS", 1)
    lines = good_csv(9).splitlines()
    for i in (2, 5, 8):
        lines[i] = f"{pid(100 + i)},坏行{i},1990-02-30,1,是"
    load = run(
        session,
        world,
        resource,
        write(tmp_path, "q.csv", "\n".join(lines) + "\n"),
        policy=BadRowPolicy.QUARANTINE,
    )
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert (load.rows_read, load.rows_bad, load.rows_loaded) == (9, 3, 6)
    kept = session.scalars(select(QuarantinedRow).where(QuarantinedRow.load_id == load.id)).all()
    assert sorted(q.row_number for q in kept) == [3, 6, 9]
    assert len(current(session, world, load)) == 6


def test_a_writer_failure_midway_leaves_the_previous_version(  # nothing half-written
    session: Session,
    world: World,
    resource: Resource,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = run(session, world, resource, write(tmp_path, "a.csv", good_csv(4)))
    assert first.status == LoadStatus.SUCCEEDED
    calls = {"n": 0}
    name = "_send" if session.get_bind().dialect.name == "postgresql" else "write"
    cls = writing.CopyWriter if name == "_send" else writing.SqliteWriter
    original = getattr(cls, name)

    def failing(self: writing.Writer, *args: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        original(self, *args)

    monkeypatch.setattr(cls, name, failing)
    with pytest.raises(RuntimeError, match="disk full"):
        run(session, world, resource, write(tmp_path, "b.csv", good_csv(9)))
    session.rollback()  # as the job runner does; the failure was committed by the load
    failed = session.scalars(
        select(type(first)).where(type(first).id != first.id).order_by(type(first).id.desc())
    ).first()
    assert failed is not None and failed.status == LoadStatus.FAILED
    assert failed.error_code == "aggregation.load_failed"
    data = current(session, world, first)
    assert set(data) == {pid(n) for n in range(4)}  # the first load's rows, all of them
    leftovers = session.scalars(select(LoadProblem).where(LoadProblem.load_id == failed.id)).all()
    assert leftovers == []
