"""zh-CN pages of what the public contributes (Art. 36, 37) and signed records (Art. 34).

Public (no sign-in to read): ``/open/requests`` (data requests and the bureau's answers),
``/open/reuses`` (the showcase), ``/open/reuses/{id}``, ``/open/datasets/{code}/feedback``
(a dataset's feedback and reuses; the portal's dataset page includes the same block). Forms
post to the same paths; contributing needs an identified person. The city bureau moderates on
``/opendata/moderation``. ``/open/datasets/{code}/records/{key}/signed.json`` delivers a signed
record to an entitled caller.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from govdata.core.types import DbId, Offset
from govdata.opendata import data_requests, datasets, feedback, policy, reuses, signing
from govdata.opendata.contributions import decision_of
from govdata.opendata.models import OpenDataset, ReuseKind
from govdata.org.models import Department
from govdata.web.deps import CurrentActor, DbSession, OptionalActor
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)

Short = Annotated[str, Form(max_length=8000)]
FLASHES = {
    "feedback": "评价已提交，经数据主管部门审核后公开。",
    "replied": "答复已保存。",
    "request": "数据需求已提交，数据主管部门答复后在本页公开。",
    "reuse": "应用成果已提交，经数据主管部门审核后在应用展示中公开。",
    "moderated": "审核结论已保存。",
    "answered": "答复已保存。",
}


def _flash(msg: str | None) -> str | None:
    return FLASHES.get(msg or "")


# --- a dataset's feedback and reuses (Art. 36, 37) ----------------------------------------------


@router.get("/open/datasets/{code:path}/feedback")
def dataset_community(
    request: Request,
    session: DbSession,
    actor: OptionalActor,
    code: str,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    dataset = datasets.get_dataset(session, code)
    return render(
        request,
        "opendata/community_dataset.html",
        {
            "title": f"{dataset.name} · 评价与应用",
            "dataset": dataset,
            "feedback": feedback.view(session, dataset.id),
            "reuses": reuses.published_for_dataset(session, dataset.id),
            "may_reply": policy.can_manage(actor, dataset.department_id),
            "flash": _flash(msg),
        },
    )


@router.post("/open/datasets/{code:path}/feedback")
def submit_feedback(
    session: DbSession,
    actor: CurrentActor,
    code: str,
    rating: Annotated[int, Form(ge=1, le=5)],
    comment: Short = "",
) -> Response:
    row = feedback.submit(session, actor, code, rating=rating, comment=comment)
    dataset = session.get(OpenDataset, row.dataset_id)
    assert dataset is not None
    return RedirectResponse(f"/open/datasets/{dataset.code}/feedback?msg=feedback", 303)


@router.post("/open/feedback/{feedback_id}/reply")
def reply_feedback(
    session: DbSession, actor: CurrentActor, feedback_id: DbId, reply: Short
) -> Response:
    row = feedback.reply(session, actor, feedback_id, reply)
    dataset = session.get(OpenDataset, row.dataset_id)
    assert dataset is not None
    return RedirectResponse(f"/open/datasets/{dataset.code}/feedback?msg=replied", 303)


# --- data requests (Art. 36 ¶2, 37) -------------------------------------------------------------


def _departments(session: DbSession) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.code).limit(2000)))


@router.get("/open/requests")
def requests_page(
    request: Request,
    session: DbSession,
    actor: OptionalActor,
    status: Annotated[str | None, Query(max_length=16)] = None,
    offset: Offset = 0,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    rows, total = data_requests.listing(
        session, actor, status=status or None, offset=offset, limit=50
    )
    linked = {r.dataset_id: session.get(OpenDataset, r.dataset_id) for r in rows if r.dataset_id}
    return render(
        request,
        "opendata/community_requests.html",
        {
            "title": "数据需求",
            "rows": rows,
            "total": total,
            "offset": offset,
            "status": status or "",
            "statuses": list(data_requests.RequestStatus),
            "status_labels": {s.value: s.label for s in data_requests.RequestStatus},
            "departments": _departments(session) if actor is not None else [],
            "department_names": data_requests.department_names(session, rows),
            "linked": {k: v for k, v in linked.items() if v is not None and not v.withdrawn},
            "flash": _flash(msg),
        },
    )


@router.post("/open/requests")
def submit_request(
    session: DbSession,
    actor: CurrentActor,
    title: Short,
    description: Short,
    department_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    dept = int(department_id) if department_id.isdigit() and len(department_id) < 10 else None
    data_requests.submit(session, actor, title=title, description=description, department_id=dept)
    return RedirectResponse("/open/requests?msg=request", 303)


# --- reuses (Art. 37) ---------------------------------------------------------------------------


@router.get("/open/reuses")
def reuses_page(
    request: Request,
    session: DbSession,
    actor: OptionalActor,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    dataset: Annotated[str | None, Query(max_length=64)] = None,
    offset: Offset = 0,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    rows, total = reuses.showcase(session, kind=kind or None, offset=offset, limit=24)
    return render(
        request,
        "opendata/community_reuses.html",
        {
            "title": "应用展示",
            "rows": rows,
            "total": total,
            "offset": offset,
            "kind": kind or "",
            "kinds": list(ReuseKind),
            "used": reuses.datasets_of(session, [r.id for r in rows]),
            "prefill": dataset or "",
            "flash": _flash(msg),
        },
    )


@router.get("/open/reuses/{reuse_id}")
def reuse_page(
    request: Request, session: DbSession, actor: OptionalActor, reuse_id: DbId
) -> Response:
    row = reuses.get_published(session, reuse_id)
    return render(
        request,
        "opendata/community_reuse.html",
        {
            "title": row.title,
            "reuse": row,
            "kind_label": ReuseKind(row.kind).label,
            "used": reuses.datasets_of(session, [row.id])[row.id],
        },
    )


@router.post("/open/reuses")
def submit_reuse(
    session: DbSession,
    actor: CurrentActor,
    kind: Annotated[str, Form(max_length=16)],
    title: Short,
    description: Short,
    url: Short,
    datasets_text: Annotated[str, Form(alias="datasets", max_length=2000)],
) -> Response:
    codes = datasets_text.replace("，", ",").replace("\n", ",").split(",")
    reuses.submit(
        session,
        actor,
        kind=kind,
        title=title,
        description=description,
        url=url,
        dataset_codes=codes,
    )
    return RedirectResponse("/open/reuses?msg=reuse", 303)


# --- moderation (the city bureau, Art. 36, 37) --------------------------------------------------


@router.get("/opendata/moderation")
def moderation_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    pending_feedback = feedback.pending(session, actor)
    pending_reuses = reuses.pending(session, actor)
    open_requests = data_requests.pending(session, actor)
    ids = {f.dataset_id for f in pending_feedback}
    named = (
        {d.id: d for d in session.scalars(select(OpenDataset).where(OpenDataset.id.in_(ids)))}
        if ids
        else {}
    )
    return render(
        request,
        "opendata/community_moderation.html",
        {
            "title": "内容审核",
            "pending_feedback": pending_feedback,
            "pending_reuses": pending_reuses,
            "open_requests": open_requests,
            "datasets": named,
            "used": reuses.datasets_of(session, [r.id for r in pending_reuses]),
            "department_names": data_requests.department_names(session, open_requests),
            "flash": _flash(msg),
        },
    )


@router.post("/opendata/moderation/feedback/{feedback_id}")
def moderate_feedback(
    session: DbSession,
    actor: CurrentActor,
    feedback_id: DbId,
    decision: Annotated[str, Form(max_length=16)],
    note: Short = "",
) -> Response:
    feedback.moderate(session, actor, feedback_id, decision_of(decision), note)
    return RedirectResponse("/opendata/moderation?msg=moderated", 303)


@router.post("/opendata/moderation/reuses/{reuse_id}")
def moderate_reuse(
    session: DbSession,
    actor: CurrentActor,
    reuse_id: DbId,
    decision: Annotated[str, Form(max_length=16)],
    note: Short = "",
) -> Response:
    reuses.moderate(session, actor, reuse_id, decision_of(decision), note)
    return RedirectResponse("/opendata/moderation?msg=moderated", 303)


@router.post("/opendata/moderation/requests/{request_id}")
def answer_request(
    session: DbSession,
    actor: CurrentActor,
    request_id: DbId,
    status: Annotated[str, Form(max_length=16)],
    answer: Short,
    dataset: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    data_requests.answer(
        session, actor, request_id, status=status, text=answer, dataset_code=dataset or None
    )
    return RedirectResponse("/opendata/moderation?msg=answered", 303)


# --- signed records (Art. 34) -------------------------------------------------------------------


@router.get("/open/datasets/{code:path}/records/{key}/signed.json")
def signed_record(session: DbSession, actor: OptionalActor, code: str, key: DbId) -> Response:
    envelope = signing.signed_record(session, actor, code, key)
    filename = re.sub(r"[^0-9A-Za-z._-]", "-", code)
    return JSONResponse(
        envelope,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}-{key}.signed.json"',
            "Cache-Control": "no-store",
        },
    )
