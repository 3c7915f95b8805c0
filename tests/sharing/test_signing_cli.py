"""``govdata verify FILE --keys KEYS.json`` (Art. 28): a signed document checked offline against
the keys published at ``/api/v1/sharing/keys``. Exit 0 valid, 1 invalid (saying why), 2 when
the files cannot be read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from govdata.cli import app
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.db import Base, make_engine, make_sessionmaker
from govdata.core.settings import get_settings
from govdata.org.models import Department, Region
from govdata.sharing import keys, signing
from tests.world import World


@pytest.fixture(autouse=True)
def kek(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.KEK_ENV, "test-signing-kek-cli")


@pytest.fixture
def files(client: TestClient, session: Session, world: World, tmp_path: Path) -> dict[str, Any]:
    """A signed licence and the published keys, as a department and a citizen would save them."""
    keys.create(session, world.actor(session, "head"), world.police)
    envelope = signing.sign_delivery(
        session,
        department_id=world.police,
        payload={"证照编号": "JY15001030012345", "持证主体": "示例餐饮有限公司"},
        source_code="base.licence",
        grant_id=5,
    )
    published = client.get("/api/v1/sharing/keys")
    assert published.status_code == 200
    keys_file = tmp_path / "keys.json"
    keys_file.write_bytes(published.content)
    return {"envelope": envelope, "keys": keys_file, "dir": tmp_path}


def _write(directory: Path, name: str, envelope: object) -> Path:
    path = directory / name
    path.write_text(json.dumps(envelope, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_a_valid_file_exits_0_naming_the_signer(files: dict[str, Any]) -> None:
    signed = _write(files["dir"], "licence.json", files["envelope"])
    code, out = _run(str(signed), "--keys", str(files["keys"]))
    assert code == 0, out
    assert "有效" in out and "市公安局" in out and files["envelope"]["signature"]["key_id"] in out


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda e: e["document"].update({"持证主体": "他人公司"}), "摘要不符"),
        (lambda e: e["signature"].update({"grant_id": 6}), "签名无效"),
        (lambda e: e["signature"].update({"key_id": "0" * 32}), "未知密钥"),
        (lambda e: e.pop("signature"), "不是有效的签名文书"),
    ],
)
def test_an_invalid_file_exits_1_saying_why(files: dict[str, Any], change: Any, why: str) -> None:
    envelope = json.loads(json.dumps(files["envelope"]))
    change(envelope)
    signed = _write(files["dir"], "tampered.json", envelope)
    code, out = _run(str(signed), "--keys", str(files["keys"]))
    assert code == 1, out
    assert "无效" in out and why in out


def test_unreadable_files_exit_2(files: dict[str, Any]) -> None:
    signed = _write(files["dir"], "licence.json", files["envelope"])
    code, out = _run(str(files["dir"] / "missing.json"), "--keys", str(files["keys"]))
    assert code == 2 and "无法读取" in out
    not_keys = _write(files["dir"], "not-keys.json", {"keys": "none"})
    code, out = _run(str(signed), "--keys", str(not_keys))
    assert code == 2 and "不是 /api/v1/sharing/keys 返回的公钥列表" in out
    garbage = files["dir"] / "garbage.json"
    garbage.write_bytes(b"\x00\xff")
    code, out = _run(str(garbage), "--keys", str(files["keys"]))
    assert code == 2 and "不是 UTF-8 编码的 JSON" in out


def test_the_govdata_command_runs_offline(files: dict[str, Any]) -> None:
    # The installed command, in its own process, with no database to reach.
    signed = _write(files["dir"], "licence.json", files["envelope"])
    tampered_envelope = json.loads(json.dumps(files["envelope"]))
    tampered_envelope["document"]["证照编号"] = "JY15001030012346"
    tampered = _write(files["dir"], "tampered.json", tampered_envelope)
    env = {
        **os.environ,
        "GOVDATA_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "GOVDATA_VAR_DIR": str(files["dir"] / "var"),
        "COLUMNS": "200",
    }
    results = [
        subprocess.run(
            [
                sys.executable,
                "-m",
                "govdata.cli",
                "verify",
                str(path),
                "--keys",
                str(files["keys"]),
            ],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for path in (signed, tampered)
    ]
    assert results[0].returncode == 0, results[0].stderr
    assert "市公安局" in results[0].stdout
    assert results[1].returncode == 1 and "摘要不符" in results[1].stderr


def test_without_keys_the_platform_database_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On the platform's own server: the keys are read from its database.
    url = f"sqlite:///{tmp_path / 'govdata.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with make_sessionmaker(engine)() as session:
        city = Region(code="500000", name="重庆市", kind="city")
        session.add(city)
        session.flush()
        police = Department(code="500000-007", name="市公安局", region_id=city.id)
        session.add(police)
        session.flush()
        bureau = Actor(person_id=None, name="运维", grants=(RoleGrant(Role.CITY_BUREAU_ADMIN),))
        keys.create(session, bureau, police.id)
        envelope = signing.sign_delivery(
            session, department_id=police.id, payload={"编号": 1}, source_code="x", grant_id=None
        )
        session.commit()
    engine.dispose()
    signed = _write(tmp_path, "signed.json", envelope)
    monkeypatch.setenv("GOVDATA_DATABASE_URL", url)
    monkeypatch.setenv("GOVDATA_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        code, out = _run(str(signed))
    finally:
        get_settings.cache_clear()
    assert code == 0, out
    assert "市公安局" in out
