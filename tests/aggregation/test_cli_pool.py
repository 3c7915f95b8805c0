"""``govdata pool load`` against a fresh, committed database; and a load killed midway.

A real subprocess is killed with SIGKILL while it loads: the previous version must stay the
pool's data, and nothing of the killed load may remain (Art. 17 ¶1; DESIGN: nothing
half-written).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from govdata import cli
from govdata.aggregation import loading, pools
from govdata.aggregation.models import Load, LoadStatus, Pool
from govdata.core.db import make_engine, transaction, utcnow
from govdata.core.ids import make_id_number
from govdata.core.migrate import upgrade
from tests.aggregation.factories import person_pool_resource
from tests.conftest import BACKEND, new_database_url
from tests.world import World, build_world

HEADER = "公民身份号码,姓名,出生日期"


def people_csv(path: Path, n: int, name: str = "居民") -> Path:
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for i in range(n):
            f.write(
                f"{make_id_number('500103', date(1980, 1, 1) + timedelta(days=i // 1000), i % 1000)},{name}{i},1980-01-01\n"
            )
    return path


@pytest.fixture
def cli_db(
    pg_cluster, tmp_path: Path, worker: str, request, monkeypatch
) -> Iterator[tuple[Engine, World, str, str]]:  # type: ignore[no-untyped-def]
    name = re.sub(r"\W", "_", request.node.name)[-30:].lower()
    url = new_database_url(pg_cluster, tmp_path, f"govdata_pl_{worker}_{name}")
    engine = make_engine(url)
    upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with transaction(factory) as session:
        world = build_world(session)
        resource = person_pool_resource(
            session, world, world.police, "户籍人口", [("姓名", "C", 20), ("出生日期", "D", None)]
        )
        code = resource.code
    monkeypatch.setattr(cli, "_engine", lambda: engine)
    try:
        yield engine, world, code, url
    finally:
        engine.dispose()


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "200"})


def test_cli_load_prints_json_report(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, code, _ = cli_db
    path = people_csv(tmp_path / "p.csv", 5)
    result = invoke("pool", "load", str(path), "--resource", code, "--json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = json.loads(result.output)  # type: ignore[attr-defined]
    assert out["status"] == "succeeded" and out["rows_loaded"] == 5
    assert path.exists()  # the CLI's own file is never removed


def test_cli_refused_file_exits_1_with_problems(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, code, _ = cli_db
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\n500103198001011234,甲,1980-01-01\n", encoding="utf-8")
    result = invoke("pool", "load", str(path), "--resource", code, "--json")
    assert result.exit_code == 1
    out = json.loads(result.output)  # type: ignore[attr-defined]
    assert out["status"] == "rejected" and out["error"]["code"] == "aggregation.bad_rows"
    assert out["problems"][0] == {
        "row": 2,
        "column": "公民身份号码",
        "code": "aggregation.invalid_id_number",
        "message": out["problems"][0]["message"],
        "value": "500103198001011234",
        "kind": "error",
    }
    result = invoke("pool", "load", str(path), "--resource", code)
    assert result.exit_code == 1 and "aggregation.invalid_id_number" in result.output  # type: ignore[attr-defined]


def test_cli_unknown_resource(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = people_csv(tmp_path / "p.csv", 1)
    result = invoke("pool", "load", str(path), "--resource", "999999999/000001", "--json")
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["code"] == "aggregation.resource_not_found"  # type: ignore[attr-defined]


def test_killed_load_leaves_the_previous_version(cli_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine, _, code, url = cli_db
    first = invoke(
        "pool", "load", str(people_csv(tmp_path / "v1.csv", 50, "旧")), "--resource", code
    )
    assert first.exit_code == 0, first.output  # type: ignore[attr-defined]
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        pool = session.scalars(select(Pool)).one()
        v1_table, v1_load = pool.table_name, pool.current_load_id
    big = people_csv(tmp_path / "v2.csv", 400_000, "新")
    env = dict(
        os.environ,
        GOVDATA_DATABASE_URL=url,
        GOVDATA_LOAD_BATCH_ROWS="5000",
        GOVDATA_VAR_DIR=str(tmp_path / "var"),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "govdata.cli", "pool", "load", str(big), "--resource", code],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        running = None
        while time.monotonic() < deadline:
            with factory() as session:
                running = session.scalars(
                    select(Load).where(Load.status == LoadStatus.RUNNING, Load.rows_read > 10_000)
                ).first()
            if running is not None or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert running is not None, "the load never got under way"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with factory() as session:
        pool = session.scalars(select(Pool)).one()
        assert (pool.table_name, pool.current_load_id) == (v1_table, v1_load)
        rows = pools.read_rows(session, _operator(), pool.id, limit=100)
        assert rows.total == 50 and {r["姓名"][:1] for r in rows.rows} == {"旧"}
    stage = f"pool_stage_{running.id}"
    if BACKEND == "postgresql":
        # One transaction: the server rolled it back, nothing of it exists.
        assert stage not in inspect(engine).get_table_names()
    # The sweep (run by every later load and by the worker) fails the dead load and drops
    # whatever it left (SQLite's committed staging batches).
    with transaction(factory) as session:
        swept = loading.sweep(session, now=utcnow() + loading.STALE_AFTER + timedelta(minutes=1))
    assert swept == [running.id]
    assert stage not in inspect(engine).get_table_names()
    with factory() as session:
        dead = session.get(Load, running.id)
        assert dead is not None
        assert (dead.status, dead.error_code) == (LoadStatus.FAILED, "aggregation.load_interrupted")
    # And the next load works.
    again = invoke(
        "pool", "load", str(people_csv(tmp_path / "v3.csv", 10, "再")), "--resource", code
    )
    assert again.exit_code == 0, again.output  # type: ignore[attr-defined]


def _operator():  # type: ignore[no-untyped-def]
    from govdata.aggregation.cli import OPERATOR

    return OPERATOR
