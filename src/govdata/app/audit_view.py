"""The audit trail as auditors read it (Art. 41, 42, 49): zh-CN names of actions and objects,
the filter by those names, and the export of what the filter shows (xlsx, CSV), itself audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.audit import AuditEvent
from govdata.core.audit_labels import (
    ACTION_LABELS,
    DOMAIN_LABELS,
    OBJECT_LABELS,
    action_label,
    actions_named,
    object_label,
)
from govdata.core.audit_query import BEIJING, AuditFilter, filtered, require_view_audit
from govdata.core.errors import InvalidInput
from govdata.core.spreadsheet_safety import csv_row, xlsx_row
from govdata.org.models import Department, Person, PersonKind, Region

# Rows in one export; more: narrow the filter. openpyxl writes ~2,000 rows a second on the
# shared demo machine, so an xlsx of the limit takes tens of seconds, not minutes.
EXPORT_LIMIT = 50_000
EXPORT_FORMATS = ("xlsx", "csv")
HEADER = [
    "序号",
    "时间（北京时间）",
    "操作人",
    "操作",
    "操作代码",
    "对象",
    "对象类型代码",
    "对象编号",
    "摘要",
    "哈希",
]


def audit_filter(
    *,
    action: str | None,
    actor_name: str | None,
    object_type: str | None,
    since: date | None,
    until: date | None,
) -> AuditFilter:
    """The page's filter: ``action`` is a code chosen from the list (exact), an area
    (``auth.``, every action in it), a code typed by hand (its prefix, as the API reads it),
    or a zh-CN name ("登录": every action whose name contains it)."""
    text = (action or "").strip()
    prefix: str | None = None
    exact: tuple[str, ...] | None = None
    if text in ACTION_LABELS:
        exact = (text,)
    elif text.isascii():
        prefix = text or None
    else:
        exact = tuple(actions_named(text))
    return AuditFilter(
        action=prefix,
        actor_name=(actor_name or "").strip() or None,
        object_type=object_type or None,
        since=since,
        until=until,
        actions=exact,
    )


def describe(f: AuditFilter, action_text: str | None = None) -> str:
    """The filter in words, for the export's audit record and the file's first sheet."""
    parts: list[str] = []
    if action_text:
        parts.append(f"操作：{ACTION_LABELS.get(action_text) or _area(action_text)}")
    if f.actor_name:
        parts.append(f"操作人：{f.actor_name}")
    if f.object_type:
        parts.append(f"对象类型：{object_label(f.object_type)}")
    if f.since:
        parts.append(f"起始：{f.since.isoformat()}")
    if f.until:
        parts.append(f"截止：{f.until.isoformat()}")
    return "；".join(parts) or "全部事件"


def _area(text: str) -> str:
    if text.endswith(".") and text[:-1] in DOMAIN_LABELS:
        return f"{DOMAIN_LABELS[text[:-1]]}（全部）"
    return text


@dataclass(frozen=True)
class Row:
    """One event as the page and the export show it."""

    event: AuditEvent
    action: str  # zh-CN name
    object: str  # "人员 张三" / "目录资源 #12"


def object_names(session: Session, events: Iterable[AuditEvent]) -> dict[tuple[str, str], str]:
    """Names of the events' people (staff only: a member of the public stays a number),
    departments and regions, read in one query per kind."""
    wanted: dict[str, set[int]] = {"person": set(), "department": set(), "region": set()}
    for e in events:
        if e.object_type in wanted and e.object_id.isdigit():
            wanted[e.object_type].add(int(e.object_id))
    names: dict[tuple[str, str], str] = {}
    if wanted["person"]:
        for pid, name in session.execute(
            select(Person.id, Person.name).where(
                Person.id.in_(wanted["person"]), Person.kind == PersonKind.STAFF
            )
        ):
            names[("person", str(pid))] = name
    for kind, model in (("department", Department), ("region", Region)):
        if wanted[kind]:
            for oid, name in session.execute(
                select(model.id, model.name).where(model.id.in_(wanted[kind]))
            ):
                names[(kind, str(oid))] = name
    return names


def rows(session: Session, events: Sequence[AuditEvent]) -> list[Row]:
    names = object_names(session, events)
    out = []
    for e in events:
        label = object_label(e.object_type)
        name = names.get((e.object_type, e.object_id))
        out.append(Row(e, action_label(e.action), f"{label} {name or '#' + e.object_id}"))
    return out


def _values(row: Row) -> list[object]:
    e = row.event
    return [
        e.seq if e.seq is not None else "待封存",
        e.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        e.actor_name,
        row.action,
        e.action,
        row.object,
        e.object_type,
        e.object_id,
        e.summary,
        e.hash or "",
    ]


def export(
    session: Session,
    actor: Actor,
    f: AuditFilter,
    fmt: str,
    *,
    action_text: str | None = None,
) -> tuple[bytes, int]:
    """The events the filter shows, newest first, as xlsx or CSV (UTF-8 with BOM, which Excel
    opens as Chinese text). Refused beyond ``EXPORT_LIMIT`` rows. The export is an audited act
    (Art. 40: who took a copy of the trail, and of which part): recorded in the same
    transaction, so an export whose record cannot be written is not sent."""
    require_view_audit(actor)
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput("audit.bad_format", "审计日志只能导出为 xlsx 或 CSV。")
    stmt = filtered(f)
    events = list(session.scalars(stmt.limit(EXPORT_LIMIT + 1)))
    if len(events) > EXPORT_LIMIT:
        raise InvalidInput(
            "audit.export_too_large",
            f"符合条件的事件超过 {EXPORT_LIMIT:,} 条，请缩小日期范围或增加筛选条件后再导出。",
        )
    shown = rows(session, events)
    content = _xlsx(shown) if fmt == "xlsx" else _csv(shown)
    audit.record(
        session,
        actor,
        "audit.export",
        object_type="audit_export",
        object_id=fmt,
        summary=f"导出审计日志 {len(shown)} 条（{fmt}；{describe(f, action_text)}）",
        change={
            "format": fmt,
            "rows": len(shown),
            "filter": {
                "action": f.action,
                "actions": list(f.actions) if f.actions is not None else None,
                "actor_name": f.actor_name,
                "object_type": f.object_type,
                "since": f.since,
                "until": f.until,
            },
        },
    )
    return content, len(shown)


def _csv(shown: list[Row]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(csv_row(HEADER))
    for row in shown:
        writer.writerow(csv_row(_values(row)))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


WIDTHS = (8, 20, 12, 18, 24, 22, 16, 10, 60, 18)


def _xlsx(shown: list[Row]) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("审计日志")
    for n, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    ws.freeze_panes = "A2"
    ws.append(xlsx_row(ws, HEADER))
    for row in shown:
        ws.append(xlsx_row(ws, _values(row)))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def object_choices() -> list[tuple[str, str]]:
    return sorted(OBJECT_LABELS.items(), key=lambda kv: kv[1])
