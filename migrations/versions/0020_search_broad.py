"""Broad words' search answers, computed when the catalog's search index changes

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 01:00:00.000000

``catalog_search_broad``: for each word found in a large share of the current version's
resources, its total, facet counts and best-ranked revisions (``catalog.search_broad``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_search_broad",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("facets", sa.JSON(), nullable=False),
        sa.Column("ranked", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_versions.id"],
            name=op.f("fk_catalog_search_broad_version_id_catalog_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "term", name=op.f("pk_catalog_search_broad")),
    )


def downgrade() -> None:
    op.drop_table("catalog_search_broad")
