"""The demo city's aggregation data (issue 5, item 8): pools, base databases, a thematic
database and corrections, all made through the platform's own services.

Six resources are published through the catalog's review (Art. 12): 市公安局 户籍人口登记信息,
市人力资源和社会保障局 社会保险参保人员信息, 市民政局 婚姻登记信息, 市市场监督管理局
市场主体登记信息, 市税务局 纳税人登记信息 and 渝中区公安分局 流动人口居住登记信息. Their data is
generated (Faker ``zh_CN`` names, Chongqing addresses, valid 公民身份号码 and 统一社会信用代码)
with a few faults on purpose (wrong check characters, impossible birth dates, values outside the
aggregation specification, repeated subject keys), written to CSV (UTF-8 and GB18030) and xlsx
files and loaded by the real pipeline (Art. 15–18): quarantined rows, one refused load and one
incremental load show in the load reports. Then the person and legal-person base databases are
defined and built (Art. 16, 17 ¶2), with conflicts where other departments disagree with the
authoritative source; 人社 defines a thematic database (Art. 17 ¶3); and corrections are applied
for through both channels (Art. 19).

Deterministic: Faker and ``random`` are seeded, so every run generates the same data (only
dates of receipt and load follow the clock). Loaded once: a database that already has pools is
left alone.

The package: ``people`` and ``files`` generate the data, ``resources`` are the six resources and
their specification, ``steps`` do the work through the services.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import tasks
from govdata.aggregation.demo import steps
from govdata.aggregation.demo.files import generate
from govdata.aggregation.demo.steps import DemoPools
from govdata.aggregation.models import Pool
from govdata.core import audit, calendar
from govdata.core.db import transaction
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import Region

__all__ = ["DemoPools", "load_demo_pools"]


def load_demo_pools(factory: sessionmaker[Session]) -> DemoPools | None:
    """Load the demo city's aggregation data once; None when pools exist already (or the demo
    city's departments do not).

    Takes a session factory, not a session: each load commits as the pipeline does (Art. 18,
    ``tasks.run_load``), and base and thematic databases follow in transactions of their own.
    """
    with transaction(factory) as session:
        if session.scalar(select(func.count(Pool.id))):
            return None
        depts = steps.departments_of(session)
        if depts is None:
            return None
        districts = [
            (str(code), str(name))
            for code, name in session.execute(
                select(Region.code, Region.name)
                .where(Region.kind == "district", Region.code.is_not(None))
                .order_by(Region.code)
            )
        ]
    if not districts:
        return None
    data = generate(districts, calendar.today())
    with tempfile.TemporaryDirectory(prefix="govdata-demo-") as tmp:
        directory = Path(tmp)
        with transaction(factory) as session:
            depts = steps.departments_of(session) or {}
            actors = steps.actors_of(session, depts)
            codes = steps.publish(session, depts, actors)
            files = [f for group in data.files.values() for f in group]
            load_ids = steps.create_loads(session, actors, codes, files, directory)
            steps.set_specs(session, actors, codes)
        for load_id in load_ids:
            tasks.run_load(factory, load_id)
        with transaction(factory) as session:
            depts = steps.departments_of(session) or {}
            steps.define_bases(session, depts, actors, codes)
            (upsert_id,) = steps.create_loads(session, actors, codes, [data.upsert], directory)
        # An incremental load after the bases exist: they follow it (Art. 18).
        tasks.run_load(factory, upsert_id)
    with transaction(factory) as session:
        depts = steps.departments_of(session) or {}
        steps.define_thematic(session, depts, actors, codes)
        steps.apply_corrections(session, depts, actors, codes, data)
        result = steps.summary(session, codes)
        audit.record(
            session,
            BOOTSTRAP,
            "demo.aggregation.load",
            object_type="aggregation",
            object_id="demo",
            summary=(
                f"载入演示数据资源池：{result.pools} 个资源池，{result.rows_loaded} 行数据，"
                "自然人和法人基础数据库、主题数据库各已建立"
            ),
            change={"pools": result.pools, "rows": result.rows_loaded, "codes": codes},
        )
    return result
