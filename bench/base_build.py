"""Building the person base database (issue 5) from five pools, and rebuilding it after a load.

    .venv/bin/python bench/base_build.py [--db postgresql|sqlite|both] [--rows 2000000]
                                         [--sqlite-rows N] [--delta 100000]
                                         [--wait-quiet 300] [--keep]

1. A fresh, migrated database (PostgreSQL ``govdata_bench_base``; SQLite
   ``bench/out/base_build.db``) with five departments, each publishing one person resource
   keyed by 公民身份号码 with three info items (``_pooldata.BASE_POOLS``), through the catalog
   services. The city bureau defines the person base (lead: 市公安局) and its 13 base items,
   each with its one authoritative source (一数一源, Art. 16; ``base.define_base``,
   ``base.add_item``), while the pools are still empty.
2. Fills the five pools with ``--rows`` rows each, straight into their data tables with the
   pipeline's own writer (``writing.writer_for``: binary COPY on PostgreSQL, executemany on
   SQLite), the unique key index, ``pools.install``; then ``ANALYZE``. Pool p holds key indexes
   [p·rows/4, p·rows/4 + rows): neighbours overlap, five pools of 2,000,000 rows cover
   4,000,000 persons. 姓名 is also carried by the 民政 pool (one name in 200 spelled
   differently: conflicts, Art. 16, 20) and 性别 by the 教委 pool (always the same).
3. Each measured step runs in its own process (wall time to the commit, peak RSS ``VmHWM``,
   SQL time per statement):

   ``floor``        one hand-written ``INSERT … SELECT`` into a plain table with the same
                    columns and primary key: the union of the five pools' keys, five LEFT JOINs,
                    each value as the same canonical text with its load id. No conflicts.
   ``build``        ``base.build(session, actor, "person")``: the same merge in a savepoint,
                    then conflicts of every carried item against its source, row count, audit.
   ``floor-again``  the floor once more, after the build (warm caches for both).
   ``incremental``  an upsert load (``LoadMode.UPSERT``, quarantine) of ``--delta`` rows into
                    the 民政 pool (half of them known persons with a changed 婚姻状况, half new
                    persons) through ``loading.create_load`` + ``tasks.run_load``, whose
                    ``after_load`` runs ``base.rebuild_after_load`` for the rows the load wrote.
                    The load and the rebuild are timed apart.
   ``build-after``  a full ``base.build`` after that load: what the incremental rebuild saves.

4. Checks the results: the floor's table and ``base_person`` hold the same rows (``EXCEPT``
   both ways), the conflicts found, and that the incremental rebuild put the new persons and
   the changed values in the base.

JSON goes to ``bench/out/base_build_<db>.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, make_url, select, text

from _pooldata import (
    BASE_ITEMS,
    BASE_POOLS,
    base_pool_frame,
    pids_cpu_seconds,
    postmaster_pid,
    server_cpu_seconds,
    watch_backends,
)
from common import (
    OUT_DIR,
    CpuMeter,
    drop_pg_database,
    fresh_database_url,
    machine_info,
    pg_server_version,
    wait_for_quiet,
    write_json,
)

SCRIPT = Path(__file__).resolve()
POSTMASTER: list[int | None] = [None]  # the local server's postmaster, for its CPU time
PG_DATABASE = "govdata_bench_base"
FILL_CHUNK = 500_000
FLOOR_TABLE = "bench_floor_person"
DELTA_POOL = 1  # the 民政 pool: source of 婚姻状况 and 婚姻登记日期, carrier of 姓名


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class SqlTimer:
    """SQL time per statement (SQLAlchemy cursor events; COPY through the driver is not seen)."""

    def __init__(self, engine: Engine) -> None:
        self.sql: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            conn.info.setdefault("bench_t0", []).append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            t0 = conn.info["bench_t0"].pop()
            key = " ".join(statement.split())[:110]
            self.sql[key][0] += 1
            self.sql[key][1] += time.perf_counter() - t0

    def report(self, top: int = 10) -> dict[str, Any]:
        rows = sorted(self.sql.items(), key=lambda kv: -kv[1][1])[:top]
        return {
            "sql_total_s": round(sum(v[1] for v in self.sql.values()), 2),
            "sql_statements": sum(int(v[0]) for v in self.sql.values()),
            "sql_top": [{"statement": k, "count": int(v[0]), "s": round(v[1], 2)} for k, v in rows],
        }


# --- setting up --------------------------------------------------------------------------------


def setup_database(db: str) -> str:
    """Departments, five published person resources, the person base and its 13 items."""
    from govdata.aggregation import base
    from govdata.aggregation.models import BaseKind
    from govdata.catalog import review, service
    from govdata.catalog.models import Resource, ReviewEntry
    from govdata.catalog.schemas import ResourceIn
    from govdata.core.db import make_engine, make_sessionmaker, transaction
    from govdata.core.migrate import upgrade
    from govdata.org.demo import BOOTSTRAP
    from govdata.org.models import Department, Region

    url = fresh_database_url(db, "base_build", pg_database=PG_DATABASE)
    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        city = Region(code="500000", name="重庆市", kind="city")
        session.add(city)
        session.flush()
        resource_ids: list[int] = []
        lead = None
        for dept_code, dept_name, resource_name, items in BASE_POOLS:
            dept = Department(code=dept_code, name=dept_name, region_id=city.id)
            session.add(dept)
            session.flush()
            lead = lead or dept.id
            data = ResourceIn.model_validate(
                {
                    "category": "department",
                    "class_path": "人口/基础信息",
                    "name": resource_name,
                    "abstract": f"{dept_name}在履职中采集的{resource_name}。",
                    "format": "database",
                    "share_type": "unconditional",
                    "open_type": "none",
                    "legal_basis": "《重庆市政务数据资源管理暂行办法》第十六条",
                    "update_cycle": "monthly",
                    "security_level": "sensitive",
                    "subject_kind": "person",
                    "items": [
                        {"name": n, "data_type": t, "length": length, "is_subject_key": n == key}
                        for key in ["公民身份号码"]
                        for n, t, length in [("公民身份号码", "C", 18), *items]
                    ],
                }
            )
            resource = service.create_resource(session, BOOTSTRAP, dept.id, data)
            submission = review.submit(session, BOOTSTRAP, dept.id)
            for entry in session.scalars(
                select(ReviewEntry).where(ReviewEntry.submission_id == submission.id)
            ):
                review.decide(session, BOOTSTRAP, entry.id, approve=True)
            resource_ids.append(resource.id)
        review.publish(session, BOOTSTRAP, note="bench")
        assert lead is not None
        base.define_base(session, BOOTSTRAP, BaseKind.PERSON, lead_department_id=lead)
        for name, pool_no, source_item in BASE_ITEMS:
            res = session.get(Resource, resource_ids[pool_no])
            assert res is not None
            base.add_item(
                session,
                BOOTSTRAP,
                BaseKind.PERSON,
                name=name,
                source_resource_code=res.code,
                source_item=source_item,
            )
    engine.dispose()
    return url


def typed_frame(frame: Any, columns: list[dict[str, Any]]) -> Any:
    """``base_pool_frame``'s canonical texts (ISO dates, ``true``/``false``) as the typed values
    ``writing.writer_for`` writes."""
    import polars as pl

    from govdata.aggregation import validation

    exprs = []
    for c in columns:
        name, dtype = c["column"], validation.polars_type(c["data_type"])
        if name not in frame.columns or frame.schema[name] == dtype:
            continue
        col = pl.col(name)
        if dtype == pl.Boolean():
            exprs.append((col == "true").alias(name))
        elif dtype == pl.Date():
            exprs.append(col.str.to_date("%Y-%m-%d").alias(name))
        elif dtype == pl.Datetime("us"):
            exprs.append(col.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us").alias(name))
        else:
            exprs.append(col.cast(dtype).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def fill_pools(url: str, rows: int) -> dict[str, Any]:
    """Each pool's data table filled with ``rows`` rows by the pipeline's writer, indexed,
    installed as the pool's current data (one load record per pool)."""
    import polars as pl

    from govdata.aggregation import pools, writing
    from govdata.aggregation.models import BadRowPolicy, Load, LoadMode, LoadStatus
    from govdata.aggregation.tables import pool_table_name
    from govdata.catalog.models import Resource
    from govdata.core.db import make_engine, make_sessionmaker, transaction, utcnow
    from govdata.org.demo import BOOTSTRAP

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    seconds: list[float] = []
    for pool_no, (_dept, _name, resource_name, _items) in enumerate(BASE_POOLS):
        started = time.perf_counter()
        with transaction(factory) as session:
            resource = session.scalars(select(Resource).where(Resource.name == resource_name)).one()
            pool = pools.ensure_pool(session, resource)
            pools.follow_revision(session, pool)
            load = Load(
                pool_id=pool.id,
                department_id=pool.department_id,
                status=LoadStatus.SUCCEEDED,
                policy=BadRowPolicy.REJECT_FILE,
                mode=LoadMode.REPLACE,
                channel="cli",
                filename=f"bench_pool_{pool_no}.csv",
                file_format="csv",
                created_by=BOOTSTRAP.person_id,
                created_by_name=BOOTSTRAP.name,
                started_at=utcnow(),
                finished_at=utcnow(),
                rows_read=rows,
                rows_loaded=rows,
            )
            session.add(load)
            session.flush()
            name = pool_table_name(pool.id, load.id)
            conn = session.connection()
            table = pools.create_data_table(conn, name, pool.columns, pool.subject_column)
            columns = [c["column"] for c in pool.columns]
            writer = writing.writer_for(conn, name, pool.columns)
            first = pool_no * (rows // 4)
            for start in range(0, rows, FILL_CHUNK):
                n = min(FILL_CHUNK, rows - start)
                frame = base_pool_frame(pool_no, first + start, n)
                frame.columns = columns
                frame = frame.with_row_index("_row", offset=start + 2).with_columns(
                    pl.col("_row").cast(pl.Int64)
                )
                writer.write(typed_frame(frame, pool.columns), load.id)
            writer.close()
            pools.index_subject(conn, table, pool.subject_column)
            pools.install(session, pool, load, name, rows)
        seconds.append(round(time.perf_counter() - started, 1))
        print(f"    pool {pool_no + 1}: {rows:,} rows in {seconds[-1]} s", flush=True)
    analyze(engine)
    engine.dispose()
    return {"seconds_per_pool": seconds}


def analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def write_delta(path: Path, rows: int, pool_rows: int) -> Path:
    """``rows`` rows for the 民政 pool: half of them persons it holds (another 婚姻状况 and
    登记日期), half persons no pool holds yet."""
    import polars as pl

    known = rows // 2
    shift = pool_rows // 4
    first = DELTA_POOL * shift + pool_rows // 4
    fresh_first = (len(BASE_POOLS) - 1) * shift + pool_rows + 1_000_000
    frame = pl.concat(
        [
            base_pool_frame(DELTA_POOL, first, known, variant=1),
            base_pool_frame(DELTA_POOL, fresh_first, rows - known, variant=1),
        ]
    )
    frame.write_csv(path)
    return path


# --- children ----------------------------------------------------------------------------------


def _floor_sql(dialect: str, session: Any) -> tuple[str, str]:
    """(CREATE TABLE, INSERT … SELECT): the hand-written merge, same output as the base."""
    from govdata.aggregation.models import BaseItem, Pool
    from govdata.catalog.models import Resource

    pools_by_resource = {p.resource_id: p for p in session.scalars(select(Pool))}
    resources = {r.name: r.id for r in session.scalars(select(Resource))}
    ordered = [pools_by_resource[resources[name]] for _d, _n, name, _i in BASE_POOLS]
    items = list(session.scalars(select(BaseItem).order_by(BaseItem.position)))
    pg = dialect == "postgresql"

    def as_text(alias: str, column: str, data_type: str) -> str:
        col = f"{alias}.{column}"
        if data_type == "C":
            return col
        if data_type == "D":
            return f"to_char({col}, 'YYYY-MM-DD')" if pg else f"substr(CAST({col} AS TEXT), 1, 10)"
        if data_type == "L":
            return f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} THEN 'true' ELSE 'false' END"
        if data_type == "N":
            if pg:
                return f"CAST(trim_scale(CAST({col} AS NUMERIC)) AS TEXT)"
            return (
                f"CASE WHEN {col} = CAST({col} AS INTEGER) THEN CAST(CAST({col} AS INTEGER) "
                f"AS TEXT) ELSE CAST({col} AS TEXT) END"
            )
        return f"CAST({col} AS TEXT)"

    keys = " UNION ".join(
        f'SELECT {p.subject_column} AS k FROM "{p.table_name}" WHERE {p.subject_column} IS NOT NULL'
        for p in ordered
    )
    joins = " ".join(
        f'LEFT JOIN "{p.table_name}" s{n} ON s{n}.{p.subject_column} = keys.k'
        for n, p in enumerate(ordered)
    )
    names = ["subject_key"]
    exprs = ["keys.k"]
    for item in items:
        n = next(i for i, p in enumerate(ordered) if p.resource_id == item.source_resource_id)
        col = next(c for c in ordered[n].columns if c["name"] == item.source_item)
        names += [f"v{item.id}", f"l{item.id}"]
        exprs += [
            as_text(f"s{n}", col["column"], col["data_type"]),
            f"CASE WHEN s{n}.{col['column']} IS NOT NULL THEN s{n}._load_id END",
        ]
    create = (
        f"CREATE TABLE {FLOOR_TABLE} (subject_key VARCHAR(64) PRIMARY KEY, "
        + ", ".join(f"v{i.id} TEXT, l{i.id} INTEGER" for i in items)
        + ")"
    )
    insert = (
        f"INSERT INTO {FLOOR_TABLE} ({', '.join(names)}) SELECT {', '.join(exprs)} "
        f"FROM ({keys}) keys {joins}"
    )
    return create, insert


