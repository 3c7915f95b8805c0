"""Access records join the audit chain (Art. 40; decision 0015): the batch that sealed each
record, the time before which a record still being written (a bulk delivery's stream) is not
sealed, and the sealer's work list (a partial index on the records not yet sealed)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("open_until", govdata.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_access_records_unsealed",
            ["id"],
            unique=False,
            postgresql_where=sa.text("sealed IS NULL"),
            sqlite_where=sa.text("sealed IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("access_records", schema=None) as batch_op:
        batch_op.drop_index("ix_access_records_unsealed")
        batch_op.drop_column("open_until")
        batch_op.drop_column("sealed")
