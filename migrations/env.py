"""Alembic environment: the same migrations on SQLite (batch mode) and PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from govdata.app.domains import is_unmanaged_table, load_all_models
from govdata.core.db import Base, is_sqlite, make_engine
from govdata.core.settings import get_settings

load_all_models()
target_metadata = Base.metadata
config = context.config


def _include_name(name: str | None, type_: str, parent_names: object) -> bool:
    # Tables a domain keeps outside its models (its registration says which: run-time data
    # tables, search indexes kept by a migration), and procrastinate's own.
    return not (
        type_ == "table"
        and name is not None
        and (is_unmanaged_table(name) or name.startswith("procrastinate_"))
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
