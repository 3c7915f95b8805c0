"""Distributed mode on Citus (DESIGN: "Scale beyond one machine"; decision 0022).

One detection, one place: a PostgreSQL database with the ``citus`` extension runs distributed;
any other database (SQLite, plain PostgreSQL) is left exactly as it was. Every caller that
creates a data-plane table (pools, their staging tables, base and thematic databases) or a
fixed table (migrations) calls ``distribute`` or ``reference`` right after creating it; both do
nothing unless the database runs Citus.

* The data plane is **distributed on its subject key** and co-located: every table whose
  distribution column is the canonical subject key type (``VARCHAR COLLATE "C"``) lands in one
  co-location group, so joins, ``INSERT … SELECT`` and ``ON CONFLICT`` on the key run on the
  shards (pushed down), and a lookup by key is a single-shard router query.
* Organization, catalog and the other small tables are **reference tables** (a copy on every
  node), so the workers can join them.
* Citus co-locates only tables whose distribution columns have the same type *and* collation
  (``colocation_utils.c``): that is why every subject key column is declared with one type.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# ``Connection.info`` (the DBAPI connection's own dict) remembers the answer: the extension is
# created once, before the application's tables, and never dropped while the platform runs.
_INFO_KEY = "govdata.citus"


def enabled(conn: Connection) -> bool:
    """Whether this database runs Citus (the ``citus`` extension is installed in it)."""
    if conn.dialect.name != "postgresql":
        return False
    known = conn.info.get(_INFO_KEY)
    if known is None:
        found = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).first()
        known = conn.info[_INFO_KEY] = found is not None
    return bool(known)


def is_distributed(conn: Connection, table: str) -> bool:
    """Whether ``table`` is already in Citus' metadata (distributed, reference or local)."""
    row = conn.execute(
        text("SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass(:t)"),
        {"t": _quoted(table)},
    ).first()
    return row is not None


def distribute(conn: Connection, table: str, column: str) -> bool:
    """Distribute ``table`` on ``column`` (hash), co-located with every other table whose
    distribution column has the same type and collation (Citus' default group). Returns
    whether anything was done (False off Citus, or when the table already is distributed).

    A text column must be the data plane's key type (``VARCHAR COLLATE "C"``,
    ``aggregation.tables.canonical_key_type``): Citus picks the default group by type alone and
    then refuses a collation that differs from the group's."""
    if not enabled(conn) or is_distributed(conn, table):
        return False
    conn.execute(
        text("SELECT create_distributed_table(:t, :c, colocate_with => 'default')"),
        {"t": _quoted(table), "c": column},
    )
    return True


def reference(conn: Connection, table: str) -> bool:
    """Make ``table`` a reference table (replicated to every node). Returns whether anything
    was done."""
    if not enabled(conn) or is_distributed(conn, table):
        return False
    conn.execute(text("SELECT create_reference_table(:t)"), {"t": _quoted(table)})
    return True


def undistribute(conn: Connection, table: str) -> bool:
    """Back to a plain local table on the coordinator (a migration's downgrade)."""
    if not enabled(conn) or not is_distributed(conn, table):
        return False
    conn.execute(
        text("SELECT undistribute_table(:t, cascade_via_foreign_keys => false)"),
        {"t": _quoted(table)},
    )
    return True


def _quoted(table: str) -> str:
    return '"' + table.replace('"', '""') + '"'
