"""Catalog (Ch. 2): resources, info items, lists, reviews, published versions, demands, changes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 03:00:49.879746
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_classifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_classifications")),
        sa.UniqueConstraint(
            "category", "path", name=op.f("uq_catalog_classifications_category_path")
        ),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_classifications_code")),
    )
    op.create_table(
        "catalog_resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("classification_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("format_subtype", sa.String(length=40), nullable=False),
        sa.Column("share_type", sa.String(length=16), nullable=False),
        sa.Column("share_conditions", sa.Text(), nullable=False),
        sa.Column("share_method", sa.String(length=100), nullable=False),
        sa.Column("open_type", sa.String(length=16), nullable=False),
        sa.Column("open_conditions", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("update_cycle", sa.String(length=16), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("related_codes", sa.JSON(), nullable=False),
        sa.Column("security_level", sa.String(length=16), nullable=False),
        sa.Column("usage_requirements", sa.Text(), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("published_revision_id", sa.Integer(), nullable=True),
        sa.Column("latest_revision_id", sa.Integer(), nullable=True),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["classification_id"],
            ["catalog_classifications.id"],
            name=op.f("fk_catalog_resources_classification_id_catalog_classifications"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_catalog_resources_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_resources")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_resources_code")),
    )
    with op.batch_alter_table("catalog_resources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_resources_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_resources_published_revision_id"),
            ["published_revision_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_catalog_resources_state"), ["state"], unique=False)

    op.create_table(
        "catalog_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("apply_due", sa.Date(), nullable=False),
        sa.Column("apply_due_provisional", sa.Boolean(), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_catalog_changes_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["people.id"], name=op.f("fk_catalog_changes_recorded_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_changes")),
    )
    with op.batch_alter_table("catalog_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_changes_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "catalog_demands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("wanted_items", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("provider_department_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("matched_resource_id", sa.Integer(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=False),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_catalog_demands_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["matched_resource_id"],
            ["catalog_resources.id"],
            name=op.f("fk_catalog_demands_matched_resource_id_catalog_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["departments.id"],
            name=op.f("fk_catalog_demands_provider_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_demands")),
    )
    with op.batch_alter_table("catalog_demands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_demands_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_catalog_demands_status"), ["status"], unique=False)

    op.create_table(
        "catalog_district_compilations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("compiled_by", sa.Integer(), nullable=True),
        sa.Column("compiled_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["compiled_by"],
            ["people.id"],
            name=op.f("fk_catalog_district_compilations_compiled_by_people"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["regions.id"],
            name=op.f("fk_catalog_district_compilations_region_id_regions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_district_compilations")),
    )
    with op.batch_alter_table("catalog_district_compilations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_district_compilations_region_id"), ["region_id"], unique=False
        )

    op.create_table(
        "catalog_info_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("data_type", sa.String(length=1), nullable=False),
        sa.Column("length", sa.Integer(), nullable=True),
        sa.Column("share_type", sa.String(length=16), nullable=False),
        sa.Column("open_type", sa.String(length=16), nullable=False),
        sa.Column("is_subject_key", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resources.id"],
            name=op.f("fk_catalog_info_items_resource_id_catalog_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_info_items")),
        sa.UniqueConstraint(
            "resource_id", "name", name=op.f("uq_catalog_info_items_resource_id_name")
        ),
    )
    with op.batch_alter_table("catalog_info_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_info_items_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "catalog_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("classification_code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("share_type", sa.String(length=16), nullable=False),
        sa.Column("open_type", sa.String(length=16), nullable=False),
        sa.Column("update_cycle", sa.String(length=16), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_catalog_revisions_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_catalog_revisions_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resources.id"],
            name=op.f("fk_catalog_revisions_resource_id_catalog_resources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_revisions")),
        sa.UniqueConstraint(
            "resource_id", "number", name=op.f("uq_catalog_revisions_resource_id_number")
        ),
    )
    with op.batch_alter_table("catalog_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_revisions_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            "ix_catalog_revisions_filters", ["share_type", "open_type"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_revisions_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "catalog_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("published_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("resource_count", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["published_by"], ["people.id"], name=op.f("fk_catalog_versions_published_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
        sa.UniqueConstraint("number", name=op.f("uq_catalog_versions_number")),
    )
    op.create_table(
        "catalog_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("submitted_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("compilation_id", sa.Integer(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("is_update", sa.Boolean(), nullable=False),
        sa.Column("review_due", sa.Date(), nullable=True),
        sa.Column("review_due_provisional", sa.Boolean(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["catalog_changes.id"],
            name=op.f("fk_catalog_submissions_change_id_catalog_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["compilation_id"],
            ["catalog_district_compilations.id"],
            name=op.f("fk_catalog_submissions_compilation_id_catalog_district_compilations"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_catalog_submissions_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_catalog_submissions_region_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"], ["people.id"], name=op.f("fk_catalog_submissions_submitted_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_submissions")),
    )
    with op.batch_alter_table("catalog_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_submissions_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_submissions_region_id"), ["region_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_catalog_submissions_status"), ["status"], unique=False)

    op.create_table(
        "catalog_version_members",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resources.id"],
            name=op.f("fk_catalog_version_members_resource_id_catalog_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["catalog_revisions.id"],
            name=op.f("fk_catalog_version_members_revision_id_catalog_revisions"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_versions.id"],
            name=op.f("fk_catalog_version_members_version_id_catalog_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "version_id", "resource_id", name=op.f("pk_catalog_version_members")
        ),
    )
    op.create_table(
        "catalog_review_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("demand_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", govdata.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["people.id"], name=op.f("fk_catalog_review_entries_decided_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["catalog_demands.id"],
            name=op.f("fk_catalog_review_entries_demand_id_catalog_demands"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resources.id"],
            name=op.f("fk_catalog_review_entries_resource_id_catalog_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["catalog_revisions.id"],
            name=op.f("fk_catalog_review_entries_revision_id_catalog_revisions"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["catalog_submissions.id"],
            name=op.f("fk_catalog_review_entries_submission_id_catalog_submissions"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_versions.id"],
            name=op.f("fk_catalog_review_entries_version_id_catalog_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_review_entries")),
    )
    with op.batch_alter_table("catalog_review_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_review_entries_demand_id"), ["demand_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_review_entries_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_review_entries_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_review_entries_submission_id"), ["submission_id"], unique=False
        )

    # Foreign keys between tables that refer to each other, added once both exist.
    with op.batch_alter_table("catalog_resources", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_catalog_resources_latest_revision_id_catalog_revisions"),
            "catalog_revisions",
            ["latest_revision_id"],
            ["id"],
        )
    with op.batch_alter_table("catalog_resources", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_catalog_resources_published_revision_id_catalog_revisions"),
            "catalog_revisions",
            ["published_revision_id"],
            ["id"],
        )
    with op.batch_alter_table("catalog_changes", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_catalog_changes_submission_id_catalog_submissions"),
            "catalog_submissions",
            ["submission_id"],
            ["id"],
        )


def downgrade() -> None:
    # Break the cycles first.
    with op.batch_alter_table("catalog_resources", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_catalog_resources_latest_revision_id_catalog_revisions"),
            type_="foreignkey",
        )
    with op.batch_alter_table("catalog_resources", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_catalog_resources_published_revision_id_catalog_revisions"),
            type_="foreignkey",
        )
    with op.batch_alter_table("catalog_changes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_catalog_changes_submission_id_catalog_submissions"), type_="foreignkey"
        )
    with op.batch_alter_table("catalog_review_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_review_entries_submission_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_review_entries_status"))
        batch_op.drop_index(batch_op.f("ix_catalog_review_entries_resource_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_review_entries_demand_id"))

    op.drop_table("catalog_review_entries")
    op.drop_table("catalog_version_members")
    with op.batch_alter_table("catalog_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_submissions_status"))
        batch_op.drop_index(batch_op.f("ix_catalog_submissions_region_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_submissions_department_id"))

    op.drop_table("catalog_submissions")
    op.drop_table("catalog_versions")
    with op.batch_alter_table("catalog_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_revisions_resource_id"))
        batch_op.drop_index("ix_catalog_revisions_filters")
        batch_op.drop_index(batch_op.f("ix_catalog_revisions_department_id"))

    op.drop_table("catalog_revisions")
    with op.batch_alter_table("catalog_info_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_info_items_resource_id"))

    op.drop_table("catalog_info_items")
    with op.batch_alter_table("catalog_district_compilations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_district_compilations_region_id"))

    op.drop_table("catalog_district_compilations")
    with op.batch_alter_table("catalog_demands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_demands_status"))
        batch_op.drop_index(batch_op.f("ix_catalog_demands_department_id"))

    op.drop_table("catalog_demands")
    with op.batch_alter_table("catalog_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_changes_department_id"))

    op.drop_table("catalog_changes")
    with op.batch_alter_table("catalog_resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_resources_state"))
        batch_op.drop_index(batch_op.f("ix_catalog_resources_published_revision_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_resources_department_id"))

    op.drop_table("catalog_resources")
    op.drop_table("catalog_classifications")