def child(step: str, url: str, delta: Path | None) -> dict[str, Any]:
    from govdata.aggregation import base, loading, tasks, thematic
    from govdata.aggregation.base import conflicts
    from govdata.aggregation.base import engine as base_engine
    from govdata.aggregation.models import BadRowPolicy, BaseConflict, BaseDatabase, Load, LoadMode
    from govdata.aggregation.models import Pool as PoolModel
    from govdata.catalog.models import Resource
    from govdata.core.db import make_engine, make_sessionmaker, transaction
    from govdata.org.demo import BOOTSTRAP

    engine = make_engine(url)
    backends = watch_backends(engine)
    sql = SqlTimer(engine)
    factory = make_sessionmaker(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    spent: dict[str, float] = defaultdict(float)

    def wrap(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - t0

        setattr(owner, name, timed)

    wrap(base_engine, "_full_build", "merge + conflicts (engine._full_build)")
    wrap(conflicts, "recompute", "conflicts (conflicts.recompute)")
    wrap(base_engine, "_apply_source", "values from the source (engine._apply_source)")
    wrap(base_engine, "prune", "engine.prune")
    wrap(base, "rebuild_after_load", "base.rebuild_after_load")
    wrap(thematic, "refresh_for_base", "thematic.refresh_for_base")
    wrap(thematic, "refresh_dependents", "thematic.refresh_dependents")
    wrap(loading, "execute", "loading.execute (the load itself)")
    rss_before = _status_mib("VmRSS")
    out: dict[str, Any] = {}
    started = time.perf_counter()
    if step in ("build", "build-after"):
        with transaction(factory) as session:
            built = base.build(session, BOOTSTRAP, "person")
            out["rows"] = built.row_count
    elif step.startswith("floor"):
        with transaction(factory) as session:
            create, insert = _floor_sql(engine.dialect.name, session)
            session.execute(text(f"DROP TABLE IF EXISTS {FLOOR_TABLE}"))
            session.execute(text(create))
            session.execute(text(insert))
            out["rows"] = session.scalar(text(f"SELECT count(*) FROM {FLOOR_TABLE}"))
    elif step == "incremental":
        assert delta is not None
        with transaction(factory) as session:
            name = BASE_POOLS[DELTA_POOL][2]
            code = session.scalars(select(Resource.code).where(Resource.name == name)).one()
            load = loading.create_load(
                session,
                BOOTSTRAP,
                resource_code=code,
                path=delta,
                filename=delta.name,
                policy=BadRowPolicy.QUARANTINE,
                mode=LoadMode.UPSERT,
                channel="cli",
            )
            load_id = load.id
        done = tasks.run_load(factory, load_id)
        out["load"] = {
            "status": done.status,
            "rows_read": done.rows_read,
            "rows_loaded": done.rows_loaded,
            "rows_bad": done.rows_bad,
            "error": done.error_message,
        }
    else:
        raise SystemExit(f"unknown step {step}")
    seconds = time.perf_counter() - started
    with factory() as session:
        b = session.scalars(select(BaseDatabase)).one()
        out["base_rows"] = b.row_count
        out["built_at"] = b.built_at.isoformat() if b.built_at else None
        out["conflicts"] = session.scalar(
            select(func.count()).select_from(BaseConflict).where(BaseConflict.status == "open")
        )
        out["pool_rows"] = [p.row_count for p in session.scalars(select(PoolModel))]
        if step == "incremental":
            out["last_load"] = session.scalar(select(Load.id).order_by(Load.id.desc()).limit(1))
    backend_cpu = pids_cpu_seconds(backends)
    engine.dispose()
    return {
        "step": step,
        "seconds": round(seconds, 2),
        "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(_status_mib("VmHWM"), 1),
        "backend_cpu_s": round(backend_cpu, 1),
        "functions_s": {k: round(v, 2) for k, v in spent.items()},
        **sql.report(),
        **out,
    }


def run_child(step: str, url: str, delta: Path | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(SCRIPT), "--child", step, "--url", url]
    if delta is not None:
        cmd += ["--path", str(delta)]
    pg0 = server_cpu_seconds(POSTMASTER[0])
    meter = CpuMeter()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    meter.start()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    busy_s, _ = meter.stop()
    time.sleep(0.5)  # its backends' exit, so that the server's reading no longer holds them
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg_cpu = server_cpu_seconds(POSTMASTER[0]) - pg0
    own_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_cpu_s"] = round(own_cpu, 1)
    pg_cpu += result.get("backend_cpu_s", 0.0)  # its backends, read before they exited
    if url.startswith("postgresql"):
        result["postgres_cpu_s"] = round(pg_cpu, 1)
    # CPU the rest of the machine used meanwhile (other people's test suites): 2 cores shared.
    result["other_cpu_s"] = round(
        busy_s - own_cpu - (pg_cpu if url.startswith("postgresql") else 0), 1
    )
    print(
        f"  {step:<12} {result['seconds']:9.2f} s   peak RSS {result['peak_rss_mib']:7.1f} MiB"
        f"   base rows {result['base_rows']:,}, open conflicts {result['conflicts']:,}",
        flush=True,
    )
    print(
        f"      CPU: this process {result['process_cpu_s']} s, PostgreSQL "
        f"{result.get('postgres_cpu_s', '-')} s, other work {result['other_cpu_s']} s",
        flush=True,
    )
    if "load" in result:
        print(f"      load: {json.dumps(result['load'], ensure_ascii=False)}", flush=True)
    for label, secs in result["functions_s"].items():
        if secs:
            print(f"      {label:<42} {secs:8.2f} s", flush=True)
    print(
        f"      SQL ({result['sql_statements']} statements){'':<22} {result['sql_total_s']:8.2f} s",
        flush=True,
    )
    for row in result["sql_top"][:6]:
        print(f"        {row['s']:7.2f} s  x{row['count']:<4} {row['statement'][:96]}", flush=True)
    return result


# --- checks ------------------------------------------------------------------------------------


def compare_floor(url: str) -> dict[str, Any]:
    """Rows in one table and not the other, both ways (the floor did the same merge)."""
    from govdata.core.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        only_base = conn.execute(
            text(
                f"SELECT count(*) FROM (SELECT * FROM base_person EXCEPT "
                f"SELECT * FROM {FLOOR_TABLE}) x"
            )
        ).scalar_one()
        only_floor = conn.execute(
            text(
                f"SELECT count(*) FROM (SELECT * FROM {FLOOR_TABLE} EXCEPT "
                f"SELECT * FROM base_person) x"
            )
        ).scalar_one()
    engine.dispose()
    return {"only_in_base": only_base, "only_in_floor": only_floor}


def check_incremental(url: str, delta: Path) -> dict[str, Any]:
    """Every row of the delta file is in the base with its 婚姻状况, from the new load."""
    import polars as pl

    from govdata.aggregation.models import BaseItem, Pool
    from govdata.catalog.models import Resource
    from govdata.core.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    frame = pl.read_csv(delta, infer_schema=False)
    with make_sessionmaker(engine)() as session:
        item = session.scalars(select(BaseItem).where(BaseItem.name == "婚姻状况")).one()
        pool = session.scalars(
            select(Pool)
            .join(Resource, Pool.resource_id == Resource.id)
            .where(Resource.name == BASE_POOLS[DELTA_POOL][2])
        ).one()
        rows = session.execute(
            text(f"SELECT subject_key, v{item.id}, l{item.id} FROM base_person")
        ).all()
        current = pool.current_load_id
    engine.dispose()
    have = {r[0]: (r[1], r[2]) for r in rows}
    wanted = dict(zip(frame["公民身份号码"], frame["婚姻状况"], strict=True))
    missing = sum(1 for k in wanted if k not in have)
    wrong = sum(1 for k, v in wanted.items() if k in have and have[k] != (v, current))
    return {"delta_rows": len(wanted), "missing_in_base": missing, "wrong_value_or_load": wrong}


# --- main --------------------------------------------------------------------------------------


def bench(db: str, rows: int, delta_rows: int, keep: bool) -> dict[str, Any]:
    print(f"{db}: five pools of {rows:,} rows", flush=True)
    url = setup_database(db)
    POSTMASTER[0] = postmaster_pid(url) if db == "postgresql" else None
    started = time.perf_counter()
    fill = fill_pools(url, rows)
    fill["seconds"] = round(time.perf_counter() - started, 1)
    print(f"  filled in {fill['seconds']} s", flush=True)
    steps: dict[str, Any] = {}
    steps["floor"] = run_child("floor", url)
    steps["build"] = run_child("build", url)
    steps["floor-again"] = run_child("floor-again", url)
    checks: dict[str, Any] = {"floor_vs_base": compare_floor(url)}
    print(f"  floor vs base: {checks['floor_vs_base']}", flush=True)
    delta = OUT_DIR / f"base_delta_{delta_rows}_{rows}.csv"
    write_delta(delta, delta_rows, rows)
    steps["incremental"] = run_child("incremental", url, delta)
    checks["incremental"] = check_incremental(url, delta)
    print(f"  incremental: {checks['incremental']}", flush=True)
    steps["build-after"] = run_child("build-after", url)
    result = {
        "db": db,
        "database": pg_server_version(url) or "sqlite (WAL)",
        "rows_per_pool": rows,
        "delta_rows": delta_rows,
        "fill": fill,
        "steps": steps,
        "checks": checks,
    }
    if not keep:
        if db == "postgresql":
            drop_pg_database(PG_DATABASE)
        else:
            database = make_url(url).database or ""
            for suffix in ("", "-wal", "-shm"):
                Path(database + suffix).unlink(missing_ok=True)
        delta.unlink(missing_ok=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows per pool")
    parser.add_argument("--sqlite-rows", type=int, default=None, help="rows per pool on SQLite")
    parser.add_argument("--delta", type=int, default=100_000)
    parser.add_argument("--wait-quiet", type=float, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.path), ensure_ascii=False))
        return

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for db in ("postgresql", "sqlite") if args.db == "both" else (args.db,):
        rows = (args.sqlite_rows or args.rows) if db == "sqlite" else args.rows
        busy = wait_for_quiet(args.wait_quiet)
        result = {
            "benchmark": "base_build",
            "machine": machine_info(),
            "machine_busy_before": round(busy, 3),
            **bench(db, rows, args.delta, args.keep),
        }
        suffix = "" if rows == 2_000_000 else f"_{rows}"
        path = write_json(f"base_build_{db}{suffix}.json", result)
        print(f"  results: {path}", flush=True)


if __name__ == "__main__":
    main()
