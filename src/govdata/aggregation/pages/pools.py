"""Pool pages (Art. 17 ¶1, 18): the pools a person may see, a pool's data with its "under
correction" marks and loads, the upload form, a load's progress and report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from govdata.aggregation import corrections, loading, policy, pools, report, specs
from govdata.aggregation.api.pools import receive_file, start_in_background
from govdata.aggregation.models import BadRowPolicy, LoadMode, LoadStatus, Pool
from govdata.catalog import published
from govdata.catalog.published import PublishedResource
from govdata.catalog.vocab import DataType, UpdateCycle
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError
from govdata.core.types import DbId, Offset
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter()
PAGE = 50
# The measures a load's report shows, in this order; other keys of ``Load.quality`` (the
# snapshot's id, row counts) are internal and not shown (issue 16).
QUALITY_LABELS = (
    ("completeness", "完整性"),
    ("validity", "有效性"),
    ("uniqueness", "唯一性"),
    ("consistency", "一致性"),
)


def _ctx(**kw: Any) -> dict[str, Any]:
    return {
        "LoadStatus": LoadStatus,
        "BadRowPolicy": BadRowPolicy,
        "LoadMode": LoadMode,
        "DataType": DataType,
        "UpdateCycle": UpdateCycle,
        "QUALITY_LABELS": QUALITY_LABELS,
        **kw,
    }


def _loadable(session: DbSession, actor: Actor) -> list[PublishedResource]:
    """Published resources the actor may load: its department's responsibility list (Art. 13)."""
    depts = policy.loading_departments(actor)
    if not depts:
        return []
    return published.listing(session, department_ids=depts, limit=500)


@router.get("/pools")
def pool_list(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    policy.require_pool_pages(actor)
    visible = pools.list_pools(session, actor)
    by_resource = {p.resource_id: p for p in visible}
    loadable = _loadable(session, actor)
    return render(
        request,
        "aggregation/pools.html",
        _ctx(pools=visible, loadable=loadable, by_resource=by_resource, title="数据资源池"),
    )


@router.get("/pools/load")
def load_form(request: Request, session: DbSession, actor: CurrentActor, resource: str) -> Response:
    target = pools.resource_for_load(session, actor, resource)
    return render(request, "aggregation/load_form.html", _ctx(resource=target, title="加载数据"))


@router.post("/pools/loads")
def upload(
    request: Request,
    background: BackgroundTasks,
    session: DbSession,
    actor: CurrentActor,
    resource: Annotated[str, Form(max_length=32)],
    file: Annotated[UploadFile, File()],
    policy_choice: Annotated[BadRowPolicy, Form(alias="policy")] = BadRowPolicy.REJECT_FILE,
    mode: Annotated[LoadMode, Form()] = LoadMode.REPLACE,
    encoding: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    target = pools.resource_for_load(session, actor, resource)
    path = None
    try:
        filename, path = receive_file(file)
        load = loading.create_load(
            session,
            actor,
            resource_code=resource,
            path=path,
            filename=filename,
            policy=policy_choice,
            mode=mode,
            channel="upload",
            encoding=encoding,
        )
    except DomainError as exc:
        if path is not None:
            path.unlink(missing_ok=True)
        if exc.status in (403, 404):
            raise
        finish_failed(session, exc)
        return render(
            request,
            "aggregation/load_form.html",
            _ctx(resource=target, error=exc.message, title="加载数据"),
            status_code=exc.status,
        )
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise
    start_in_background(request, background, load.id)
    return RedirectResponse(f"/aggregation/loads/{load.id}", status_code=303)


@router.get("/loads/{load_id}")
def load_page(request: Request, session: DbSession, actor: CurrentActor, load_id: DbId) -> Response:
    load = loading.get_load(session, actor, load_id)
    pool = session.get(Pool, load.pool_id)
    listed, total = report.problems(session, actor, load_id, limit=200)
    return render(
        request,
        "aggregation/load.html",
        _ctx(load=load, pool=pool, problems=listed, problems_total=total, title="数据加载"),
    )


@router.get("/loads/{load_id}/report.xlsx")
def load_report(session: DbSession, actor: CurrentActor, load_id: DbId) -> Response:
    return Response(
        report.xlsx(session, actor, load_id),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="load-{load_id}-report.xlsx"'},
    )


@router.get("/pools/{pool_id}")
def pool_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    pool_id: DbId,
    key: str | None = None,
    offset: Offset = 0,
) -> Response:
    pool = pools.get_pool(session, actor, pool_id)
    data = pools.read_rows(session, actor, pool_id, subject_key=key, offset=offset, limit=PAGE)
    marks: dict[tuple[str, str], Any] = {}
    key_name = next((c["name"] for c in pool.columns if c["column"] == pool.subject_column), None)
    if key_name:
        keys = [str(r[key_name]) for r in data.rows if r.get(key_name) is not None]
        marks = corrections.under_correction(session, pool.id, keys)
    return render(
        request,
        "aggregation/pool.html",
        _ctx(
            pool=pool,
            data=data,
            key=key or "",
            key_name=key_name,
            marks=marks,
            offset=offset,
            page_size=PAGE,
            loads=loading.list_loads(session, actor, pool_id=pool.id, limit=20),
            specs=specs.list_specs(session, actor, pool.id),
            can_load=policy.can_load(actor, pool.department_id),
            layout_changed=pools.pending_layout_change(session, pool),
            title=pool.name,
        ),
    )
