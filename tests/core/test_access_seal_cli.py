"""``govdata audit verify`` names a changed or deleted access record (Art. 40; decision 0015),
run as a real subprocess against a fresh database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, update

from govdata.core.access import AccessRecord, record_access
from govdata.core.actor import Actor
from govdata.core.db import make_engine, make_sessionmaker, transaction
from tests.test_cli import db_url, run  # noqa: F401  (db_url: the fixture)

SYSTEM = Actor(person_id=None, name="渝中区公安分局系统", token_id=7)


def test_verify_names_a_tampered_access_record(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    assert run(db_url, tmp_path, "db", "upgrade").returncode == 0
    engine = make_engine(db_url)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            for n in range(3):
                record_access(
                    s,
                    SYSTEM,
                    "sharing.bulk",
                    object_type="share_source",
                    object_id="500000000000/000001",
                    rows=1000 + n,
                    grant_id=1,
                    purpose="household-check",
                )
        sealed = run(db_url, tmp_path, "audit", "seal")
        assert sealed.returncode == 0, sealed.stderr
        ok = run(db_url, tmp_path, "audit", "verify")
        assert ok.returncode == 0, ok.stderr
        assert "调用记录完整：3 条" in ok.stdout and "审计链完整" in ok.stdout

        with transaction(make_sessionmaker(engine)) as s:
            ids = sorted(s.scalars(AccessRecord.__table__.select().with_only_columns(
                AccessRecord.id)))  # fmt: skip
            s.execute(update(AccessRecord).where(AccessRecord.id == ids[1]).values(rows=1))
            s.execute(delete(AccessRecord).where(AccessRecord.id == ids[2]))
        broken = run(db_url, tmp_path, "audit", "verify")
        assert broken.returncode == 1, broken.stdout
        assert f"调用记录被篡改：编号 {ids[1]}" in broken.stderr
        assert f"调用记录被删除：编号 {ids[2]}" in broken.stderr
        # The chain itself was not touched, and says so.
        assert "审计链完整" in broken.stdout and "调用记录校验不通过" in broken.stderr
    finally:
        engine.dispose()
