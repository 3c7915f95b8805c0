"""Access records (调用记录): one row per read of data, allowed or refused (Art. 39, 40)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "access_records",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("actor_department_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=45), nullable=True),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("object_type", sa.String(length=60), nullable=False),
        sa.Column("object_id", sa.String(length=80), nullable=False),
        sa.Column("owner_department_id", sa.Integer(), nullable=True),
        sa.Column("rows", _ID, nullable=False),
        sa.Column("personal", sa.Boolean(), nullable=False),
        sa.Column("fields", sa.String(length=2000), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_records")),
    )
    op.create_index(op.f("ix_access_records_at"), "access_records", ["at"])
    op.create_index(op.f("ix_access_records_action"), "access_records", ["action"])
    op.create_index(
        op.f("ix_access_records_owner_department_id"), "access_records", ["owner_department_id"]
    )
    op.create_index("ix_access_records_actor_at", "access_records", ["actor_id", "at"])
    op.create_index("ix_access_records_token_at", "access_records", ["token_id", "at"])
    op.create_index("ix_access_records_address_at", "access_records", ["address", "at"])


def downgrade() -> None:
    op.drop_table("access_records")
