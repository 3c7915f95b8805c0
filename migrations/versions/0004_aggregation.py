"""Aggregation (Ch. 3): pools, loads, specifications, quality, base and thematic databases,
corrections; and on PostgreSQL the job queue's schema (procrastinate)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 05:00:00.000000

The data tables themselves (``pool_*``, ``base_*``, ``thematic_*``) are created at run time by
``govdata.aggregation``; ``migrations/env.py`` leaves them and procrastinate's tables out of
autogenerate's comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_PG = "postgresql"
_CURRENT_LOAD_FK = "fk_aggregation_pools_current_load_id_aggregation_loads"


def _current_load_fk() -> list[sa.ForeignKeyConstraint]:
    # Pools and loads refer to each other. SQLite takes the constraint inline (it resolves
    # references lazily); PostgreSQL gets it once both tables exist.
    if op.get_bind().dialect.name == _PG:
        return []
    return [
        sa.ForeignKeyConstraint(
            ["current_load_id"], ["aggregation_loads.id"], name=op.f(_CURRENT_LOAD_FK)
        )
    ]


def _procrastinate_schema() -> None:
    from procrastinate.schema import SchemaManager

    op.execute(SchemaManager.get_schema())


def _drop_procrastinate_schema() -> None:
    op.execute(
        "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
        "procrastinate_jobs, procrastinate_workers CASCADE"
    )
    op.execute(
        """
        DO $$
        DECLARE f record;
        BEGIN
          FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                   JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
          LOOP EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE'; END LOOP;
        END $$
        """
    )
    for t in (
        "procrastinate_job_to_defer_v1",
        "procrastinate_job_event_type",
        "procrastinate_job_status",
    ):
        op.execute(f"DROP TYPE IF EXISTS {t} CASCADE")


def upgrade() -> None:
    op.create_table(
        "aggregation_base_databases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("lead_department_id", sa.Integer(), nullable=False),
        sa.Column("key_name", sa.String(length=100), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("built_at", govdata.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_department_id"],
            ["departments.id"],
            name=op.f("fk_aggregation_base_databases_lead_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_base_databases")),
        sa.UniqueConstraint("kind", name=op.f("uq_aggregation_base_databases_kind")),
    )
    op.create_table(
        "aggregation_base_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source_resource_id", sa.Integer(), nullable=False),
        sa.Column("source_item", sa.String(length=100), nullable=False),
        sa.Column("defined_by", sa.Integer(), nullable=True),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_id"],
            ["aggregation_base_databases.id"],
            name=op.f("fk_aggregation_base_items_base_id_aggregation_base_databases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["defined_by"], ["people.id"], name=op.f("fk_aggregation_base_items_defined_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["source_resource_id"],
            ["catalog_resources.id"],
            name=op.f("fk_aggregation_base_items_source_resource_id_catalog_resources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_base_items")),
        sa.UniqueConstraint("base_id", "name", name=op.f("uq_aggregation_base_items_base_id_name")),
    )
    with op.batch_alter_table("aggregation_base_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_base_items_base_id"), ["base_id"], unique=False
        )

    op.create_table(
        "aggregation_item_specs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("item_name", sa.String(length=100), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("allowed_values", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resources.id"],
            name=op.f("fk_aggregation_item_specs_resource_id_catalog_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["people.id"], name=op.f("fk_aggregation_item_specs_updated_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_item_specs")),
        sa.UniqueConstraint(
            "resource_id", "item_name", name=op.f("uq_aggregation_item_specs_resource_id_item_name")
        ),
    )
    with op.batch_alter_table("aggregation_item_specs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_item_specs_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "aggregation_thematic_databases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=True),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("refreshed_at", govdata.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["people.id"],
            name=op.f("fk_aggregation_thematic_databases_created_by_people"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_aggregation_thematic_databases_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resources.id"],
            name=op.f("fk_aggregation_thematic_databases_resource_id_catalog_resources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_thematic_databases")),
        sa.UniqueConstraint(
            "department_id",
            "name",
            name=op.f("uq_aggregation_thematic_databases_department_id_name"),
        ),
    )
    with op.batch_alter_table("aggregation_thematic_databases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_thematic_databases_department_id"),
            ["department_id"],
            unique=False,
        )

    op.create_table(
        "aggregation_pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("update_cycle", sa.String(length=16), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("subject_column", sa.String(length=12), nullable=True),
        sa.Column("table_name", sa.String(length=63), nullable=True),
        sa.Column("current_load_id", sa.Integer(), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("loaded_at", govdata.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        *_current_load_fk(),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_aggregation_pools_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resources.id"],
            name=op.f("fk_aggregation_pools_resource_id_catalog_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["catalog_revisions.id"],
            name=op.f("fk_aggregation_pools_revision_id_catalog_revisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_pools")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_aggregation_pools_resource_id")),
    )
    with op.batch_alter_table("aggregation_pools", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_pools_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "aggregation_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("item_name", sa.String(length=100), nullable=False),
        sa.Column("current_value", sa.Text(), nullable=True),
        sa.Column("proposed_value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("applicant_kind", sa.String(length=12), nullable=False),
        sa.Column("applicant_department_id", sa.Integer(), nullable=True),
        sa.Column("applicant_person_id", sa.Integer(), nullable=True),
        sa.Column("applicant_name", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("due_provisional", sa.Boolean(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("original_due_on", sa.Date(), nullable=True),
        sa.Column("extended_by", sa.Integer(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by"],
            ["people.id"],
            name=op.f("fk_aggregation_corrections_answered_by_people"),
        ),
        sa.ForeignKeyConstraint(
            ["applicant_department_id"],
            ["departments.id"],
            name=op.f("fk_aggregation_corrections_applicant_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["applicant_person_id"],
            ["people.id"],
            name=op.f("fk_aggregation_corrections_applicant_person_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_aggregation_corrections_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["extended_by"],
            ["people.id"],
            name=op.f("fk_aggregation_corrections_extended_by_people"),
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["aggregation_pools.id"],
            name=op.f("fk_aggregation_corrections_pool_id_aggregation_pools"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_corrections")),
    )
    with op.batch_alter_table("aggregation_corrections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_corrections_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aggregation_corrections_pool_id"), ["pool_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aggregation_corrections_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aggregation_corrections_subject_key"), ["subject_key"], unique=False
        )

    op.create_table(
        "aggregation_loads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("policy", sa.String(length=12), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("encoding", sa.String(length=12), nullable=False),
        sa.Column("file_bytes", sa.BigInteger(), nullable=False),
        sa.Column("spool_path", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", govdata.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", govdata.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", govdata.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("rows_estimated", sa.BigInteger(), nullable=True),
        sa.Column("rows_loaded", sa.BigInteger(), nullable=False),
        sa.Column("rows_bad", sa.BigInteger(), nullable=False),
        sa.Column("duplicates_removed", sa.BigInteger(), nullable=False),
        sa.Column("problems_recorded", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("staging_table", sa.String(length=63), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_aggregation_loads_created_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_aggregation_loads_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["aggregation_pools.id"],
            name=op.f("fk_aggregation_loads_pool_id_aggregation_pools"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_loads")),
    )
    with op.batch_alter_table("aggregation_loads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_loads_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_aggregation_loads_pool_id"), ["pool_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_aggregation_loads_status"), ["status"], unique=False)

    op.create_table(
        "aggregation_base_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("authoritative_value", sa.Text(), nullable=True),
        sa.Column("other_value", sa.Text(), nullable=True),
        sa.Column("other_pool_id", sa.Integer(), nullable=False),
        sa.Column("other_load_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("detected_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", govdata.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_id"],
            ["aggregation_base_databases.id"],
            name=op.f("fk_aggregation_base_conflicts_base_id_aggregation_base_databases"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["aggregation_base_items.id"],
            name=op.f("fk_aggregation_base_conflicts_item_id_aggregation_base_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["other_load_id"],
            ["aggregation_loads.id"],
            name=op.f("fk_aggregation_base_conflicts_other_load_id_aggregation_loads"),
        ),
        sa.ForeignKeyConstraint(
            ["other_pool_id"],
            ["aggregation_pools.id"],
            name=op.f("fk_aggregation_base_conflicts_other_pool_id_aggregation_pools"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["people.id"],
            name=op.f("fk_aggregation_base_conflicts_resolved_by_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_base_conflicts")),
    )
    with op.batch_alter_table("aggregation_base_conflicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_base_conflicts_base_id"), ["base_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aggregation_base_conflicts_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aggregation_base_conflicts_subject_key"), ["subject_key"], unique=False
        )

    op.create_table(
        "aggregation_load_problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.BigInteger(), nullable=False),
        sa.Column("column", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["load_id"],
            ["aggregation_loads.id"],
            name=op.f("fk_aggregation_load_problems_load_id_aggregation_loads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_load_problems")),
    )
    with op.batch_alter_table("aggregation_load_problems", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_load_problems_load_id"), ["load_id"], unique=False
        )

    op.create_table(
        "aggregation_quality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("measured_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("completeness", sa.Float(), nullable=False),
        sa.Column("validity", sa.Float(), nullable=False),
        sa.Column("uniqueness", sa.Float(), nullable=False),
        sa.Column("consistency", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_aggregation_quality_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["load_id"],
            ["aggregation_loads.id"],
            name=op.f("fk_aggregation_quality_load_id_aggregation_loads"),
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["aggregation_pools.id"],
            name=op.f("fk_aggregation_quality_pool_id_aggregation_pools"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_quality")),
    )
    with op.batch_alter_table("aggregation_quality", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_quality_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aggregation_quality_pool_id"), ["pool_id"], unique=False
        )

    op.create_table(
        "aggregation_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["load_id"],
            ["aggregation_loads.id"],
            name=op.f("fk_aggregation_quarantine_load_id_aggregation_loads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_quarantine")),
    )
    with op.batch_alter_table("aggregation_quarantine", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aggregation_quarantine_load_id"), ["load_id"], unique=False
        )

    if op.get_bind().dialect.name == _PG:
        op.create_foreign_key(
            op.f(_CURRENT_LOAD_FK),
            "aggregation_pools",
            "aggregation_loads",
            ["current_load_id"],
            ["id"],
        )
        _procrastinate_schema()


def downgrade() -> None:
    if op.get_bind().dialect.name == _PG:
        _drop_procrastinate_schema()
        op.drop_constraint(op.f(_CURRENT_LOAD_FK), "aggregation_pools", type_="foreignkey")
    with op.batch_alter_table("aggregation_quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_quarantine_load_id"))

    op.drop_table("aggregation_quarantine")
    with op.batch_alter_table("aggregation_quality", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_quality_pool_id"))
        batch_op.drop_index(batch_op.f("ix_aggregation_quality_department_id"))

    op.drop_table("aggregation_quality")
    with op.batch_alter_table("aggregation_load_problems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_load_problems_load_id"))

    op.drop_table("aggregation_load_problems")
    with op.batch_alter_table("aggregation_base_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_base_conflicts_subject_key"))
        batch_op.drop_index(batch_op.f("ix_aggregation_base_conflicts_status"))
        batch_op.drop_index(batch_op.f("ix_aggregation_base_conflicts_base_id"))

    op.drop_table("aggregation_base_conflicts")
    with op.batch_alter_table("aggregation_loads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_loads_status"))
        batch_op.drop_index(batch_op.f("ix_aggregation_loads_pool_id"))
        batch_op.drop_index(batch_op.f("ix_aggregation_loads_department_id"))

    op.drop_table("aggregation_loads")
    with op.batch_alter_table("aggregation_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_corrections_subject_key"))
        batch_op.drop_index(batch_op.f("ix_aggregation_corrections_status"))
        batch_op.drop_index(batch_op.f("ix_aggregation_corrections_pool_id"))
        batch_op.drop_index(batch_op.f("ix_aggregation_corrections_department_id"))

    op.drop_table("aggregation_corrections")
    with op.batch_alter_table("aggregation_pools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_pools_department_id"))

    op.drop_table("aggregation_pools")
    with op.batch_alter_table("aggregation_thematic_databases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_thematic_databases_department_id"))

    op.drop_table("aggregation_thematic_databases")
    with op.batch_alter_table("aggregation_item_specs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_item_specs_resource_id"))

    op.drop_table("aggregation_item_specs")
    with op.batch_alter_table("aggregation_base_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aggregation_base_items_base_id"))

    op.drop_table("aggregation_base_items")
    op.drop_table("aggregation_base_databases")
