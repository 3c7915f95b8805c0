"""Issue 15 §4 (the script; figures at 1/5/10 million rows are taken on a quiet machine): a load,
a raw COPY, a base build and lookups by subject key on one PostgreSQL and on a three-node Citus
cluster on the same machine.

    .venv/bin/python bench/citus_scale.py [--rows 100000] [--shards 32] [--lookups 2000]

Both sides are servers this script starts from the installed binaries (``tests.pgcluster``):
``single`` is a plain PostgreSQL, ``cluster`` a coordinator and two workers with Citus (built
from ``../shared/vendor/citus`` by ``make test-citus`` when missing), the data plane distributed
on the subject key (decision 0022). On each side, in a fresh migrated database with the test
suite's world:

1. two published person resources keyed by 公民身份号码: 户籍 (``--rows`` rows, four items)
   and 个体经营 (half as many, overlapping half of the people); generated CSV files;
2. ``load``: the 户籍 file through the load pipeline (``loading.execute``: binary COPY into a
   distributed staging table, repeated keys, install), and ``copy``: a raw ``COPY … FROM
   STDIN (FORMAT csv)`` of the same file into a table of the same typed columns, distributed the
   same way (the floor: no parsing, cleaning or checks here);
3. the 个体经营 file loaded; the person base defined with items from both; ``build``:
   ``base.build`` (the union of keys, two outer joins, conflicts);
4. ``lookup``: ``--lookups`` random subjects read from ``base_person`` by key, one at a time
   over one connection; p50 and p99. On the cluster twice: through the coordinator, and
   ``routed_lookup``, sent to the worker holding the key's shard (``core.shards``, decision
   0023), where Citus runs it locally.

Each timed step reports wall seconds and the CPU-seconds of each server (postmaster, its live
processes and the ones it reaped), so the coordinator's share of the cluster's CPU is seen.
Nothing asserts a time. JSON goes to ``bench/out/citus_scale.json``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from common import OUT_DIR, ROOT, machine_info, write_json

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import text
from sqlalchemy.orm import Session

from govdata.aggregation import base, loading, pools
from govdata.aggregation.models import BadRowPolicy, BaseKind, LoadMode, LoadStatus
from govdata.core.db import make_engine, make_sessionmaker
from govdata.core.ids import make_id_number
from govdata.core.migrate import upgrade
from tests.aggregation.factories import person_pool_resource
from tests.pgcluster import CitusCluster, PgCluster, citus_installed
from tests.world import build_world

LOOKUP = "SELECT * FROM base_person WHERE subject_key = %s"
WARM = 100  # lookups that warm a connection (its prepared statement), not counted
HOUSEHOLD = [("姓名", "C", 50), ("出生日期", "D", None), ("子女数", "I", None), ("住址", "C", 200)]
BUSINESS = [("经营状态", "C", 10), ("从业人数", "I", None)]
BASE_ITEMS = [("姓名", 0), ("出生日期", 0), ("住址", 0), ("经营状态", 1)]


def pid(n: int) -> str:
    """A valid, distinct ID number for each ``n`` (1,000 a birth date)."""
    return make_id_number("500103", date(1950, 1, 1) + timedelta(days=n // 1000), n % 1000)


def write_files(tmp: Path, rows: int) -> tuple[Path, Path]:
    household, business = tmp / "household.csv", tmp / "business.csv"
    with household.open("w", encoding="utf-8") as f:
        f.write("公民身份号码,姓名,出生日期,子女数,住址\n")
        for i in range(rows):
            f.write(
                f"{pid(i)},居民{i},{1950 + i % 60}-{1 + i % 12:02d}-{1 + i % 28:02d},"
                f"{i % 4},重庆市渝中区解放碑街道{i % 997}号\n"
            )
    with business.open("w", encoding="utf-8") as f:
        f.write("公民身份号码,经营状态,从业人数\n")
        for i in range(rows // 2, rows):
            f.write(f"{pid(i)},{'存续' if i % 7 else '注销'},{i % 30}\n")
    return household, business


def server_cpu(postmaster: int) -> float:
    """CPU-seconds of one server: the postmaster with the children it reaped, and its live
    processes (``/proc``: utime, stime, cutime, cstime)."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        me = stat.parent.name == str(postmaster)
        if me:
            total += sum(int(x) for x in fields[11:15]) / hz
        elif int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / hz
    return total


