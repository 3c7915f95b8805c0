"""Engine, declarative ``Base`` and the unit of work.

Services flush, never commit: the request, job or CLI command opens one ``transaction()`` and
commits or rolls back once, so that services compose into one atomic change (DESIGN: nothing
half-written).

On SQLite a unit of work that writes begins with ``BEGIN IMMEDIATE`` (``open_session(...,
write=True)``): it takes the database's one write lock first, waiting up to the busy timeout
for its turn. A deferred ``BEGIN`` would read under a snapshot and then fail at once with
"database is locked" when another writer committed meanwhile, since SQLite cannot upgrade a
stale read to a write and does not wait in that case. Reads stay deferred, so they never queue
behind writers (WAL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, cast

from sqlalchemy import (
    DateTime,
    Engine,
    MetaData,
    Table,
    TypeDecorator,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names, so Alembic migrations (batch mode on SQLite) can address them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite stores no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine if isinstance(url_or_engine, str) else str(url_or_engine.url)
    return url.startswith("sqlite")


# A connection execution option: this unit of work writes (on SQLite: BEGIN IMMEDIATE).
WRITES = "govdata_writes"
_WRITE_OPTIONS = {WRITES: True}
SQLITE_BUSY = 5  # sqlite3.SQLITE_BUSY; extended codes (BUSY_SNAPSHOT, ...) keep it in the low byte


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over as
    # the SQLAlchemy documentation recommends, and set the pragmas every connection needs.
    # A unit of work that writes says so with the WRITES execution option (open_session).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        writes = conn.get_execution_options().get(WRITES, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 10})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def open_session(factory: sessionmaker[Session], *, write: bool) -> Session:
    """A session for one unit of work; ``write``: it will write, so on SQLite it waits for the
    write lock at its first statement instead of failing later (see the module's docstring)."""
    return factory(execution_options=_WRITE_OPTIONS) if write else factory()


def is_write_conflict(exc: BaseException) -> bool:
    """SQLite refused a write with "database is locked" (SQLITE_BUSY or an extended code)."""
    if not isinstance(exc, OperationalError):
        return False
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == SQLITE_BUSY


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    Jobs and CLI commands write, so ``write`` is the default; a read-only caller passes
    ``write=False`` and does not queue behind writers on SQLite.
    """
    session = open_session(factory, write=write)
    try:
        yield session
        session.commit()
    except BaseException as exc:
        finish_failed(session, exc)
        raise
    finally:
        session.close()


def insert_unless_exists(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING``: whether the row went in (False: a row with one of
    its unique values exists, perhaps just committed by a concurrent unit of work).

    Get-or-create without the check-then-insert race: on PostgreSQL the insert waits for a
    concurrent transaction holding the same key and then does nothing, instead of raising.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(values).on_conflict_do_nothing()
    result = cast(CursorResult[Any], session.execute(stmt))
    return result.rowcount == 1


def finish_failed(session: Session, exc: BaseException) -> None:
    """End a unit of work that raised: roll back, unless the refusal keeps its record."""
    if getattr(exc, "keep_changes", False):
        session.commit()
    else:
        session.rollback()
