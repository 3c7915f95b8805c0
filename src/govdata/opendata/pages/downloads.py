"""Downloads of open data (Art. 33, 40): ``/open/datasets/{code}/download.{csv,xlsx,json}``.

The request's unit of work checks the visitor's entitlement, writes the access record and
counts the download (``downloads.start``); it commits before the response starts, so no byte
leaves unrecorded (fail closed). The body is produced in the thread pool, chunk by chunk, on a
read session of its own, closed however the stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from govdata.core.db import open_session
from govdata.opendata import (
    downloads,
    routing,  # noqa: F401 - registers {code:dataset_code}
)
from govdata.opendata.api_auth import api_caller, presented_key
from govdata.opendata.downloads import Format
from govdata.web.deps import DbSession, OptionalActor

router = APIRouter(prefix="/open")


def response(request: Request, download: downloads.Download) -> StreamingResponse:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return StreamingResponse(
        stream(factory, download),
        media_type=downloads.MEDIA[download.fmt],
        headers={
            "Content-Disposition": download.content_disposition(),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def stream(
    factory: sessionmaker[Session], download: downloads.Download
) -> AsyncIterator[bytes]:
    session = open_session(factory, write=False)
    produced: Iterator[bytes] | None = None
    try:
        produced = await run_in_threadpool(downloads.chunks, session, download)
        while True:
            data = await run_in_threadpool(next, produced, None)
            if data is None:
                break
            if data:
                yield data
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_close, produced, session)


def _close(produced: Iterator[bytes] | None, session: Session) -> None:
    try:
        close = getattr(produced, "close", None)
        if close is not None:
            close()
    finally:
        session.rollback()
        session.close()


def _download(
    request: Request, session: Session, actor: OptionalActor, code: str, fmt: Format
) -> StreamingResponse:
    address = request.client.host if request.client is not None else None
    if actor is None and presented_key(request) is not None:
        # A developer's script fetching a resource URL (CKAN's resource ``url``) with its key:
        # the key's owner downloads, within the key's quota (Art. 33 ¶3; a bad key is 401).
        actor = api_caller(request, session)
    download = downloads.start(session, actor, code[:64], fmt, address=address)
    return response(request, download)


@router.get("/datasets/{code:dataset_code}/download.csv")
def download_csv(
    request: Request, session: DbSession, actor: OptionalActor, code: str
) -> StreamingResponse:
    return _download(request, session, actor, code, "csv")


@router.get("/datasets/{code:dataset_code}/download.xlsx")
def download_xlsx(
    request: Request, session: DbSession, actor: OptionalActor, code: str
) -> StreamingResponse:
    return _download(request, session, actor, code, "xlsx")


@router.get("/datasets/{code:dataset_code}/download.json")
def download_json(
    request: Request, session: DbSession, actor: OptionalActor, code: str
) -> StreamingResponse:
    return _download(request, session, actor, code, "json")
