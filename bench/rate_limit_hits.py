"""Cost of one rate-limit hit (decision 0011): the limiter's ``check_address`` as the request
path calls it, on each storage, one hit after another.

    .venv/bin/python bench/rate_limit_hits.py [--hits 5000] [--pg-url URL]

SQLite deployments count in memory; PostgreSQL ones upsert a row of the UNLOGGED table
``rate_limit_counters`` on an autocommit connection of their own. The PostgreSQL database is
``govdata_bench_ratelimit`` on the server of ``--pg-url`` (default: the development server),
dropped and created again. Prints µs per hit (wall clock, median of 5 runs) as JSON, for 100
clients hitting in turn (their windows open, then counted) and for a new client at every hit,
and the floor: a pooled checkout and ``SELECT 1`` on the same engine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from sqlalchemy import create_engine, text

from govdata.core.db import make_engine
from govdata.core.migrate import upgrade
from govdata.core.ratelimit import Budgets, DatabaseStorage, Limiter, make_limiter, parse_limit

DB = "govdata_bench_ratelimit"


def per_hit_us(limiter: Limiter, hits: int, clients: int | None) -> float:
    runs = []
    for run in range(5):
        start = time.perf_counter()
        for n in range(hits):
            k = n % clients if clients else n
            limiter.check_address(f"10.{run}.{k // 250}.{k % 250}")
        runs.append((time.perf_counter() - start) / hits * 1e6)
    return statistics.median(runs)


def select_one_us(limiter: Limiter, hits: int) -> float:
    """The least a hit could cost: a pooled checkout and ``SELECT 1`` on the same engine."""
    storage = limiter.storage
    assert isinstance(storage, DatabaseStorage)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(hits):
            with storage.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        runs.append((time.perf_counter() - start) / hits * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hits", type=int, default=5000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    huge = parse_limit("100000000/minute", "bench")
    budgets = Budgets(huge, huge, huge, huge, huge)
    out: dict[str, float] = {}
    memory = make_limiter(budgets, make_engine("sqlite://"))
    out["sqlite_memory_us_per_hit"] = round(per_hit_us(memory, args.hits, 100), 1)
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}"'))
        conn.execute(text(f'CREATE DATABASE "{DB}"'))
    engine = make_engine(args.pg_url.rsplit("/", 1)[0] + f"/{DB}")
    upgrade(engine)
    pg = make_limiter(budgets, engine)
    out["postgresql_us_per_hit"] = round(per_hit_us(pg, args.hits, 100), 1)
    out["postgresql_us_per_hit_new_keys"] = round(per_hit_us(pg, args.hits, None), 1)
    out["postgresql_select_1_us"] = round(select_one_us(pg, args.hits), 1)  # the floor
    pg.close()
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}"'))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
