"""JSON API of pools and loads: department systems push files with a ``pool:write`` token
(Art. 17 ¶1, 18); loads run in the background and report progress and problems."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Query, Request, Response, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import loading, pools, reading, report, specs, tasks
from govdata.aggregation.models import BadRowPolicy, Load, LoadMode, Pool
from govdata.aggregation.schemas import (
    LoadOut,
    PoolOut,
    PoolRowsOut,
    ProblemOut,
    ProblemsOut,
    SpecIn,
    SpecOut,
)
from govdata.core.types import DbId, Offset
from govdata.org.models import Department
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work
from govdata.web.download import content_disposition, export_name

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=1000)]


def start_in_background(request: Request, background: BackgroundTasks, load_id: int) -> None:
    """After the response (the load row is committed by then): queue or run the load."""
    state = request.app.state
    background.add_task(tasks.start, state.sessionmaker, state.engine, state.settings.jobs, load_id)


def receive_file(file: UploadFile) -> tuple[str, Path]:
    filename = file.filename or "upload.csv"
    reading.file_format(filename)  # refuse an unsupported file before spooling it
    target = loading.spool_path(filename)
    try:
        with target.open("wb") as out:
            shutil.copyfileobj(file.file, out, length=1 << 20)
    except BaseException:  # a client gone, a full disk: no half-written file stays behind
        target.unlink(missing_ok=True)
        raise
    return filename, target


@router.get("/pools", response_model=list[PoolOut])
@unit_of_work
def list_pools(
    session: DbSession, actor: CurrentActor, department_id: DbId | None = None
) -> list[PoolOut]:
    return [PoolOut.model_validate(p) for p in pools.list_pools(session, actor, department_id)]


@router.get("/pools/{pool_id}", response_model=PoolOut)
@unit_of_work
def get_pool(session: DbSession, actor: CurrentActor, pool_id: DbId) -> PoolOut:
    return PoolOut.model_validate(pools.get_pool(session, actor, pool_id))


@router.get("/pools/{pool_id}/rows", response_model=PoolRowsOut)
@unit_of_work
def pool_rows(
    session: DbSession,
    actor: CurrentActor,
    pool_id: DbId,
    key: Annotated[str | None, Query(max_length=64)] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PoolRowsOut:
    got = pools.read_rows(session, actor, pool_id, subject_key=key, offset=offset, limit=limit)
    return PoolRowsOut(total=got.total, rows=got.rows)


@router.post("/loads", response_model=LoadOut, status_code=202)
@unit_of_work
def push_load(
    request: Request,
    background: BackgroundTasks,
    session: DbSession,
    actor: ApiActor,
    resource: Annotated[str, Query(min_length=1, max_length=32, description="资源代码")],
    file: Annotated[UploadFile, File()],
    policy: BadRowPolicy = BadRowPolicy.REJECT_FILE,
    mode: LoadMode = LoadMode.REPLACE,
    encoding: Annotated[str, Query(max_length=12)] = "",
) -> LoadOut:
    """Push a CSV, xlsx or JSON Lines file; 202 with the queued load, then poll it."""
    pools.resource_for_load(session, actor, resource)  # refuse before spooling the file
    filename, path = receive_file(file)
    try:
        load = loading.create_load(
            session,
            actor,
            resource_code=resource,
            path=path,
            filename=filename,
            policy=policy,
            mode=mode,
            channel="api",
            encoding=encoding,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    start_in_background(request, background, load.id)
    return LoadOut.model_validate(load)


@router.get("/loads", response_model=list[LoadOut])
@unit_of_work
def list_loads(
    session: DbSession, actor: CurrentActor, pool_id: DbId | None = None, limit: Limit = 50
) -> list[LoadOut]:
    return [
        LoadOut.model_validate(x)
        for x in loading.list_loads(session, actor, pool_id=pool_id, limit=limit)
    ]


@router.get("/loads/{load_id}", response_model=LoadOut)
@unit_of_work
def get_load(session: DbSession, actor: CurrentActor, load_id: DbId) -> LoadOut:
    return LoadOut.model_validate(loading.get_load(session, actor, load_id))


@router.get("/loads/{load_id}/problems", response_model=ProblemsOut)
@unit_of_work
def load_problems(
    session: DbSession, actor: CurrentActor, load_id: DbId, offset: Offset = 0, limit: Limit = 200
) -> ProblemsOut:
    listed, total = report.problems(session, actor, load_id, offset=offset, limit=limit)
    return ProblemsOut(total=total, problems=[ProblemOut(**asdict(p)) for p in listed])


@router.get("/loads/{load_id}/report.xlsx", response_class=Response)
@unit_of_work
def load_report(session: DbSession, actor: CurrentActor, load_id: DbId) -> Response:
    content = report.xlsx(session, actor, load_id)
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": report_disposition(session, load_id)},
    )


def report_disposition(session: Session, load_id: int) -> str:
    """``市公安局-人口基本信息-加载报告12-2026-12-05.xlsx`` (issue 16: named after the department
    and the date), ASCII fallback ``load-12-report-2026-12-05.xlsx``. Called after
    ``report.xlsx`` has checked that the actor may read the load."""
    row = session.execute(
        select(Department.name, Pool.name)
        .select_from(Load)
        .join(Pool, Pool.id == Load.pool_id)
        .join(Department, Department.id == Load.department_id)
        .where(Load.id == load_id)
    ).first()
    dept, pool = row if row is not None else (None, None)
    return content_disposition(
        export_name(dept, pool, f"加载报告{load_id}", ext="xlsx"),
        fallback=export_name("load", load_id, "report", ext="xlsx"),
    )


@router.get("/pools/{pool_id}/specs", response_model=list[SpecOut])
@unit_of_work
def list_specs(session: DbSession, actor: CurrentActor, pool_id: DbId) -> list[SpecOut]:
    return [
        SpecOut(item_name=s.item_name, required=s.required, allowed_values=s.allowed_values)
        for s in specs.list_specs(session, actor, pool_id).values()
    ]


@router.put("/pools/{pool_id}/specs/{item_name}", response_model=SpecOut)
@unit_of_work
def set_spec(
    session: DbSession, actor: ApiActor, pool_id: DbId, item_name: str, data: SpecIn
) -> SpecOut:
    spec = specs.set_spec(
        session,
        actor,
        pool_id,
        item_name=item_name,
        required=data.required,
        allowed_values=data.allowed_values,
    )
    return SpecOut(
        item_name=spec.item_name, required=spec.required, allowed_values=spec.allowed_values
    )
