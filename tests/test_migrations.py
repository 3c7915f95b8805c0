"""The migrations run on both engines, match the models, and go down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from govdata.core.db import Base, make_engine
from govdata.core.migrate import downgrade, upgrade
from govdata.models import load_all_models
from tests.conftest import new_database_url


def test_models_and_migrations_agree(engine) -> None:  # type: ignore[no-untyped-def]
    from govdata.aggregation.tables import is_data_table
    from govdata.catalog.search import is_index_table

    load_all_models()

    # The search index is engine-specific (FTS5 / tsvector) and kept out of the models, as
    # migrations/env.py keeps it out of autogenerate.
    # So are the data plane's run-time tables and procrastinate's job queue (PostgreSQL).
    def keep(name: str, kind: str, _: object) -> bool:
        return not (
            kind == "table"
            and (is_index_table(name) or is_data_table(name) or name.startswith("procrastinate_"))
        )

    opts = {"include_name": keep}
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []


def test_downgrade_then_upgrade(pg_cluster, tmp_path: Path, worker: str) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine(new_database_url(pg_cluster, tmp_path, f"govdata_mig_{worker}"))
    upgrade(eng)
    downgrade(eng, "base")
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    upgrade(eng)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM calendar_years")).scalar() == 23
    eng.dispose()
