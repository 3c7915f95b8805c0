"""Running a load (Art. 15–18): read in batches, clean and validate, write the good rows to a
staging table, then install it (``install``); a refused or failed load leaves nothing."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from govdata.aggregation import duplicates, pools, reading, validation, writing
from govdata.aggregation.errors import LoadNotFound
from govdata.aggregation.loading import install as installing
from govdata.aggregation.loading.service import MAX_PROBLEMS, actor_of, update_load
from govdata.aggregation.models import (
    BadRowPolicy,
    ItemSpec,
    Load,
    LoadMode,
    LoadProblem,
    LoadStatus,
    Pool,
    QuarantinedRow,
)
from govdata.aggregation.tables import staging_table_name
from govdata.core import audit
from govdata.core.db import utcnow
from govdata.core.errors import DomainError, InvalidInput

# Rows per batch: bounds memory (about 60 MB for 20 columns); GOVDATA_LOAD_BATCH_ROWS overrides.
BATCH_ROWS = int(os.environ.get("GOVDATA_LOAD_BATCH_ROWS", "200000"))


@dataclass
class _Counts:
    read: int = 0
    good: int = 0
    bad: int = 0
    problems: int = 0


def _rules(session: Session, pool: Pool) -> validation.Rules:
    specs = {
        s.item_name: (s.required, list(s.allowed_values))
        for s in session.scalars(select(ItemSpec).where(ItemSpec.resource_id == pool.resource_id))
    }
    return validation.make_rules(pool.columns, pool.subject_column, pool.subject_kind, specs)


def _store_problems(session: Session, load: Load, problems: pl.DataFrame, room: int) -> int:
    if problems.height == 0 or room <= 0:
        return 0
    rows = problems.head(room)
    session.execute(
        insert(LoadProblem),
        [
            {
                "load_id": load.id,
                "row_number": r[validation.ROW],
                "column": r["item"],
                "code": r["code"],
                "message": r["message"],
                "value": r["value"] or "",
                "kind": "error",
            }
            for r in rows.iter_rows(named=True)
        ],
    )
    return rows.height


def _quarantine(session: Session, load: Load, bad_raw: pl.DataFrame) -> None:
    if bad_raw.height == 0:
        return
    session.execute(
        insert(QuarantinedRow),
        [
            {
                "load_id": load.id,
                "row_number": r.pop(validation.ROW),
                "data": r,
            }
            for r in bad_raw.iter_rows(named=True)
        ],
    )


def _file_error(code: str, message: str, **detail: Any) -> InvalidInput:
    return InvalidInput(code, message, detail=detail or None)


def _check_header(rules: validation.Rules, header: list[str], taken: str = "") -> None:
    """``taken``: which rows of a spreadsheet were read as its header, said in the refusal."""
    unknown, missing = validation.header_problems(rules, header)
    if unknown:
        raise _file_error(
            "aggregation.unknown_column",
            f"文件中有该资源没有的信息项：{'、'.join(unknown)}。列名应与目录中的信息项名称一致。"
            + taken,
            columns=unknown,
        )
    if missing:
        raise _file_error(
            "aggregation.missing_column",
            f"文件缺少必填信息项：{'、'.join(missing)}。" + taken,
            columns=missing,
        )


def _note_layout(session: Session, load: Load, source: reading.Source, counts: _Counts) -> None:
    """Which rows of a spreadsheet were its header (and where notes below the data began), as a
    note in the load's report, when not simply row 1."""
    note = source.layout.describe()
    if not note or counts.problems >= MAX_PROBLEMS:
        return
    session.execute(
        insert(LoadProblem),
        [
            {
                "load_id": load.id,
                "row_number": source.layout.header_first,
                "column": "",
                "code": "aggregation.header_row",
                "message": note,
                "value": "",
                "kind": "cleaned",
            }
        ],
    )
    counts.problems += 1


@dataclass(frozen=True)
class LoadProgress:
    """What a progress bar or page shows while a load runs."""

    load_id: int
    rows_read: int
    rows_estimated: int | None
    rows_bad: int
    rows_good: int


Progress = Callable[[LoadProgress], None]


