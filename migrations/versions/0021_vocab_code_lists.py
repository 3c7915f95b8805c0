"""Code lists the city bureau maintains (安全级别 first), versioned, with mapping of old values

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 01:10:00.000000

``catalog_vocab_versions`` (a list's version: its default code and the mapping of the codes it
retires) and ``catalog_vocab_entries`` (its codes: label, order, active). The security levels
the catalog had as fixed values (公开/内部/敏感/受限) are version 1 of ``security_level``, so
every stored value stays valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values of ``govdata.catalog.vocab.SecurityLevel`` when this migration was written.
_SECURITY_V1 = [
    ("public", "公开"),
    ("internal", "内部"),
    ("sensitive", "敏感"),
    ("restricted", "受限"),
]


def upgrade() -> None:
    versions = op.create_table(
        "catalog_vocab_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("default_code", sa.String(length=32), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_catalog_vocab_versions_created_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_vocab_versions")),
        sa.UniqueConstraint(
            "list_name", "version", name=op.f("uq_catalog_vocab_versions_list_name_version")
        ),
    )
    entries = op.create_table(
        "catalog_vocab_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=50), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_vocab_versions.id"],
            name=op.f("fk_catalog_vocab_entries_version_id_catalog_vocab_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_vocab_entries")),
        sa.UniqueConstraint(
            "version_id", "code", name=op.f("uq_catalog_vocab_entries_version_id_code")
        ),
    )
    op.create_index(
        op.f("ix_catalog_vocab_entries_version_id"),
        "catalog_vocab_entries",
        ["version_id"],
        unique=False,
    )
    op.bulk_insert(
        versions,
        [
            {
                "id": 1,
                "list_name": "security_level",
                "version": 1,
                "default_code": "internal",
                "mapping": {},
                "note": "平台原有的安全级别",
                "created_by": None,
                "created_at": datetime(2026, 12, 6, tzinfo=UTC),
            }
        ],
    )
    op.bulk_insert(
        entries,
        [
            {"version_id": 1, "code": code, "label": label, "position": n, "active": True}
            for n, (code, label) in enumerate(_SECURITY_V1, start=1)
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        # The seeded row's explicit id: the sequence continues after it.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('catalog_vocab_versions', 'id'), "
            "(SELECT max(id) FROM catalog_vocab_versions))"
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_catalog_vocab_entries_version_id"), table_name="catalog_vocab_entries")
    op.drop_table("catalog_vocab_entries")
    op.drop_table("catalog_vocab_versions")
