"""Objections (Art. 27): the bureau's finding (upheld / dismissed / partly) beside its text

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 18:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sharing_objections") as batch:
        batch.add_column(
            sa.Column("result", sa.String(length=10), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("sharing_objections") as batch:
        batch.drop_column("result")
