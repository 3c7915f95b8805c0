"""The demo city's aggregation data (issue 5, item 8), loaded on a fresh database after the demo
city and (a small) demo catalog, exactly as ``govdata demo`` does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import base, corrections, policy, pools
from govdata.aggregation.demo import DemoPools, load_demo_pools
from govdata.aggregation.demo.files import generate
from govdata.aggregation.models import (
    BaseConflict,
    BaseDatabase,
    BaseKind,
    ConflictStatus,
    Correction,
    CorrectionStatus,
    Load,
    LoadMode,
    LoadProblem,
    LoadStatus,
    Pool,
    QualitySnapshot,
    QuarantinedRow,
    ThematicDatabase,
)
from govdata.catalog.demo import DemoCatalog
from govdata.catalog.models import CatalogVersion, Resource, ReviewEntry
from govdata.core.actor import Actor
from govdata.core.audit import AuditEvent
from govdata.core.db import make_engine, make_sessionmaker
from govdata.core.errors import NotFound
from govdata.core.ids import is_valid_id_number, is_valid_uscc
from govdata.core.settings import get_settings
from govdata.org.models import Person
from govdata.org.service import role_grants
from tests import demo_city
from tests.demo_city import DemoCityBase


@dataclass
class Demo:
    engine: Engine
    factory: sessionmaker[Session]
    catalog: DemoCatalog
    result: DemoPools


@pytest.fixture(scope="module")
def demo(
    demo_city_base: DemoCityBase, tmp_path_factory: pytest.TempPathFactory, worker: str
) -> Iterator[Demo]:
    url, var = demo_city.copy(
        demo_city_base, tmp_path_factory.mktemp("aggregation-demo"), f"govdata_aggdemo_{worker}"
    )
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVDATA_VAR_DIR", str(var))  # the pipeline's spool directory
        get_settings.cache_clear()
        try:
            yield Demo(engine, factory, demo_city_base.catalog, demo_city_base.pools)
        finally:
            get_settings.cache_clear()
            engine.dispose()


def account(session: Session, username: str) -> Actor:
    person = session.scalars(select(Person).where(Person.username == username)).one()
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def pool_named(session: Session, name: str) -> Pool:
    return session.scalars(select(Pool).where(Pool.name == name)).one()


def test_pools_are_loaded_through_the_pipeline(demo: Demo) -> None:  # Art. 17 ¶1, 18
    r = demo.result
    assert r.pools == 6 and r.loads == 8
    assert r.rejected_loads == 1 and r.rows_quarantined > 0
    with demo.factory() as session:
        counts = {p.name: p.row_count for p in session.scalars(select(Pool))}
        assert counts == {
            "户籍人口登记信息": 4000,
            "社会保险参保人员信息": 2991,
            "婚姻登记信息": 1400,
            "市场主体登记信息": 3000,
            "纳税人登记信息": 2615,  # 2,600 and 15 new in the incremental load
            "流动人口居住登记信息": 798,
        }
        assert r.rows_loaded == sum(counts.values())
        for p in session.scalars(select(Pool)):
            table = pools.current_table(p)
            assert table is not None
            rows = session.scalar(select(func.count()).select_from(table))
            assert rows == p.row_count
            assert session.scalar(select(func.count()).where(QualitySnapshot.pool_id == p.id))
        loads = list(session.scalars(select(Load).order_by(Load.id)))
        assert {ld.file_format for ld in loads} == {"csv", "xlsx"}
        assert "gb18030" in {ld.encoding for ld in loads}
        assert [ld.mode for ld in loads].count(LoadMode.UPSERT) == 1
        assert all(ld.status in (LoadStatus.SUCCEEDED, LoadStatus.REJECTED) for ld in loads)


def test_load_reports_show_real_problems(demo: Demo) -> None:  # Art. 15, 16
    with demo.factory() as session:
        codes = set(session.scalars(select(LoadProblem.code).distinct()))
        assert {
            "aggregation.invalid_id_number",
            "aggregation.invalid_uscc",
            "aggregation.bad_date",
            "aggregation.bad_number",
            "aggregation.not_allowed_value",
            "aggregation.duplicate_subject_key",
        } <= codes
        # The refused load kept nothing; the pool holds the next one (quarantine policy).
        rejected = session.scalars(select(Load).where(Load.status == LoadStatus.REJECTED)).one()
        assert rejected.error_code == "aggregation.bad_rows" and rejected.rows_loaded == 0
        pool = session.get(Pool, rejected.pool_id)
        assert pool is not None and pool.current_load_id not in (None, rejected.id)
        assert not session.scalar(
            select(func.count(QuarantinedRow.id)).where(QuarantinedRow.load_id == rejected.id)
        )
        hukou = pool_named(session, "户籍人口登记信息")
        quarantined = list(
            session.scalars(
                select(QuarantinedRow).where(QuarantinedRow.load_id == hukou.current_load_id)
            )
        )
        assert len(quarantined) == 20
        assert any(q.data["性别"] == "未知" for q in quarantined)
        assert any(not is_valid_id_number(q.data["公民身份号码"]) for q in quarantined)
        # Full-width digits and Chinese date forms were cleaned, not refused.
        load = session.get(Load, hukou.current_load_id)
        assert load is not None and load.rows_bad == 20 and load.duplicates_removed == 2


def test_subject_keys_are_valid(demo: Demo) -> None:  # Art. 16
    with demo.factory() as session:
        for p in session.scalars(select(Pool)):
            table = pools.current_table(p)
            assert table is not None and p.subject_column is not None
            keys = session.scalars(select(table.c[p.subject_column])).all()
            check = is_valid_id_number if p.subject_kind == "person" else is_valid_uscc
            assert keys and all(check(k) for k in keys), p.name


def test_bases_are_built_with_conflicts(demo: Demo) -> None:  # Art. 16, 17 ¶2
    r = demo.result
    assert r.person_base_rows == 4000 and r.legal_base_rows == 3000
    assert r.open_conflicts > 0
    with demo.factory() as session:
        city = account(session, "demo.city")
        bases = {b.kind: b for b in session.scalars(select(BaseDatabase))}
        assert set(bases) == {BaseKind.PERSON, BaseKind.LEGAL_ENTITY}
        assert bases[BaseKind.PERSON].row_count == 4000
        assert bases[BaseKind.LEGAL_ENTITY].row_count == 3000
        per_base = dict(
            session.execute(
                select(BaseConflict.base_id, func.count())
                .where(BaseConflict.status == ConflictStatus.OPEN)
                .group_by(BaseConflict.base_id)
            ).all()
        )
        assert set(per_base) == {b.id for b in bases.values()}
        # The authoritative value stands: the base keeps 户籍's name, not 人社's.
        conflict = session.scalars(
            select(BaseConflict)
            .where(BaseConflict.base_id == bases[BaseKind.PERSON].id)
            .order_by(BaseConflict.id)
            .limit(1)
        ).one()
        record = base.record(session, city, BaseKind.PERSON, conflict.subject_key)
        name = next(v for v in record.values if v.item == "姓名")
        assert name.value == conflict.authoritative_value != conflict.other_value


def test_thematic_database_has_rows(demo: Demo) -> None:  # Art. 17 ¶3
    assert demo.result.thematic_rows > 0
    with demo.factory() as session:
        db = session.scalars(select(ThematicDatabase)).one()
        assert db.row_count == demo.result.thematic_rows and db.table_name
        rows = session.scalar(text(f'SELECT count(*) FROM "{db.table_name}"'))
        assert rows == db.row_count
        assert db.resource_id is not None  # registered in the 人社 catalog list (Art. 12)


def test_corrections_through_both_channels(demo: Demo) -> None:  # Art. 19
    assert demo.result.open_corrections == 3
    with demo.factory() as session:
        all_ = list(session.scalars(select(Correction).order_by(Correction.id)))
        assert {c.channel for c in all_} == {"sharing", "open"}
        assert [c.status for c in all_].count(CorrectionStatus.ACCEPTED) == 1
        accepted = next(c for c in all_ if c.status == CorrectionStatus.ACCEPTED)
        city = account(session, "demo.city")
        current = corrections.current_value(session, city, accepted)
        assert current is not None and current.text == accepted.proposed_value
        # The company sees its own application, not the departments' ones.
        company = account(session, "demo.company")
        own = session.scalars(policy.visible_corrections(company)).all()
        assert [c.channel for c in own] == ["open"]


def test_pools_stay_scoped(demo: Demo) -> None:
    """The police officer sees the 户籍 pool; the market officer does not (Art. 26)."""
    with demo.factory() as session:
        hukou = pool_named(session, "户籍人口登记信息")
        police = account(session, "demo.officer")
        assert pools.get_pool(session, police, hukou.id).id == hukou.id
        market = account(session, "demo.officer2")
        with pytest.raises(NotFound):
            pools.get_pool(session, market, hukou.id)


def test_catalog_gains_a_version_and_keeps_its_open_review(demo: Demo) -> None:  # Art. 12
    with demo.factory() as session:
        versions = session.scalars(select(CatalogVersion.number).order_by(CatalogVersion.number))
        assert list(versions) == [1, 2]
        pending = session.scalar(
            select(func.count(ReviewEntry.id)).where(ReviewEntry.status == "pending")
        )
        assert pending == demo.catalog.pending_entries
        published = session.scalar(
            select(func.count(Resource.id)).where(
                Resource.name.in_(["户籍人口登记信息", "市场主体登记信息"]),
                Resource.published_revision_id.is_not(None),
            )
        )
        assert published == 2


def _snapshot(session: Session) -> dict[str, int]:
    tables = {
        "pools": Pool.id,
        "loads": Load.id,
        "conflicts": BaseConflict.id,
        "corrections": Correction.id,
        "thematic": ThematicDatabase.id,
        "resources": Resource.id,
        "versions": CatalogVersion.id,
        "audit": AuditEvent.id,
    }
    counts = {k: int(session.scalar(select(func.count(c))) or 0) for k, c in tables.items()}
    counts["rows"] = int(session.scalar(select(func.sum(Pool.row_count))) or 0)
    return counts


def test_loaded_once(demo: Demo) -> None:
    with demo.factory() as session:
        before = _snapshot(session)
    assert load_demo_pools(demo.factory) is None
    with demo.factory() as session:
        assert _snapshot(session) == before


def test_generated_data_is_reproducible() -> None:
    districts = [("500103", "渝中区"), ("500105", "江北区"), ("500112", "渝北区")]
    first = generate(districts, date(2026, 3, 2))
    again = generate(districts, date(2026, 3, 2))
    for handle, files in first.files.items():
        assert [f.rows for f in files] == [f.rows for f in again.files[handle]]
    assert first.upsert.rows == again.upsert.rows
    assert first.name_conflicts == again.name_conflicts
