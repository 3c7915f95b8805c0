"""A small city for the base, thematic and repeated-collection tests.

The police (市公安局) lead the person base and are the authoritative source of 姓名 and
出生日期 (户籍人口基本信息); the market regulator (市市场监督管理局) holds 姓名 too, for the
same people (个体经营者信息), and is the authoritative source of 经营状态. Keys are ID numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from govdata.aggregation import base, pools
from govdata.aggregation.models import (
    BadRowPolicy,
    BaseKind,
    Load,
    LoadMode,
    LoadStatus,
    Pool,
)
from govdata.aggregation.tables import LOAD_COLUMN, ROW_COLUMN
from govdata.catalog.models import Resource
from govdata.core.db import utcnow
from tests.aggregation.factories import fill_pool, person_pool_resource
from tests.world import World

# Valid ID numbers are not needed here: the pipeline validates them, these tests do not load files.
K1, K2, K3, K4 = (
    "500101199001010011",
    "500101199002020022",
    "500101199003030033",
    "500101199004040044",
)


@dataclass
class City:
    police_res: Resource
    market_res: Resource
    police_pool: Pool
    market_pool: Pool
    police_load: Load
    market_load: Load


def police_rows() -> list[dict[str, Any]]:
    return [
        {"公民身份号码": K1, "姓名": "张三", "出生日期": date(1990, 1, 1)},
        {"公民身份号码": K2, "姓名": "李四", "出生日期": date(1990, 2, 2)},
        {"公民身份号码": K3, "姓名": "王五", "出生日期": None},
    ]


def market_rows() -> list[dict[str, Any]]:
    return [
        {"公民身份号码": K1, "姓名": "张三", "经营状态": "存续", "从业人数": 3},
        {"公民身份号码": K2, "姓名": "李四四", "经营状态": "注销", "从业人数": 12},
        {"公民身份号码": K4, "姓名": "赵六", "经营状态": "存续", "从业人数": 1},
    ]


def build_city(session: Session, world: World, *, with_items: bool = True) -> City:
    city = world.actor(session, "city")
    police_res = person_pool_resource(
        session,
        world,
        world.police,
        "户籍人口基本信息",
        [("姓名", "C", 50), ("出生日期", "D", None)],
    )
    market_res = person_pool_resource(
        session,
        world,
        world.market,
        "个体经营者信息",
        [("姓名", "C", 50), ("经营状态", "C", 10), ("从业人数", "I", None)],
    )
    police_pool, police_load = fill_pool(session, city, police_res, police_rows())
    market_pool, market_load = fill_pool(session, city, market_res, market_rows())
    base.define_base(session, city, BaseKind.PERSON, lead_department_id=world.police)
    if with_items:
        officer = world.actor(session, "officer")
        base.add_item(
            session,
            officer,
            BaseKind.PERSON,
            name="姓名",
            source_resource_code=police_res.code,
            source_item="姓名",
        )
        base.add_item(
            session,
            officer,
            BaseKind.PERSON,
            name="出生日期",
            source_resource_code=police_res.code,
            source_item="出生日期",
        )
        base.add_item(
            session,
            officer,
            BaseKind.PERSON,
            name="经营状态",
            source_resource_code=market_res.code,
            source_item="经营状态",
        )
    return City(police_res, market_res, police_pool, market_pool, police_load, market_load)


def new_load(session: Session, pool: Pool, mode: LoadMode = LoadMode.UPSERT) -> Load:
    load = Load(
        pool_id=pool.id,
        department_id=pool.department_id,
        status=LoadStatus.SUCCEEDED,
        policy=BadRowPolicy.REJECT_FILE,
        mode=mode,
        channel="test",
        filename="upsert.csv",
        file_format="csv",
        started_at=utcnow(),
        finished_at=utcnow(),
    )
    session.add(load)
    session.flush()
    return load


def upsert(session: Session, pool: Pool, rows: list[dict[str, Any]]) -> Load:
    """Write ``rows`` into the pool's current table as an incremental load would."""
    load = new_load(session, pool)
    table = pools.current_table(pool)
    assert table is not None and pool.subject_column
    by_name = {c["name"]: c["column"] for c in pool.columns}
    key_col = table.c[pool.subject_column]
    for i, row in enumerate(rows):
        values = {by_name[k]: v for k, v in row.items()} | {LOAD_COLUMN: load.id}
        key = values[pool.subject_column]
        exists = session.execute(select(key_col).where(key_col == key)).first()
        if exists:
            # Never the key itself: on Citus it is the distribution column (decision 0022).
            changed = {k: v for k, v in values.items() if k != pool.subject_column}
            session.execute(update(table).where(key_col == key).values(changed))
        else:
            session.execute(insert(table).values(values | {ROW_COLUMN: i + 2}))
    pool.current_load_id = load.id
    session.flush()
    return load


def base_rows(session: Session, kind: BaseKind = BaseKind.PERSON) -> dict[str, dict[str, Any]]:
    """The base table as {subject key: {item name: (value, load id)}}."""
    db = base.get_base(session, _reader(session), kind)
    items = base.items_of(session, db)
    table: Table = base.base_table(db, [i.id for i in items])
    out: dict[str, dict[str, Any]] = {}
    for r in session.execute(select(table)).mappings():
        out[r["subject_key"]] = {i.name: (r[f"v{i.id}"], r[f"l{i.id}"]) for i in items}
    return out


def _reader(session: Session) -> Any:
    from govdata.core.actor import Actor, Role, RoleGrant

    return Actor(person_id=None, name="读者", grants=(RoleGrant(Role.AUDITOR),))
