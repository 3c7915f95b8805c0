"""The share catalog in use (Art. 26): one page of ``sharing.catalog.browse`` over a large
published catalog.

    .venv/bin/python bench/share_catalog.py [--resources 10000] [--rounds 5] [--seed 2026]

A fresh SQLite database ``bench/out/share_catalog.db``, migrated; ``--resources`` published
resources generated as ``bench/catalog_search.py`` does (none loaded: each source's layout is
derived from its published items, the slower path). Then, each ``--rounds`` times, one request's
work in its own transaction as the city bureau: the first page (50) unfiltered, a text search,
a provider filter, and the xlsx export of the whole catalog. ``browse`` reads the whole share
catalog (``sources.share_catalog``) and filters in Python; this measures what that costs.

JSON goes to ``bench/out/share_catalog_sqlite.json``. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from catalog_search import generate
from common import fresh_database_url, machine_info, write_json
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.migrate import upgrade
from govdata.sharing import catalog
from govdata.sharing.catalog import CatalogFilters

CITY = Actor(person_id=None, name="基准", grants=(RoleGrant(Role.CITY_BUREAU_ADMIN),))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    engine = make_engine(fresh_database_url("sqlite", "share_catalog"))
    upgrade(engine)
    print(f"generating {args.resources:,} published resources ...", flush=True)
    generate(engine, args.resources, args.seed)
    sm = make_sessionmaker(engine)
    with transaction(sm) as session:
        first = catalog.browse(session, CITY, limit=1)
        dept = first.items[0].source.provider_department_id if first.items else None
    cases: dict[str, Callable[[Any], object]] = {
        "first_page": lambda s: catalog.browse(s, CITY, limit=50),
        "text_search": lambda s: catalog.browse(s, CITY, CatalogFilters(q="养老"), limit=50),
        "provider_filter": lambda s: catalog.browse(
            s, CITY, CatalogFilters(department_id=dept), limit=50
        ),
        "export_xlsx": lambda s: catalog.export_xlsx(s, CITY),
    }
    results: dict[str, Any] = {}
    for name, fn in cases.items():
        times = []
        for _ in range(args.rounds):
            with transaction(sm) as session:
                t0 = time.perf_counter()
                fn(session)
                times.append((time.perf_counter() - t0) * 1000)
        results[name] = {
            "median_ms": round(statistics.median(times), 1),
            "min_ms": round(min(times), 1),
            "max_ms": round(max(times), 1),
        }
        print(f"  {name:16} median {results[name]['median_ms']:>9.1f} ms", flush=True)
    path = write_json(
        "share_catalog_sqlite",
        {
            "resources": args.resources,
            "rounds": args.rounds,
            "results": results,
            "machine": machine_info(),
        },
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
