"""The data plane on a Citus cluster (issue 15, decision 0022): where the tables are, that a
lookup by subject key runs on one shard, that base builds run on the shards (never pulled
through the coordinator), and that the same loads give the same rows as one PostgreSQL.

Runs only under ``GOVDATA_TEST_DB=citus`` (``make test-citus``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import base, loading, pools
from govdata.aggregation.models import BadRowPolicy, BaseKind, Load, LoadMode, LoadStatus, Pool
from govdata.aggregation.tables import KEY_COLUMN, LOAD_COLUMN, ROW_COLUMN
from govdata.core.db import make_engine
from govdata.core.ids import make_id_number
from govdata.core.migrate import upgrade
from govdata.sharing import hotpath_sql
from tests.aggregation.base_helpers import K1, build_city, upsert
from tests.aggregation.factories import person_pool_resource
from tests.conftest import BACKEND
from tests.pgcluster import CitusCluster
from tests.world import World, build_world

pytestmark = pytest.mark.skipif(BACKEND != "citus", reason="runs on a Citus cluster (test-citus)")


def _placement(session: Session) -> dict[str, tuple[str, str, int]]:
    """{table: (distributed / reference, distribution column, co-location group)}."""
    rows = session.execute(
        text(
            "SELECT table_name::text, citus_table_type, distribution_column, colocation_id "
            "FROM citus_tables"
        )
    )
    return {str(t).strip('"'): (str(k), str(c), int(g)) for t, k, c, g in rows}


def _explain(conn: Connection, statement: str, params: Any = None) -> str:
    """The plan of ``statement`` with its values inlined (as the executor plans it once it
    knows them; a generic plan of bound parameters can differ)."""
    raw = conn.connection.driver_connection
    literal = psycopg.ClientCursor(raw).mogrify(statement, params or None)
    rows = conn.exec_driver_sql("EXPLAIN " + literal.replace("%", "%%")).scalars()
    return "\n".join(str(r) for r in rows)


@contextmanager
def _statements(conn: Connection) -> Iterator[list[tuple[str, Any]]]:
    """The statements ``conn`` runs meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        if not many:
            seen.append((statement, params))

    event.listen(conn, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", note)


def _writes_to(seen: list[tuple[str, Any]], table: str) -> list[tuple[str, Any]]:
    target = re.compile(rf"^\s*(INSERT INTO|UPDATE|DELETE FROM) \"?{table}\"?\b")
    return [(s, p) for s, p in seen if target.match(s)]


def _assert_pushed_down(conn: Connection, writes: list[tuple[str, Any]]) -> None:
    """Each write runs as tasks on the shards: no INSERT … SELECT pulled to the coordinator or
    repartitioned, no rows through the coordinator."""
    assert writes
    for statement, params in writes:
        plan = _explain(conn, statement, params)
        assert "Citus Adaptive" in plan, (statement, plan)
        assert "INSERT/SELECT method" not in plan, (statement, plan)
        assert "Citus INSERT ... SELECT" not in plan, (statement, plan)


def test_data_plane_is_distributed_on_the_subject_key_and_co_located(
    session: Session, world: World
) -> None:
    c = build_city(session, world)
    base.build(session, world.actor(session, "city"), BaseKind.PERSON)
    placed = _placement(session)
    police = placed[str(c.police_pool.table_name)]
    market = placed[str(c.market_pool.table_name)]
    person = placed["base_person"]
    conflicts = placed["aggregation_base_conflicts"]
    assert police[:2] == ("distributed", str(c.police_pool.subject_column))
    assert market[:2] == ("distributed", str(c.market_pool.subject_column))
    assert person[:2] == conflicts[:2] == ("distributed", KEY_COLUMN)
    # One co-location group: joins on the key stay on each shard.
    assert police[2] == market[2] == person[2] == conflicts[2]
    for small in (
        "departments",
        "people",
        "catalog_resources",
        "aggregation_pools",
        "audit_events",
    ):
        assert placed[small][0] == "reference", small
    assert placed["access_records"][:2] == ("distributed", "id")
    # The key columns are the data plane's one key type (Citus co-locates no other way).
    kinds = session.execute(
        text(
            "SELECT format_type(a.atttypid, NULL), c.collname FROM pg_attribute a "
            "JOIN pg_collation c ON c.oid = a.attcollation "
            "WHERE (a.attrelid, a.attname) IN ((to_regclass(:p), :k), ('base_person'::regclass, "
            "'subject_key'), ('aggregation_base_conflicts'::regclass, 'subject_key'))"
        ),
        {"p": c.police_pool.table_name, "k": c.police_pool.subject_column},
    ).all()
    assert set(kinds) == {("character varying", "C")}


def test_a_pool_without_a_subject_key_is_distributed_on_its_row(
    session: Session, world: World
) -> None:
    conn = session.connection()
    pools.create_data_table(conn, "pool_stage_999999", [{"column": "c1", "data_type": "C"}])
    assert _placement(session)["pool_stage_999999"][:2] == ("distributed", ROW_COLUMN)


def test_lookup_by_subject_key_is_a_single_shard_router_query(
    session: Session, world: World
) -> None:
    c = build_city(session, world)
    base.build(session, world.actor(session, "city"), BaseKind.PERSON)
    conn = session.connection()
    pool = c.police_pool
    table = str(pool.table_name)
    key = str(pool.subject_column)
    # The sharing hot path's call on Citus (decisions 0014, 0022): the read, then its access
    # record, each a statement of its own on one shard.
    read = hotpath_sql._render(hotpath_sql.READ, table, key, ("c1", "c2"), None).decode()
    params = {
        "key": K1,
        "token": 1,
        "name": "系统",
        "dept": world.police,
        "address": "127.0.0.1",
        "action": "sharing.lookup",
        "object": "x",
        "owner": world.police,
        "personal": True,
        "fields": "姓名",
        "grant": 1,
        "purpose": "check",
        "digest": "d" * 64,
    }
    for statement, bound in (
        (f'SELECT "c1", "c2" FROM "{table}" WHERE "{key}" = %(key)s LIMIT 1', {"key": K1}),
        ("SELECT * FROM base_person WHERE subject_key = %(key)s", {"key": K1}),
        (read, {"key": K1}),
        (hotpath_sql.RECORD, params | hotpath_sql.record_params(True, True)),
    ):
        plan = _explain(conn, statement, bound)
        counts = re.findall(r"Task Count: (\d+)", plan)
        assert counts and set(counts) == {"1"}, plan  # every step on one shard
    # And it answers: the row is found through the router.
    found = conn.exec_driver_sql(f'SELECT "c2" FROM "{table}" WHERE "{key}" = %(k)s', {"k": K1})
    assert found.scalar_one() == "张三"


def test_base_build_and_incremental_rebuild_are_pushed_down(session: Session, world: World) -> None:
    c = build_city(session, world)
    conn = session.connection()
    with _statements(conn) as built:
        base.build(session, world.actor(session, "city"), BaseKind.PERSON)
    # An incremental (upsert) load recomputes only the subjects it wrote, on the shards too.
    load = upsert(session, c.police_pool, [{"公民身份号码": K1, "姓名": "张叁"}])
    with _statements(conn) as rebuilt:
        base.rebuild_after_load(session, c.police_pool, load)
    # Planned after the work (Citus' EXPLAIN runs a plan's subplans, in this transaction).
    for seen in (built, rebuilt):
        _assert_pushed_down(conn, _writes_to(seen, "base_person"))
        _assert_pushed_down(conn, _closing_conflicts(seen))
    # Opening a conflict takes an id from the table's sequence, which Citus draws on the
    # coordinator: the disagreements found on the shards (only those) come back through it
    # (docs/scaling.md). The search itself runs on every shard.
    opening = [(s, p) for s, p in _writes_to(built, _CONFLICTS) if s.lstrip().startswith("INSERT")]
    assert opening
    for statement, params in opening:
        plan = _explain(conn, statement, params)
        assert "pull to coordinator" in plan and "Task Count: 4" in plan, plan


_CONFLICTS = "aggregation_base_conflicts"


def _closing_conflicts(seen: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(s, p) for s, p in _writes_to(seen, _CONFLICTS) if s.lstrip().startswith("UPDATE")]


# --- the same loads on one PostgreSQL and on the cluster ---------------------------------------

ITEMS = [("姓名", "C", 20), ("出生日期", "D", None), ("子女数", "I", None), ("收入", "N", None)]
HEADER = "公民身份号码,姓名,出生日期,子女数,收入"


def _pid(n: int) -> str:
    return make_id_number("500103", date(1980 + n % 30, 1 + n % 12, 1 + n % 28), n)


def _files(tmp: Path) -> tuple[Path, Path]:
    """A full file (repeated keys, one bad row) and an incremental one (new and known keys)."""
    full = [HEADER]
    for i in range(300):
        full.append(f"{_pid(i)},居民{i},1990-01-{1 + i % 28:02d},{i % 4},{i * 1.25:.2f}")
    full += [f"{_pid(7)},重复七,1991-02-03,1,7.5", f"{_pid(8)},重复八,1992-03-04,2,8.25"]
    full.append("不是身份证号,坏行,1990-01-01,1,1")
    more = [HEADER] + [f"{_pid(i)},更新{i},2000-01-01,9,{i}.5" for i in range(250, 400)]
    a, b = tmp / "full.csv", tmp / "more.csv"
    a.write_text("\n".join(full) + "\n", encoding="utf-8")
    b.write_text("\n".join(more) + "\n", encoding="utf-8")
    return a, b


def _load(session: Session, world: World, code: str, path: Path, mode: LoadMode) -> Load:
    load = loading.create_load(
        session,
        world.actor(session, "officer"),
        resource_code=code,
        path=path,
        filename=path.name,
        policy=BadRowPolicy.QUARANTINE,
        mode=mode,
    )
    session.commit()
    done = loading.execute(session, load.id, batch_rows=64)
    assert done.status == LoadStatus.SUCCEEDED, done.error_message
    return done


def _digest(rows: list[tuple[Any, ...]]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(("\x1f".join("" if v is None else str(v) for v in row) + "\n").encode())
    return h.hexdigest()


def _scenario(session: Session, world: World, tmp: Path) -> dict[str, Any]:
    """Load, load incrementally, build the base: the counts and checksums of what is stored
    (load ids left out: each database numbers its own loads)."""
    resource = person_pool_resource(session, world, world.police, "户籍人口核对", ITEMS)
    full, more = _files(tmp)
    first = _load(session, world, resource.code, full, LoadMode.REPLACE)
    second = _load(session, world, resource.code, more, LoadMode.UPSERT)
    pool = session.get(Pool, second.pool_id)
    assert pool is not None and pool.table_name
    city = world.actor(session, "city")
    base.define_base(session, city, BaseKind.PERSON, lead_department_id=world.police)
    for item in ("姓名", "出生日期", "收入"):
        base.add_item(
            session,
            world.actor(session, "officer"),
            BaseKind.PERSON,
            name=item,
            source_resource_code=resource.code,
            source_item=item,
        )
    built = base.build(session, city, BaseKind.PERSON)
    table = pools.current_table(pool)
    assert table is not None and pool.subject_column
    data = [c for c in table.columns if c.name != LOAD_COLUMN]
    pool_rows = session.execute(select(*data).order_by(table.c[pool.subject_column])).all()
    items = base.items_of(session, built)
    btable = base.base_table(built, [i.id for i in items])
    values = [btable.c[KEY_COLUMN], *[btable.c[f"v{i.id}"] for i in items]]
    base_rows = session.execute(select(*values).order_by(btable.c[KEY_COLUMN])).all()
    return {
        "loads": [
            (x.rows_read, x.rows_loaded, x.rows_bad, x.duplicates_removed) for x in (first, second)
        ],
        "pool": (len(pool_rows), _digest([tuple(r) for r in pool_rows])),
        "base": (built.row_count, len(base_rows), _digest([tuple(r) for r in base_rows])),
    }


def test_the_same_loads_give_the_same_rows_as_one_postgresql(
    session: Session,
    world: World,
    pg_cluster: CitusCluster,
    worker: str,
    tmp_path: Path,
) -> None:
    plain = make_engine(pg_cluster.create_database(f"govdata_plain_{worker}", citus=False))
    try:
        upgrade(plain)
        with plain.connect() as conn:
            extensions = conn.execute(text("SELECT extname FROM pg_extension")).scalars().all()
        assert "citus" not in extensions  # one PostgreSQL, the same server binaries
        factory = sessionmaker(bind=plain, expire_on_commit=False)
        with factory() as s:
            with s.begin():
                plain_world = build_world(s)
            (tmp_path / "plain").mkdir()
            expected = _scenario(s, plain_world, tmp_path / "plain")
    finally:
        plain.dispose()
    (tmp_path / "cluster").mkdir()
    got = _scenario(session, world, tmp_path / "cluster")
    assert got == expected
    # Zero rows lost or duplicated: 400 people, the repeated keys and the bad row removed.
    assert got["pool"][0] == 400 and got["base"][:2] == (400, 400)
    assert got["loads"][0] == (303, 300, 1, 2)


def test_a_referenced_reference_table_is_written_after_a_query_over_every_shard(
    session: Session, world: World
) -> None:
    # Citus refuses such a write after a statement over several connections a node (migration
    # 0023 sets sequential mode): a load's or a sharing call's bookkeeping follows its data in
    # one transaction.
    conn = session.connection()
    assert conn.exec_driver_sql("SHOW citus.multi_shard_modify_mode").scalar_one() == "sequential"
    assert conn.exec_driver_sql("SELECT count(*) FROM access_records").scalar_one() >= 0
    # A COPY over every shard (as a load's staging) and then a write of a referenced table.
    columns = [{"column": "c1", "data_type": "C"}]
    pools.create_data_table(conn, "pool_stage_999998", columns, "c1")
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy('COPY "pool_stage_999998" FROM STDIN') as copy:
        for i in range(200):
            copy.write_row((i, 1, f"k{i}"))
    conn.exec_driver_sql("UPDATE departments SET name = name WHERE id = %(d)s", {"d": world.police})
    # The rate-limit counters and the grants' daily usage stay on the coordinator (written
    # on every request or call; as reference tables each write would commit on every node).
    placed = _placement(session)
    assert "rate_limit_counters" not in placed and "sharing_grant_usage" not in placed


def test_a_thematic_refresh_is_pushed_down_and_co_located(session: Session, world: World) -> None:
    from tests.aggregation.test_thematic import _define

    c = build_city(session, world)
    base.build(session, world.actor(session, "city"), BaseKind.PERSON)
    conn = session.connection()
    with _statements(conn) as seen:
        db = _define(session, world, c)
    table = str(db.table_name)
    placed = _placement(session)
    assert placed[table][:2] == ("distributed", KEY_COLUMN)
    assert placed[table][2] == placed["base_person"][2]
    # base ⟕ pool on the key, filtered: one INSERT … SELECT run on every shard.
    _assert_pushed_down(conn, _writes_to(seen, table))
