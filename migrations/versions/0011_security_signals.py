"""Security monitoring signals (Art. 39): rules with the city bureau's thresholds, signals,
the scan's watermark

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 09:00:00.000000

The rules are seeded with the defaults of ``govdata.security.models.DEFAULT_RULES`` (written out
here: a migration does not change when the code's defaults do later).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = govdata.core.db.UTCDateTime(timezone=True)

# kind, threshold, window minutes, factor
_DEFAULTS = [
    ("bulk_read", 1000, 1440, 5.0),
    ("off_hours_read", 100, 60, 1.0),
    ("probing", 10, 10, 1.0),
    ("failed_sign_ins", 10, 15, 1.0),
    ("personal_export", 0, 60, 1.0),
]


def upgrade() -> None:
    rules = op.create_table(
        "security_signal_rules",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("factor", sa.Float(), nullable=False),
        sa.Column("hours_from", sa.Integer(), nullable=False),
        sa.Column("hours_to", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_by_name", sa.String(length=100), nullable=False),
        sa.Column("updated_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["people.id"], name=op.f("fk_security_signal_rules_updated_by_people")
        ),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_security_signal_rules")),
    )
    op.create_table(
        "security_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("subject_name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=True),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("rows", _ID, nullable=False),
        sa.Column("first_seen", _AT, nullable=False),
        sa.Column("last_seen", _AT, nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_by_name", sa.String(length=100), nullable=False),
        sa.Column("acknowledged_at", _AT, nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["people.id"],
            name=op.f("fk_security_signals_acknowledged_by_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_signals")),
    )
    op.create_index(
        "uq_security_signals_open",
        "security_signals",
        ["kind", "subject"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_security_signals_status_last", "security_signals", ["status", "last_seen"])
    op.create_table(
        "security_scan_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scanned_to", _AT, nullable=False),
        sa.Column("scans", _ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_scan_state")),
    )
    op.bulk_insert(
        rules,
        [
            {
                "kind": kind,
                "enabled": True,
                "threshold": threshold,
                "window_minutes": window,
                "factor": factor,
                "hours_from": 8,
                "hours_to": 20,
                "updated_by": None,
                "updated_by_name": "",
                "updated_at": None,
            }
            for kind, threshold, window, factor in _DEFAULTS
        ],
    )


def downgrade() -> None:
    op.drop_table("security_scan_state")
    op.drop_index("ix_security_signals_status_last", table_name="security_signals")
    op.drop_index("uq_security_signals_open", table_name="security_signals")
    op.drop_table("security_signals")
    op.drop_table("security_signal_rules")