class Servers:
    def __init__(self, nodes: dict[str, PgCluster]) -> None:
        self.pids = {
            name: int((node.data / "postmaster.pid").read_text().split()[0])
            for name, node in nodes.items()
        }

    def cpu(self) -> dict[str, float]:
        return {name: server_cpu(p) for name, p in self.pids.items()}


def timed(servers: Servers, step: Any) -> dict[str, Any]:
    before, t0 = servers.cpu(), time.perf_counter()
    extra = step()
    wall = time.perf_counter() - t0
    after = servers.cpu()
    cpu = {k: round(after[k] - before[k], 2) for k in after}
    out: dict[str, Any] = {"s": round(wall, 3), "server_cpu_s": cpu}
    if "coordinator" in cpu and sum(cpu.values()) > 0:
        out["coordinator_share"] = round(cpu["coordinator"] / sum(cpu.values()), 3)
    if extra:
        out.update(extra)
    return out


def run_side(
    name: str,
    url: str,
    servers: Servers,
    files: tuple[Path, Path],
    lookups: int,
    sockets: dict[int, Path] | None = None,
) -> Any:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    result: dict[str, Any] = {"side": name}
    with factory() as s:
        with s.begin():
            world = build_world(s)
        res = [
            person_pool_resource(s, world, world.police, "户籍人口（测量）", HOUSEHOLD),
            person_pool_resource(s, world, world.market, "个体经营者（测量）", BUSINESS),
        ]
        s.commit()
        officer = world.actor(s, "officer")

        def load(index: int, path: Path) -> Any:
            actor = officer if index == 0 else world.actor(s, "officer2")
            created = loading.create_load(
                s,
                actor,
                resource_code=res[index].code,
                path=path,
                filename=path.name,
                policy=BadRowPolicy.QUARANTINE,
                mode=LoadMode.REPLACE,
            )
            s.commit()
            done = loading.execute(s, created.id)
            s.commit()
            assert done.status == LoadStatus.SUCCEEDED, done.error_message
            return {"rows": done.rows_loaded}

        result["load"] = timed(servers, lambda: load(0, files[0]))
        result["copy"] = timed(servers, lambda: raw_copy(s, res[0].code, files[0]))
        result["load_business"] = timed(servers, lambda: load(1, files[1]))
        city = world.actor(s, "city")
        base.define_base(s, city, BaseKind.PERSON, lead_department_id=world.police)
        for item, source in BASE_ITEMS:
            base.add_item(
                s,
                officer,
                BaseKind.PERSON,
                name=item,
                source_resource_code=res[source].code,
                source_item=item,
            )
        s.commit()

        def build() -> Any:
            built = base.build(s, city, BaseKind.PERSON)
            s.commit()
            return {"rows": built.row_count}

        result["build"] = timed(servers, build)
        result["disk_bytes"] = table_sizes(s, [res[0].code, res[1].code])
        rows = files_rows(files[0])
        keys = [pid(random.randrange(rows)) for _ in range(WARM + lookups)]
        result["lookup"] = lookup_times(s, keys)
        if sockets is not None:
            result["routed_lookup"] = routed_lookup_times(s, keys, sockets)
    engine.dispose()
    return result


def table_sizes(s: Session, codes: list[str]) -> dict[str, int]:
    """Bytes on disk (heap, indexes, TOAST) of the two pools' tables and the person base; on
    the cluster, over every shard (``citus_total_relation_size``)."""
    from govdata.aggregation.models import Pool
    from govdata.core import distribution

    conn = s.connection()
    size = "citus_total_relation_size" if distribution.enabled(conn) else "pg_total_relation_size"
    tables = {
        label: s.query(Pool).filter(Pool.code == code).one().table_name
        for label, code in zip(("household_pool", "business_pool"), codes, strict=True)
    }
    tables["base_person"] = "base_person"
    out = {}
    for label, table in tables.items():
        out[str(label)] = int(conn.execute(text(f"SELECT {size}('\"{table}\"')")).scalar_one())
    s.rollback()
    return out


