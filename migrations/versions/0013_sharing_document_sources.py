"""Sharing (Art. 28): sources designated as documents, licences or contracts, delivered signed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 18:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sharing_document_sources",
        sa.Column("source_code", sa.String(length=64), nullable=False),
        sa.Column("document_class", sa.String(length=10), nullable=False),
        sa.Column("provider_department_id", sa.Integer(), nullable=False),
        sa.Column("designated_by", sa.Integer(), nullable=True),
        sa.Column("designated_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["designated_by"],
            ["people.id"],
            name=op.f("fk_sharing_document_sources_designated_by_people"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["departments.id"],
            name=op.f("fk_sharing_document_sources_provider_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("source_code", name=op.f("pk_sharing_document_sources")),
    )
    with op.batch_alter_table("sharing_document_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sharing_document_sources_provider_department_id"),
            ["provider_department_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("sharing_document_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_document_sources_provider_department_id"))
    op.drop_table("sharing_document_sources")