def execute(
    session: Session,
    load_id: int,
    *,
    progress: Progress | None = None,
    commit_batches: bool | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Load:
    """Run a queued load in ``session``, committing its start, and leave the rest to commit.

    ``commit_batches`` (default: on SQLite) also commits after each staging batch; see the
    module docstring. Bad data raises nothing: a refused load is a load with that status, its
    problems recorded, and the pool unchanged. An unexpected error is recorded as a failed load
    and raised again.
    """
    load = session.get(Load, load_id)
    if load is None:
        raise LoadNotFound()
    if load.status != LoadStatus.QUEUED:
        return load
    pool = session.get(Pool, load.pool_id)
    assert pool is not None
    if commit_batches is None:
        commit_batches = session.get_bind().dialect.name == "sqlite"
    update_load(
        session, load, status=LoadStatus.RUNNING, started_at=utcnow(), heartbeat_at=utcnow()
    )
    # Committed on its own so that the page shows the load running, and so that a progress
    # writer on another connection never waits for the load's transaction (PostgreSQL).
    session.commit()
    if load.mode == LoadMode.UPSERT and pool.table_name is not None:
        if pools.pending_layout_change(session, pool):
            return _fail(
                session,
                load,
                InvalidInput(
                    "aggregation.layout_changed",
                    "该资源的信息项已在目录中变更，请先进行一次全量加载。",
                ),
                rejected=True,
            )
    else:
        pools.follow_revision(session, pool)
    staging = staging_table_name(load.id)
    try:
        with _no_cyclic_gc():
            return _stage(session, load, pool, staging, progress, commit_batches, batch_rows)
    except DomainError as exc:
        return _fail(session, load, exc, rejected=True, staging=staging)
    except Exception as exc:
        failure = DomainError("aggregation.load_failed", f"加载失败：{str(exc)[:300]}")
        _fail(session, load, failure, rejected=False, staging=staging)
        # Committed here: the caller rolls back on the error it sees, which would otherwise
        # leave the load "running" until the sweep calls it interrupted.
        session.commit()
        raise


# Quarantined rows held while a COPY streams; past this many the COPY pauses to store them.
PENDING_BAD_ROWS = 50_000


@dataclass
class _SideWrites:
    """Problems and quarantined rows waiting for the connection (a COPY may hold it)."""

    session: Session
    load: Load
    counts: _Counts
    problems: list[pl.DataFrame] = field(default_factory=list)
    bad_rows: list[pl.DataFrame] = field(default_factory=list)

    def add(self, result: validation.BatchResult, quarantine: bool) -> None:
        held = sum(f.height for f in self.problems)
        room = MAX_PROBLEMS - self.counts.problems - held
        if result.problems.height and room > 0:
            self.problems.append(result.problems.head(room))
        if quarantine and result.bad_raw.height:
            self.bad_rows.append(result.bad_raw)

    def waiting_rows(self) -> int:
        return sum(f.height for f in self.bad_rows)

    def flush(self) -> None:
        for problems in self.problems:
            room = MAX_PROBLEMS - self.counts.problems
            self.counts.problems += _store_problems(self.session, self.load, problems, room)
        for bad_raw in self.bad_rows:
            _quarantine(self.session, self.load, bad_raw)
        self.problems.clear()
        self.bad_rows.clear()

    def finish(self, source: reading.Source) -> None:
        """The last writes, and a note of which rows of a spreadsheet were its header."""
        self.flush()
        _note_layout(self.session, self.load, source, self.counts)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A load allocates few Python objects per batch but large frames: the cyclic collector's
    passes over the interpreter's objects cost time and reclaim nothing meanwhile."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _write(
    writer: writing.Writer,
    repeated: duplicates.RepeatedKeys | None,
    good: pl.DataFrame,
    load_id: int,
    filled: dict[str, int],
) -> int:
    """Write a batch's good rows (the last of each repeated key) and count their filled cells;
    the number of good rows, repeated or not (their removal is counted at the end)."""
    kept = repeated.keep_last(good) if repeated is not None else good
    writer.write(kept, load_id)
    for item in filled:
        filled[item] += kept.height - kept[item].null_count()
    return good.height


def _commit_batch(session: Session, load: Load, counts: _Counts, estimated: int | None) -> None:
    """SQLite: commit a staged batch with the load's progress and heartbeat.

    The load row is written only here: on PostgreSQL the runner's progress writer updates it
    from another connection, which must never wait on this transaction.
    """
    update_load(
        session,
        load,
        rows_read=counts.read,
        rows_bad=counts.bad,
        rows_estimated=estimated,
        problems_recorded=counts.problems,
        heartbeat_at=utcnow(),
    )
    session.commit()


