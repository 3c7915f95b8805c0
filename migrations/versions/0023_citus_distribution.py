"""On Citus, the fixed tables take their place in the cluster (decision 0020): a base
database's conflicts distributed on the subject key with the data plane, access records
distributed, every other application table a reference table. Does nothing elsewhere.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 04:00:00.000000

The data plane's own tables (pools, staging, base and thematic databases) are created at run
time and distributed where they are created (``aggregation.pools.create_table``). Reference
tables may refer only to reference tables, and the catalog's foreign keys form cycles (a
resource and its revisions), so the keys are set aside while the tables are placed and put back
after. The distributed tables keep no foreign key: a key from a distributed table to a reference
table ties every later write of that reference table in the transaction to the connections the
shards were written over, which Citus refuses once it has written the coordinator's copy
locally (DESIGN: no cross-shard foreign keys in the data plane; the application removes a base
item's conflicts itself). ``alembic_version`` and procrastinate's tables (triggers,
``LISTEN``/``NOTIFY``) stay local to the coordinator. A table a later migration creates is
placed by that migration with ``govdata.core.distribution``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from alembic import op
from sqlalchemy import Connection, text

from govdata.core import distribution

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Distributed, with the column they are distributed on. A base database's conflicts are
# distributed on the subject key, co-located with the base and the pools they are computed from
# (Citus needs the key in the primary key, and the key in the data plane's one key type).
DISTRIBUTED = {"access_records": "id", "aggregation_base_conflicts": "subject_key"}
# Local to the coordinator: the rate-limit counters are written on every request with now() in
# their upsert, which Citus refuses for a reference table, and nothing joins them. The grants'
# daily usage likewise: its upsert on every sharing call committed over all three nodes as a
# reference table (1.3 ms a call); local, it commits on the coordinator alone, asynchronously
# (``sharing.hotpath_sql.TAKE``); nothing joins it. It keeps no foreign key (a grant is never
# deleted; revoked, it keeps its history).
LOCAL = frozenset({"alembic_version", "rate_limit_counters", "sharing_grant_usage"})
_USAGE_KEY = (
    "ALTER TABLE sharing_grant_usage ADD CONSTRAINT fk_sharing_grant_usage_grant_id_sharing_grants "
    "FOREIGN KEY (grant_id) REFERENCES sharing_grants(id) ON DELETE CASCADE"
)
# After a statement over several shards run over more than one connection a node (a COPY into
# a distributed table, a base build), Citus refuses in the same transaction any write of a
# reference table that a foreign key refers to (departments, pools, loads, grants…); a load, a
# base build or a sharing call and their bookkeeping are one transaction. Sequential mode (one
# connection a node, shards one after another) keeps both (docs/scaling.md: the cost).
MODE = "citus.multi_shard_modify_mode"
LOCAL_PREFIXES = ("procrastinate_", "pool_", "base_", "thematic_")

_CONFLICTS = "aggregation_base_conflicts"
_PK = "pk_aggregation_base_conflicts"
_CONFLICTS_UP = [
    f'ALTER TABLE {_CONFLICTS} ALTER COLUMN subject_key TYPE VARCHAR COLLATE "C"',
    f"ALTER TABLE {_CONFLICTS} DROP CONSTRAINT {_PK}",
    f"ALTER TABLE {_CONFLICTS} ADD CONSTRAINT {_PK} PRIMARY KEY (subject_key, id)",
]
_CONFLICTS_DOWN = [
    f"ALTER TABLE {_CONFLICTS} DROP CONSTRAINT {_PK}",
    f"ALTER TABLE {_CONFLICTS} ADD CONSTRAINT {_PK} PRIMARY KEY (id)",
    f'ALTER TABLE {_CONFLICTS} ALTER COLUMN subject_key TYPE VARCHAR(64) COLLATE "default"',
]
# The conflicts' foreign keys as migration 0004 made them (put back on downgrade).
_CONFLICTS_KEYS = [
    ("base_id", "aggregation_base_databases", "fk_aggregation_base_conflicts_base_id_aggregation_base_databases", ""),
    ("item_id", "aggregation_base_items", "fk_aggregation_base_conflicts_item_id_aggregation_base_items", " ON DELETE CASCADE"),
    ("other_load_id", "aggregation_loads", "fk_aggregation_base_conflicts_other_load_id_aggregation_loads", ""),
    ("other_pool_id", "aggregation_pools", "fk_aggregation_base_conflicts_other_pool_id_aggregation_pools", ""),
    ("resolved_by", "people", "fk_aggregation_base_conflicts_resolved_by_people", ""),
]  # fmt: skip


def _reference_tables(conn: Connection) -> list[str]:
    """The public schema's tables to make reference tables."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
        )
    ).scalars()
    return [
        str(n)
        for n in names
        if n not in LOCAL and n not in DISTRIBUTED and not str(n).startswith(LOCAL_PREFIXES)
    ]


def _foreign_keys(conn: Connection, tables: list[str]) -> list[tuple[str, str, str]]:
    """(table, constraint, definition) of the foreign keys of ``tables``."""
    rows = conn.execute(
        text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(:t) "
            "ORDER BY 1, 2"
        ),
        {"t": tables},
    )
    return [(str(t), str(n), str(d)) for t, n, d in rows]


def _without_foreign_keys(
    conn: Connection, tables: list[str], place: Callable[[str], object], *, put_back: bool
) -> None:
    """Place each table with its foreign keys set aside; put them back when ``put_back``."""
    keys = _foreign_keys(conn, tables)
    for table, name, _definition in keys:
        conn.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
    for table in tables:
        place(table)
    if put_back:
        for table, name, definition in keys:
            conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'))


def _mode(conn: Connection, value: str | None) -> None:
    """The database's (and this session's) multi-shard mode; None: back to the default."""
    change = f"SET {MODE} = {value}" if value else f"RESET {MODE}"
    conn.execute(
        text(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I " + change.replace("'", "''") + "', "
            "current_database()); END $$"
        )
    )
    conn.execute(text(f"SET {MODE} = {value}" if value else f"RESET {MODE}"))


def upgrade() -> None:
    conn = op.get_bind()
    if not distribution.enabled(conn):
        return
    _mode(conn, "sequential")
    keyless = [*DISTRIBUTED, "sharing_grant_usage"]
    _without_foreign_keys(conn, keyless, lambda _t: None, put_back=False)
    for statement in _CONFLICTS_UP:
        conn.execute(text(statement))
    _without_foreign_keys(
        conn,
        _reference_tables(conn),
        lambda t: distribution.reference(conn, t),
        put_back=True,
    )
    for table, column in DISTRIBUTED.items():
        distribution.distribute(conn, table, column)


def downgrade() -> None:
    conn = op.get_bind()
    if not distribution.enabled(conn):
        return
    # Undistributing runs over several connections a node; the reference tables' keys can
    # then only be changed over one: the whole downgrade over one connection a node.
    conn.execute(text("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'"))
    for table in DISTRIBUTED:
        distribution.undistribute(conn, table)
    _without_foreign_keys(
        conn,
        _reference_tables(conn),
        lambda t: distribution.undistribute(conn, t),
        put_back=True,
    )
    for statement in _CONFLICTS_DOWN:
        conn.execute(text(statement))
    conn.execute(text(_USAGE_KEY))
    for column, parent, name, action in _CONFLICTS_KEYS:
        conn.execute(
            text(
                f"ALTER TABLE {_CONFLICTS} ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
                f"REFERENCES {parent}(id){action}"
            )
        )
    _mode(conn, None)
