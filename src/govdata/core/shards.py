"""Where a subject key's row lives on Citus (decision 0023): the worker a lookup by key is sent
to, so that it runs on the node holding its shard instead of through the coordinator.

Citus places a row of a hash-distributed table by the 32-bit hash of its distribution column,
computed by the column type's PostgreSQL hash function, in the shard whose range holds it. The
data plane's key is ``VARCHAR COLLATE "C"`` (``core.distribution``), whose hash (``hashtext``
under a deterministic collation) is PostgreSQL's ``hash_bytes`` of the key's UTF-8 bytes: Bob
Jenkins' lookup3 as ``src/common/hashfn.c`` has it (little-endian). ``hash_key`` computes it
here; the tests hold it to ``worker_hash`` and ``get_shard_id_for_distribution_column``.

A map read a moment ago can be out of date (a shard moved by the rebalancer): a statement sent
to a worker that no longer holds the shard is still answered right (Citus routes it from there),
only a hop slower; the map is read again as the caller's layout is.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from sqlalchemy import Connection, text

_M = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M


# lookup3's mix(): six rounds of (x -= z; x ^= rot(z, k); z += y), the roles turning a, b, c.
_MIX = ((0, 1, 2, 4), (1, 2, 0, 6), (2, 0, 1, 8), (0, 1, 2, 16), (1, 2, 0, 19), (2, 0, 1, 4))
# Its final(): seven rounds of (x ^= y; x -= rot(y, k)).
_FINAL = ((2, 1, 14), (0, 2, 11), (1, 0, 25), (2, 1, 16), (0, 2, 4), (1, 0, 14), (2, 1, 24))


def hash_key(key: str) -> int:
    """The 32-bit hash Citus places ``key`` by (PostgreSQL's ``hash_bytes`` of its UTF-8
    bytes), as the signed integer of ``pg_dist_shard``'s ranges."""
    data = key.encode("utf-8")
    n = len(data)
    h = [(0x9E3779B9 + n + 3923095) & _M] * 3  # a, b, c
    i = 0
    while n - i >= 12:
        for w in range(3):
            h[w] = (h[w] + int.from_bytes(data[i + 4 * w : i + 4 * w + 4], "little")) & _M
        for x, y, z, k in _MIX:
            h[x] = ((h[x] - h[z]) & _M) ^ _rot(h[z], k)
            h[z] = (h[z] + h[y]) & _M
        i += 12
    tail = data[i:]
    # The last 0-11 bytes: four into a, four into b, three into c above its lowest byte.
    h[0] = (h[0] + int.from_bytes(tail[0:4], "little")) & _M
    h[1] = (h[1] + int.from_bytes(tail[4:8], "little")) & _M
    h[2] = (h[2] + (int.from_bytes(tail[8:11], "little") << 8)) & _M
    for x, y, k in _FINAL:
        h[x] = ((h[x] ^ h[y]) - _rot(h[y], k)) & _M
    c = h[2]
    return c - (1 << 32) if c >= 1 << 31 else c


Node = tuple[str, int]


@dataclass(frozen=True)
class ShardMap:
    """A hash-distributed table's shards: each one's lowest hash and the node holding it."""

    table: str
    lows: tuple[int, ...]
    nodes: tuple[Node, ...]

    def node_for(self, key: str) -> Node:
        """The (host, port) of the node holding ``key``'s shard."""
        return self.nodes[bisect.bisect_right(self.lows, hash_key(key)) - 1]

    @property
    def all_nodes(self) -> frozenset[Node]:
        return frozenset(self.nodes)


_MAP = """
SELECT DISTINCT ON (s.shardminvalue::integer) s.shardminvalue::integer, n.nodename, n.nodeport
FROM pg_dist_partition t
JOIN pg_dist_shard s ON s.logicalrelid = t.logicalrelid
JOIN pg_dist_placement p ON p.shardid = s.shardid AND p.shardstate = 1
JOIN pg_dist_node n ON n.groupid = p.groupid AND n.isactive AND n.noderole = 'primary'
WHERE t.logicalrelid = to_regclass(:t) AND t.partmethod = 'h'
ORDER BY s.shardminvalue::integer, n.nodeid
"""


def shard_map(conn: Connection, table: str) -> ShardMap | None:
    """The map of a hash-distributed ``table``, or None when it is not one (off Citus, a
    reference or local table, or one not distributed yet)."""
    rows = conn.execute(text(_MAP), {"t": '"' + table.replace('"', '""') + '"'}).all()
    if not rows:
        return None
    return ShardMap(
        table,
        tuple(int(r[0]) for r in rows),
        tuple((str(r[1]), int(r[2])) for r in rows),
    )
