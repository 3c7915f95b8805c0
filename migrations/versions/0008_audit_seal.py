"""Audit events get an id from the database and are sealed into the chain later (decision 0010)

``audit.record`` no longer takes the head row's lock: it inserts the event with an id from the
database, and the sealer gives it ``seq``, ``prev_hash`` and ``hash``. Existing events keep
their place: id = seq. ``seq`` becomes 64-bit on PostgreSQL (thousands of events a second).

The table is rebuilt rather than altered, the same way on both engines: its primary key moves
from ``seq`` to ``id``, which SQLite can only do by copying the table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INDEXED = ("action", "actor_id", "at", "department_id", "region_id")
_CONTENT = (
    "at, actor_id, actor_name, action, object_type, object_id, region_id, department_id, "
    "summary, digest, prev_hash, hash"
)


def _content_columns(*, sealed_required: bool) -> list[sa.Column[object]]:
    return [
        sa.Column("at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("object_type", sa.String(length=60), nullable=False),
        sa.Column("object_id", sa.String(length=80), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=not sealed_required),
        sa.Column("hash", sa.String(length=64), nullable=not sealed_required),
    ]


def _drop_indexes() -> None:
    for column in _INDEXED:
        op.drop_index(f"ix_audit_events_{column}", table_name="audit_events")


def _create_indexes() -> None:
    for column in _INDEXED:
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])


def _is_pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    # Index and key names are per schema (PostgreSQL) or per database (SQLite): the old table
    # gives them up before the new one takes them.
    _drop_indexes()
    op.rename_table("audit_events", "audit_events_0007")
    if _is_pg():
        op.execute("ALTER TABLE audit_events_0007 RENAME CONSTRAINT pk_audit_events TO pk_ae_0007")
    op.create_table(
        "audit_events",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("seq", _BIG, autoincrement=False, nullable=True),
        *_content_columns(sealed_required=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_events_seq")),
    )
    op.execute(
        f"INSERT INTO audit_events (id, seq, {_CONTENT}) "  # noqa: S608
        f"SELECT seq, seq, {_CONTENT} FROM audit_events_0007"
    )
    op.drop_table("audit_events_0007")
    _create_indexes()
    op.create_index(
        "ix_audit_events_unsealed",
        "audit_events",
        ["id"],
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )
    if _is_pg():
        # New ids continue after the copied ones.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
            "coalesce((SELECT max(id) FROM audit_events), 0) + 1, false)"
        )
        op.alter_column("audit_head", "seq", type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    # The old table has no place for an event the sealer has not reached.
    pending = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_events WHERE seq IS NULL"))
    if pending.scalar():
        raise RuntimeError("审计链中有待封存的事件：请先运行封存（govdata audit seal）再回退。")
    op.drop_index("ix_audit_events_unsealed", table_name="audit_events")
    _drop_indexes()
    op.rename_table("audit_events", "audit_events_0008")
    if _is_pg():
        op.execute("ALTER TABLE audit_events_0008 RENAME CONSTRAINT pk_audit_events TO pk_ae_0008")
        op.execute(
            "ALTER TABLE audit_events_0008 RENAME CONSTRAINT uq_audit_events_seq TO uq_ae_0008"
        )
        op.alter_column("audit_head", "seq", type_=sa.Integer(), existing_nullable=False)
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        *_content_columns(sealed_required=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    op.execute(
        f"INSERT INTO audit_events (seq, {_CONTENT}) "  # noqa: S608
        f"SELECT seq, {_CONTENT} FROM audit_events_0008"
    )
    op.drop_table("audit_events_0008")
    _create_indexes()
