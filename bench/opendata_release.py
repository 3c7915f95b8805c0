"""Building an open-data release (issue 14 §4, Art. 31 ¶2) from a large persons pool.

    PYTHONPATH=src .venv/bin/python bench/opendata_release.py [--rows 10000000] [--keep]

1. A fresh, migrated PostgreSQL database (``govdata_bench_release``) with the test world and a
   published person resource of six items (公民身份号码, 姓名, 出生日期, 性别, 住址, 联系电话),
   all open unconditionally; its pool filled with ``--rows`` rows by ``generate_series`` in the
   server (a unique key index, ``ANALYZE``). Rules: 公民身份号码 pseudonymized (HMAC-SM3),
   姓名 masked keeping its first character, 出生日期 generalized to the year, 住址 to its
   district, 联系电话 masked (the default), 性别 kept; 出生日期, 性别 and 住址 declared
   quasi-identifiers (k-anonymity, k = 5).
2. Two measured steps, each in its own process (wall time, peak RSS ``VmHWM``):

   ``release``  ``releases.build`` then the commit: the pool read by COPY in batches, the
                rules applied, the leak scan over every released value, the release written by
                COPY, its status settled.
   ``bare``     the same work with nothing around it: the pool read whole by one COPY into one
                Polars frame, the same expressions (``desensitize.apply``) and the same scan
                (``leakscan.Scanner``) on it, the result written by one COPY into a plain table.

   The ratio is ``bare`` / ``release`` wall time (1.0: the platform costs nothing on top).

JSON goes to ``bench/out/opendata_release.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
for p in (str(ROOT), str(BENCH_DIR), str(ROOT / "src")):
    if p not in sys.path:
        sys.path.insert(0, p)

from sqlalchemy import select, text  # noqa: E402

from common import (  # noqa: E402
    drop_pg_database,
    fresh_database_url,
    machine_info,
    pg_server_version,
    wait_for_quiet,
    write_json,
)

PG_DATABASE = "govdata_bench_release"
SCRIPT = Path(__file__).resolve()
ITEMS = [
    ("姓名", "C", 50),
    ("出生日期", "D", None),
    ("性别", "C", 2),
    ("住址", "C", 200),
    ("联系电话", "C", 20),
]
DISTRICTS = [
    "渝中区",
    "江北区",
    "南岸区",
    "九龙坡区",
    "沙坪坝区",
    "大渡口区",
    "渝北区",
    "巴南区",
    "北碚区",
]
RULES = [
    {"item": "公民身份号码", "method": "pseudonymize"},
    {"item": "姓名", "method": "mask", "params": {"keep_first": 1, "keep_last": 0}},
    {
        "item": "出生日期",
        "method": "generalize",
        "params": {"to": "year"},
        "quasi_identifier": True,
    },
    {"item": "性别", "method": "keep", "quasi_identifier": True},
    {
        "item": "住址",
        "method": "generalize",
        "params": {"to": "district"},
        "quasi_identifier": True,
    },
]


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def prepare(rows: int) -> dict[str, Any]:
    from govdata.aggregation.models import Pool
    from govdata.core.db import make_engine, make_sessionmaker, transaction
    from govdata.core.migrate import upgrade
    from govdata.opendata import datasets, releases
    from tests.aggregation.factories import fill_pool, person_pool_resource
    from tests.opendata.helpers import set_open
    from tests.world import build_world

    url = fresh_database_url("postgresql", "opendata_release", PG_DATABASE)
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        world = build_world(session)
        city = world.actor(session, "city")
        res = person_pool_resource(session, world, world.police, "人口基本信息（基准）", ITEMS)
        pool, load = fill_pool(session, city, res, [])
        set_open(session, res, "unconditional")
        datasets.sync(session)
        code = res.code
        cols = {c["name"]: c["column"] for c in pool.columns}
        districts = "ARRAY[" + ", ".join(f"'{d}'" for d in DISTRICTS) + "]"
        t0 = time.perf_counter()
        session.execute(
            text(
                f'INSERT INTO "{pool.table_name}" (_row, _load_id, {", ".join(cols.values())}) '
                f"SELECT g + 1, {load.id}, '5001011990' || lpad(g::text, 8, '0'), "
                "'居民' || (g % 9973), date '1940-01-01' + (g % 25000), "
                "CASE WHEN g % 2 = 0 THEN '女' ELSE '男' END, "
                f"'重庆市' || ({districts})[g % 9 + 1] || '幸福路' || (g % 500) || '号', "
                "'138' || lpad((g % 100000000)::text, 8, '0') "
                f"FROM generate_series(1, {int(rows)}) AS g"
            )
        )
        session.execute(
            text(f'CREATE UNIQUE INDEX ON "{pool.table_name}" ({cols["公民身份号码"]})')
        )
        pool_row = session.get(Pool, pool.id)
        assert pool_row is not None
        pool_row.row_count = rows
        generated = time.perf_counter() - t0
        releases.set_rules(session, city, code, RULES)
    with engine.connect() as conn:
        conn.execute(text(f'ANALYZE "{pool.table_name}"'))
        conn.commit()
    engine.dispose()
    return {"url": url, "code": code, "generate_seconds": round(generated, 1)}


def child_release(url: str, code: str) -> dict[str, Any]:
    from govdata.core.db import make_engine, make_sessionmaker, transaction
    from govdata.opendata import releases

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    t0 = time.perf_counter()
    with transaction(factory) as session:
        from govdata.org.models import Person

        pid = session.scalar(select(Person.id).where(Person.username == "city"))
        assert pid is not None
        actor = _actor(session, pid)
        release = releases.build(session, actor, code)
        out = {
            "status": release.status,
            "row_count": release.row_count,
            "scan": {k: v for k, v in (release.scan or {}).items() if k != "findings"},
            "findings": [
                {k: f[k] for k in ("kind", "column", "count")}
                for f in (release.scan or {}).get("findings", [])
            ],
        }
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(_status_mib("VmHWM")), **out}


def _actor(session: Any, person_id: int) -> Any:
    from govdata.core.actor import Actor
    from govdata.org.models import Person
    from govdata.org.service import role_grants

    person = session.get(Person, person_id)
    return Actor(person_id=person_id, name=person.name, grants=role_grants(session, person_id))


def child_bare(url: str, code: str) -> dict[str, Any]:
    """The same expressions and scan with nothing around them: one COPY out, one frame, one
    COPY in."""
    import io

    import polars as pl

    from govdata.aggregation.models import Pool
    from govdata.core.db import make_engine, make_sessionmaker
    from govdata.opendata import desensitize, leakscan, releases
    from govdata.opendata.models import OpenDataset, RuleMethod

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as session:
        dataset = session.scalar(select(OpenDataset).where(OpenDataset.code == code))
        assert dataset is not None
        pool = session.scalar(select(Pool).where(Pool.resource_id == dataset.resource_id))
        assert pool is not None and pool.table_name
        plans = releases.plans_for(session, dataset, pool)
        key = desensitize.pseudonym_key(code)
        table = pool.table_name
    columns = [p.column for p in plans]
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        buf = io.BytesIO()
        cur = raw.cursor()
        select_sql = f'COPY (SELECT {", ".join(columns)} FROM "{table}") TO STDOUT (FORMAT csv)'
        with cur.copy(select_sql) as cp:  # type: ignore[attr-defined]
            for chunk in cp:
                buf.write(chunk)
        buf.seek(0)
        frame = pl.read_csv(
            buf,
            has_header=False,
            new_columns=columns,
            schema_overrides=dict.fromkeys(columns, pl.String),
            infer_schema=False,
        )
        del buf
        out = desensitize.apply(frame, plans, key)
        hidden = [p for p in plans if p.method in (RuleMethod.MASK, RuleMethod.PSEUDONYMIZE)]
        scanner = leakscan.Scanner([p.item for p in plans if p.quasi_identifier])
        scanner.feed(out, {p.item: frame[p.column] for p in hidden})
        report = scanner.report()
        del frame
        names = ", ".join(f'"{c}"' for c in out.columns)
        cur.execute(
            f"CREATE TABLE bench_bare ({', '.join(f'{n} text' for n in names.split(', '))})"
        )
        with cur.copy(f"COPY bench_bare ({names}) FROM STDIN (FORMAT csv)") as cp:  # type: ignore[attr-defined]
            cp.write(out.write_csv(include_header=False).encode())
        raw.commit()
    finally:
        raw.close()
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(_status_mib("VmHWM")),
        "row_count": out.height,
        "passed": report["passed"],
    }


def run_child(step: str, url: str, code: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--child", step, "--url", url, "--code", code],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{step} failed:\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--wait-quiet", type=float, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--code", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fn = child_release if args.child == "release" else child_bare
        print(json.dumps(fn(args.url, args.code), ensure_ascii=False))
        return
    print(f"generating {args.rows:,} persons ...", flush=True)
    prepared = prepare(args.rows)
    busy = wait_for_quiet(args.wait_quiet)
    print("release ...", flush=True)
    release = run_child("release", prepared["url"], prepared["code"])
    print(json.dumps(release, ensure_ascii=False), flush=True)
    print("bare Polars pass ...", flush=True)
    bare = run_child("bare", prepared["url"], prepared["code"])
    print(json.dumps(bare, ensure_ascii=False), flush=True)
    result = {
        "machine": machine_info(),
        "postgresql": pg_server_version(prepared["url"]),
        "busy_before": round(busy, 2),
        "rows": args.rows,
        "generate_seconds": prepared["generate_seconds"],
        "release": release,
        "bare": bare,
        "ratio_bare_over_release": round(bare["seconds"] / release["seconds"], 2),
    }
    path = write_json("opendata_release.json", result)
    print(
        f"release {release['seconds']} s ({release['peak_rss_mib']} MiB peak), "
        f"bare {bare['seconds']} s ({bare['peak_rss_mib']} MiB peak), "
        f"ratio {result['ratio_bare_over_release']} -> {path}",
        flush=True,
    )
    if not args.keep:
        drop_pg_database(PG_DATABASE)


if __name__ == "__main__":
    main()
