"""A department's 需求清单 (Art. 12 ¶2) and 责任清单 (Art. 13) as Excel workbooks, as offices file
them (issue 16: every list a department keeps can be taken away and named after it). Read with
the same scope as their pages; text cells Excel-safe (``core.spreadsheet_safety``)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import demands, versions, vocabularies
from govdata.catalog.models import DemandStatus, Resource
from govdata.catalog.vocab import OpenType, ShareType, SubjectKind
from govdata.core.actor import Actor
from govdata.core.errors import NotFound
from govdata.core.pagination import MAX_LIMIT
from govdata.core.spreadsheet_safety import xlsx_row
from govdata.org import service as org_service
from govdata.org.models import Department

DEMAND_HEADER = [
    "需求名称",
    "需求描述",
    "所需信息项",
    "用途（履职依据）",
    "希望的提供方",
    "状态",
    "匹配资源代码",
    "匹配资源名称",
    "退回理由",
]
RESPONSIBILITY_HEADER = ["资源代码", "资源名称", "更新周期", "共享属性", "开放属性", "主体类型"]


def _label(enum: Any, value: str) -> str:
    member = enum.parse(value)
    return member.label if member is not None else value


def _workbook(
    title: str, header: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int]
) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    ws.freeze_panes = "A2"
    ws.append(xlsx_row(ws, header))
    for row in rows:
        ws.append(xlsx_row(ws, row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def demands_xlsx(session: Session, actor: Actor, department_id: int) -> tuple[Department, bytes]:
    """The department's demand list: what it needs from other departments, and where each
    request stands (Art. 12 ¶2)."""
    dept = org_service.get_department(session, actor, department_id)
    rows = []
    offset = 0
    while True:
        page = demands.list_demands(
            session, actor, department_id=dept.id, offset=offset, limit=MAX_LIMIT
        )
        rows.extend(page.items)
        offset += MAX_LIMIT
        if not page.has_next:
            break
    provider_ids = {d.provider_department_id for d in rows if d.provider_department_id}
    providers = dict(
        session.execute(
            select(Department.id, Department.name).where(Department.id.in_(provider_ids))
        ).all()
    )
    matched_ids = {d.matched_resource_id for d in rows if d.matched_resource_id}
    matched = {
        r.id: (r.code, r.name)
        for r in session.execute(
            select(Resource.id, Resource.code, Resource.name).where(Resource.id.in_(matched_ids))
        )
    }
    body = _workbook(
        "需求清单",
        DEMAND_HEADER,
        (
            [
                d.title,
                d.description,
                d.wanted_items,
                d.purpose,
                providers.get(d.provider_department_id or 0, ""),
                DemandStatus(d.status).label,
                *matched.get(d.matched_resource_id or 0, ("", "")),
                d.return_reason,
            ]
            for d in rows
        ),
        (30, 40, 30, 30, 24, 10, 22, 30, 30),
    )
    return dept, body


def responsibility_xlsx(
    session: Session, actor: Actor, department_id: int
) -> tuple[Department, int, bytes]:
    """The department's responsibility list in the published catalog (Art. 13): the resources
    it collects and keeps up to date. Returns the department, the version and the workbook."""
    rl = versions.responsibility_list(session, actor, department_id)
    cycles = vocabularies.current(session, vocabularies.UPDATE_CYCLE)
    # Published, like its page: any staff member reads any department's responsibility list.
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound("org.department_not_found", "未找到该部门。")
    body = _workbook(
        "责任清单",
        RESPONSIBILITY_HEADER,
        (
            [
                i.code,
                i.name,
                cycles.label_of(i.update_cycle),
                _label(ShareType, i.share_type),
                _label(OpenType, i.open_type),
                _label(SubjectKind, i.subject_kind),
            ]
            for i in rl.items
        ),
        (22, 36, 10, 12, 12, 10),
    )
    return dept, rl.version_number, body
