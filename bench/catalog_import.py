"""Catalog import and publish (issue 4): a 10,000-resource xlsx import, a 100,000-resource publish.

    .venv/bin/python bench/catalog_import.py [--db sqlite|postgresql|both] [--resources 10000]
                                             [--publish-resources 100000] [--changed 1000]
                                             [--skip-import] [--skip-publish] [--skip-services]
                                             [--wait-quiet 300] [--keep]

Import (``govdata.catalog.spreadsheet``):

1. Generates a realistic workbook (``bench/out/catalog_import_<n>.xlsx``): ``--resources``
   resources over 24 classes of the three categories, persons keyed by 公民身份号码 and legal
   persons by 统一社会信用代码 (Art. 16), 6 to 10 info items each (8 on average), a mix of share
   and open types with their conditions and legal bases, some items with their own types.
2. Into one department of a fresh, migrated database (SQLite ``bench/out/catalog_import.db`` or
   PostgreSQL ``govdata_bench_import``), each step in its own process, timed from reading the
   file to the commit, with the process's peak RSS (``VmHWM``) and its RSS just before the
   step (interpreter, imports, engine):
   ``import``      the file into an empty list (every row new: the set-based path);
   ``export``      the list back to xlsx (``export_list``);
   ``reimport``    that export (every row unchanged);
   ``update``      the export with one cell changed in every row (every row updated);
   ``services``    the first file again, into a second fresh database, through
                   ``service.create_resource`` row by row (``BULK_THRESHOLD`` raised): the path
                   the set-based one replaces, for comparison (``--skip-services`` skips it).
   Each step reports where its time went (checking, reading stored rows, storing, audit).

Publish (``govdata.catalog.review.publish``):

3. Fills a fresh database (``bench/out/catalog_publish.db`` or ``govdata_bench_publish``) with
   Core inserts: ``--publish-resources`` resources over 40 departments with their items, one
   submitted revision each (the snapshot ``service.snapshot`` writes, items included, and its
   search text segmented as ``review.submit`` stores it, timed apart), one
   submission per department at the city and one approved ``add`` entry per resource; then
   ``ANALYZE``.
4. ``publish-1``: times ``review.publish`` (version 1, every resource added) and the commit, in
   its own process; SQL time per statement and the time in ``search.reindex`` are reported.
5. ``publish-2``: ``--changed`` resources get a second approved revision (``modify``); times
   version 2 (the rest carried over).

JSON goes to ``bench/out/catalog_import_<db>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from common import (
    OUT_DIR,
    drop_pg_database,
    fresh_database_url,
    machine_info,
    pg_server_version,
    wait_for_quiet,
    write_json,
)

SCRIPT = Path(__file__).resolve()
DEPARTMENT_CODE = "500000-007"

# (category, 项/目 path, subject): the classes the generated resources fall into.
CLASSES = [
    ("basic", "人口/户籍", "person"),
    ("basic", "人口/流动人口", "person"),
    ("basic", "人口/出生", "person"),
    ("basic", "法人/登记", "legal_person"),
    ("basic", "法人/年报", "legal_person"),
    ("basic", "自然资源和空间地理/地名地址", "other"),
    ("basic", "电子证照/身份证件", "person"),
    ("thematic", "营商环境/企业开办", "legal_person"),
    ("thematic", "社会保障/养老保险", "person"),
    ("thematic", "医疗健康/就诊记录", "person"),
    ("thematic", "信用体系/失信惩戒", "legal_person"),
    ("thematic", "生态环境/空气质量", "other"),
    ("department", "公安/治安管理", "person"),
    ("department", "公安/交通管理/驾驶人", "person"),
    ("department", "公安/交通管理/机动车", "other"),
    ("department", "市场监管/登记注册", "legal_person"),
    ("department", "市场监管/行政处罚", "legal_person"),
    ("department", "税务/征收管理", "legal_person"),
    ("department", "住房城乡建设/房屋交易", "person"),
    ("department", "交通运输/道路运输", "legal_person"),
    ("department", "教育/学籍管理", "person"),
    ("department", "水利/水文监测", "other"),
    ("department", "应急管理/安全生产", "legal_person"),
    ("department", "文化旅游/景区", "other"),
]
TOPICS = {
    "person": ["人口基本信息", "登记信息", "证件信息", "参保信息", "就诊信息", "学籍信息"],
    "legal_person": ["登记信息", "年报信息", "处罚信息", "纳税信息", "许可信息", "信用信息"],
    "other": ["监测数据", "地名地址", "设施信息", "统计数据", "点位信息", "档案目录"],
}
KEYS = {
    "person": {"name": "公民身份号码", "data_type": "C", "length": 18},
    "legal_person": {"name": "统一社会信用代码", "data_type": "C", "length": 18},
}
ITEMS = {
    "person": [
        ("姓名", "C", 50), ("性别", "C", 2), ("出生日期", "D", None), ("民族", "C", 20),
        ("住址", "C", 200), ("联系电话", "C", 20), ("登记日期", "D", None),
        ("户籍地", "C", 200), ("婚姻状况", "C", 10), ("文化程度", "C", 20), ("职业", "C", 50),
    ],
    "legal_person": [
        ("企业名称", "C", 200), ("法定代表人", "C", 50), ("注册资本", "Y", None),
        ("成立日期", "D", None), ("住所", "C", 200), ("经营范围", "M", None),
        ("登记机关", "C", 100), ("企业类型", "C", 50), ("经营状态", "C", 20),
        ("核准日期", "D", None),
    ],
    "other": [
        ("编号", "C", 32), ("名称", "C", 200), ("地址", "C", 200), ("经度", "B", None),
        ("纬度", "B", None), ("面积", "N", None), ("状态", "C", 10), ("更新时间", "T", None),
        ("备注", "M", None), ("责任单位", "C", 100), ("数量", "I", None),
    ],
}  # fmt: skip
FORMATS = [
    ("database", "PostgreSQL"),
    ("database", "Oracle"),
    ("database", "MySQL"),
    ("spreadsheet", "xlsx"),
    ("service_api", "REST"),
    ("self_describing", "JSON"),
]
CYCLES = ["realtime", "daily", "weekly", "monthly", "quarterly", "annual", "irregular"]
LEGAL_BASES = [
    "《中华人民共和国个人信息保护法》第十三条",
    "《中华人民共和国数据安全法》第二十一条",
    "《重庆市政务数据资源管理暂行办法》第二十四条",
    "《企业信息公示暂行条例》第八条",
    "《中华人民共和国居民身份证法》第六条",
]


def resource_data(n: int, rng: random.Random) -> dict[str, Any]:
    """The n-th generated resource as ``ResourceIn`` JSON (what ``export`` and revisions hold)."""
    category, path, subject = CLASSES[n % len(CLASSES)]
    topic = rng.choice(TOPICS[subject])
    fmt, subtype = rng.choice(FORMATS)
    share = "unconditional"
    if category != "basic":  # Art. 25(2): base resources are shared unconditionally
        share = rng.choices(["unconditional", "conditional", "none"], [6, 3, 1])[0]
    open_ = rng.choices(["unconditional", "conditional", "none"], [2, 2, 6])[0]
    if subject == "person":
        open_ = "none"
    pool = ITEMS[subject]
    count = rng.randint(6, 10)
    items: list[dict[str, Any]] = []
    if subject in KEYS:
        items.append({**KEYS[subject], "is_subject_key": True})
    for name, data_type, length in rng.sample(pool, min(len(pool), count - len(items))):
        items.append({"name": name, "data_type": data_type, "length": length})
    for item in items:
        item.setdefault("is_subject_key", False)
        item["share_type"] = None
        item["open_type"] = None
    if share == "unconditional" and category != "basic" and rng.random() < 0.15:
        items[-1]["share_type"] = "conditional"  # shared only partly (Art. 25(1))
    return {
        "category": category,
        "class_path": path,
        "name": f"{path.split('/')[-1]}{topic}（{n + 1:05d}）",
        "abstract": f"{path.replace('/', '')}领域的{topic}，包括"
        + "、".join(i["name"] for i in items[:5])
        + "等信息项，由本部门在履职过程中采集。",
        "format": fmt,
        "format_subtype": subtype,
        "share_type": share,
        "share_conditions": "仅限履行相关法定职责的部门使用" if share == "conditional" else "",
        "share_method": rng.choice(["接口", "库表交换", "文件下载"]),
        "open_type": open_,
        "open_conditions": "实名注册并签署数据使用协议" if open_ == "conditional" else "",
        "legal_basis": rng.choice(LEGAL_BASES),
        "update_cycle": rng.choice(CYCLES),
        "published_on": (date(2020, 1, 1) + timedelta(days=rng.randint(0, 1800))).isoformat(),
        "related_codes": [],
        "security_level": rng.choice(["public", "internal", "sensitive"]),
        "usage_requirements": rng.choice(["", "不得用于商业目的", "按共享协议使用"]),
        "subject_kind": subject,
        "items": items,
    }


def write_workbook(path: Path, count: int) -> float:
    """The generated list as an import file (the exporter's writer: the import's own layout)."""
    from govdata.catalog import spreadsheet

    rng = random.Random(20260401)
    entries = (spreadsheet._Entry("", "", "", resource_data(n, rng), {}) for n in range(count))
    started = time.perf_counter()
    path.write_bytes(spreadsheet._export_xlsx(entries))
    return time.perf_counter() - started


# --- children: one measured step per process --------------------------------------------------


class Timers:
    """Seconds spent inside wrapped functions, and SQL time per statement."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.sql: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - started

        setattr(owner, name, timed)

    def watch(self, engine: Engine) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            conn.info.setdefault("bench_t0", []).append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            t0 = conn.info["bench_t0"].pop()
            key = " ".join(statement.split())[:90]
            self.sql[key][0] += 1
            self.sql[key][1] += time.perf_counter() - t0

    def report(self) -> dict[str, Any]:
        top = sorted(self.sql.items(), key=lambda kv: -kv[1][1])[:8]
        return {
            "functions_s": {k: round(v, 3) for k, v in self.spent.items()},
            "sql_total_s": round(sum(v[1] for v in self.sql.values()), 3),
            "sql_statements": sum(int(v[0]) for v in self.sql.values()),
            "sql_top": [{"statement": k, "count": int(v[0]), "s": round(v[1], 3)} for k, v in top],
        }


