"""Review entries record who decided them: the district bureau or the city bureau

Revision ID: 0018_review
Revises: 0017
Create Date: 2026-12-06 00:45:00.000000

A district bureau now reviews its departments' submissions before compiling them (Art. 12 ¶1):
it may return entries with a reason and forward the rest. ``decided_stage`` tells a return by
the district from a decision of the city; entries decided before are the city's.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_review"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_review_entries") as batch:
        batch.add_column(sa.Column("decided_stage", sa.String(length=10), nullable=True))
    op.execute(
        "UPDATE catalog_review_entries SET decided_stage = 'city' WHERE decided_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("catalog_review_entries") as batch:
        batch.drop_column("decided_stage")
