"""A base database is marked stale when its rebuild after a load failed (Art. 17 ¶2, 18)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 14:00:00.000000

``stale_since`` and ``stale_reason`` say when and why; the next full build clears them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("aggregation_base_databases") as batch:
        batch.add_column(
            sa.Column("stale_since", govdata.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("stale_reason", sa.String(length=500), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("aggregation_base_databases") as batch:
        batch.drop_column("stale_reason")
        batch.drop_column("stale_since")
