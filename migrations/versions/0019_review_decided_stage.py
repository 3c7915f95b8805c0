"""Review entries record who decided them; publishing runs as a job; revisions carry their
search text

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 00:45:00.000000

A district bureau now reviews its departments' submissions before compiling them (Art. 12 ¶1):
it may return entries with a reason and forward the rest. ``decided_stage`` tells a return by
the district from a decision of the city; entries decided before are the city's.

``catalog_publications``: each request to publish the next version, run as a background job
with its stage and progress. ``catalog_revisions.search_terms``: a revision's segmented search
text, computed when it is submitted so that publishing a large version does not segment it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_review_entries") as batch:
        batch.add_column(sa.Column("decided_stage", sa.String(length=10), nullable=True))
    op.execute(
        "UPDATE catalog_review_entries SET decided_stage = 'city' WHERE decided_at IS NOT NULL"
    )
    with op.batch_alter_table("catalog_revisions") as batch:
        batch.add_column(sa.Column("search_terms", sa.JSON(), nullable=True))
    op.create_table(
        "catalog_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("requested_by_name", sa.String(length=64), nullable=False),
        sa.Column("requested_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", govdata.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", govdata.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["people.id"],
            name=op.f("fk_catalog_publications_requested_by_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_publications")),
    )
    with op.batch_alter_table("catalog_publications") as batch:
        batch.create_index(batch.f("ix_catalog_publications_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("catalog_publications") as batch:
        batch.drop_index(batch.f("ix_catalog_publications_status"))
    op.drop_table("catalog_publications")
    # Dropped in place (SQLite >= 3.35 can): a batch copy would drop and recreate
    # catalog_revisions, which the catalog's other tables reference, and fail on their rows.
    op.drop_column("catalog_revisions", "search_terms")
    op.drop_column("catalog_review_entries", "decided_stage")
