"""The open-data demo's pools (issue 14, §11): open datasets without a pool get generated rows
loaded through aggregation's load pipeline (Art. 17 ¶1, 18), once; their releases pass the
leak scan (Art. 31 ¶2, Art. 9)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation.models import Load, LoadStatus, Pool
from govdata.catalog import published
from govdata.catalog.models import Resource
from govdata.catalog.schemas import ResourceIn
from govdata.core.ids import is_valid_id_number, is_valid_uscc
from govdata.core.settings import get_settings
from govdata.opendata import datasets
from govdata.opendata.demo.pools import FILE_PREFIX, demo_open_pools
from govdata.opendata.demo.releases import demo_releases
from govdata.opendata.demo.rows import RowMaker
from govdata.opendata.models import OpenDataset, Release
from tests.aggregation.factories import publish
from tests.opendata.helpers import build_open_city
from tests.world import World

# The demo catalog's item vocabulary (catalog/demo.py), every data type.
EXTRA = [
    ("登记日期", "D", None),
    ("办理机关", "C", 100),
    ("状态", "C", 20),
    ("地址", "C", 200),
    ("联系电话", "C", 20),
    ("金额", "Y", None),
    ("数量", "I", None),
    ("备注", "M", None),
    ("更新时间", "T", None),
    ("经度", "B", None),
    ("是否有效", "L", None),
    ("证照编号", "C", 64),
]


def _resource(name: str, subject: str, open_type: str, class_path: str) -> ResourceIn:
    key = {"person": ("公民身份号码", "C", 18), "legal_person": ("统一社会信用代码", "C", 18)}
    first = {"person": [("姓名", "C", 50), ("出生日期", "D", None)]}.get(
        subject, [("单位名称", "C", 200), ("法定代表人", "C", 50)]
    )
    items = [key[subject], *first, *EXTRA] if subject in key else [*first, *EXTRA]
    return ResourceIn.model_validate(
        {
            "category": "department",
            "class_path": class_path,
            "name": name,
            "abstract": f"{name}（演示）",
            "format": "database",
            "share_type": "unconditional",
            "open_type": open_type,
            "open_conditions": "经实名认证后提供" if open_type == "conditional" else "",
            "legal_basis": "测试依据",
            "update_cycle": "monthly",
            "security_level": "public",
            "subject_kind": subject,
            "items": [
                {
                    "name": n,
                    "data_type": t,
                    "length": ln,
                    "is_subject_key": (n, t, ln) == key.get(subject),
                }
                for n, t, ln in items
            ],
        }
    )


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GOVDATA_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        yield tmp_path / "var"
    finally:
        get_settings.cache_clear()


@pytest.fixture
def demo_city(session: Session, world: World, var_dir: Path) -> dict[str, Resource]:
    """Three unconditional datasets (two of the police, one of the market regulator) and one
    conditional person dataset, none with a pool, beside the open city's two pooled ones."""
    build_open_city(session, world)
    made = {
        "permits": publish(
            session,
            world,
            world.police,
            _resource("养犬登记证信息", "legal_person", "unconditional", "公共安全/许可"),
        ),
        "venues": publish(
            session,
            world,
            world.police,
            _resource("娱乐场所备案信息", "other", "unconditional", "公共安全/场所"),
        ),
        "licences": publish(
            session,
            world,
            world.market,
            _resource("食品经营许可信息", "legal_person", "unconditional", "市场监管/许可"),
        ),
        "residents": publish(
            session,
            world,
            world.police,
            _resource("居住证办理信息", "person", "conditional", "人口/居住"),
        ),
    }
    datasets.sync(session)
    session.commit()
    return made


def _pooled(session: Session) -> dict[str, Pool]:
    session.expire_all()
    return {p.code: p for p in session.scalars(select(Pool).where(Pool.table_name.is_not(None)))}


