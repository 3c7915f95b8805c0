"""Where a subject key's row lives (decision 0023): the hash Citus places it by, computed here,
and the node holding its shard; and that a prepared lookup run on that node reuses its plan
(the Citus patch ``scripts/citus/0001-local-plan-cache-reuse.patch``)."""

from __future__ import annotations

import random

import psycopg
import pytest
from sqlalchemy import Engine, text

from govdata.core.shards import hash_key, shard_map
from tests.conftest import BACKEND
from tests.pgcluster import CitusCluster

# Keys of every length around the 12-byte blocks and the 4-byte words of a tail, ID numbers,
# USCCs and multi-byte text.
KEYS = [
    "",
    "a",
    "abc",
    "abcd",
    "abcdefg",
    "abcdefgh",
    "abcdefghijk",
    "abcdefghijkl",
    "abcdefghijklm",
    "500101199001011234",
    "50010119900101123X",
    "91500000MA5U1A2B3C",
    "重庆市渝中区解放碑街道",
    "居民12345678901234567890",
]

# PostgreSQL's hashtext() of some of them (its own answers, for the backends without it).
KNOWN = {
    "": -1477818771,
    "a": 1075015857,
    "abcdefghijkl": -1586087212,
    "重庆市渝中区解放碑街道": -1579026291,
}


def _random_keys(n: int) -> list[str]:
    rnd = random.Random(23)
    alphabet = "0123456789XABCabc重庆市区"
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40))) for _ in range(n)]


def test_the_hash_is_postgresqls() -> None:
    assert {k: hash_key(k) for k in KNOWN} == KNOWN
    assert all(-(2**31) <= hash_key(k) < 2**31 for k in KEYS)


@pytest.mark.skipif(BACKEND == "sqlite", reason="compares with PostgreSQL's hash function")
def test_the_hash_matches_the_servers_for_every_length(engine: Engine) -> None:
    keys = KEYS + _random_keys(2000)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                'SELECT k, hashtext(CAST(k AS varchar) COLLATE "C") FROM unnest(CAST(:ks AS text[])) AS k'
            ),
            {"ks": keys},
        ).all()
    assert [(k, h) for k, h in rows if h != hash_key(k)] == []


@pytest.mark.skipif(BACKEND != "citus", reason="runs on a Citus cluster (test-citus)")
def test_the_map_names_the_node_citus_places_each_key_on(engine: Engine) -> None:
    keys = KEYS + _random_keys(2000)
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(text('CREATE TABLE "shard probe" (k varchar COLLATE "C" PRIMARY KEY)'))
            conn.execute(text("SELECT create_distributed_table('\"shard probe\"', 'k')"))
            conn.execute(text("CREATE TABLE shard_probe_small (id int PRIMARY KEY)"))
            conn.execute(text("SELECT create_reference_table('shard_probe_small')"))
            placed = conn.execute(
                text(
                    "SELECT k, n.nodename, n.nodeport FROM unnest(CAST(:ks AS text[])) AS k "
                    "JOIN pg_dist_placement p ON p.shardid = "
                    "  get_shard_id_for_distribution_column('\"shard probe\"', k) "
                    "JOIN pg_dist_node n ON n.groupid = p.groupid"
                ),
                {"ks": keys},
            ).all()
            found = shard_map(conn, "shard probe")
            assert found is not None
            assert len(found.all_nodes) == 2  # both workers hold shards
            assert [(k, h, p) for k, h, p in placed if found.node_for(k) != (h, p)] == []
            assert shard_map(conn, "shard_probe_small") is None  # a reference table
            assert shard_map(conn, "no_such_table") is None
        finally:
            tx.rollback()


@pytest.mark.skipif(BACKEND != "citus", reason="runs on a Citus cluster (test-citus)")
def test_a_prepared_lookup_on_the_node_holding_the_shard_reuses_its_plan(
    engine: Engine, pg_cluster: CitusCluster
) -> None:
    """Citus 13.2.2 planned such a lookup again on every execution and kept every plan (the
    prepared statement's memory grew without end); patched, one plan serves them all."""
    database = engine.url.database
    assert database is not None
    table = "plan_probe"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE TABLE {table} (k varchar COLLATE "C" PRIMARY KEY, v int)'))
        conn.execute(text(f"SELECT create_distributed_table('{table}', 'k')"))
        conn.execute(text(f"INSERT INTO {table} SELECT g::text, g FROM generate_series(1, 200) g"))
        conn.commit()
        found = shard_map(conn, table)
    try:
        assert found is not None
        port = found.node_for("7")[1]
        worker = next(w for w in pg_cluster.workers if w.port == port)
        with psycopg.connect(
            host=str(worker.sock), port=port, dbname=database, user="postgres", autocommit=True
        ) as wc:
            wc.execute("SET plan_cache_mode = force_generic_plan")
            used = []
            for runs in (20, 400):
                for _ in range(runs):
                    row = wc.execute(
                        f"SELECT v FROM {table} WHERE k = %s", ("7",), prepare=True
                    ).fetchone()
                    assert row == (7,)
                used.append(
                    wc.execute(
                        "SELECT sum(total_bytes) FROM pg_backend_memory_contexts "
                        "WHERE name = 'CachedPlan' AND ident LIKE %s",
                        (f"%{table}%",),
                    ).fetchone()
                )
        assert used[0] is not None and used[0][0] is not None
        assert used[1] == used[0]  # 400 more executions, not a byte more
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP TABLE {table}"))
            conn.commit()
