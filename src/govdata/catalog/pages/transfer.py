"""Import and export of catalog lists as spreadsheets (xlsx, CSV, JSON)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import func, select

from govdata.catalog import list_exports, policy
from govdata.catalog.models import CatalogVersion
from govdata.catalog.pages.common import Filter, _department_context, _page, _refused
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput, NotFound
from govdata.core.types import MAX_DB_ID, DbId
from govdata.org import policy as org_policy
from govdata.org import service as org_service
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.download import content_disposition, export_name

router = APIRouter()


# --- import and export (spreadsheets) -----------------------------------------------------------

EXPORT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",  # resources.csv and items.csv, the workbook's two sheets
    "json": "application/json",
}
EXTENSIONS = {"xlsx": "xlsx", "csv": "csv.zip", "json": "json"}


def _download(
    content: bytes, fmt: str, name: list[str | None], fallback: list[str | None]
) -> Response:
    """The file named after its department (or subject) and today's date, e.g.
    ``市公安局-目录清单-2026-12-05.xlsx``, with an ASCII fallback (RFC 6266, RFC 5987)."""
    ext = EXTENSIONS[fmt]
    return Response(
        content,
        media_type=EXPORT_TYPES[fmt],
        headers={
            "Content-Disposition": content_disposition(
                export_name(*name, ext=ext), fallback=export_name(*fallback, ext=ext)
            )
        },
    )


def _fmt(fmt: str) -> str:
    if fmt not in EXPORT_TYPES:
        raise NotFound("not_found", "不支持该导出格式。")
    return fmt


@router.get("/departments/{department_id}/import")
def import_form(
    request: Request, session: DbSession, actor: CurrentActor, department_id: DbId
) -> Response:
    ctx = _department_context(session, actor, department_id)
    policy.require_edit_list(actor, department_id)
    ctx["section"] = "import"
    return _page(request, "catalog/import.html", ctx)


@router.post("/departments/{department_id}/import")
def import_upload(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId,
    file: Annotated[UploadFile, File()],
) -> Response:
    from govdata.catalog import spreadsheet

    ctx = _department_context(session, actor, department_id)
    ctx["section"] = "import"
    content = file.file.read()
    try:
        result = spreadsheet.import_catalog(session, actor, department_id, content)
    except spreadsheet.ImportRejected as exc:
        finish_failed(session, exc)  # a rejected import stores nothing
        ctx.update(
            problems=exc.problems,
            rejected=exc.message,
            filename=file.filename or "",
            problems_json=json.dumps(
                [[p.sheet, p.row, p.column, p.code, p.message] for p in exc.problems],
                ensure_ascii=False,
            ),
        )
        return _page(request, "catalog/import.html", ctx, status_code=422)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        ctx["rejected"] = _refused(session, exc)
        ctx["problems"] = []
        return _page(request, "catalog/import.html", ctx, status_code=exc.status)
    ctx["result"] = result
    return _page(request, "catalog/import.html", ctx)


@router.post("/import-report")
def import_report(
    actor: CurrentActor,
    problems: Annotated[str, Form(max_length=2_000_000)],
) -> Response:
    from govdata.catalog import spreadsheet

    org_policy.require_staff(actor)
    try:
        rows = json.loads(problems)
        parsed = [
            spreadsheet.ImportProblem(
                sheet=str(r[0]),
                row=int(r[1]),
                column=str(r[2] or ""),
                code=str(r[3]),
                message=str(r[4]),
            )
            for r in rows
        ]
    except (ValueError, TypeError, IndexError, KeyError):
        raise InvalidInput("catalog.bad_report", "问题清单格式有误，请重新导入后下载。") from None
    return _download(
        spreadsheet.problems_report_xlsx(parsed),
        "xlsx",
        ["目录导入问题清单"],
        ["catalog-import-problems"],
    )


@router.get("/departments/{department_id}/export.{fmt}")
def export_list(session: DbSession, actor: CurrentActor, department_id: DbId, fmt: str) -> Response:
    from govdata.catalog import spreadsheet

    content = spreadsheet.export_list(session, actor, department_id, _fmt(fmt))
    dept = org_service.get_department(session, actor, department_id)
    return _download(
        content, fmt, [dept.name, "目录清单"], ["catalog-list", dept.code or str(dept.id)]
    )


@router.get("/export.{fmt}")
def export_published(
    session: DbSession,
    actor: CurrentActor,
    fmt: str,
    flt: Filter,
    version: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
) -> Response:
    from govdata.catalog import spreadsheet

    content = spreadsheet.export_published(session, actor, _fmt(fmt), number=version, flt=flt)
    number = version or session.scalar(select(func.max(CatalogVersion.number)))
    label = f"第{number}版" if number else None
    return _download(
        content, fmt, ["政务数据资源目录", label], ["catalog", f"v{number}" if number else None]
    )


XLSX = "xlsx"


@router.get("/departments/{department_id}/demands/export.xlsx")
def export_demands(session: DbSession, actor: CurrentActor, department_id: DbId) -> Response:
    """The department's 需求清单 (Art. 12 ¶2), e.g. ``市公安局-需求清单-2026-12-05.xlsx``."""
    dept, content = list_exports.demands_xlsx(session, actor, department_id)
    return _download(
        content, XLSX, [dept.name, "需求清单"], ["demand-list", dept.code or str(dept.id)]
    )


@router.get("/responsibility/{department_id}/export.xlsx")
def export_responsibility(session: DbSession, actor: CurrentActor, department_id: DbId) -> Response:
    """The department's 责任清单 in the published catalog (Art. 13)."""
    dept, number, content = list_exports.responsibility_xlsx(session, actor, department_id)
    return _download(
        content,
        XLSX,
        [dept.name, "责任清单", f"第{number}版"],
        ["responsibility-list", dept.code or str(dept.id), f"v{number}"],
    )
