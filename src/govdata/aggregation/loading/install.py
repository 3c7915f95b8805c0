"""Installing a load (Art. 18): the staging table becomes the pool's current data (a full load)
or is merged into it by subject key (an incremental load), with repeated subject keys removed,
the load's outcome, its quality and its audit event, in one transaction."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, insert, text
from sqlalchemy.orm import Session

from govdata.aggregation import duplicates, pools, quality
from govdata.aggregation.loading.service import MAX_PROBLEMS, actor_of, update_load
from govdata.aggregation.models import Load, LoadMode, LoadProblem, LoadStatus, Pool
from govdata.aggregation.tables import LOAD_COLUMN, ROW_COLUMN, pool_table_name
from govdata.core import audit
from govdata.core.db import utcnow


def key_index(conn: Connection, table_name: str, key: str | None) -> None:
    if key is not None:
        conn.execute(text(f'CREATE UNIQUE INDEX "ux_{table_name}_key" ON "{table_name}" ("{key}")'))


def install(
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
        merge(conn, staging, final, pool)
        conn.execute(text(f'DROP TABLE "{staging}"'))
        total = int(conn.execute(text(f'SELECT count(*) FROM "{final}"')).scalar_one())
    else:
        final = pool_table_name(pool.id, load.id)
        conn.execute(text(f'ALTER TABLE "{staging}" RENAME TO "{final}"'))
        key_index(conn, final, key)
        total = loaded
        # The new table holds exactly the rows written less those removed: its fill counts
        # are known without a scan.
        fill = (total, {c["name"]: filled[c["column"]] for c in pool.columns})
    update_load(
        session,
        load,
        status=LoadStatus.SUCCEEDED,
        finished_at=utcnow(),
        rows_loaded=loaded,
        duplicates_removed=removed,
        staging_table="",
    )
    pools.install(session, pool, load, final, total)
    load_fill = (loaded, {c["name"]: filled[c["column"]] for c in pool.columns})
    quality.measure(session, pool, load, fill=fill, load_fill=load_fill)
    audit.record(
        session,
        actor_of(load),
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


def remove_repeated(
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


def merge(conn: Connection, staging: str, target: str, pool: Pool) -> None:
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
