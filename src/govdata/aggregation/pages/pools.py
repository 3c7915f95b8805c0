"""Pool pages (Art. 17 ¶1, 18): the pools a person may see, a pool's data with its "under
correction" marks and loads, the upload form, a load's progress and report."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from govdata.aggregation import corrections, loading, policy, pools, report, specs
from govdata.aggregation.api.pools import receive_file, report_disposition, start_in_background
from govdata.aggregation.errors import POOL_NOT_FOUND, LoadNotFound
from govdata.aggregation.models import BadRowPolicy, LoadMode, LoadStatus, Pool
from govdata.catalog import published
from govdata.catalog.published import PublishedResource
from govdata.catalog.vocab import DataType, UpdateCycle
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError
from govdata.core.types import MAX_DB_ID, DbId, Offset
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


def _load_page(
    request: Request,
    session: Session,
    actor: Actor,
    load_id: int,
    *,
    revealed: report.RevealedLoadRow | None = None,
    reveal_error: str | None = None,
    reveal_row: int | None = None,
    status_code: int = 200,
) -> Response:
    load = loading.get_load(session, actor, load_id)
    pool = session.get(Pool, load.pool_id)
    listed, total = report.problems(session, actor, load_id, limit=200)
    return render(
        request,
        "aggregation/load.html",
        _ctx(
            load=load,
            pool=pool,
            problems=listed,
            problems_total=total,
            masked=report.masked_items(session, actor, load_id),
            revealed=revealed,
            reveal_error=reveal_error,
            reveal_row=reveal_row,
            title="数据加载",
        ),
        status_code=status_code,
    )


@router.get("/loads/{load_id}")
def load_page(request: Request, session: DbSession, actor: CurrentActor, load_id: DbId) -> Response:
    return _load_page(request, session, actor, load_id)


@router.post("/loads/{load_id}/reveal")
def reveal_load_row(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    load_id: DbId,
    row: Annotated[int, Form(ge=1, le=MAX_DB_ID)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """An auditor sees one row of a load's report unmasked, having said why (issue 16;
    audited). The answer is this page, never a redirect: no unmasked value in a URL."""
    try:
        shown = report.reveal_row(session, actor, load_id, row, reason)
    except DomainError as exc:
        if exc.status == 403 or isinstance(exc, LoadNotFound):
            raise
        message = exc.message
        finish_failed(session, exc)
        return _load_page(
            request,
            session,
            actor,
            load_id,
            reveal_error=message,
            reveal_row=row,
            status_code=exc.status,
        )
    response = _load_page(request, session, actor, load_id, revealed=shown)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/loads/{load_id}/report.xlsx")
def load_report(session: DbSession, actor: CurrentActor, load_id: DbId) -> Response:
    return Response(
        report.xlsx(session, actor, load_id),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": report_disposition(session, load_id)},
    )


FLASHES = {"corrected": "已更正该数据，并记入审计日志。"}


def _pool_page(
    request: Request,
    session: Session,
    actor: Actor,
    pool_id: int,
    *,
    key: str | None = None,
    offset: int = 0,
    msg: str | None = None,
    revealed: pools.Revealed | None = None,
    reveal_error: str | None = None,
    status_code: int = 200,
) -> Response:
    pool = pools.get_pool(session, actor, pool_id)
    data = pools.read_rows(session, actor, pool_id, subject_key=key, offset=offset, limit=PAGE)
    key_name = next((c["name"] for c in pool.columns if c["column"] == pool.subject_column), None)
    # "校核中" marks by (row number, item name): the keys as stored, even when shown masked.
    marks: dict[tuple[int, str], Any] = {}
    if key_name:
        open_ones = corrections.under_correction(
            session, pool.id, [k for k in data.keys if k is not None]
        )
        for row, k in zip(data.rows, data.keys, strict=True):
            for c in pool.columns:
                m = open_ones.get((k or "", c["name"]))
                if m is not None:
                    marks[(row["_row"], c["name"])] = m
    # The ⚑ beside a value: a department corrects its own data directly; others who may apply
    # ask the provider for a 校核 (Art. 19 ¶2); read-only roles get no link.
    if key_name and policy.can_correct_own(actor, pool.department_id):
        flag = "own"
    elif key_name and policy.can_apply_correction(actor):
        flag = "apply"
    else:
        flag = None
    return render(
        request,
        "aggregation/pool.html",
        _ctx(
            pool=pool,
            data=data,
            key=key or "",
            key_name=key_name,
            marks=marks,
            flag=flag,
            offset=offset,
            page_size=PAGE,
            revealed=revealed,
            reveal_error=reveal_error,
            flash=FLASHES.get(msg or ""),
            loads=loading.list_loads(session, actor, pool_id=pool.id, limit=20),
            specs=specs.list_specs(session, actor, pool.id),
            can_load=policy.can_load(actor, pool.department_id),
            layout_changed=pools.pending_layout_change(session, pool),
            title=pool.name,
        ),
        status_code=status_code,
    )


@router.get("/pools/{pool_id}")
def pool_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    pool_id: DbId,
    key: Annotated[str | None, Query(max_length=64)] = None,
    offset: Offset = 0,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _pool_page(request, session, actor, pool_id, key=key, offset=offset, msg=msg)


@router.post("/pools/{pool_id}/reveal")
def reveal(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    pool_id: DbId,
    row: Annotated[int, Form(ge=1, le=MAX_DB_ID)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    key: Annotated[str, Form(max_length=64)] = "",
    offset: Annotated[int, Form(ge=0, le=MAX_DB_ID)] = 0,
) -> Response:
    """An auditor sees one row unmasked, having said why (issue 16; audited). The answer is this
    page, not a redirect: the unmasked values are never in a URL or the browser's history."""
    try:
        shown = pools.reveal_row(session, actor, pool_id, row, reason)
    except DomainError as exc:
        if exc.status == 403 or exc.code == POOL_NOT_FOUND:
            raise
        message = exc.message
        finish_failed(session, exc)
        return _pool_page(
            request,
            session,
            actor,
            pool_id,
            key=key or None,
            offset=offset,
            reveal_error=message,
            status_code=exc.status,
        )
    response = _pool_page(
        request, session, actor, pool_id, key=key or None, offset=offset, revealed=shown
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- a department corrects its own value (issue 16; Art. 19 ¶2, 20 ¶2) --------------------------


def _correct_page(
    request: Request,
    session: Session,
    actor: Actor,
    pool_id: int,
    key: str,
    item: str,
    *,
    v: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    pool = pools.get_pool(session, actor, pool_id)
    policy.require_correct_own(actor, pool.department_id)
    target = None
    lookup_error = None
    if key and item:
        try:
            target = corrections.own_value(session, actor, pool_id, key, item)
        except DomainError as exc:
            if exc.status == 403:
                raise
            lookup_error = exc.message
    key_name = next((c["name"] for c in pool.columns if c["column"] == pool.subject_column), None)
    open_one = (
        corrections.open_correction(session, pool.id, target.subject_key, target.item_name)
        if target is not None
        else None
    )
    return render(
        request,
        "aggregation/pool_correct.html",
        _ctx(
            title="更正本部门数据",
            pool=pool,
            key=key,
            item=item,
            key_name=key_name,
            items=[c["name"] for c in pool.columns if c["column"] != pool.subject_column],
            target=target,
            open_one=open_one,
            lookup_error=lookup_error,
            source_note=corrections.SOURCE_NOTE,
            v=v or {},
            error=error,
        ),
        status_code=status_code,
    )


@router.get("/pools/{pool_id}/correct")
def correct_form(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    pool_id: DbId,
    key: Annotated[str, Query(max_length=64)] = "",
    item: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    return _correct_page(request, session, actor, pool_id, key.strip(), item.strip())


@router.post("/pools/{pool_id}/correct")
def correct(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    pool_id: DbId,
    key: Annotated[str, Form(max_length=64)] = "",
    item: Annotated[str, Form(max_length=100)] = "",
    value: Annotated[str, Form(max_length=4000)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        done = corrections.correct_own_value(
            session, actor, pool_id, subject_key=key, item_name=item, value=value, reason=reason
        )
    except DomainError as exc:
        if exc.status == 403 or exc.code == POOL_NOT_FOUND:
            raise
        message = exc.message
        finish_failed(session, exc)
        return _correct_page(
            request,
            session,
            actor,
            pool_id,
            key,
            item,
            v={"value": value, "reason": reason},
            error=message,
            status_code=exc.status,
        )
    query = urlencode({"key": done.subject_key, "msg": "corrected"})
    return RedirectResponse(f"/aggregation/pools/{pool_id}?{query}", status_code=303)
