"""JSON API of what the public contributes (Art. 36, 37) and of signed records (Art. 34),
under ``/api/v1/opendata``. Thin: ``feedback``, ``data_requests``, ``reuses``, ``signing``
decide. Reading published feedback, requests and reuses needs no sign-in (Art. 36, 37 are
public); contributing needs an identified person; moderating, the city bureau.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from govdata.core.types import DbId, Offset
from govdata.opendata import data_requests, datasets, errors, feedback, reuses, signing
from govdata.opendata.contributions import decision_of
from govdata.opendata.models import DataRequest, DatasetFeedback, Reuse
from govdata.web.deps import ApiActor, CurrentActor, DbSession, OptionalActor, unit_of_work

router = APIRouter()

Code = Annotated[str, Path(max_length=64)]
# Bounds at the edge keep bodies small; the services' tighter limits answer in zh-CN.
Text = Annotated[str, Field(max_length=8000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedbackIn(_In):
    rating: int = Field(description="评分：1–5")
    comment: Text = ""


class ReplyIn(_In):
    reply: Text


class ModerationIn(_In):
    decision: str = Field(max_length=16, description="publish 或 reject")
    note: Text = ""


class FeedbackOut(BaseModel):
    id: int
    rating: int
    comment: str
    status: str
    reply: str
    created_at: datetime


class FeedbackListOut(BaseModel):
    dataset: str
    average: float | None
    count: int
    feedback: list[FeedbackOut]


class RequestIn(_In):
    title: Text
    description: Text
    department_id: DbId | None = None


class AnswerIn(_In):
    status: str = Field(max_length=16, description="answered 或 rejected")
    answer: Text
    dataset: str | None = Field(default=None, max_length=64, description="满足需求的开放数据集")


class RequestOut(BaseModel):
    id: int
    title: str
    description: str
    department_id: int | None
    status: str
    answer: str
    answered_at: datetime | None
    dataset: str | None
    created_at: datetime


class RequestListOut(BaseModel):
    total: int
    requests: list[RequestOut]


class ReuseIn(_In):
    kind: str = Field(max_length=16, description="app / research / news / visualization")
    title: Text
    description: Text
    url: Text
    datasets: list[Annotated[str, Field(max_length=64)]] = Field(max_length=50)


class ReuseOut(BaseModel):
    id: int
    kind: str
    title: str
    description: str
    url: str
    status: str
    datasets: list[str]
    created_at: datetime


class ReuseListOut(BaseModel):
    total: int
    reuses: list[ReuseOut]


class ModerationQueueOut(BaseModel):
    feedback: list[dict[str, Any]]
    reuses: list[ReuseOut]
    requests: list[RequestOut]


def _feedback_out(f: DatasetFeedback) -> FeedbackOut:
    return FeedbackOut(
        id=f.id,
        rating=f.rating,
        comment=f.comment,
        status=f.status,
        reply=f.reply,
        created_at=f.created_at,
    )


def _request_out(session: Session, r: DataRequest) -> RequestOut:
    code = None
    if r.dataset_id is not None:
        try:
            code = datasets.get_dataset_by_id(session, r.dataset_id).code
        except errors.DatasetNotFound:
            code = None
    return RequestOut(
        id=r.id,
        title=r.title,
        description=r.description,
        department_id=r.department_id,
        status=r.status,
        answer=r.answer,
        answered_at=r.answered_at,
        dataset=code,
        created_at=r.created_at,
    )


def _reuses_out(session: Session, rows: list[Reuse]) -> list[ReuseOut]:
    used = reuses.datasets_of(session, [r.id for r in rows])
    return [
        ReuseOut(
            id=r.id,
            kind=r.kind,
            title=r.title,
            description=r.description,
            url=r.url,
            status=r.status,
            datasets=[d.code for d in used[r.id]],
            created_at=r.created_at,
        )
        for r in rows
    ]


# --- feedback (Art. 36) -------------------------------------------------------------------------


@router.get("/datasets/{code:path}/feedback", response_model=FeedbackListOut)
@unit_of_work
def list_feedback(session: DbSession, actor: OptionalActor, code: Code) -> FeedbackListOut:
    dataset = datasets.get_dataset(session, code)
    summary = feedback.rating(session, dataset.id)
    return FeedbackListOut(
        dataset=dataset.code,
        average=summary.average,
        count=summary.count,
        feedback=[_feedback_out(f) for f in feedback.published(session, dataset.id)],
    )


@router.post("/datasets/{code:path}/feedback", response_model=FeedbackOut, status_code=201)
@unit_of_work
def submit_feedback(
    session: DbSession, actor: ApiActor, code: Code, body: FeedbackIn
) -> FeedbackOut:
    return _feedback_out(
        feedback.submit(session, actor, code, rating=body.rating, comment=body.comment)
    )


@router.post("/feedback/{feedback_id}/reply", response_model=FeedbackOut)
@unit_of_work
def reply_feedback(
    session: DbSession, actor: ApiActor, feedback_id: Annotated[DbId, Path()], body: ReplyIn
) -> FeedbackOut:
    return _feedback_out(feedback.reply(session, actor, feedback_id, body.reply))


@router.post("/feedback/{feedback_id}/moderation", response_model=FeedbackOut)
@unit_of_work
def moderate_feedback(
    session: DbSession,
    actor: ApiActor,
    feedback_id: Annotated[DbId, Path()],
    body: ModerationIn,
) -> FeedbackOut:
    row = feedback.moderate(session, actor, feedback_id, decision_of(body.decision), body.note)
    return _feedback_out(row)


# --- data requests (Art. 36 ¶2, 37) -----------------------------------------------------------


@router.get("/requests", response_model=RequestListOut)
@unit_of_work
def list_requests(
    session: DbSession,
    actor: OptionalActor,
    status: Annotated[str | None, Query(max_length=16)] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RequestListOut:
    rows, total = data_requests.listing(session, actor, status=status, offset=offset, limit=limit)
    return RequestListOut(total=total, requests=[_request_out(session, r) for r in rows])


@router.get("/requests/{request_id}", response_model=RequestOut)
@unit_of_work
def get_request(
    session: DbSession, actor: OptionalActor, request_id: Annotated[DbId, Path()]
) -> RequestOut:
    return _request_out(session, data_requests.get(session, actor, request_id))


@router.post("/requests", response_model=RequestOut, status_code=201)
@unit_of_work
def submit_request(session: DbSession, actor: ApiActor, body: RequestIn) -> RequestOut:
    row = data_requests.submit(
        session,
        actor,
        title=body.title,
        description=body.description,
        department_id=body.department_id,
    )
    return _request_out(session, row)


@router.post("/requests/{request_id}/answer", response_model=RequestOut)
@unit_of_work
def answer_request(
    session: DbSession, actor: ApiActor, request_id: Annotated[DbId, Path()], body: AnswerIn
) -> RequestOut:
    row = data_requests.answer(
        session, actor, request_id, status=body.status, text=body.answer, dataset_code=body.dataset
    )
    return _request_out(session, row)


# --- reuses (Art. 37) ---------------------------------------------------------------------------


@router.get("/reuses", response_model=ReuseListOut)
@unit_of_work
def list_reuses(
    session: DbSession,
    actor: OptionalActor,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    dataset: Annotated[str | None, Query(max_length=64)] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 24,
) -> ReuseListOut:
    if dataset:
        found = datasets.get_dataset(session, dataset)
        rows = reuses.published_for_dataset(session, found.id)
        return ReuseListOut(total=len(rows), reuses=_reuses_out(session, rows))
    rows, total = reuses.showcase(session, kind=kind, offset=offset, limit=limit)
    return ReuseListOut(total=total, reuses=_reuses_out(session, rows))


@router.get("/reuses/{reuse_id}", response_model=ReuseOut)
@unit_of_work
def get_reuse(
    session: DbSession, actor: OptionalActor, reuse_id: Annotated[DbId, Path()]
) -> ReuseOut:
    return _reuses_out(session, [reuses.get_published(session, reuse_id)])[0]


@router.post("/reuses", response_model=ReuseOut, status_code=201)
@unit_of_work
def submit_reuse(session: DbSession, actor: ApiActor, body: ReuseIn) -> ReuseOut:
    row = reuses.submit(
        session,
        actor,
        kind=body.kind,
        title=body.title,
        description=body.description,
        url=body.url,
        dataset_codes=body.datasets,
    )
    return _reuses_out(session, [row])[0]


@router.post("/reuses/{reuse_id}/moderation", response_model=ReuseOut)
@unit_of_work
def moderate_reuse(
    session: DbSession, actor: ApiActor, reuse_id: Annotated[DbId, Path()], body: ModerationIn
) -> ReuseOut:
    row = reuses.moderate(session, actor, reuse_id, decision_of(body.decision), body.note)
    return _reuses_out(session, [row])[0]


@router.get("/moderation", response_model=ModerationQueueOut)
@unit_of_work
def moderation_queue(session: DbSession, actor: CurrentActor) -> ModerationQueueOut:
    """What waits for the city bureau: feedback, reuses, unanswered requests."""
    pending_feedback = feedback.pending(session, actor)
    pending_reuses = reuses.pending(session, actor)
    open_requests = data_requests.pending(session, actor)
    return ModerationQueueOut(
        feedback=[
            {**_feedback_out(f).model_dump(mode="json"), "dataset_id": f.dataset_id}
            for f in pending_feedback
        ],
        reuses=_reuses_out(session, pending_reuses),
        requests=[_request_out(session, r) for r in open_requests],
    )


# --- signed records (Art. 34) -------------------------------------------------------------------


@router.get("/datasets/{code:path}/records/{row}/signed")
@unit_of_work
def signed_record(
    session: DbSession, actor: OptionalActor, code: Code, row: Annotated[DbId, Path()]
) -> dict[str, Any]:
    """A released record in the signed envelope sharing signs (verify on ``/verify``)."""
    return signing.signed_record(session, actor, code, row)
