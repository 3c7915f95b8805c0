"""The load pipeline (Art. 15–18): a file becomes a pool's current data, all at once or not at all.

``create_load`` checks who may load what and records the load (queued). ``execute`` runs it:
read in batches (``reading``), clean and validate each batch (``validation``), write the good
rows to a staging table (``writing``: binary ``COPY`` in a thread of its own on PostgreSQL,
batched inserts on SQLite), remove repeated subject keys (``duplicates``: the later row wins),
then install the staging table as the pool's
data (a full load) or merge it into the current data by subject key (an incremental load), in one
transaction with the load's outcome, its quality and its audit event.

Atomicity (DESIGN: nothing half-written):
* PostgreSQL: everything from the staging table's creation to the install is one transaction
  (its DDL is transactional). A killed load leaves nothing: the server rolls it back.
* SQLite: the staging table is filled in committed batches, so that one long load does not hold
  the database's single write lock for minutes (every sign-in writes). Readers never see it: the
  pool points to its table only at install. A load that fails drops its staging table at once;
  one whose process was killed is swept (``sweep``) by the next load and at start-up.

The bad-row policy is chosen per load: ``reject_file`` validates the whole file, reports every
problem and loads nothing if there is one; ``quarantine`` loads the good rows and keeps each bad
row, as read, with its problems. Either way the report lists row, item, code and message.
"""

from __future__ import annotations

import contextlib
import gc
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, delete, insert, inspect, select, text
from sqlalchemy.orm import Session

from govdata.aggregation import duplicates, policy, pools, reading, validation, writing
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
from govdata.aggregation.tables import (
    LOAD_COLUMN,
    ROW_COLUMN,
    is_data_table,
    pool_table_name,
    staging_table_name,
)
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import DomainError, InvalidInput, NotFound
from govdata.core.settings import get_settings

MAX_PROBLEMS = 100_000  # problem records kept per load; the counts are always exact
# Rows per batch: bounds memory (about 60 MB for 20 columns); GOVDATA_LOAD_BATCH_ROWS overrides.
BATCH_ROWS = int(os.environ.get("GOVDATA_LOAD_BATCH_ROWS", "200000"))
STALE_AFTER = timedelta(minutes=10)  # a running load silent this long was interrupted

# --- creating a load ---------------------------------------------------------------------------


def spool_dir() -> Path:
    path = get_settings().var_dir / "spool"
    path.mkdir(parents=True, exist_ok=True)
    return path


def spool_path(filename: str) -> Path:
    """Where an uploaded or pushed file waits for its load (removed when the load ends)."""
    return spool_dir() / f"{uuid.uuid4().hex}{Path(filename).suffix.lower()}"


def create_load(
    session: Session,
    actor: Actor,
    *,
    resource_code: str,
    path: Path,
    filename: str,
    policy: BadRowPolicy = BadRowPolicy.REJECT_FILE,
    mode: LoadMode = LoadMode.REPLACE,
    channel: str = "upload",
    encoding: str = "",
) -> Load:
    """Record a load of ``path`` into the pool of the resource ``resource_code`` (queued)."""
    resource = pools.resource_for_load(session, actor, resource_code)
    fmt = reading.file_format(filename)
    if encoding and encoding not in reading.ENCODINGS:
        raise InvalidInput("aggregation.unsupported_encoding", "文件编码只支持 UTF-8 和 GB18030。")
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput("aggregation.empty_file", "文件为空，没有可加载的数据。")
    pool = pools.ensure_pool(session, resource)
    if mode == LoadMode.UPSERT and pool.subject_column is None:
        raise InvalidInput(
            "aggregation.upsert_needs_key",
            "该资源没有主体标识信息项，只能全量加载，不能按主体增量更新。",
        )
    load = Load(
        pool_id=pool.id,
        department_id=pool.department_id,
        status=LoadStatus.QUEUED,
        policy=policy,
        mode=mode,
        channel=channel,
        filename=Path(filename).name[:255],
        file_format=fmt,
        encoding=encoding,
        file_bytes=size,
        spool_path=str(path),
        created_by=actor.person_id,
        created_by_name=actor.name[:64],
    )
    session.add(load)
    session.flush()
    audit.record(
        session,
        actor,
        "aggregation.load_created",
        object_type="load",
        object_id=load.id,
        summary=f"提交数据加载：{pool.code} {pool.name}（{load.filename}，{mode.label}）",
        change={"pool": pool.id, "file": load.filename, "bytes": size, "policy": policy},
        department_id=pool.department_id,
    )
    return load


