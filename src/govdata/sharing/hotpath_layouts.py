"""The hot path's one cache (decision 0014): each shared source's layout (its table, key and
item columns; whether it is a document; on Citus, where its keys live, decision 0023), kept for
one second and read ahead in the background after half a second, so no call waits for it. A
pool's table changes name on a full reload: a statement on a dropped table asks for a fresh
read (``get(code, fresh=True)``) and runs again."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from govdata.core.shards import ShardMap, shard_map
from govdata.sharing.sources import SharedSource, get_source

LAYOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Layout:
    source: SharedSource
    at: float
    document: bool = False  # a document, licence or contract: its lookups are signed (Art. 28)
    shards: ShardMap | None = None  # on Citus, where its keys live (decision 0023)


class Layouts:
    def __init__(self, factory: sessionmaker[Session], *, citus: bool = False) -> None:
        self.factory = factory
        self.citus = citus
        self._layouts: dict[str, Layout] = {}
        # One read of a layout at a time per source: a burst of calls that finds it expired
        # waits for that one read instead of each holding a connection for its own.
        self._reading: dict[str, asyncio.Future[None]] = {}

    def reading(self) -> list[asyncio.Future[None]]:
        """The reads under way (waited for at shutdown: each holds a connection)."""
        return list(self._reading.values())

    def is_document(self, code: str) -> bool:
        cached = self._layouts.get(code)
        return cached is not None and cached.document

    def shards(self, source: SharedSource) -> ShardMap | None:
        """The shard map read with ``source``'s layout, if it is of the same table."""
        cached = self._layouts.get(source.code)
        if cached is None or cached.source.table_name != source.table_name:
            return None
        return cached.shards

    async def get(self, code: str, *, fresh: bool = False) -> SharedSource | None:
        now = time.monotonic()
        cached = self._layouts.get(code)
        if cached is not None and not fresh and now - cached.at < LAYOUT_SECONDS:
            if now - cached.at >= LAYOUT_SECONDS / 2 and code not in self._reading:
                self._read_layout(code, now)  # read ahead: no call waits for it
            return cached.source
        reading = None if fresh else self._reading.get(code)
        if reading is None:  # a fresh read (after a reload) never joins one begun before it
            reading = self._read_layout(code, now)
        await asyncio.shield(reading)
        if code not in self._layouts:
            return None
        return self._layouts[code].source

    def _read_source(self, code: str, started: float) -> Layout | None:
        from govdata.sharing.signing import document_class

        with self.factory() as session:
            source = get_source(session, code)
            if source is None:
                return None
            document = document_class(session, code) is not None
            shards = None
            if self.citus and source.table_name is not None:
                shards = shard_map(session.connection(), source.table_name)
            return Layout(source, started, document, shards)

    def _read_layout(self, code: str, started: float) -> asyncio.Future[None]:
        """Read a source's layout in a thread; stored as of when the read began."""

        async def read() -> None:
            found = await run_in_threadpool(self._read_source, code, started)
            current = self._layouts.get(code)
            if current is not None and current.at > started:
                return  # a read begun later (after a reload) already stored its answer
            if found is None:
                self._layouts.pop(code, None)
            else:
                self._layouts[code] = found

        reading = asyncio.ensure_future(read())
        self._reading[code] = reading
        reading.add_done_callback(lambda done: self._forget(code, done))
        return reading

    def _forget(self, code: str, done: asyncio.Future[Any]) -> None:
        if self._reading.get(code) is done:
            del self._reading[code]
        if not done.cancelled():
            done.exception()  # a read ahead's failure is retried by the next call, not logged
