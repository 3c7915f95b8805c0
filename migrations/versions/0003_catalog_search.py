"""Catalog search index: FTS5 on SQLite, tsvector + GIN on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 04:00:00.000000

The index is not a model (``govdata.catalog.search`` reads and writes it; ``migrations/env.py``
leaves it out of autogenerate's comparison). Its text is jieba-segmented in Python and stored
space-joined, so neither engine needs a Chinese tokenizer:

* SQLite: ``catalog_search`` is an FTS5 virtual table (``unicode61``) with the columns name,
  items (info-item names) and abstract; its rowid is the revision id. Beside it,
  ``catalog_search_docs`` holds each indexed revision's code and filter columns.
* PostgreSQL: ``catalog_search`` holds the code and filter columns and ``document``, a tsvector
  built with the 'simple' configuration, under a GIN index.

Filters and facets read these narrow rows, never the matches' wide ``catalog_revisions`` rows.

A database that already has a published catalog gets its index filled here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _doc_columns() -> list[sa.Column[Any]]:
    """What filters, facets and the tie-break read: copies of the revision's own columns."""
    return [
        sa.Column("revision_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("share_type", sa.String(length=16), nullable=False),
        sa.Column("open_type", sa.String(length=16), nullable=False),
        sa.Column("update_cycle", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
    ]


def _keys(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["catalog_revisions.id"],
            name=op.f(f"fk_{table}_revision_id_catalog_revisions"),
        ),
        sa.PrimaryKeyConstraint("revision_id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    if _sqlite():
        op.execute(
            "CREATE VIRTUAL TABLE catalog_search "
            "USING fts5(name, items, abstract, tokenize = 'unicode61')"
        )
        op.create_table("catalog_search_docs", *_doc_columns(), *_keys("catalog_search_docs"))
    else:
        op.create_table(
            "catalog_search",
            *_doc_columns(),
            sa.Column("document", postgresql.TSVECTOR(), nullable=False),
            *_keys("catalog_search"),
        )
        op.create_index(
            "ix_catalog_search_document",
            "catalog_search",
            ["document"],
            postgresql_using="gin",
        )

    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM catalog_versions")).scalar():
        from govdata.catalog import search

        # Joins the migration's transaction; commit() only flushes, it never commits it.
        with Session(bind=bind) as session:
            search.rebuild(session)
            session.commit()


def downgrade() -> None:
    if _sqlite():
        op.drop_table("catalog_search_docs")
        op.execute("DROP TABLE catalog_search")  # a virtual table: drops FTS5's own tables too
    else:
        op.drop_index("ix_catalog_search_document", table_name="catalog_search")
        op.drop_table("catalog_search")
