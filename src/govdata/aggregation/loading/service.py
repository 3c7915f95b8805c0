"""Loads as records (Art. 17 ¶1, 18): creating one (who may load what, the spooled file),
reading them, and sweeping those whose process died."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, inspect, select, text
from sqlalchemy.orm import Session

from govdata.aggregation import policy, pools, reading
from govdata.aggregation.errors import LoadNotFound
from govdata.aggregation.models import (
    BadRowPolicy,
    Load,
    LoadMode,
    LoadProblem,
    LoadStatus,
    QuarantinedRow,
)
from govdata.aggregation.tables import is_data_table, staging_table_name
from govdata.core import audit
from govdata.core.actor import SYSTEM, Actor
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput
from govdata.core.settings import get_settings

MAX_PROBLEMS = 100_000  # problem records kept per load; the counts are always exact
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
    load = session.scalars(
        select(Load).where(Load.id == load_id, policy.visible_loads(actor))
    ).one_or_none()
    if load is None:
        raise LoadNotFound()
    return load


def list_loads(
    session: Session, actor: Actor, *, pool_id: int | None = None, limit: int = 50
) -> list[Load]:
    # Newest first by when the load was made (ids follow it, except for a demo's past).
    stmt = (
        select(Load)
        .where(policy.visible_loads(actor))
        .order_by(Load.created_at.desc(), Load.id.desc())
        .limit(limit)
    )
    if pool_id is not None:
        stmt = stmt.where(Load.pool_id == pool_id)
    return list(session.scalars(stmt))


def update_load(session: Session, load: Load, **values: Any) -> None:
    """Set fields of the load's record and flush."""
    for k, v in values.items():
        setattr(load, k, v)
    session.flush()


def actor_of(load: Load) -> Actor:
    """Who the load's outcome is recorded for: the person who created it."""
    return Actor(person_id=load.created_by, name=load.created_by_name or "系统")


# --- sweeping interrupted loads ----------------------------------------------------------------


def sweep(session: Session, *, now: Any = None) -> list[int]:
    """Fail loads whose process died, and drop what they left (SQLite staging tables).

    A running load writes a heartbeat with every batch; one silent for ``STALE_AFTER`` is dead.
    Each load failed here gets its audit event (``aggregation.load_swept``, by the system) in
    the caller's transaction, as every other change of a load does (Art. 17 ¶1).
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
        update_load(
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
        audit.record(
            session,
            SYSTEM,
            "aggregation.load_swept",
            object_type="load",
            object_id=load.id,
            summary="数据加载进程已中断，系统将其标记为失败，资源池数据保持不变",
            change={"code": "aggregation.load_interrupted", "heartbeat_at": str(load.heartbeat_at)},
            department_id=load.department_id,
        )
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
