"""A load's report: counts, and for each bad row its row number, item, code and zh-CN message.

Downloadable as xlsx (a summary sheet, the problems, the quarantined rows as read) and printed
as JSON by ``govdata pool load --json`` and the API.

The problem values and quarantined rows are the loaded file's data: auditors read their personal
items masked and reveal one row of a load only with a stated reason, audited (issue 16; Art. 41,
42, 49; ``aggregation.masking``), as on the pool page.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.aggregation import masking, policy, traces
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
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.errors import NotFound
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


def _pool(session: Session, load: Load) -> Pool:
    pool = session.get(Pool, load.pool_id)
    assert pool is not None
    return pool


def hidden_items(actor: Actor, pool: Pool) -> set[str]:
    """The items of the pool an actor reads masked in a load's report (auditors, issue 16)."""
    return set(masking.personal_columns(pool)) if policy.masks_personal(actor) else set()


def masked_items(session: Session, actor: Actor, load_id: int) -> list[str]:
    """The item names shown masked in the load's report to this actor (for the page's note)."""
    pool = _pool(session, get_load(session, actor, load_id))
    hidden = hidden_items(actor, pool)
    return [str(c["name"]) for c in pool.columns if c["name"] in hidden]


def problems(
    session: Session, actor: Actor, load_id: int, *, offset: int = 0, limit: int = 1000
) -> tuple[list[ProblemOut], int]:
    """A page of the load's problems; the values of personal items masked for auditors."""
    load = get_load(session, actor, load_id)
    pool = _pool(session, load)
    hidden = hidden_items(actor, pool)
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
    listed = [
        ProblemOut(
            p.row_number,
            p.column,
            p.code,
            p.message,
            masking.mask_if(p.value, p.column in hidden),
            p.kind,
        )
        for p in rows
    ]
    if listed:  # the problems carry the values read (Art. 40): recorded when any is shown
        traces.pool_read(
            session,
            actor,
            "aggregation.load_problems.read",
            pool,
            rows=len(listed),
            object_type="load",
            object_id=load.id,
            fields=sorted({p.column for p in listed if p.column not in hidden}),
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
    pool = _pool(session, load)
    hidden = hidden_items(actor, pool)
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
        value = masking.mask_if(r[4], r[1] in hidden)
        kind = "已清洗" if r[5] == "cleaned" else "错误"
        ws.append(xlsx_row(ws, [r[0], r[1], r[2], r[3], value, kind]))
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
        values = [masking.mask_if(data.get(h), h in hidden) for h in header]
        ws.append(xlsx_row(ws, [number, *values]))
        shown += 1
    traces.pool_read(
        session,
        actor,
        "aggregation.load_report.download",
        pool,
        rows=shown,
        object_type="load",
        object_id=load.id,
        fields=[h for h in header or [] if h not in hidden],
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class RevealedLoadRow:
    """One row of a load's report unmasked: its problems and, if quarantined, the row as read."""

    row: int
    problems: list[ProblemOut]
    data: dict[str, Any] | None
    reason: str
    items: list[str]  # the personal items it shows


def reveal_row(
    session: Session, actor: Actor, load_id: int, row_number: int, reason: str
) -> RevealedLoadRow:
    """One row of a load's problems and quarantined data unmasked, for an auditor who states
    why (issue 16; Art. 41, 42, 49): audited under the pool reveal's action, with the reason,
    and recorded as a read of the personal items (Art. 40)."""
    load = get_load(session, actor, load_id)
    policy.require_reveal(actor)
    why = masking.require_reason(reason)
    pool = _pool(session, load)
    found = [
        ProblemOut(p.row_number, p.column, p.code, p.message, p.value, p.kind)
        for p in session.scalars(
            select(LoadProblem)
            .where(LoadProblem.load_id == load.id, LoadProblem.row_number == row_number)
            .order_by(LoadProblem.id)
        )
    ]
    data = session.scalar(
        select(QuarantinedRow.data).where(
            QuarantinedRow.load_id == load.id, QuarantinedRow.row_number == row_number
        )
    )
    if not found and data is None:
        raise NotFound("aggregation.row_not_found", f"该次数据加载的报告中没有第 {row_number} 行。")
    hidden = hidden_items(actor, pool)
    shown = {p.column for p in found if p.value} | {k for k, v in (data or {}).items() if v}
    items = [str(c["name"]) for c in pool.columns if c["name"] in hidden and c["name"] in shown]
    audit.record(
        session,
        actor,
        "aggregation.pool_row.reveal",
        object_type="load",
        object_id=load.id,
        summary=f"{actor.name}查看了{pool.name}数据加载 #{load.id} 第 {row_number} 行"
        f"未遮盖的个人信息，理由：{why}",
        change={
            "pool_id": pool.id,
            "load_id": load.id,
            "row": row_number,
            "items": items,
            "reason": why,
        },
        department_id=pool.department_id,
    )
    masking.record_reveal_access(
        session,
        actor,
        object_type="load_row",
        object_id=f"{load.id}:{row_number}",
        department_id=pool.department_id,
        items=items,
        reason=why,
    )
    return RevealedLoadRow(row_number, found, dict(data) if data is not None else None, why, items)