def _stage(
    session: Session,
    load: Load,
    pool: Pool,
    staging: str,
    progress: Progress | None,
    commit_batches: bool,
    batch_rows: int,
) -> Load:
    rules = _rules(session, pool)
    source = reading.Source(
        Path(load.spool_path), load.file_format, load.encoding, frozenset(rules.by_name())
    )
    conn = session.connection()
    conn.execute(text(f'DROP TABLE IF EXISTS "{staging}"'))
    pools.create_data_table(conn, staging, pool.columns, pool.subject_column)
    if commit_batches:
        update_load(session, load, staging_table=staging)
        session.commit()
    writer = writing.writer_for(session.connection(), staging, pool.columns)
    repeated = duplicates.RepeatedKeys(pool.subject_column) if pool.subject_column else None
    items = [c["column"] for c in pool.columns]
    filled = dict.fromkeys(items, 0)
    counts = _Counts()
    side = _SideWrites(session, load, counts)
    estimated: int | None = None
    reject = load.policy == BadRowPolicy.REJECT_FILE
    header_checked = False

    try:
        for frame in reading.batches(source, batch_rows):
            if not header_checked:
                _check_header(
                    rules, [c for c in frame.columns if c != reading.ROW], source.layout.describe()
                )
                estimated = reading.estimate_rows(source, frame)
                header_checked = True
            result = validation.check_batch(rules, frame)
            counts.read += result.rows
            counts.bad += result.bad_raw.height
            side.add(result, quarantine=not reject)
            if not (reject and counts.bad):
                counts.good += _write(writer, repeated, result.good, load.id, filled)
            if not writer.streaming or side.waiting_rows() >= PENDING_BAD_ROWS:
                writer.pause()
                side.flush()
            if commit_batches:
                _commit_batch(session, load, counts, estimated)
                writer.conn = session.connection()
            if progress is not None:
                progress(LoadProgress(load.id, counts.read, estimated, counts.bad, counts.good))
        writer.close()
    except BaseException:
        writer.abort()
        raise
    side.finish(source)
    load.encoding = source.encoding or load.encoding
    load.rows_estimated = estimated
    load.rows_read, load.rows_bad, load.problems_recorded = counts.read, counts.bad, counts.problems
    if not header_checked:
        raise InvalidInput("aggregation.no_rows", "文件中没有数据行。")
    if reject and counts.bad:
        session.connection().execute(text(f'DROP TABLE IF EXISTS "{staging}"'))
        return _refuse(
            session,
            load,
            InvalidInput(
                "aggregation.bad_rows",
                f"文件有 {counts.bad} 行不符合要求，已整体拒收，未加载任何数据。"
                "请按问题清单修改后重新加载。",
            ),
        )
    removed = installing.remove_repeated(session, load, staging, repeated, items)
    for item in items:
        filled[item] -= removed.filled.get(item, 0)
    return installing.install(
        session, load, pool, staging, counts.good, removed.rows.height, filled
    )


def _refuse(session: Session, load: Load, exc: DomainError) -> Load:
    """The bad-row policy refused the file: its problems stay, its data never existed."""
    update_load(
        session,
        load,
        status=LoadStatus.REJECTED,
        finished_at=utcnow(),
        error_code=exc.code,
        error_message=exc.message,
        staging_table="",
        rows_loaded=0,
    )
    audit.record(
        session,
        actor_of(load),
        "aggregation.load_rejected",
        object_type="load",
        object_id=load.id,
        summary=f"数据加载被拒收（{exc.message[:200]}），资源池数据保持不变",
        change={"code": exc.code, "rows_bad": load.rows_bad},
        department_id=load.department_id,
    )
    return load


def _fail(
    session: Session, load: Load, exc: DomainError, *, rejected: bool, staging: str = ""
) -> Load:
    """Nothing of a failed load stays: roll back, drop its staging table and what it recorded."""
    load_id = load.id
    session.rollback()
    conn = session.connection()
    if staging:
        conn.execute(text(f'DROP TABLE IF EXISTS "{staging}"'))
    session.execute(delete(LoadProblem).where(LoadProblem.load_id == load_id))
    session.execute(delete(QuarantinedRow).where(QuarantinedRow.load_id == load_id))
    fresh = session.get(Load, load_id)
    assert fresh is not None
    update_load(
        session,
        fresh,
        status=LoadStatus.REJECTED if rejected else LoadStatus.FAILED,
        finished_at=utcnow(),
        error_code=exc.code,
        error_message=exc.message,
        staging_table="",
        rows_loaded=0,
        problems_recorded=0,
    )
    audit.record(
        session,
        actor_of(fresh),
        "aggregation.load_rejected" if rejected else "aggregation.load_failed",
        object_type="load",
        object_id=fresh.id,
        summary=f"数据加载未完成（{exc.message[:200]}），资源池数据保持不变",
        change={"code": exc.code},
        department_id=fresh.department_id,
    )
    return fresh
