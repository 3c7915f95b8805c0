"""Search synonyms the city bureau keeps (catalog and open portal search)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 00:55:00.000000

``catalog_search_synonyms``: a word a user types and a word it also finds (社保 → 社会保险).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_search_synonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=50), nullable=False),
        sa.Column("expansion", sa.String(length=50), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["people.id"],
            name=op.f("fk_catalog_search_synonyms_created_by_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_search_synonyms")),
        sa.UniqueConstraint(
            "word", "expansion", name=op.f("uq_catalog_search_synonyms_word_expansion")
        ),
    )
    op.create_index(
        op.f("ix_catalog_search_synonyms_word"), "catalog_search_synonyms", ["word"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_catalog_search_synonyms_word"), table_name="catalog_search_synonyms")
    op.drop_table("catalog_search_synonyms")
