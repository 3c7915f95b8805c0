"""The ``govdata`` command line, run as a real subprocess against a fresh database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import sessionmaker

from govdata.core.audit import AuditEvent
from govdata.core.db import make_engine
from govdata.org.models import Department, Person, Region
from tests.conftest import new_database_url
from tests.core.test_audit_checkpoints import _rechain

GOVDATA = [sys.executable, "-m", "govdata.cli"]


@pytest.fixture
def db_url(pg_cluster, tmp_path: Path, worker: str) -> str:  # type: ignore[no-untyped-def]
    return new_database_url(pg_cluster, tmp_path, f"govdata_cli_{worker}")


def run(
    db_url: str,
    tmp_path: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GOVDATA_DATABASE_URL": db_url,
        "GOVDATA_VAR_DIR": str(tmp_path / "var"),
        "COLUMNS": "200",
        **(env or {}),
    }
    return subprocess.run(
        [*GOVDATA, *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def test_demo_loads_once_and_audit_verify_catches_tampering(db_url: str, tmp_path: Path) -> None:
    first = run(db_url, tmp_path, "demo", "--no-serve", "--no-catalog")
    assert first.returncode == 0, first.stderr
    assert "已载入演示城市" in first.stdout
    assert "demo.city" in first.stdout
    second = run(db_url, tmp_path, "demo", "--no-serve", "--no-catalog")
    assert second.returncode == 0, second.stderr
    assert "演示城市已存在" in second.stdout

    engine = make_engine(db_url)
    with sessionmaker(bind=engine)() as s:
        # Art. 5 ¶2: 38 districts and counties plus 2 dispatched bodies under the city.
        assert s.scalar(select(func.count()).select_from(Region)) == 41
        assert s.scalar(select(func.count()).select_from(Department)) == 40 + 40 * 6
        assert s.scalar(select(func.count()).select_from(Person)) == 9

    # The demo sealed what it loaded and signed a checkpoint with the key it made under var/.
    var = tmp_path / "var"
    key = var / "audit_signing_key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (var / "audit-checkpoints" / "checkpoints.jsonl").exists()
    ok = run(db_url, tmp_path, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "审计链完整" in ok.stdout and "签名检查点一致" in ok.stdout

    # An auditor keeps a copy of the checkpoints and the public key.
    kept = tmp_path / "auditor"
    shutil.copytree(var / "audit-checkpoints", kept)
    pub = tmp_path / "audit-public-key.pem"
    shutil.copy(var / "audit_signing_key.pub.pem", pub)

    # Rewrite event 3 and recompute every later hash, as anyone who can write the database can.
    with sessionmaker(bind=engine)() as s, s.begin():
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(summary="伪造"))
        _rechain(s, 3)
    blind = run(db_url, tmp_path, "audit", "verify", "--checkpoints", str(tmp_path / "nowhere"))
    assert blind.returncode == 2 and "找不到检查点" in blind.stderr
    broken = run(
        db_url, tmp_path, "audit", "verify", "--checkpoints", str(kept), "--public-key", str(pub)
    )
    assert broken.returncode == 1, broken.stdout
    assert "第一个异常事件序号 3" in broken.stderr
    engine.dispose()


def test_audit_keygen_seal_and_verify_against_checkpoints(db_url: str, tmp_path: Path) -> None:
    assert run(db_url, tmp_path, "db", "upgrade").returncode == 0
    key = tmp_path / "keys" / "audit.key"
    made = run(db_url, tmp_path, "audit", "keygen", "--out", str(key))
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    assert "-----BEGIN PUBLIC KEY-----" in made.stdout
    again = run(db_url, tmp_path, "audit", "keygen", "--out", str(key))
    assert again.returncode == 2 and "不覆盖" in again.stderr
    env = {"GOVDATA_AUDIT_SIGNING_KEY_FILE": str(key),
           "GOVDATA_AUDIT_CHECKPOINT_DIR": str(tmp_path / "cp")}  # fmt: skip
    assert run(db_url, tmp_path, "workdays", "add", "2031-05-06", "--name", "测试").returncode == 0
    sealed = run(db_url, tmp_path, "audit", "seal", env=env)
    assert sealed.returncode == 0 and "已封存 1 个事件" in sealed.stdout, sealed.stderr
    ok = run(db_url, tmp_path, "audit", "verify", env=env)
    assert ok.returncode == 0 and "与 1 个签名检查点一致" in ok.stdout, ok.stderr
    # A checkpoint forged over the same chain is refused.
    log = tmp_path / "cp" / "checkpoints.jsonl"
    log.write_text(log.read_text().replace('"size":1', '"size":2'))
    forged = run(db_url, tmp_path, "audit", "verify", env=env)
    assert forged.returncode == 1 and "检查点不可信" in forged.stderr


def test_workdays_import_and_add(db_url: str, tmp_path: Path) -> None:
    assert run(db_url, tmp_path, "db", "upgrade").returncode == 0
    good = tmp_path / "2027.csv"
    good.write_text(
        "日期,类型,名称\n2027-01-01,放假,元旦\n2027-02-20,调休上班,春节\n", encoding="utf-8"
    )
    r = run(db_url, tmp_path, "workdays", "import", str(good), "--year", "2027")
    assert r.returncode == 0, r.stderr
    assert "放假 1 天，调休上班 1 天" in r.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("2028-01-01,放假,元旦\n2028-02-30,放假,春节\n", encoding="utf-8")
    r = run(db_url, tmp_path, "workdays", "import", str(bad), "--year", "2028")
    assert r.returncode == 2
    assert "workdays.bad_file" in r.stderr
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM calendar_years WHERE year = 2028")).scalar()
            == 0
        )
        assert (
            conn.execute(text("SELECT count(*) FROM calendar_years WHERE year = 2027")).scalar()
            == 1
        )

    r = run(db_url, tmp_path, "workdays", "add", "2028-10-01", "--holiday", "--name", "国庆节")
    assert r.returncode == 0, r.stderr
    r = run(db_url, tmp_path, "workdays", "add", "2028-10-03", "--workday", "--name", "国庆节")
    assert r.returncode == 2  # a Tuesday is already a working day
    assert "workdays.makeup_not_weekend" in r.stderr
    engine.dispose()


def test_users_create(db_url: str, tmp_path: Path) -> None:
    assert run(db_url, tmp_path, "demo", "--no-serve", "--no-catalog").returncode == 0
    r = run(
        db_url,
        tmp_path,
        "users",
        "create",
        "ops.admin",
        "--name",
        "运维管理员",
        "--role",
        "city_bureau_admin",
        "--password",
        "Strong2026pass",
    )
    assert r.returncode == 0, r.stderr
    weak = run(
        db_url,
        tmp_path,
        "users",
        "create",
        "ops.weak",
        "--name",
        "弱口令",
        "--role",
        "auditor",
        "--password",
        "short",
    )
    assert weak.returncode == 2
    assert "org.password_too_short" in weak.stderr
    unknown = run(
        db_url,
        tmp_path,
        "users",
        "create",
        "ops.x",
        "--name",
        "某人",
        "--role",
        "department_officer",
        "--department",
        "NOPE",
        "--password",
        "Strong2026pass",
    )
    assert unknown.returncode == 2
    engine = make_engine(db_url)
    with engine.connect() as conn:
        names = set(conn.execute(text("SELECT username FROM people")).scalars())
    assert "ops.admin" in names and "ops.weak" not in names and "ops.x" not in names
    engine.dispose()
