"""``govdata catalog import|export`` through Typer's test runner, against a fresh database.

The commands commit, so each test gets its own migrated database with the test world in it
rather than the shared, rolled-back one.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from govdata import cli
from govdata.catalog import review, service
from govdata.catalog.models import Resource, ReviewEntry
from govdata.catalog.spreadsheet import RESOURCE_SHEET
from govdata.core.audit import AuditEvent
from govdata.core.db import make_engine, transaction
from govdata.core.migrate import upgrade
from tests.catalog.factories import company_resource
from tests.catalog.test_spreadsheet import (
    company_items,
    company_row,
    person_items,
    person_row,
    xlsx,
)
from tests.conftest import new_database_url
from tests.world import World, build_world

POLICE = "500000-007"


@pytest.fixture
def cli_db(
    pg_cluster, tmp_path: Path, worker: str, request, monkeypatch
) -> Iterator[tuple[Engine, World]]:  # type: ignore[no-untyped-def]
    name = re.sub(r"\W", "_", request.node.name)[-30:].lower()
    engine = make_engine(new_database_url(pg_cluster, tmp_path, f"govdata_cc_{worker}_{name}"))
    upgrade(engine)
    with transaction(sessionmaker(bind=engine, expire_on_commit=False)) as session:
        world = build_world(session)
    monkeypatch.setattr(cli, "_engine", lambda: engine)
    try:
        yield engine, world
    finally:
        engine.dispose()


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "200"})


def resources(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Resource)) or 0


def test_import_then_export_round_trip(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine, _ = cli_db
    path = tmp_path / "清单.xlsx"
    path.write_bytes(xlsx([person_row(), company_row()], [*person_items(), *company_items()]))
    r = invoke("catalog", "import", str(path), "--department", POLICE)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert "新增 2 条，修改 0 条，未变 0 条" in r.output  # type: ignore[attr-defined]
    assert resources(engine) == 2
    with engine.connect() as conn:  # one audit event, committed with the rows
        assert (
            conn.scalar(select(func.count()).where(AuditEvent.action == "catalog.list.import")) == 1
        )

    out = tmp_path / "out.xlsx"
    r = invoke("catalog", "export", str(out), "--department", POLICE)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name(RESOURCE_SHEET).to_python()
    assert sorted(row[1] for row in rows[1:]) == ["市场主体登记信息", "户籍人口基本信息"]

    r = invoke("catalog", "import", str(out), "--department", POLICE, "--json")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    result = json.loads(r.stdout)  # type: ignore[attr-defined]
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, 2)
    assert sorted(result["codes"]) == ["101001000/000001", "301001000/000001"]

    r = invoke("catalog", "export", str(tmp_path / "list.json"), "--department", POLICE)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert json.loads((tmp_path / "list.json").read_text(encoding="utf-8"))["kind"] == "list"
    r = invoke("catalog", "export", str(tmp_path / "list.zip"), "--department", POLICE)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert sorted(zipfile.ZipFile(tmp_path / "list.zip").namelist()) == [
        "items.csv",
        "resources.csv",
    ]


def test_a_rejected_import_lists_every_problem_and_exits_1(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine, _ = cli_db
    path = tmp_path / "bad.xlsx"
    path.write_bytes(
        xlsx(
            [
                person_row(),
                company_row(共享类型="有条件共享"),
                person_row("流动人口", 更新周期="每十年"),
            ],
            [*person_items(), *company_items(), *person_items("流动人口")],
        )
    )
    r = invoke("catalog", "import", str(path), "--department", POLICE)
    assert r.exit_code == 1
    out = r.output  # type: ignore[attr-defined]
    assert "catalog.share_legal_basis_required" in out
    assert "catalog.share_conditions_required" in out
    assert "catalog.import_label_unknown" in out
    assert "3 处问题" in out
    assert resources(engine) == 0  # nothing stored, not even the good row

    r = invoke("catalog", "import", str(path), "--department", POLICE, "--json")
    assert r.exit_code == 1
    body = json.loads(r.stdout)  # type: ignore[attr-defined]
    assert body["error"]["code"] == "catalog.import_rejected"
    assert [(p["sheet"], p["row"], p["column"], p["code"]) for p in body["problems"]] == [
        ("信息资源", 3, "共享条件", "catalog.share_conditions_required"),
        ("信息资源", 3, "法律依据", "catalog.share_legal_basis_required"),
        ("信息资源", 4, "更新周期", "catalog.import_label_unknown"),
    ]
    assert body["more"] == 0


def test_unreadable_files_and_unknown_departments_exit_2(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "not.xlsx"
    path.write_text("信息资源名称\n户籍\n", encoding="utf-8")
    r = invoke("catalog", "import", str(path), "--department", POLICE)
    assert r.exit_code == 2
    assert "catalog.import_not_xlsx" in r.stderr  # type: ignore[attr-defined]
    r = invoke("catalog", "import", str(path), "--department", POLICE, "--json")
    assert r.exit_code == 2
    assert json.loads(r.stdout)["error"]["code"] == "catalog.import_not_xlsx"  # type: ignore[attr-defined]
    r = invoke("catalog", "import", str(path), "--department", "999999-999")
    assert r.exit_code == 2
    assert "未找到部门代码" in r.stderr  # type: ignore[attr-defined]
    r = invoke("catalog", "export", str(tmp_path / "x.pdf"), "--format", "pdf")
    assert r.exit_code == 2


def test_export_published_versions(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine, world = cli_db
    r = invoke("catalog", "export", str(tmp_path / "none.xlsx"))
    assert r.exit_code == 2
    assert "catalog.no_published_version" in r.stderr  # type: ignore[attr-defined]

    with transaction(sessionmaker(bind=engine, expire_on_commit=False)) as session:
        officer, officer2 = world.actor(session, "officer"), world.actor(session, "officer2")
        city = world.actor(session, "city")
        service.create_resource(session, officer, world.police, company_resource("公安资源"))
        service.create_resource(session, officer2, world.market, company_resource("市场资源"))
        review.submit(session, officer, world.police)
        review.submit(session, officer2, world.market)
        for entry in session.scalars(select(ReviewEntry)):
            review.decide(session, city, entry.id, approve=True)
        review.publish(session, city)

    out = tmp_path / "v1.json"
    r = invoke("catalog", "export", str(out), "--version", "1")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["version"] == 1
    assert sorted(x["name"] for x in doc["resources"]) == ["公安资源", "市场资源"]

    out = tmp_path / "police.csv"
    r = invoke(
        "catalog", "export", str(out), "--published", "--department", POLICE, "--format", "csv"
    )
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
        text = archive.read("resources.csv").decode("utf-8-sig")
    assert "公安资源" in text and "市场资源" not in text

    r = invoke("catalog", "export", str(tmp_path / "v9.xlsx"), "--version", "9")
    assert r.exit_code == 2
    assert "catalog.version_not_found" in r.stderr  # type: ignore[attr-defined]


def test_an_office_xls_imports_and_says_which_rows_were_the_header(cli_db) -> None:  # type: ignore[no-untyped-def]
    engine, _ = cli_db
    path = Path(__file__).parents[1] / "fixtures" / "office" / "catalog_office.xls"
    r = invoke("catalog", "import", str(path), "--department", POLICE)
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    out = "".join(r.output.split())  # type: ignore[attr-defined]  # the console wraps lines
    assert "新增1条" in out and "以第3–4行为表头" in out and "第7行起为表尾说明" in out
    assert resources(engine) == 1