def files_rows(path: Path) -> int:
    with path.open(encoding="utf-8") as f:
        return sum(1 for _ in f) - 1


def raw_copy(s: Session, code: str, path: Path) -> Any:
    """The floor: the file's text straight into the pool's typed columns, same distribution."""
    from govdata.aggregation.models import Pool

    pool = s.query(Pool).filter(Pool.code == code).one()
    cols = list(pool.columns)
    conn = s.connection()
    conn.execute(text('DROP TABLE IF EXISTS "bench_copy"'))
    table = pools.create_data_table(conn, "bench_copy", cols, pool.subject_column)
    # The file has no row numbers or load ids: those columns stay empty.
    conn.execute(
        text(
            'ALTER TABLE "bench_copy" ALTER COLUMN "_row" DROP NOT NULL, '
            'ALTER COLUMN "_load_id" DROP NOT NULL'
        )
    )
    names = ", ".join(f'"{c["column"]}"' for c in cols)
    raw = conn.connection.driver_connection
    assert raw is not None
    statement = f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT csv, HEADER)'
    with raw.cursor() as cur, path.open("rb") as f, cur.copy(statement) as copy:
        while block := f.read(1 << 20):
            copy.write(block)
    s.commit()
    return None


def lookup_times(s: Session, keys: list[str]) -> dict[str, float]:
    """The prepared lookup by key on the session's own connection (one PostgreSQL, or the
    coordinator); the first 100 warm it and are not counted."""
    raw = s.connection().connection.driver_connection
    assert raw is not None
    times = []
    with raw.cursor() as cur:
        for i, k in enumerate(keys):
            t0 = time.perf_counter()
            cur.execute(LOOKUP, (k,), prepare=True)
            cur.fetchall()
            if i >= WARM:
                times.append((time.perf_counter() - t0) * 1000)
    s.rollback()
    return _percentiles(times)


def routed_lookup_times(s: Session, keys: list[str], sockets: dict[int, Path]) -> dict[str, Any]:
    """The same lookup sent to the worker holding the key's shard (decision 0023): the node
    found by the key's hash in the base's shard map (``core.shards``, inside the timing), the
    statement run there, where Citus executes it locally. Each node is reached on its socket
    (``sockets``: port to socket dir), as the other two lookups reach theirs."""
    import psycopg

    from govdata.core.shards import shard_map

    found = shard_map(s.connection(), "base_person")
    s.rollback()
    assert found is not None
    database = s.get_bind().url.database
    conns = {
        node: psycopg.connect(
            host=str(sockets[node[1]]),
            port=node[1],
            dbname=database,
            user="postgres",
            autocommit=True,
        )
        for node in found.all_nodes
    }
    times = []
    try:
        for i, k in enumerate(keys):
            t0 = time.perf_counter()
            conn = conns[found.node_for(k)]
            conn.execute(LOOKUP, (k,), prepare=True).fetchall()
            if i >= WARM:
                times.append((time.perf_counter() - t0) * 1000)
    finally:
        for conn in conns.values():
            conn.close()
    return _percentiles(times) | {"nodes": len(conns)}


def _percentiles(times: list[float]) -> dict[str, float]:
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
    }


