"""The data of ``sharing_lookup.py``: a fresh PostgreSQL database with the test city's sharing
setup (``tests.sharing.helpers``), its person base database filled to ``subjects`` people by
``generate_series`` in the server, and a field-level grant to 渝中区公安分局's system."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from common import fresh_database_url
from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.migrate import upgrade


def prepare(pg_database: str, subjects: int) -> dict[str, Any]:
    return prepare_at(fresh_database_url("postgresql", "sharing_lookup", pg_database), subjects)


def prepare_at(url: str, subjects: int) -> dict[str, Any]:
    """The same in the empty PostgreSQL (or Citus) database at ``url``."""
    from tests.sharing.helpers import build_share_city, grant_to_yz
    from tests.world import build_world

    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        world = build_world(session)
        sc = build_share_city(session, world)
        source = sc.base_source
        assert source.table_name is not None
        key_item = source.item("公民身份号码")
        name = source.item("姓名")
        birth = source.item("出生日期")
        status = source.item("经营状态")
        assert key_item and name and birth and status
        load_id = sc.city.police_load.id
        t0 = time.perf_counter()
        cols = {name.column: "'居民' || g", birth.column: "'1990-01-01'", status.column: "'存续'"}
        names = ", ".join(f"{c}, l{c[1:]}" for c in cols)
        values = ", ".join(f"{v}, {load_id}" for v in cols.values())
        session.execute(
            text(
                f"INSERT INTO {source.table_name} (subject_key, {names}) "
                f"SELECT '5001011990' || lpad(g::text, 8, '0'), {values} "
                f"FROM generate_series(1, {int(subjects)}) AS g ON CONFLICT DO NOTHING"
            )
        )
        generated = time.perf_counter() - t0
        grant = grant_to_yz(
            session,
            world,
            sc,
            source,
            ["公民身份号码", "姓名"],
            daily_quota=1_000_000_000,
        )
        grant_id = grant.id
        secret = sc.token
        table = source.table_name
    with engine.connect() as conn:
        conn.execute(text(f"ANALYZE {table}"))
        conn.commit()
        count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return {
        "url": url,
        "secret": secret,
        "grant_id": grant_id,
        "facts": {
            "subjects": int(count),
            "base_table": table,
            "generate_seconds": round(generated, 1),
            "granted_items": ["公民身份号码", "姓名"],
            "source_items": [i.name for i in source.items],
        },
    }
