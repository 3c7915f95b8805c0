"""Obligations register: every running statutory clock is a row (Art. 14, 19; Art. 50(8))

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 09:00:00.000000

The clocks that already exist are entered as they stand: catalog changes waiting for an update
application (Art. 14 ¶1), update applications waiting for the city bureau's review (Art. 14 ¶2)
and corrections (Art. 19 ¶2), answered ones included, so that supervision sees their history.
Titles follow the ones the services write (``catalog.updates``, ``aggregation`` corrections);
who answered is known for a change (its application's submitter) and a correction, not for a
review (the city bureau's reviewers decide entry by entry).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Art. 14 ¶1: a department applies within 10 working days of a change of law or functions.
_CHANGES = """
INSERT INTO obligations (
    kind, article, title, subject_type, subject_id, department_id, region_id, started_on,
    working_days, due_on, provisional, extension_reason, extension_days, extended_by,
    original_due_on, answered_on, answered_by, overdue, created_at
)
SELECT 'catalog.law_change', '第十四条第一款',
       substr(d.name || '：' || CASE c.kind WHEN 'law' THEN '法律法规修改' ELSE '行政管理职能变更' END
              || '“' || c.description || '”', 1, 200),
       'catalog_change', c.id, c.department_id, d.region_id, c.occurred_on,
       10, c.apply_due, c.apply_due_provisional, '', 0, NULL,
       NULL, c.applied_on, s.submitted_by,
       CASE WHEN c.applied_on > c.apply_due OR (c.applied_on IS NULL AND c.apply_due < :today)
            THEN true ELSE false END,
       :now
FROM catalog_changes c
JOIN departments d ON d.id = c.department_id
LEFT JOIN catalog_submissions s ON s.id = c.submission_id
"""

# Art. 14 ¶2: the city bureau reviews an update application within 5 working days of receipt.
_REVIEWS = """
INSERT INTO obligations (
    kind, article, title, subject_type, subject_id, department_id, region_id, started_on,
    working_days, due_on, provisional, extension_reason, extension_days, extended_by,
    original_due_on, answered_on, answered_by, overdue, created_at
)
SELECT 'catalog.update_application', '第十四条第二款',
       substr(d.name || '的第' || CAST(s.id AS VARCHAR(20)) || '号目录更新申请', 1, 200),
       'submission', s.id, CAST(:bureau AS INTEGER), CAST(:city AS INTEGER), s.received_on,
       5, s.review_due, s.review_due_provisional, '', 0, NULL,
       NULL, s.closed_on, NULL,
       CASE WHEN s.closed_on > s.review_due OR (s.closed_on IS NULL AND s.review_due < :today)
            THEN true ELSE false END,
       :now
FROM catalog_submissions s JOIN departments d ON d.id = s.department_id
WHERE s.review_due IS NOT NULL AND s.received_on IS NOT NULL
"""

# Art. 19 ¶2: the providing department answers a correction within 10 working days.
_CORRECTIONS = """
INSERT INTO obligations (
    kind, article, title, subject_type, subject_id, department_id, region_id, started_on,
    working_days, due_on, provisional, extension_reason, extension_days, extended_by,
    original_due_on, answered_on, answered_by, overdue, created_at
)
SELECT 'aggregation.correction', '第十九条第二款',
       substr('第' || CAST(c.id AS VARCHAR(20)) || '号校核申请：' || p.name || '的信息项“'
              || c.item_name || '”', 1, 200),
       'correction', c.id, c.department_id, d.region_id, c.received_on,
       10, c.due_on, c.due_provisional, c.extension_reason, c.extension_days, c.extended_by,
       c.original_due_on, c.answered_on, c.answered_by,
       CASE WHEN c.answered_on > c.due_on OR (c.answered_on IS NULL AND c.due_on < :today)
            THEN true ELSE false END,
       :now
FROM aggregation_corrections c
JOIN aggregation_pools p ON p.id = c.pool_id
JOIN departments d ON d.id = c.department_id
"""


def _backfill() -> None:
    conn = op.get_bind()
    city = conn.execute(sa.text("SELECT id FROM regions WHERE kind = 'city' ORDER BY id")).first()
    bureau = conn.execute(
        sa.text(
            "SELECT d.id FROM departments d JOIN regions r ON r.id = d.region_id "
            "WHERE r.kind = 'city' AND d.is_data_bureau ORDER BY d.id"
        )
    ).first()
    params = [
        sa.bindparam("today", datetime.now(ZoneInfo("Asia/Shanghai")).date(), type_=sa.Date()),
        sa.bindparam("now", datetime.now(UTC), type_=govdata.core.db.UTCDateTime()),
    ]
    conn.execute(sa.text(_CHANGES).bindparams(*params))
    conn.execute(
        sa.text(_REVIEWS).bindparams(
            *params,
            sa.bindparam("bureau", bureau[0] if bureau else None, type_=sa.Integer()),
            sa.bindparam("city", city[0] if city else None, type_=sa.Integer()),
        )
    )
    conn.execute(sa.text(_CORRECTIONS).bindparams(*params))


def upgrade() -> None:
    op.create_table(
        "obligations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("article", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("extension_requested_days", sa.Integer(), nullable=True),
        sa.Column("extension_requested_by", sa.Integer(), nullable=True),
        sa.Column("extension_requested_on", sa.Date(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("extended_by", sa.Integer(), nullable=True),
        sa.Column("extended_on", sa.Date(), nullable=True),
        sa.Column("original_due_on", sa.Date(), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("created_at", govdata.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligations")),
        sa.UniqueConstraint(
            "kind",
            "subject_type",
            "subject_id",
            name=op.f("uq_obligations_kind_subject_type_subject_id"),
        ),
    )
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_obligations_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_obligations_region_id"), ["region_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_obligations_overdue"), ["overdue"], unique=False)
        batch_op.create_index("ix_obligations_open_due", ["answered_on", "due_on"], unique=False)
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index("ix_obligations_open_due")
        batch_op.drop_index(batch_op.f("ix_obligations_overdue"))
        batch_op.drop_index(batch_op.f("ix_obligations_region_id"))
        batch_op.drop_index(batch_op.f("ix_obligations_department_id"))
    op.drop_table("obligations")