def platform_lookups(url: str, subjects: int, lookups: int, port: int) -> dict[str, Any]:
    """The platform's lookup by subject key, as a department's system makes it: the sharing
    data API (hot path: token, grant, quota, a durable access record, then the row) over HTTP,
    one call at a time on one kept-alive connection, in a database of its own on the same
    server (``sharing_data.prepare_at``: the test city's sharing setup, its person base filled
    to ``subjects`` people)."""
    import httpx

    from sharing_data import prepare_at
    from sharing_lookup import start

    prepared = prepare_at(url, subjects)
    proc = start(url, 2, port)
    try:
        path = f"http://127.0.0.1:{port}/api/v1/sharing/data/{prepared['grant_id']}/subjects/"
        headers = {"Authorization": f"Bearer {prepared['secret']}"}
        times, ok = [], 0
        with httpx.Client(headers=headers, timeout=30) as client:
            for i in range(lookups + 100):  # the first 100 warm the server, not counted
                key = "5001011990" + str(random.randrange(1, subjects + 1)).zfill(8)
                t0 = time.perf_counter()
                r = client.get(path + key, params={"purpose": "household-check"})
                elapsed = (time.perf_counter() - t0) * 1000
                if i >= 100:
                    times.append(elapsed)
                    ok += r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    times.sort()
    return {
        "subjects": prepared["facts"]["subjects"],
        "calls": len(times),
        "ok": ok,
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--shards", type=int, default=32)
    ap.add_argument("--lookups", type=int, default=2000)
    args = ap.parse_args()
    if not citus_installed():
        raise SystemExit("Citus is not installed: `make test-citus` builds it from the vendor copy")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    tmp = OUT_DIR / "citus_scale"
    tmp.mkdir(exist_ok=True)
    random.seed(15)
    files = write_files(tmp, args.rows)
    report: dict[str, Any] = {"rows": args.rows, "shards": args.shards, "machine": machine_info()}
    single = PgCluster().start()
    try:
        single_url = single.url("postgres").replace("/postgres?", "/bench_single?")
        from sqlalchemy import create_engine

        admin = create_engine(single.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "bench_single"'))
        admin.dispose()
        report["single"] = run_side(
            "single", single_url, Servers({"single": single}), files, args.lookups
        )
        admin = create_engine(single.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "bench_share"'))
        admin.dispose()
        share_url = single.url("bench_share")
        report["single"]["platform_lookup"] = platform_lookups(
            share_url, args.rows, args.lookups, 18791
        )
    finally:
        single.stop()
    cluster = CitusCluster(shards=args.shards).start()
    try:
        url = cluster.create_database("bench_cluster")
        nodes = {"coordinator": cluster.coordinator} | {
            f"worker{i + 1}": w for i, w in enumerate(cluster.workers)
        }
        sockets = {node.port: node.sock for node in cluster.nodes}
        report["cluster"] = run_side("cluster", url, Servers(nodes), files, args.lookups, sockets)
        report["cluster"]["platform_lookup"] = platform_lookups(
            cluster.create_database("bench_share"), args.rows, args.lookups, 18792
        )
    finally:
        cluster.stop()
    s, c = report["single"], report["cluster"]
    report["ratios"] = {
        "single_load_vs_copy": round(s["copy"]["s"] / s["load"]["s"], 3),
        "cluster_load_vs_copy": round(c["copy"]["s"] / c["load"]["s"], 3),
        "cluster_lookup_p99_vs_single": round(c["lookup"]["p99_ms"] / s["lookup"]["p99_ms"], 3),
        "cluster_routed_lookup_p99_vs_single": round(
            c["routed_lookup"]["p99_ms"] / s["lookup"]["p99_ms"], 3
        ),
        "cluster_build_vs_single": round(c["build"]["s"] / s["build"]["s"], 3),
        "cluster_platform_lookup_p99_vs_single": round(
            c["platform_lookup"]["p99_ms"] / s["platform_lookup"]["p99_ms"], 3
        ),
    }
    path = write_json("citus_scale.json", report)
    for side in ("single", "cluster"):
        r = report[side]
        print(
            f"{side:8} load {r['load']['s']:.2f}s  copy {r['copy']['s']:.2f}s  "
            f"build {r['build']['s']:.2f}s  lookup p50 {r['lookup']['p50_ms']}ms "
            f"p99 {r['lookup']['p99_ms']}ms  platform lookup p50 "
            f"{r['platform_lookup']['p50_ms']}ms p99 {r['platform_lookup']['p99_ms']}ms"
        )
    r = c["routed_lookup"]
    print(f"cluster lookup routed to the shard's worker p50 {r['p50_ms']}ms p99 {r['p99_ms']}ms")
    print("ratios", report["ratios"])
    print("written", path)


if __name__ == "__main__":
    main()
