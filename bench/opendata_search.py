"""Open-data search through CKAN's ``package_search`` over HTTP, 100,000 open datasets.

    .venv/bin/python bench/opendata_search.py [--db sqlite postgresql] [--datasets 100000]
                                              [--rounds 5] [--seed 2026] [--keep]

For each database:

1. A fresh database (SQLite ``bench/out/opendata_search.db``; PostgreSQL
   ``govdata_bench_opendata`` on the server of ``GOVDATA_BENCH_PG_URL``), migrated with the real
   migrations, the demo city's departments (``load_demo_org``).
2. ``--datasets`` rows of ``open_datasets`` inserted directly with SQLAlchemy Core (names like
   "渝中区养老机构床位统计", abstracts, 3–8 open items, 15 themes with sub-themes as tags, the
   open types, cycles and formats mixed), their jieba tokens made as ``datasets.sync`` makes
   them, then ``search.rebuild`` (timed) and ANALYZE. The datasets' ``resource_id`` points at no
   catalog resource: the benchmark database drops that foreign key (on PostgreSQL) or loads
   with ``PRAGMA foreign_keys=OFF`` (SQLite); nothing else reads it.
3. The app served by uvicorn in a child process (one worker, as ``govdata serve``); from this
   process, sequential HTTP calls with httpx of typical ``package_search`` requests, each
   class ``--rounds`` times over its query set, shuffled; latency is the client's wall time of
   the whole request (JSON encoding and decoding included).

Classes: ``q`` (one topic word), ``q2`` (two words), ``fq_org`` (an organization),
``q_facets`` (a word with facet.field organization/groups/tags/res_format), ``fq_theme_sorted``
(groups + tags, newest first), ``browse_facets`` (no query, facets over all 100,000),
``harvest`` (metadata_modified range, rows=100, sort id asc) and ``show`` (package_show).
Figures go to ``bench/out/opendata_search.json`` (for BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, make_url, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    drop_pg_database,
    fresh_database_url,
    machine_info,
    pg_admin_url,
    write_json,
)

from govdata.catalog.segmentation import segment  # noqa: E402
from govdata.core.db import make_engine  # noqa: E402
from govdata.core.migrate import upgrade  # noqa: E402
from govdata.opendata.models import OpenDataset  # noqa: E402
from govdata.opendata.search_index import rebuild  # noqa: E402
from govdata.org.demo import default_regions_csv, load_demo_org  # noqa: E402
from govdata.org.models import Department  # noqa: E402

PG_DB = "govdata_bench_opendata"


def _w(words: str) -> list[str]:
    return words.split()


SUBJECTS = _w(
    "户籍人口 养老机构 医疗机构 中小学校 幼儿园 道路运输 公交线路 企业登记 个体工商户 食品经营许可 "
    "环境监测 空气质量 地表水水质 不动产登记 社会保险 就业登记 公共租赁住房 旅游景区 文物保护单位 "
    "体育场馆 农民专业合作社 气象观测 地质灾害隐患点 消防设施 停车场 充电桩 药品零售 律师事务所 "
    "公证机构 图书馆 博物馆 林地资源 河道管理 污水处理厂 垃圾分类 建筑工地 招投标 政府采购 "
    "专利授权 商标注册"
)
SUFFIXES = _w("信息 数据 名录 统计 明细 清单 情况 目录 分布 台账")
THEMES = {
    "社会保障": ["养老", "就业", "社会保险"],
    "医疗卫生": ["医疗", "药品", "公共卫生"],
    "教育科技": ["教育", "科技", "知识产权"],
    "交通运输": ["道路", "公交", "停车"],
    "市场监管": ["市场主体", "食品安全", "许可"],
    "生态环境": ["环境质量", "污染治理", "自然资源"],
    "城建住房": ["住房", "建设", "市政"],
    "文化旅游": ["文化", "旅游", "体育"],
    "公共安全": ["消防", "应急", "治安"],
    "农业农村": ["农业", "农村", "林业"],
    "财税金融": ["财政", "税务", "金融"],
    "信用服务": ["信用", "失信", "红名单"],
    "法律服务": ["律师", "公证", "司法"],
    "气象服务": ["气象", "气候", "预警"],
    "机构团体": ["社会组织", "事业单位", "机关"],
}
ITEMS = _w(
    "名称 统一社会信用代码 地址 联系电话 行政区划代码 登记日期 经营范围 法定代表人 床位数 "
    "经度 纬度 状态 类别 面积 等级 开放时间 负责人 更新时间"
)
CYCLES = ["daily", "weekly", "monthly", "quarterly", "annual", "irregular", "realtime"]
FORMATS = ["数据库", "电子表格", "接口", "文件"]
OPEN = [("unconditional", 70), ("conditional", 30)]


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def generate(engine: Any, n: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with Session(engine) as session, session.begin():
        load_demo_org(session, default_regions_csv())
    with Session(engine) as session:
        depts = [(d.id, d.code, d.name) for d in session.scalars(select(Department))]
    themes = list(THEMES)
    seg: dict[str, str] = {}

    def tokens(text_: str) -> str:
        if text_ not in seg:
            seg[text_] = " ".join(segment(text_))
        return seg[text_]

    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # Outside any transaction (the engine's begin event would open one first).
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        else:
            conn.execute(
                text(
                    "ALTER TABLE open_datasets DROP CONSTRAINT "
                    "fk_open_datasets_resource_id_catalog_resources"
                )
            )
            conn.commit()
        batch: list[dict[str, Any]] = []
        for i in range(1, n + 1):
            dept = rng.choice(depts)
            theme = rng.choice(themes)
            sub = rng.choice(THEMES[theme])
            subject = rng.choice(SUBJECTS)
            scope = dept[2][:3] if rng.random() < 0.5 else ""
            name = f"{scope}{subject}{rng.choice(SUFFIXES)}"
            abstract = (
                f"{dept[2]}汇集的{subject}{rng.choice(SUFFIXES)}，按{rng.choice(CYCLES)}更新。"
            )
            items = rng.sample(ITEMS, rng.randint(3, 8))
            tags = [theme, sub, "法人" if rng.random() < 0.5 else "自然人"]
            open_type = _weighted(rng, OPEN)
            search_text = " ".join(
                [
                    tokens(name),
                    tokens(abstract),
                    tokens(dept[2]),
                    " ".join(tokens(t) for t in tags),
                    " ".join(tokens(x) for x in items),
                ]
            )
            modified = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365 * 3))
            batch.append(
                {
                    "id": i,
                    "resource_id": i,
                    "revision_id": i,
                    "code": f"{rng.randint(100, 999)}{i:06d}/{i % 1000:06d}",
                    "name": name,
                    "abstract": abstract,
                    "department_id": dept[0],
                    "department_code": dept[1] or f"d{dept[0]}",
                    "department_name": dept[2],
                    "category": "department",
                    "class_path": f"{theme}/{sub}",
                    "open_type": open_type,
                    "open_conditions": "用于研究" if open_type == "conditional" else "",
                    "legal_basis": "",
                    "update_cycle": rng.choice(CYCLES),
                    "format": rng.choice(FORMATS),
                    "subject_kind": "",
                    "items": [{"name": x, "data_type": "C", "open_type": open_type} for x in items],
                    "tags": tags,
                    "search_text": search_text,
                    "licence": "cq-open-data-1.0",
                    "first_published_at": modified - timedelta(days=30),
                    "metadata_modified": modified,
                    "withdrawn": rng.random() < 0.01,
                    "downloads": rng.randint(0, 5000),
                    "views": 0,
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(OpenDataset), batch)
                batch = []
        if batch:
            conn.execute(insert(OpenDataset), batch)
        conn.commit()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        keys = rebuild(session)
    index_s = time.perf_counter() - started
    # Statistics, and on PostgreSQL the visibility map autovacuum would build after a bulk
    # load: without it no scan is index-only (4-8x slower here).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name != "sqlite" else "ANALYZE")
    return {
        "datasets": n,
        "load_s": round(load_s, 1),
        "index_s": round(index_s, 1),
        "index_keys": keys,
        "departments": len(depts),
    }


def query_sets(rng: random.Random, depts: list[str]) -> dict[str, list[dict[str, Any]]]:
    since = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    topics = ["养老", "医疗", "学校", "公交", "企业", "环境", "旅游", "停车场", "充电桩", "专利"]
    facet = json.dumps(["organization", "groups", "tags", "res_format"])
    themes = list(THEMES)
    return {
        "q": [{"q": t} for t in topics],
        "q2": [{"q": f"{a} {b}"} for a, b in zip(topics, SUFFIXES, strict=False)],
        "fq_org": [{"fq": f"organization:{d}"} for d in rng.sample(depts, 10)],
        "q_facets": [{"q": t, "facet.field": facet} for t in topics],
        "fq_theme_sorted": [
            {
                "fq": f"groups:{t} tags:{THEMES[t][0]}",
                "sort": "metadata_modified desc",
                "rows": 20,
            }
            for t in themes[:10]
        ],
        "browse_facets": [{"facet.field": facet}] * 5,
        "harvest": [
            {"fq": f"metadata_modified:[{since} TO *]", "rows": 100, "start": s, "sort": "id asc"}
            for s in (0, 100, 200, 300, 400)
        ],
    }


def _serve(url: str, port: int) -> None:
    import uvicorn

    from govdata.app import create_app
    from govdata.app.factory import ready_to_serve
    from govdata.core.settings import Settings

    settings = Settings(
        database_url=url,
        secret_key="bench",
        var_dir=ROOT / "bench" / "out",
        log_json=True,
        rate_limit_enabled=False,
        opendata_anonymous_rate="off",  # one client makes every call: the limit is not measured
    )
    app = ready_to_serve(create_app(settings, make_engine(url)))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stats(ms: list[float]) -> dict[str, float]:
    xs = sorted(ms)

    def pct(p: float) -> float:
        return xs[min(len(xs) - 1, max(0, round(p * len(xs)) - 1))]

    return {
        "n": len(xs),
        "p50_ms": round(statistics.median(xs), 2),
        "p95_ms": round(pct(0.95), 2),
        "max_ms": round(xs[-1], 2),
    }


def measure(url: str, rounds: int, seed: int) -> dict[str, Any]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, str(port)], env=env, cwd=str(ROOT)
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/api/3/action/status_show")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            depts = client.get("/api/3/action/organization_list", params={"limit": 500}).json()[
                "result"
            ]
            names = client.get("/api/3/action/package_list", params={"limit": 2000}).json()[
                "result"
            ]
            rng = random.Random(seed)
            sets = query_sets(rng, depts)
            sets["show"] = [{"id": n} for n in rng.sample(names, 20)]
            out: dict[str, Any] = {}
            for label, queries in sets.items():
                action = "package_show" if label == "show" else "package_search"
                for q in queries[:3]:  # warm-up
                    client.get(f"/api/3/action/{action}", params=q)
                times: list[float] = []
                counts: list[int] = []
                order = [q for _ in range(rounds) for q in queries]
                rng.shuffle(order)
                for q in order:
                    started = time.perf_counter()
                    r = client.get(f"/api/3/action/{action}", params=q)
                    times.append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 200, r.text
                    result = r.json()["result"]
                    if action == "package_search":
                        counts.append(result["count"])
                out[label] = {**_stats(times), "median_count": statistics.median(counts or [1])}
                print(label, out[label], flush=True)
            return out
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(db: str, args: argparse.Namespace) -> dict[str, Any]:
    if args.reuse:  # the database a --keep run left
        if db == "sqlite":
            url = f"sqlite:///{ROOT / 'bench' / 'out' / 'opendata_search.db'}"
        else:
            url = make_url(pg_admin_url()).set(database=PG_DB).render_as_string(hide_password=False)
        built: dict[str, Any] = {"reused": True}
        engine = make_engine(url)
        upgrade(engine)  # a database kept by an older run gets the migrations since
        engine.dispose()
    else:
        url = fresh_database_url(db, "opendata_search", PG_DB)
        engine = make_engine(url)
        upgrade(engine)
        built = generate(engine, args.datasets, args.seed)
        print(db, built, flush=True)
        engine.dispose()
    figures = measure(url, args.rounds, args.seed)
    if db == "postgresql" and not args.keep and not args.reuse:
        drop_pg_database(PG_DB)
    return {"build": built, "package_search": figures}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        _serve(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure the kept databases again")
    args = parser.parse_args()
    results = {db: run(db, args) for db in args.db}
    path = write_json(
        "opendata_search.json",
        {"machine": machine_info(), "args": vars(args), "results": results},
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
