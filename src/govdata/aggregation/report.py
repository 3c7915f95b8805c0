"""A load's report: counts, and for each bad row its row number, item, code and zh-CN message.

Downloadable as xlsx (a summary sheet, the problems, the quarantined rows as read) and printed
as JSON by ``govdata pool load --json`` and the API.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.aggregation import traces
from govdata.aggregation.loading import get_load
from govdata.aggregation.models import (
    BadRowPolicy,
    Load,
    LoadMode,
    LoadProblem,
    LoadStatus,
    Pool,
    QuarantinedRow,
)
from govdata.core.actor import Actor
from govdata.core.spreadsheet_safety import xlsx_row

XLSX_MAX_ROWS = 1_000_000  # a sheet holds 1,048,576 rows


@dataclass(frozen=True)
class ProblemOut:
    row: int
    column: str
    code: str
    message: str
    value: str
    kind: str


def summary(session: Session, load: Load) -> dict[str, Any]:
    pool = session.get(Pool, load.pool_id)
    assert pool is not None
    return {
        "load_id": load.id,
        "resource_code": pool.code,
        "resource_name": pool.name,
        "status": load.status,
        "status_label": LoadStatus(load.status).label,
        "policy": load.policy,
        "mode": load.mode,
        "file": load.filename,
        "format": load.file_format,
        "encoding": load.encoding,
        "rows_read": load.rows_read,
        "rows_loaded": load.rows_loaded,
        "rows_bad": load.rows_bad,
        "duplicates_removed": load.duplicates_removed,
        "error": (
            {"code": load.error_code, "message": load.error_message} if load.error_code else None
        ),
        "quality": load.quality or None,
        "started_at": load.started_at.isoformat() if load.started_at else None,
        "finished_at": load.finished_at.isoformat() if load.finished_at else None,
    }


def problems(
    session: Session, actor: Actor, load_id: int, *, offset: int = 0, limit: int = 1000
) -> tuple[list[ProblemOut], int]:
    load = get_load(session, actor, load_id)
    total = int(
        session.scalar(
            select(func.count()).select_from(LoadProblem).where(LoadProblem.load_id == load.id)
        )
        or 0
    )
    rows = session.scalars(
        select(LoadProblem)
        .where(LoadProblem.load_id == load.id)
        .order_by(LoadProblem.row_number, LoadProblem.id)
        .offset(offset)
        .limit(limit)
    )
    listed = [ProblemOut(p.row_number, p.column, p.code, p.message, p.value, p.kind) for p in rows]
    if listed:  # the problems carry the values read (Art. 40): recorded when any is shown
        pool = session.get(Pool, load.pool_id)
        assert pool is not None
        traces.pool_read(
            session,
            actor,
            "aggregation.load_problems.read",
            pool,
            rows=len(listed),
            object_type="load",
            object_id=load.id,
            fields=sorted({p.column for p in listed}),
        )
    return listed, total


def as_json(session: Session, actor: Actor, load_id: int, *, limit: int = 1000) -> dict[str, Any]:
    load = get_load(session, actor, load_id)
    listed, total = problems(session, actor, load_id, limit=limit)
    out = summary(session, load)
    out["problems"] = [asdict(p) for p in listed]
    out["problems_total"] = total
    out["problems_more"] = max(0, total - len(listed))
    return out


def xlsx(session: Session, actor: Actor, load_id: int) -> bytes:
    """The report as a workbook (write-only: streams rows, whatever their number). Every row
    goes through ``xlsx_row``: the values are the loaded file's, never a live formula (Art. 39).
    The download is recorded with the problem and quarantined rows it holds (Art. 40)."""
    load = get_load(session, actor, load_id)
    info = summary(session, load)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("概况")
    ws.append(xlsx_row(ws, ["项目", "内容"]))
    for label, value in (
        ("资源代码", info["resource_code"]),
        ("资源名称", info["resource_name"]),
        ("文件", info["file"]),
        ("状态", info["status_label"]),
        ("加载方式", LoadMode(load.mode).label),
        ("错误行处理", BadRowPolicy(load.policy).label),
        ("读取行数", load.rows_read),
        ("加载行数", load.rows_loaded),
        ("错误行数", load.rows_bad),
        ("去重行数", load.duplicates_removed),
        ("说明", load.error_message or ""),
    ):
        ws.append(xlsx_row(ws, [label, value]))
    ws = wb.create_sheet("问题清单")
    ws.column_dimensions["A"].width = 10
    ws.column_dimensions["B"].width = 20
    ws.column_dimensions["C"].width = 36
    ws.column_dimensions["D"].width = 60
    ws.column_dimensions["E"].width = 30
    ws.append(xlsx_row(ws, ["行号", "信息项", "问题代码", "问题说明", "原值", "类别"]))
    result = session.execute(
        select(
            LoadProblem.row_number,
            LoadProblem.column,
            LoadProblem.code,
            LoadProblem.message,
            LoadProblem.value,
            LoadProblem.kind,
        )
        .where(LoadProblem.load_id == load.id)
        .order_by(LoadProblem.row_number, LoadProblem.id)
        .limit(XLSX_MAX_ROWS)
        .execution_options(yield_per=10_000)
    )
    shown = 0
    for r in result:
        ws.append(
            xlsx_row(ws, [r[0], r[1], r[2], r[3], r[4], "已清洗" if r[5] == "cleaned" else "错误"])
        )
        shown += 1
    quarantined = session.execute(
        select(QuarantinedRow.row_number, QuarantinedRow.data)
        .where(QuarantinedRow.load_id == load.id)
        .order_by(QuarantinedRow.row_number)
        .limit(XLSX_MAX_ROWS)
        .execution_options(yield_per=10_000)
    )
    ws = wb.create_sheet("隔离数据")
    header: list[str] | None = None
    for number, data in quarantined:
        if header is None:
            header = list(data)
            ws.append(xlsx_row(ws, ["行号", *header]))
        ws.append(xlsx_row(ws, [number, *[data.get(h) for h in header]]))
        shown += 1
    pool = session.get(Pool, load.pool_id)
    assert pool is not None
    traces.pool_read(
        session,
        actor,
        "aggregation.load_report.download",
        pool,
        rows=shown,
        object_type="load",
        object_id=load.id,
        fields=header or [],
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
