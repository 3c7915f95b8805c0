"""The demo city's first stages (organization, a small catalog, loaded pools) built once per
test worker and copied for each module that goes on from there.

Three modules (aggregation's, sharing's and the history's demo tests) start from the same
stages, which take most of a minute to build; building them once and copying the database
(SQLite: the file through the backup API; PostgreSQL: ``CREATE DATABASE … TEMPLATE``) keeps
each module on a fresh database of its own at a fraction of the cost. ``SHARED_SCOPES`` keeps
those modules on one xdist worker (``pytest_xdist_make_scheduler`` in ``conftest.py``).
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from govdata.aggregation.demo import DemoPools, load_demo_pools
from govdata.catalog.demo import DemoCatalog, load_demo_catalog
from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.migrate import upgrade
from govdata.core.settings import get_settings
from govdata.org.demo import default_regions_csv, load_demo_org
from tests.pgcluster import PgCluster

# The modules that start from the built demo city: one xdist scope, so one worker builds it.
SHARED_SCOPES = dict.fromkeys(
    (
        "tests/aggregation/test_demo.py",
        "tests/sharing/test_demo.py",
        "tests/app/test_demo_history.py",
    ),
    "demo-city",
)


@dataclass(frozen=True)
class DemoCityBase:
    url: str
    var_dir: Path  # the pipeline's spool directory as the build left it
    catalog: DemoCatalog
    pools: DemoPools


def build(pg_cluster: PgCluster | None, tmp: Path, name: str) -> DemoCityBase:
    """Organization, a catalog of one resource per city department, the demo pools loaded
    through the pipeline: exactly as ``govdata demo`` starts."""
    from tests.conftest import new_database_url

    url = new_database_url(pg_cluster, tmp, name)
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    var = tmp / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVDATA_VAR_DIR", str(var))
        get_settings.cache_clear()
        try:
            with transaction(factory) as session:
                assert load_demo_org(session, default_regions_csv()) is not None
                catalog = load_demo_catalog(session, per_city_department=1)
                assert catalog is not None
            pools = load_demo_pools(factory)
            assert pools is not None
        finally:
            get_settings.cache_clear()
            engine.dispose()
    return DemoCityBase(url, var, catalog, pools)


def copy(base: DemoCityBase, tmp: Path, name: str) -> tuple[str, Path]:
    """A database of its own holding what ``base`` holds, and a copy of its spool directory:
    (url, var_dir)."""
    var = tmp / "var"
    if base.var_dir.exists():
        shutil.copytree(base.var_dir, var)
    source = make_url(base.url)
    if source.get_backend_name() == "sqlite":
        target = tmp / f"{name}.db"
        with sqlite3.connect(str(source.database)) as src, sqlite3.connect(str(target)) as dst:
            src.backup(dst)
        return f"sqlite:///{target}", var
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
    finally:
        admin.dispose()
    return source.set(database=name).render_as_string(hide_password=False), var
