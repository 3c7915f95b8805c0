"""Writing validated rows into a pool's staging table (Art. 17 ¶1): the load pipeline's sink.

PostgreSQL: one binary ``COPY`` per stretch of the load, fed by a thread of its own so that the
server stores batch *n* while this process cleans and checks batch *n+1* (Polars and psycopg
release the GIL). Typed values are encoded straight from Arrow to PostgreSQL's binary format by
pgpq (decision 0006): the server parses no text, which was most of a text ``COPY``'s cost for a
typed table. At most one batch waits for the thread, so memory stays bounded.

SQLite: batched ``executemany`` in the caller's thread, with the values in the forms the SQLite
dialect of SQLAlchemy reads back (ISO text for dates and times, 0/1 for booleans).

While a ``COPY`` is open its connection can run nothing else; the caller ``pause``s the writer to
store problems or quarantined rows, and the next ``write`` opens a new ``COPY``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

import polars as pl
from sqlalchemy import Connection

from govdata.aggregation.tables import LOAD_COLUMN, ROW_COLUMN
from govdata.aggregation.validation import polars_type


def layout_schema(columns: list[dict[str, Any]]) -> dict[str, pl.DataType]:
    """Polars types of a data table's columns in table order (``tables.pool_table``)."""
    schema: dict[str, pl.DataType] = {ROW_COLUMN: pl.Int64(), LOAD_COLUMN: pl.Int32()}
    for c in columns:
        schema[c["column"]] = polars_type(c["data_type"])
    return schema


class Writer:
    """Appends typed batches (``_row`` plus the layout's columns) to one table."""

    streaming = False  # holds the connection between writes (PostgreSQL's COPY)

    def __init__(self, conn: Connection, table_name: str, columns: list[dict[str, Any]]) -> None:
        self.conn = conn
        self.schema = layout_schema(columns)

    def _frame(self, frame: pl.DataFrame, load_id: int) -> pl.DataFrame:
        return frame.select(
            pl.col(ROW_COLUMN).cast(pl.Int64),
            pl.lit(load_id, pl.Int32).alias(LOAD_COLUMN),
            *[pl.col(name) for name in list(self.schema)[2:]],
        )

    def write(self, frame: pl.DataFrame, load_id: int) -> None:
        raise NotImplementedError

    def pause(self) -> None:
        """Let the connection run other statements (ends a ``COPY`` in progress)."""

    def close(self) -> None:
        self.pause()

    def abort(self) -> None:
        """Stop after a failure; the caller rolls the transaction back."""


def writer_for(conn: Connection, table_name: str, columns: list[dict[str, Any]]) -> Writer:
    if conn.dialect.name == "postgresql":
        return CopyWriter(conn, table_name, columns)
    return SqliteWriter(conn, table_name, columns)


class SqliteWriter(Writer):
    def __init__(self, conn: Connection, table_name: str, columns: list[dict[str, Any]]) -> None:
        super().__init__(conn, table_name, columns)
        names = ", ".join(f'"{c}"' for c in self.schema)
        marks = ", ".join("?" for _ in self.schema)
        self.sql = f'INSERT INTO "{table_name}" ({names}) VALUES ({marks})'

    def write(self, frame: pl.DataFrame, load_id: int) -> None:
        if frame.height == 0:
            return
        frame = self._frame(frame, load_id)
        convert = []
        for name, dtype in self.schema.items():
            col = pl.col(name)
            if dtype == pl.Boolean():
                convert.append(col.cast(pl.Int8))  # SQLAlchemy reads 1 and 0
            elif dtype == pl.Date():
                convert.append(col.dt.strftime("%Y-%m-%d"))
            elif dtype == pl.Datetime("us"):
                convert.append(col.dt.strftime("%Y-%m-%d %H:%M:%S"))
            elif isinstance(dtype, pl.Decimal):
                convert.append(col.cast(pl.String))  # NUMERIC affinity reads the text
        if convert:
            frame = frame.with_columns(convert)
        raw = self.conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        try:
            cur.executemany(self.sql, frame.iter_rows())
        finally:
            cur.close()


class CopyWriter(Writer):
    """Binary ``COPY`` in a thread of its own; one batch in flight, one waiting at most."""

    streaming = True

    def __init__(self, conn: Connection, table_name: str, columns: list[dict[str, Any]]) -> None:
        super().__init__(conn, table_name, columns)
        names = ", ".join(f'"{c}"' for c in self.schema)
        self.sql = f'COPY "{table_name}" ({names}) FROM STDIN (FORMAT binary)'
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None
        self._copy: Any = None  # psycopg's Copy while a COPY is open
        self._context: AbstractContextManager[Any] | None = None
        self._encoder: Any = None

    # -- in the writer's thread --

    def _open(self) -> None:
        from pgpq import ArrowToPostgresBinaryEncoder

        raw = self.conn.connection.driver_connection
        assert raw is not None
        self._context = raw.cursor().copy(self.sql)
        self._copy = self._context.__enter__()
        empty = pl.DataFrame(schema=self.schema).to_arrow()
        self._encoder = ArrowToPostgresBinaryEncoder(empty.schema)
        self._copy.write(self._encoder.write_header())

    def _send(self, frame: pl.DataFrame) -> None:
        if self._copy is None:
            self._open()
        for batch in frame.to_arrow().to_batches():
            self._copy.write(self._encoder.write_batch(batch))

    def _finish(self, exc: BaseException | None) -> None:
        if self._context is None:
            return
        context, self._context = self._context, None
        try:
            if exc is None:
                self._copy.write(self._encoder.finish())
                context.__exit__(None, None, None)
            else:
                context.__exit__(type(exc), exc, exc.__traceback__)
        finally:
            self._copy = self._encoder = None

    # -- in the caller's thread --

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="govdata-copy")
        self._wait()
        self._pending = self._pool.submit(fn, *args)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()  # a failure in the thread surfaces here

    def write(self, frame: pl.DataFrame, load_id: int) -> None:
        if frame.height == 0:
            return
        self._submit(self._send, self._frame(frame, load_id))

    def pause(self) -> None:
        if self._pool is None:
            return
        self._submit(self._finish, None)
        self._wait()

    def close(self) -> None:
        try:
            self.pause()
        finally:
            self._shutdown()

    def abort(self) -> None:
        try:
            with contextlib.suppress(Exception):  # the load fails either way; end the COPY
                self._wait()
            if self._pool is not None and self._context is not None:
                failure = RuntimeError("load aborted")
                self._pool.submit(self._finish, failure).exception()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
