"""On Citus (decision 0023): the hot path's read by subject key is sent to the worker holding
the key's shard, where Citus runs it locally, instead of through the coordinator, whose plan
and hop made a lookup 3-4 times one PostgreSQL's. The token, the grant, the quota and the
access record stay on the coordinator's connection, as before.

A pool of connections to each worker, opened on its first call: the coordinator's connection
settings with the worker's host and port (``pg_dist_node``), so the workers must accept the
platform's role as the coordinator does (Citus needs that of every node anyway). A read sent on
a map a moment out of date (a shard just moved) is still answered right: Citus on that worker
routes it to the shard's new place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from govdata.core.shards import Node

# Seen in the workers' pg_stat_activity, so an operator can tell these sessions apart.
APPLICATION_NAME = "govdata-hotpath"


class NodePools:
    # A worker that cannot be reached answers the call 503 after this long (not the pool's
    # default 30 s): the coordinator could not have reached it either.
    OPEN_SECONDS = 5.0

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn = dsn
        self.size = size
        self._pools: dict[Node, AsyncConnectionPool[Any]] = {}
        self._lock = asyncio.Lock()

    def conninfo(self, node: Node) -> str:
        host, port = node
        return make_conninfo(self.dsn, host=host, port=str(port), application_name=APPLICATION_NAME)

    async def _pool(self, node: Node) -> AsyncConnectionPool[Any]:
        pool = self._pools.get(node)
        if pool is not None:
            return pool
        async with self._lock:
            pool = self._pools.get(node)
            if pool is None:
                pool = AsyncConnectionPool(
                    self.conninfo(node),
                    min_size=1,
                    max_size=self.size,
                    open=False,
                    kwargs={"autocommit": True},
                )
                try:
                    await pool.open(wait=True, timeout=self.OPEN_SECONDS)
                except BaseException:
                    await pool.close()  # a worker that cannot be reached: tried again next call
                    raise
                self._pools[node] = pool
        return pool

    @asynccontextmanager
    async def connection(self, node: Node) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection to ``node``; its pool opened on the first call."""
        pool = await self._pool(node)
        async with pool.connection() as conn:
            yield conn

    async def close(self) -> None:
        async with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()
