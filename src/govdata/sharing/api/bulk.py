"""JSON API: bulk delivery of a granted source under ``/api/v1/sharing/data`` (Art. 22, 26 ¶2,
40): ``export.csv`` and ``export.parquet``.

The unit of work authorizes the call, counts it and commits its access record; only then does
the response start, so no byte leaves without a record (fail closed). The body is produced in
the thread pool chunk by chunk on a read session of its own; when it ends, however it ends
(finished, the client gone, an error), the record gets the rows sent (``sharing.bulk``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from govdata.core.db import open_session
from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId
from govdata.sharing import bulk
from govdata.sharing.applications import PURPOSE_CODE
from govdata.web.deps import ApiActor, DbSession, unit_of_work
from govdata.web.download import content_disposition, export_name

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/data", tags=["sharing-data"], responses=ERROR_RESPONSES)

# What a registration or application accepted as a purpose code (ASCII, no control
# characters: it is stored in the access record as given).
PURPOSE_PATTERN = PURPOSE_CODE.pattern

Purpose = Annotated[
    str,
    Query(
        min_length=1,
        max_length=64,
        pattern=PURPOSE_PATTERN,
        description="本次调用的用途代码，须与授权用途一致（第五十条第（五）项）",
    ),
]

REFUSALS = (
    "拒绝时的错误代码：auth.scope_missing、sharing.system_required、sharing.no_grant、"
    "sharing.grant_other_department、sharing.system_not_named、sharing.grant_revoked、"
    "sharing.grant_expired、sharing.grant_not_yet_valid、sharing.purpose_mismatch、"
    "sharing.verification_only、sharing.item_not_granted、sharing.source_not_loaded、"
    "sharing.quota_exceeded。每次调用（含被拒绝的）都留有调用记录。"
)
_MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


def _response(request: Request, export: bulk.Export) -> StreamingResponse:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    name = content_disposition(
        export_name(f"共享授权{export.grant_id}", export.source_code, ext=export.fmt),
        fallback=export.filename,
    )
    return StreamingResponse(
        _stream(factory, export),
        media_type=_MEDIA[export.fmt],
        headers={
            "Content-Disposition": name,
            "Cache-Control": "no-store",
            "X-Access-Record": str(export.record_id),
        },
    )


async def _stream(factory: sessionmaker[Session], export: bulk.Export) -> AsyncIterator[bytes]:
    """The body: each chunk produced in the thread pool, passed on, counted once sent; the
    record finished in a shielded step whatever ends the stream."""
    session = open_session(factory, write=False)
    produced = bulk.chunks(session, export)
    rows, complete, last = 0, False, time.monotonic()
    try:
        while True:
            item = await run_in_threadpool(next, produced, None)
            if item is None:
                complete = True
                break
            data, n = item
            if data:
                yield data
            rows += n  # handed to the connection
            if time.monotonic() - last >= bulk.PROGRESS_SECONDS:
                await run_in_threadpool(bulk.progress, factory, export.record_id, rows)
                last = time.monotonic()
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_close, produced, session)
            try:
                await run_in_threadpool(
                    bulk.finish, factory, export.record_id, rows, complete=complete
                )
            except Exception:  # the record stays "interrupted" with its last progress
                log.exception("sharing.bulk_finish_failed", record=export.record_id)


def _close(produced: Any, session: Session) -> None:
    try:
        produced.close()
    finally:
        session.rollback()
        session.close()


_DOC = (
    "整体获取授权范围内的数据（批量交付）：只含授权的信息项，按授权的数据范围筛选，按主体标识排序；"
    "计一次调用。调用记录在传输开始前写入，传输结束（或中断）后记入实际传出的行数。"
)


@router.get(
    "/{grant_id}/export.csv",
    response_class=StreamingResponse,
    summary="批量交付（CSV）",
    description=_DOC + "CSV 为带 BOM 的 UTF-8，表头为信息项名称，文本防公式注入。" + REFUSALS,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV 数据流"}},
)
@unit_of_work
def export_csv(
    request: Request, grant_id: DbId, purpose: Purpose, session: DbSession, actor: ApiActor
) -> StreamingResponse:
    return _response(request, bulk.start(session, actor, grant_id, purpose=purpose, fmt="csv"))


@router.get(
    "/{grant_id}/export.parquet",
    response_class=StreamingResponse,
    summary="批量交付（Parquet）",
    description=_DOC + "Parquet 按行组写出，列类型随信息项的数据类型。" + REFUSALS,
    responses={
        200: {"content": {"application/vnd.apache.parquet": {}}, "description": "Parquet 数据流"}
    },
)
@unit_of_work
def export_parquet(
    request: Request, grant_id: DbId, purpose: Purpose, session: DbSession, actor: ApiActor
) -> StreamingResponse:
    return _response(request, bulk.start(session, actor, grant_id, purpose=purpose, fmt="parquet"))
