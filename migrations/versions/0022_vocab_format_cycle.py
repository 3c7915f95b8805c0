"""The city bureau's code lists gain 资源格式 and 更新周期 (issue 16)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 03:50:00.000000

Version 1 of ``resource_format`` and of ``update_cycle`` are the values the catalog had as fixed
values (the national guide's seven formats, the eight update cycles), so every stored value
stays valid. The update cycles' codes are fixed (the bureau relabels them; docs/decisions/0021).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import govdata.core.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values of ``govdata.catalog.vocab.ResourceFormat`` and ``UpdateCycle`` when this
# migration was written, with each list's default.
_LISTS = {
    "resource_format": (
        "spreadsheet",  # what the resource form offered first
        "平台原有的资源格式（政务信息资源目录编制指南）",
        [
            ("electronic_file", "电子文件"),
            ("spreadsheet", "电子表格"),
            ("database", "数据库"),
            ("image", "图形图像"),
            ("streaming", "流媒体"),
            ("self_describing", "自描述格式"),
            ("service_api", "服务接口"),
        ],
    ),
    "update_cycle": (
        "monthly",
        "平台原有的更新周期",
        [
            ("realtime", "实时"),
            ("daily", "每日"),
            ("weekly", "每周"),
            ("monthly", "每月"),
            ("quarterly", "每季度"),
            ("semiannual", "每半年"),
            ("annual", "每年"),
            ("irregular", "不定期"),
        ],
    ),
}

_versions = sa.table(
    "catalog_vocab_versions",
    sa.column("id", sa.Integer),
    sa.column("list_name", sa.String),
    sa.column("version", sa.Integer),
    sa.column("default_code", sa.String),
    sa.column("mapping", sa.JSON),
    sa.column("note", sa.Text),
    sa.column("created_by", sa.Integer),
    sa.column("created_at", govdata.core.db.UTCDateTime(timezone=True)),
)
_entries = sa.table(
    "catalog_vocab_entries",
    sa.column("version_id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("label", sa.String),
    sa.column("position", sa.Integer),
    sa.column("active", sa.Boolean),
)


def upgrade() -> None:
    bind = op.get_bind()
    for name, (default, note, entries) in _LISTS.items():
        version_id = bind.execute(
            sa.insert(_versions)
            .values(
                list_name=name,
                version=1,
                default_code=default,
                mapping={},
                note=note,
                created_by=None,
                created_at=datetime(2026, 12, 6, tzinfo=UTC),
            )
            .returning(_versions.c.id)
        ).scalar_one()
        op.bulk_insert(
            _entries,
            [
                {
                    "version_id": version_id,
                    "code": code,
                    "label": label,
                    "position": n,
                    "active": True,
                }
                for n, (code, label) in enumerate(entries, start=1)
            ],
        )


def downgrade() -> None:
    bind = op.get_bind()
    ids = sa.select(_versions.c.id).where(_versions.c.list_name.in_(list(_LISTS)))
    bind.execute(sa.delete(_entries).where(_entries.c.version_id.in_(ids)))
    bind.execute(sa.delete(_versions).where(_versions.c.list_name.in_(list(_LISTS))))