def get_load(session: Session, actor: Actor, load_id: int) -> Load:
    visible = policy.visible_pools(actor).with_only_columns(Pool.id)
    load = session.scalars(
        select(Load).where(Load.id == load_id, Load.pool_id.in_(visible))
    ).one_or_none()
    if load is None:
        raise NotFound("aggregation.load_not_found", "未找到该数据加载记录。")
    return load


def list_loads(
    session: Session, actor: Actor, *, pool_id: int | None = None, limit: int = 50
) -> list[Load]:
    from govdata.aggregation import policy

    visible = policy.visible_pools(actor).with_only_columns(Pool.id)
    stmt = select(Load).where(Load.pool_id.in_(visible)).order_by(Load.id.desc()).limit(limit)
    if pool_id is not None:
        stmt = stmt.where(Load.pool_id == pool_id)
    return list(session.scalars(stmt))


# --- running a load ----------------------------------------------------------------------------


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


def _check_header(rules: validation.Rules, header: list[str]) -> None:
    unknown, missing = validation.header_problems(rules, header)
    if unknown:
        raise _file_error(
            "aggregation.unknown_column",
            f"文件中有该资源没有的信息项：{'、'.join(unknown)}。列名应与目录中的信息项名称一致。",
            columns=unknown,
        )
    if missing:
        raise _file_error(
            "aggregation.missing_column",
            f"文件缺少必填信息项：{'、'.join(missing)}。",
            columns=missing,
        )


def _key_index(conn: Connection, table_name: str, key: str | None) -> None:
    if key is not None:
        conn.execute(text(f'CREATE UNIQUE INDEX "ux_{table_name}_key" ON "{table_name}" ("{key}")'))


def _set(session: Session, load: Load, **values: Any) -> None:
    for k, v in values.items():
        setattr(load, k, v)
    session.flush()


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
        raise NotFound("aggregation.load_not_found", "未找到该数据加载记录。")
    if load.status != LoadStatus.QUEUED:
        return load
    pool = session.get(Pool, load.pool_id)
    assert pool is not None
    if commit_batches is None:
        commit_batches = session.get_bind().dialect.name == "sqlite"
    _set(session, load, status=LoadStatus.RUNNING, started_at=utcnow(), heartbeat_at=utcnow())
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
    _set(
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
    source = reading.Source(Path(load.spool_path), load.file_format, load.encoding)
    conn = session.connection()
    conn.execute(text(f'DROP TABLE IF EXISTS "{staging}"'))
    pools.create_data_table(conn, staging, pool.columns, pool.subject_column)
    if commit_batches:
        _set(session, load, staging_table=staging)
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
                _check_header(rules, [c for c in frame.columns if c != reading.ROW])
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
    side.flush()
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
    removed = _remove_repeated(session, load, staging, repeated, items)
    for item in items:
        filled[item] -= removed.filled.get(item, 0)
    return _install(session, load, pool, staging, counts.good, removed.rows.height, filled)


def _install(
    session: Session,
    load: Load,
    pool: Pool,
    staging: str,
    written: int,
    removed: int,
    filled: dict[str, int],
) -> Load:
    conn = session.connection()
    key = pool.subject_column
    loaded = written - removed
    fill: tuple[int, dict[str, int]] | None = None
    if load.mode == LoadMode.UPSERT and pool.table_name is not None:
        final = pool.table_name
        _merge(conn, staging, final, pool)
        conn.execute(text(f'DROP TABLE "{staging}"'))
        total = int(conn.execute(text(f'SELECT count(*) FROM "{final}"')).scalar_one())
    else:
        final = pool_table_name(pool.id, load.id)
        conn.execute(text(f'ALTER TABLE "{staging}" RENAME TO "{final}"'))
        _key_index(conn, final, key)
        total = loaded
        # The new table holds exactly the rows written less those removed: its fill counts
        # are known without a scan.
        fill = (total, {c["name"]: filled[c["column"]] for c in pool.columns})
    _set(
        session,
        load,
        status=LoadStatus.SUCCEEDED,
        finished_at=utcnow(),
        rows_loaded=loaded,
        duplicates_removed=removed,
        staging_table="",
    )
    pools.install(session, pool, load, final, total)
    from govdata.aggregation import quality

    quality.measure(session, pool, load, fill=fill)
    audit.record(
        session,
        _actor_of(load),
        "aggregation.load_succeeded",
        object_type="load",
        object_id=load.id,
        summary=(
            f"数据加载完成：{pool.code} {pool.name}，读取 {load.rows_read} 行，"
            f"加载 {loaded} 行，错误 {load.rows_bad} 行，去重 {removed} 行"
        ),
        change={"pool": pool.id, "table": final, "rows": total, "mode": load.mode},
        department_id=pool.department_id,
    )
    return load


def _remove_repeated(
    session: Session,
    load: Load,
    table_name: str,
    repeated: duplicates.RepeatedKeys | None,
    items: list[str],
) -> duplicates.Removed:
    """Remove earlier rows of a repeated subject key: the later row in the file wins (Art. 16:
    one record per person or legal person); each removed row is reported as cleaned."""
    if repeated is None:
        return duplicates.Removed(pl.DataFrame(schema={ROW_COLUMN: pl.Int64}))
    removed = repeated.remove(session.connection(), table_name, items)
    room = MAX_PROBLEMS - load.problems_recorded
    if room > 0 and removed.rows.height:
        session.execute(
            insert(LoadProblem),
            [
                {
                    "load_id": load.id,
                    "row_number": row,
                    "column": "",
                    "code": "aggregation.duplicate_subject_key",
                    "message": f"主体标识 {key} 重复，已以第 {winner} 行为准去重",
                    "value": str(key),
                    "kind": "cleaned",
                }
                for row, key, winner in removed.rows.head(room).iter_rows()
            ],
        )
        load.problems_recorded += min(room, removed.rows.height)
    return removed


def _merge(conn: Connection, staging: str, target: str, pool: Pool) -> None:
    """Incremental load: insert new subject keys, replace the records of known ones."""
    key = pool.subject_column
    cols = [ROW_COLUMN, LOAD_COLUMN, *[c["column"] for c in pool.columns]]
    names = ", ".join(f'"{c}"' for c in cols)
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c != key)
    # "WHERE true" lets SQLite tell the upsert clause from a join constraint (SQLite docs).
    conn.execute(
        text(
            f'INSERT INTO "{target}" ({names}) SELECT {names} FROM "{staging}" WHERE true '
            f'ON CONFLICT ("{key}") DO UPDATE SET {sets}'
        )
    )