def _status_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in MiB.

    Not ``ru_maxrss``: Linux carries it over ``exec`` from the forking parent, so a child of a
    large parent would report the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(step: str, url: str, path: Path | None) -> dict[str, Any]:
    from govdata.catalog import review, search, spreadsheet
    from govdata.catalog.spreadsheet import exporting, reading, storing
    from govdata.core import audit
    from govdata.core.db import make_engine, make_sessionmaker, transaction
    from govdata.org.demo import BOOTSTRAP
    from govdata.org.models import Department

    engine = make_engine(url)
    timers = Timers()
    timers.watch(engine)
    for owner, name, label in (
        # Wrapped where they are called from (the package only re-exports them).
        (reading, "_open_workbook", "read workbook (calamine)"),
        (storing, "_check", "check rows (incl. read workbook)"),
        (storing, "_stored", "read stored resources"),  # import: the rows it names
        (exporting, "_stored", "read stored resources"),  # export_list
        (storing, "_store_bulk", "store (set-based)"),
        (storing, "_store_with_services", "store (services)"),
        (exporting, "_export_xlsx", "write xlsx (openpyxl)"),
        (search, "reindex", "search.reindex"),
        (audit, "record", "audit.record"),
    ):
        timers.wrap(owner, name, label)
    if step == "services":
        storing.BULK_THRESHOLD = 10**9
    with engine.connect() as conn:  # a connection is open before the clock starts
        conn.execute(text("SELECT 1"))
    factory = make_sessionmaker(engine)
    with factory() as session:
        dept_id = session.scalar(select(Department.id).where(Department.code == DEPARTMENT_CODE))
    rss_before = _status_mib("VmRSS")
    out: dict[str, Any] = {}
    started = time.perf_counter()
    if step in ("import", "reimport", "update", "services"):
        assert path is not None
        content = path.read_bytes()
        with transaction(factory) as session:
            result = spreadsheet.import_catalog(session, BOOTSTRAP, dept_id, content)
        out["result"] = {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
    elif step == "export":
        assert path is not None
        with transaction(factory) as session:
            data = spreadsheet.export_list(session, BOOTSTRAP, dept_id, "xlsx")
        path.write_bytes(data)
        out["bytes"] = len(data)
    elif step.startswith("publish"):
        with transaction(factory) as session:
            version = review.publish(session, BOOTSTRAP, note="bench")
            out["version"] = {
                "number": version.number,
                "resources": version.resource_count,
                "added": version.added,
                "changed": version.changed,
            }
    else:
        raise SystemExit(f"unknown step {step}")
    seconds = time.perf_counter() - started
    engine.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "step": step,
        "seconds": round(seconds, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(_status_mib("VmHWM"), 1),
        **out,
        **timers.report(),
    }


def run_child(step: str, url: str, path: Path | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(SCRIPT), "--child", step, "--url", url]
    if path is not None:
        cmd += ["--path", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    peak = result["peak_rss_mib"]
    print(
        f"  {step:<10} {result['seconds']:8.2f} s   peak RSS {peak:7.1f} MiB "
        f"(+{peak - result['rss_before_mib']:.1f} over {result['rss_before_mib']:.1f} before)"
        f"   {json.dumps(result.get('result') or result.get('version') or {}, ensure_ascii=False)}",
        flush=True,
    )
    for label, secs in result["functions_s"].items():
        print(f"      {label:<34} {secs:8.2f} s", flush=True)
    print(
        f"      {'SQL (' + str(result['sql_statements']) + ' statements)':<34} "
        f"{result['sql_total_s']:8.2f} s",
        flush=True,
    )
    for row in result["sql_top"][:5]:
        print(f"        {row['s']:7.2f} s  x{row['count']:<6} {row['statement'][:80]}", flush=True)
    return result


# --- databases --------------------------------------------------------------------------------


def new_database(db: str, name: str) -> str:
    from govdata.core.db import make_engine
    from govdata.core.migrate import upgrade

    suffix = name.rsplit("_", maxsplit=1)[-1]
    url = fresh_database_url(db, name, pg_database=f"govdata_bench_{suffix}")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def add_departments(session: Session, count: int) -> list[Any]:
    from govdata.org.models import Department, Region

    city = Region(code="500000", name="重庆市", kind="city")
    session.add(city)
    session.flush()
    departments = [Department(code=DEPARTMENT_CODE, name="市公安局", region_id=city.id)]
    departments += [
        Department(code=f"500000-{n:03d}", name=f"市第{n}委办局", region_id=city.id)
        for n in range(100, 100 + count - 1)
    ]
    session.add_all(departments)
    session.flush()
    return departments


def setup_import_db(db: str, name: str) -> str:
    from govdata.core.db import make_engine, make_sessionmaker, transaction

    url = new_database(db, name)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        add_departments(session, 1)
    engine.dispose()
    return url


def change_every_row(source: Path, target: Path) -> None:
    """The export with 共享方式 changed in every row (an update of every resource)."""
    from openpyxl import load_workbook

    wb = load_workbook(source)
    ws = wb["信息资源"]
    column = [c.value for c in ws[1]].index("共享方式")
    for row in ws.iter_rows(min_row=2):
        row[column].value = f"{row[column].value or ''}（已调整）"
    wb.save(target)


def _chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


#: Seconds spent segmenting search text while populating: at submission now (``review.submit``
#: stores ``search.document`` on each revision), no longer inside the publish.
SEGMENTED_S = [0.0]


def populate_for_publish(engine: Engine, count: int) -> float:
    """Resources with their items, one submitted revision each (its search text segmented as
    ``review.submit`` does), all approved: Core inserts."""
    from govdata.catalog import search, service
    from govdata.catalog.models import (
        Classification,
        InfoItem,
        Resource,
        ResourceRevision,
        ReviewEntry,
        Submission,
    )
    from govdata.catalog.spreadsheet.storing import _APPLIED_COLUMNS
    from govdata.catalog.vocab import Category
    from govdata.core.db import make_sessionmaker, transaction

    started = time.perf_counter()
    rng = random.Random(20260402)
    now = datetime.now(UTC)
    with transaction(make_sessionmaker(engine)) as session:
        departments = add_departments(session, 40)
        nodes = {(c, p): service.classification_for(session, Category(c), p) for c, p, _ in CLASSES}
        node_info = {k: (n.id, n.code) for k, n in nodes.items()}
        submissions = {}
        for dept in departments:
            sub = Submission(
                department_id=dept.id,
                region_id=dept.region_id,
                status="pending_city",
                submitted_at=now,
                received_on=now.date(),
            )
            session.add(sub)
            session.flush()
            submissions[dept.id] = sub.id
        dept_info = {d.id: (d.code, d.name, d.region_id) for d in departments}
        seqs: dict[str, int] = defaultdict(int)
        conn = session.connection()
        batch = 2000
        for start in range(0, count, batch):
            resources, revisions, items, entries = [], [], [], []
            for n in range(start, min(start + batch, count)):
                rid = n + 1
                data = resource_data(n, rng)
                dept_id = departments[n % len(departments)].id
                node_id, node_code = node_info[(data["category"], data["class_path"])]
                seqs[node_code] += 1
                code = f"{node_code}/{seqs[node_code]:06d}"
                # The columns an import sets (name and the metadata; the date parsed below).
                fields = {k: data[k] for k in _APPLIED_COLUMNS if k in data}
                resources.append(
                    {
                        "id": rid,
                        "code": code,
                        "classification_id": node_id,
                        "department_id": dept_id,
                        **fields,
                        "published_on": date.fromisoformat(data["published_on"]),
                        "state": "approved",
                        "withdrawn": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                resolved = [
                    {
                        **i,
                        "share_type": i["share_type"] or data["share_type"],
                        "open_type": i["open_type"] or data["open_type"],
                    }
                    for i in data["items"]
                ]
                items += [
                    {"resource_id": rid, "position": p, **i} for p, i in enumerate(resolved, 1)
                ]
                d_code, d_name, region_id = dept_info[dept_id]
                snapshot = {
                    **data,
                    "items": resolved,
                    "code": code,
                    "classification_code": node_code,
                    "department_code": d_code,
                    "department_name": d_name,
                    "withdrawn": False,
                }
                segment_started = time.perf_counter()
                terms = search.document(snapshot)  # what review.submit stores
                SEGMENTED_S[0] += time.perf_counter() - segment_started
                revisions.append(
                    {
                        "id": rid,
                        "resource_id": rid,
                        "number": 1,
                        "code": code,
                        "department_id": dept_id,
                        "region_id": region_id,
                        "category": data["category"],
                        "classification_code": node_code,
                        "name": data["name"],
                        "format": data["format"],
                        "share_type": data["share_type"],
                        "open_type": data["open_type"],
                        "update_cycle": data["update_cycle"],
                        "withdrawn": False,
                        "data": snapshot,
                        "search_terms": terms,
                        "created_at": now,
                    }
                )
                entries.append(
                    {
                        "submission_id": submissions[dept_id],
                        "action": "add",
                        "resource_id": rid,
                        "revision_id": rid,
                        "status": "approved",
                        "reason": "",
                        "decided_at": now,
                    }
                )
            conn.execute(insert(Resource.__table__), resources)
            conn.execute(insert(ResourceRevision.__table__), revisions)
            for chunk in _chunks(items, 10_000):
                conn.execute(insert(InfoItem.__table__), chunk)
            conn.execute(insert(ReviewEntry.__table__), entries)
            print(f"    {min(start + batch, count):,} resources", end="\r", flush=True)
        conn.execute(update(Resource.__table__).values(latest_revision_id=Resource.__table__.c.id))
        for node_code, seq in seqs.items():
            conn.execute(
                update(Classification.__table__)
                .where(Classification.__table__.c.code == node_code)
                .values(next_seq=seq + 1)
            )
        if engine.dialect.name == "postgresql":
            for table, column in (
                ("catalog_resources", "id"),
                ("catalog_revisions", "id"),
                ("catalog_info_items", "id"),
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT max({column}) FROM {table}))"
                    )
                )
    _analyze(engine)
    print()
    return time.perf_counter() - started


def populate_changes(engine: Engine, changed: int) -> float:
    """``changed`` published resources get an approved second revision (a ``modify``)."""
    from govdata.catalog import search
    from govdata.catalog.models import Resource, ResourceRevision, ReviewEntry, Submission
    from govdata.core.db import make_sessionmaker, transaction
    from govdata.org.models import Department

    started = time.perf_counter()
    now = datetime.now(UTC)
    with transaction(make_sessionmaker(engine)) as session:
        conn = session.connection()
        total = session.scalar(select(func.count()).select_from(Resource)) or 0
        ids = list(range(1, total + 1, max(total // changed, 1)))[:changed]
        first = session.get(Resource, ids[0])
        assert first is not None
        sub = Submission(
            department_id=first.department_id,
            region_id=session.scalar(
                select(Department.region_id).where(Department.id == first.department_id)
            ),
            status="pending_city",
            submitted_at=now,
            received_on=now.date(),
            is_update=True,
        )
        session.add(sub)
        session.flush()
        old = {
            r.resource_id: r
            for r in session.scalars(
                select(ResourceRevision).where(ResourceRevision.resource_id.in_(ids))
            )
        }
        next_id = (session.scalar(select(func.max(ResourceRevision.id))) or 0) + 1
        revisions, entries = [], []
        for offset, rid in enumerate(ids):
            rev = old[rid]
            data = {**rev.data, "update_cycle": "daily", "share_method": "接口（已调整）"}
            revisions.append(
                {
                    "id": next_id + offset,
                    "resource_id": rid,
                    "number": 2,
                    "code": rev.code,
                    "department_id": rev.department_id,
                    "region_id": rev.region_id,
                    "category": rev.category,
                    "classification_code": rev.classification_code,
                    "name": rev.name,
                    "format": rev.format,
                    "share_type": rev.share_type,
                    "open_type": rev.open_type,
                    "update_cycle": "daily",
                    "withdrawn": False,
                    "data": data,
                    "search_terms": search.document(data),
                    "created_at": now,
                }
            )
            entries.append(
                {
                    "submission_id": sub.id,
                    "action": "modify",
                    "resource_id": rid,
                    "revision_id": next_id + offset,
                    "status": "approved",
                    "reason": "",
                    "decided_at": now,
                }
            )
        conn.execute(insert(ResourceRevision.__table__), revisions)
        conn.execute(insert(ReviewEntry.__table__), entries)
        table = Resource.__table__
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("rid"))
            .values(state="approved", latest_revision_id=bindparam("rev")),
            [{"rid": r["resource_id"], "rev": r["id"]} for r in revisions],
        )
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('catalog_revisions', 'id'), "
                    "(SELECT max(id) FROM catalog_revisions))"
                )
            )
    _analyze(engine)
    return time.perf_counter() - started


