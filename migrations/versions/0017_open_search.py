"""Open catalog search index (search speed for the portal and ``package_search``)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 22:10:00.000000

``open_search_keys``: one row per (kind, term, dataset): a jieba token of the dataset's text
(``t``), a tag (``k``), its theme (``g``), department code (``d``), format (``f``), open type
(``o``) or update cycle (``u``), and one packing all its facet values (``x``). A query term or a tag/theme filter is then an
index lookup on both engines instead of a substring scan of every dataset's text. Beside it,
``ix_open_datasets_rank`` lets a match's sort keys (modified, downloads) be read from an index.
Datasets already synced get their keys here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open_search_keys",
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("term", sa.String(length=255), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["open_datasets.id"],
            name=op.f("fk_open_search_keys_dataset_id_open_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kind", "term", "dataset_id", name=op.f("pk_open_search_keys")),
    )
    with op.batch_alter_table("open_search_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_open_search_keys_dataset", ["dataset_id", "kind", "term"], unique=False
        )
    with op.batch_alter_table("open_datasets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_open_datasets_rank",
            ["id", "withdrawn", "metadata_modified", "downloads"],
            unique=False,
        )
    from govdata.opendata.search_index import rebuild

    with Session(bind=op.get_bind()) as session:
        rebuild(session)
        session.flush()


def downgrade() -> None:
    with op.batch_alter_table("open_datasets", schema=None) as batch_op:
        batch_op.drop_index("ix_open_datasets_rank")
    with op.batch_alter_table("open_search_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_open_search_keys_dataset")
    op.drop_table("open_search_keys")