def _actor_of(load: Load) -> Actor:
    return Actor(person_id=load.created_by, name=load.created_by_name or "系统")


def _refuse(session: Session, load: Load, exc: DomainError) -> Load:
    """The bad-row policy refused the file: its problems stay, its data never existed."""
    _set(
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
        _actor_of(load),
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
    _set(
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
        _actor_of(fresh),
        "aggregation.load_rejected" if rejected else "aggregation.load_failed",
        object_type="load",
        object_id=fresh.id,
        summary=f"数据加载未完成（{exc.message[:200]}），资源池数据保持不变",
        change={"code": exc.code},
        department_id=fresh.department_id,
    )
    return fresh


# --- sweeping interrupted loads ----------------------------------------------------------------


def sweep(session: Session, *, now: Any = None) -> list[int]:
    """Fail loads whose process died, and drop what they left (SQLite staging tables).

    A running load writes a heartbeat with every batch; one silent for ``STALE_AFTER`` is dead.
    """
    now = now or utcnow()
    stale = list(
        session.scalars(
            select(Load).where(
                Load.status == LoadStatus.RUNNING, Load.heartbeat_at < now - STALE_AFTER
            )
        )
    )
    conn = session.connection()
    for load in stale:
        conn.execute(text(f'DROP TABLE IF EXISTS "{staging_table_name(load.id)}"'))
        _set(
            session,
            load,
            status=LoadStatus.FAILED,
            finished_at=now,
            error_code="aggregation.load_interrupted",
            error_message="加载过程被中断（进程退出），未加载任何数据，资源池数据保持不变。",
            staging_table="",
            rows_loaded=0,
        )
        session.execute(delete(QuarantinedRow).where(QuarantinedRow.load_id == load.id))
        session.execute(delete(LoadProblem).where(LoadProblem.load_id == load.id))
    # Staging tables whose load is no longer running (e.g. a crash between batches).
    running = set(session.scalars(select(Load.id).where(Load.status == LoadStatus.RUNNING)).all())
    for name in inspect(conn).get_table_names():
        stage = is_data_table(name) and name.startswith("pool_stage_")
        if stage and int(name.rsplit("_", 1)[1]) not in running:
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    return [load.id for load in stale]


def remove_spool(load: Load) -> None:
    """Delete a spooled upload once its load has ended (never a file the CLI was given)."""
    path = Path(load.spool_path)
    try:
        if path.parent.resolve() == spool_dir().resolve():
            path.unlink(missing_ok=True)
    except OSError:
        pass
