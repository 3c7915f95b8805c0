"""Sign-in throttle: failed sign-ins counted per username typed (Art. 39 访问认证)

Failed sign-ins are access records (``action='auth.sign_in'``, ``outcome='refused'``,
``object_id`` = the username as typed). The throttle counts them per address (the existing
``ix_access_records_address_at``) and per username: this index serves the latter, so that the
count reads the last minutes of one username instead of every sign-in record ever made.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_access_records_action_object_at", "access_records", ["action", "object_id", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_access_records_action_object_at", table_name="access_records")
