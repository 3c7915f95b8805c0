"""The usage records as an xlsx workbook (共享调用记录导出; Art. 40, 41, 49).

The filtered records of the usage page (``usage.statement``: the same scope and filter), newest
first, at most ``EXPORT_MAX_ROWS``: openpyxl (without lxml) writes about 5,000 rows of 15
cells a second on the reference machine, so a bigger file would hold a request for minutes;
the first sheet states the total and asks for a narrower range when the cap cut it. Every
row goes through ``core.spreadsheet_safety.xlsx_row`` (Art. 39). No subject is exported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any

from sqlalchemy.orm import Session

from govdata.core.access import record_access
from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.sharing import policy, usage

EXPORT_MAX_ROWS = 20_000

EXPORT_HEADER = [
    "记录编号",
    "时间（北京时间）",
    "调用方式",
    "使用部门",
    "调用系统",
    "提供部门",
    "数据资源代码",
    "数据资源名称",
    "授权编号",
    "声明用途",
    "信息项",
    "返回行数",
    "涉及个人",
    "结果",
    "拒绝原因",
]


def _export_rows(
    session: Session, actor: Actor, f: usage.UsageFilter, today: date | None
) -> Iterator[list[Any]]:
    stmt = usage.statement(actor, f, today).limit(EXPORT_MAX_ROWS)
    batch: list[Any] = []
    for record in session.execute(stmt.execution_options(yield_per=2000)):
        batch.append(record)
        if len(batch) == 2000:
            yield from (_export_row(r) for r in usage.as_records(session, batch))
            batch = []
    yield from (_export_row(r) for r in usage.as_records(session, batch))


def _export_row(r: usage.UsageRecord) -> list[Any]:
    return [
        r.id,
        r.at.astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        r.action_label,
        r.requester,
        r.system,
        r.provider,
        r.source,
        r.source_name,
        r.grant_id,
        r.purpose,
        "、".join(r.fields),
        r.rows,
        "是" if r.personal else "否",
        r.outcome_label,
        f"{r.reason} {r.reason_label}".strip() if r.outcome == "refused" else "",
    ]


@dataclass(frozen=True)
class Export:
    content: bytes
    rows: int
    total: int

    @property
    def capped(self) -> bool:
        return self.total > self.rows


def export_xlsx(
    session: Session, actor: Actor, f: usage.UsageFilter, *, today: date | None = None
) -> Export:
    """The filtered records as a workbook, newest first, at most ``EXPORT_MAX_ROWS`` (a note in
    the first sheet says when more matched). Every text cell goes through ``xlsx_row``: a
    purpose or a system's name typed as ``=…`` is text, never a live formula (Art. 39). The
    download itself leaves an access record (Art. 40)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    from govdata.core.spreadsheet_safety import xlsx_row

    policy.require_view_usage(actor)
    since, until = f.period(today)
    total = usage.count(session, actor, f, today)
    wb = Workbook(write_only=True)
    about = wb.create_sheet("说明")
    about.append(xlsx_row(about, ["项目", "内容"]))
    about.append(
        xlsx_row(about, ["期间（北京时间）", f"{since.isoformat()} 至 {until.isoformat()}"])
    )
    about.append(xlsx_row(about, ["符合条件的调用记录", total]))
    shown = min(total, EXPORT_MAX_ROWS)
    about.append(xlsx_row(about, ["本文件包含", shown]))
    if total > EXPORT_MAX_ROWS:
        about.append(
            xlsx_row(
                about,
                [
                    "注意",
                    f"记录超过 {EXPORT_MAX_ROWS} 条，仅导出最新的 {EXPORT_MAX_ROWS} 条；"
                    "请缩小日期范围或增加筛选条件后分批导出。",
                ],
            )
        )
    about.append(
        xlsx_row(about, ["说明", "调用记录不含被查询对象的身份号码等主体标识（第四十条）。"])
    )
    ws = wb.create_sheet("调用记录")
    ws.append(xlsx_row(ws, EXPORT_HEADER))
    written = 0
    for row in _export_rows(session, actor, f, today):
        ws.append(xlsx_row(ws, row))
        written += 1
    buffer = BytesIO()
    wb.save(buffer)
    record_access(
        session,
        actor,
        "sharing.usage.export",
        object_type="access_records",
        object_id="sharing",
        rows=written,
        fields=[k for k in f.query() if k not in ("since", "until")],
    )
    return Export(buffer.getvalue(), written, total)