def _analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


# --- main -------------------------------------------------------------------------------------


def bench_import(db: str, count: int, with_services: bool) -> dict[str, Any]:
    workbook = OUT_DIR / f"catalog_import_{count}.xlsx"
    gen_s = write_workbook(workbook, count)
    print(
        f"  generated {workbook.name}: {workbook.stat().st_size / 1e6:.1f} MB in {gen_s:.1f} s",
        flush=True,
    )
    url = setup_import_db(db, "catalog_import")
    steps = {"import": run_child("import", url, workbook)}
    exported = OUT_DIR / f"catalog_export_{db}.xlsx"
    steps["export"] = run_child("export", url, exported)
    steps["reimport"] = run_child("reimport", url, exported)
    changed = OUT_DIR / f"catalog_export_{db}_changed.xlsx"
    change_every_row(exported, changed)
    steps["update"] = run_child("update", url, changed)
    if with_services:
        url2 = setup_import_db(db, "catalog_import_services")
        steps["services"] = run_child("services", url2, workbook)
        if db == "postgresql":
            drop_pg_database("govdata_bench_services")
    return {
        "resources": count,
        "workbook_bytes": workbook.stat().st_size,
        "generate_s": round(gen_s, 1),
        "steps": steps,
        "url": url,
    }


def bench_publish(db: str, count: int, changed: int) -> dict[str, Any]:
    from govdata.core.db import make_engine

    url = new_database(db, "catalog_publish")
    engine = make_engine(url)
    print(f"  populating {count:,} approved resources ...", flush=True)
    fill_s = populate_for_publish(engine, count)
    print(f"  populated in {fill_s:.1f} s", flush=True)
    steps = {"publish-1": run_child("publish-1", url)}
    fill2_s = populate_changes(engine, changed)
    steps["publish-2"] = run_child("publish-2", url)
    engine.dispose()
    return {
        "resources": count,
        "changed": changed,
        "populate_s": round(fill_s, 1),
        "segmented_at_submission_s": round(SEGMENTED_S[0], 1),
        "populate_changes_s": round(fill2_s, 1),
        "steps": steps,
        "url": url,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--publish-resources", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-publish", action="store_true")
    parser.add_argument("--skip-services", action="store_true")
    parser.add_argument("--wait-quiet", type=float, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.path), ensure_ascii=False))
        return

    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        busy = wait_for_quiet(args.wait_quiet)
        result: dict[str, Any] = {
            "benchmark": "catalog_import",
            "db": db,
            "machine": machine_info(),
            "machine_busy_before": round(busy, 3),
        }
        if not args.skip_import:
            print(f"{db}: import of {args.resources:,} resources", flush=True)
            result["import"] = bench_import(db, args.resources, not args.skip_services)
            result["database"] = pg_server_version(result["import"]["url"]) or "sqlite (WAL)"
        if not args.skip_publish:
            print(f"{db}: publish of {args.publish_resources:,} resources", flush=True)
            result["publish"] = bench_publish(db, args.publish_resources, args.changed)
            result["database"] = pg_server_version(result["publish"]["url"]) or "sqlite (WAL)"
        path = write_json(f"catalog_import_{db}.json", result)
        print(f"  results: {path}", flush=True)
        if db == "postgresql" and not args.keep:
            for name in ("govdata_bench_import", "govdata_bench_publish"):
                drop_pg_database(name)


if __name__ == "__main__":
    main()