def test_a_small_run_loads_pools_once_through_the_pipeline(
    session: Session,
    test_sessionmaker: sessionmaker[Session],
    demo_city: dict[str, Resource],
) -> None:
    before = set(_pooled(session))
    assert demo_open_pools(test_sessionmaker, datasets=3, rows=20) == 3
    pooled = _pooled(session)
    new = set(pooled) - before
    # A fifth conditional (none of three), the rest unconditional: the conditional one waits.
    assert new == {demo_city[h].code for h in ("permits", "venues", "licences")}
    loads = list(session.scalars(select(Load).where(Load.filename.like(f"{FILE_PREFIX}%"))))
    assert len(loads) == 3
    for load in loads:  # every generated row passed validation (Art. 15, 16)
        assert load.status == LoadStatus.SUCCEEDED
        assert (load.rows_loaded, load.rows_bad) == (20, 0)
        assert load.channel == "upload" and load.created_by_name  # as the department's officer
    assert all(pooled[c].row_count == 20 for c in new)
    # The second run finds the demo's pools and loads nothing.
    assert demo_open_pools(test_sessionmaker, datasets=3, rows=20) == 0
    assert len(list(session.scalars(select(Load.id)))) == len(before) + 3


def test_the_choice_goes_round_the_departments(
    session: Session,
    test_sessionmaker: sessionmaker[Session],
    demo_city: dict[str, Resource],
    world: World,
) -> None:
    assert demo_open_pools(test_sessionmaker, datasets=2, rows=5) == 2
    loads = list(session.scalars(select(Load).where(Load.filename.like(f"{FILE_PREFIX}%"))))
    assert {load.department_id for load in loads} == {world.police, world.market}


def test_a_fifth_of_the_pools_are_conditional_data(
    session: Session,
    test_sessionmaker: sessionmaker[Session],
    demo_city: dict[str, Resource],
) -> None:  # Art. 33 ¶2: an approved application in the demo has data to obtain
    assert demo_open_pools(test_sessionmaker, datasets=5, rows=10) == 4
    pooled = _pooled(session)
    assert demo_city["residents"].code in pooled  # though unconditional ones remained


def test_conditional_person_data_is_loaded_once_unconditional_runs_out(
    session: Session,
    test_sessionmaker: sessionmaker[Session],
    demo_city: dict[str, Resource],
) -> None:
    assert demo_open_pools(test_sessionmaker, datasets=10, rows=20) == 4
    pool = _pooled(session)[demo_city["residents"].code]
    assert pool.row_count == 20  # 20 valid, distinct ID numbers (Art. 16)


def test_releases_built_from_the_demo_pools_pass_the_leak_scan(
    session: Session,
    test_sessionmaker: sessionmaker[Session],
    demo_city: dict[str, Resource],
) -> None:
    assert demo_open_pools(test_sessionmaker, datasets=4, rows=20) == 4
    session.expire_all()
    demo_releases(session)  # Art. 31 ¶2: published only when the scan passes
    for handle in ("permits", "venues", "licences", "residents"):
        dataset = session.scalars(
            select(OpenDataset).where(OpenDataset.code == demo_city[handle].code)
        ).one()
        assert dataset.current_release_id is not None, handle
        release = session.get(Release, dataset.current_release_id)
        assert release is not None
        assert release.scan["passed"] is True and release.scan["findings"] == []
        assert release.scan["rows"] == 20


def test_generated_values_are_valid_and_reproducible(
    session: Session, demo_city: dict[str, Resource]
) -> None:
    def rows(code: str) -> list[dict[str, Any]]:
        fake = Faker("zh_CN")
        fake.seed_instance(7)
        maker = RowMaker(random.Random(7), fake, [("500103", "渝中区")], date(2026, 1, 1))
        found = published.resource(session, code)
        assert found is not None and found.published is not None
        return maker.rows(found.published, "市公安局", 50)

    people = rows(demo_city["residents"].code)
    assert people == rows(demo_city["residents"].code)
    assert all(is_valid_id_number(r["公民身份号码"]) for r in people)
    assert len({r["公民身份号码"] for r in people}) == 50
    assert all(r["地址"].startswith("重庆市渝中区") and len(r["地址"]) <= 200 for r in people)
    assert all(r["办理机关"] == "市公安局" for r in people)
    companies = rows(demo_city["permits"].code)
    assert all(is_valid_uscc(r["统一社会信用代码"]) for r in companies)
    assert all(105 < float(r["经度"]) < 111 for r in companies)
