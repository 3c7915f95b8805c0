"""Alembic environment: the same migrations on SQLite (batch mode) and PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from govdata.aggregation.tables import is_data_table
from govdata.catalog.search import is_index_table
from govdata.core.db import Base, is_sqlite, make_engine
from govdata.core.settings import get_settings
from govdata.models import load_all_models

load_all_models()
target_metadata = Base.metadata
config = context.config


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    # The catalog's search index is kept by migration 0003, not by the models (an FTS5 virtual
    # table and its shadow tables on SQLite, a tsvector table on PostgreSQL).
    # The data plane's pool, base and thematic tables are created at run time (aggregation).
    return not (
        type_ == "table"
        and name is not None
        and (is_index_table(name) or is_data_table(name) or name.startswith("procrastinate_"))
    )


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite(str(connection.engine.url)),
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `govdata db upgrade`")
run_migrations_online()
