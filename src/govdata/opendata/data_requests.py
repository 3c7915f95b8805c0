"""Public requests for data not yet open (Art. 36 ¶2, 37): an identified person asks for data
(a title, a description, optionally the department thought to hold it); the city bureau
answers it (answered, possibly naming the dataset now open; or rejected, with the reason).

Requests the bureau has answered (answered or rejected) are public with their answers, as its
accountability for what the public asks; never who asked. A pending request is seen by its
requester and the bureau only (a product decision: what anyone types is not published under
the portal's name before the bureau has read it); to others it is not found (404).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.opendata import datasets, policy
from govdata.opendata.contributions import (
    TEXT_MAX,
    TITLE_MAX,
    clean_text,
    limit_pending,
    require_contributor,
    require_moderator,
)
from govdata.opendata.models import DataRequest
from govdata.org.models import Department


class RequestStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"pending": "待答复", "answered": "已答复", "rejected": "不予采纳"}[self.value]


class DataRequestNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("opendata.request_not_found", "未找到该数据需求。")


def submit(
    session: Session,
    actor: Actor | None,
    *,
    title: str,
    description: str,
    department_id: int | None = None,
) -> DataRequest:
    """Art. 36 ¶2, 37: ask for data not yet open; pending until the city bureau answers."""
    who = require_contributor(session, actor)
    clean_title = clean_text(title, "需求名称", limit=TITLE_MAX)
    clean_description = clean_text(description, "需求描述", limit=TEXT_MAX)
    if department_id is not None and session.get(Department, department_id) is None:
        raise InvalidInput("opendata.unknown_department", "所选部门不存在。")
    limit_pending(
        int(
            session.scalar(
                select(func.count())
                .select_from(DataRequest)
                .where(
                    DataRequest.requester_id == who.person_id,
                    DataRequest.status == RequestStatus.PENDING.value,
                )
            )
            or 0
        )
    )
    row = DataRequest(
        requester_id=who.person_id,
        title=clean_title,
        description=clean_description,
        department_id=department_id,
        status=RequestStatus.PENDING.value,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        who,
        "opendata.request.submit",
        object_type="open_data_request",
        object_id=row.id,
        summary=f"提交数据开放需求「{clean_title}」（第三十六条）",
        department_id=department_id,
    )
    return row


def answer(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    status: str,
    text: str,
    dataset_code: str | None = None,
) -> DataRequest:
    """The city bureau answers a pending request (``answered`` or ``rejected``, with its text;
    an answer may name the open dataset that meets it); audited."""
    require_moderator(actor)
    row = get(session, actor, request_id)
    if row.status != RequestStatus.PENDING.value:
        raise Conflict("opendata.already_answered", "该数据需求已答复。")
    if status not in (RequestStatus.ANSWERED.value, RequestStatus.REJECTED.value):
        raise InvalidInput("opendata.invalid_answer", "答复结论应为“已答复”或“不予采纳”。")
    clean_answer = clean_text(text, "答复内容", limit=TEXT_MAX)
    dataset_id = None
    if dataset_code:
        if status != RequestStatus.ANSWERED.value:
            raise InvalidInput("opendata.invalid_answer", "不予采纳的需求不能关联开放数据集。")
        dataset_id = datasets.get_dataset(session, dataset_code).id
    row.status = status
    row.answer = clean_answer
    row.answered_by = actor.person_id
    row.answered_at = utcnow()
    row.dataset_id = dataset_id
    session.flush()
    audit.record(
        session,
        actor,
        f"opendata.request.{status}",
        object_type="open_data_request",
        object_id=row.id,
        summary=f"答复数据开放需求「{row.title}」：{RequestStatus(status).label}",
        change={"status": status, "answer": clean_answer, "dataset_id": dataset_id},
        department_id=row.department_id,
    )
    return row


def _visible(viewer: Actor | None) -> ColumnElement[bool]:
    if policy.can_moderate(viewer):
        return true()
    seen = DataRequest.status != RequestStatus.PENDING.value
    if viewer is not None and viewer.person_id is not None and viewer.token_id is None:
        return or_(seen, DataRequest.requester_id == viewer.person_id)
    return seen


def get(session: Session, viewer: Actor | None, request_id: int) -> DataRequest:
    """A request the viewer may see (see the module), else ``DataRequestNotFound``."""
    row = session.scalar(select(DataRequest).where(DataRequest.id == request_id, _visible(viewer)))
    if row is None:
        raise DataRequestNotFound()
    return row


def listing(
    session: Session,
    viewer: Actor | None,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[DataRequest], int]:
    """The requests the viewer may see, newest first, optionally of one status, and how many."""
    where = [_visible(viewer)]
    if status:
        where.append(DataRequest.status == status)
    rows = session.scalars(
        select(DataRequest)
        .where(*where)
        .order_by(DataRequest.created_at.desc(), DataRequest.id.desc())
        .offset(max(offset, 0))
        .limit(max(min(limit, 200), 0))
    )
    total = session.scalar(select(func.count()).select_from(DataRequest).where(*where))
    return list(rows), int(total or 0)


def pending(session: Session, actor: Actor, *, limit: int = 200) -> list[DataRequest]:
    """Requests waiting for the bureau's answer, oldest first (the bureau only)."""
    require_moderator(actor)
    return list(
        session.scalars(
            select(DataRequest)
            .where(DataRequest.status == RequestStatus.PENDING.value)
            .order_by(DataRequest.created_at, DataRequest.id)
            .limit(limit)
        )
    )


def department_names(session: Session, rows: list[DataRequest]) -> dict[int, str]:
    ids = sorted({r.department_id for r in rows if r.department_id is not None})
    if not ids:
        return {}
    found = session.execute(select(Department.id, Department.name).where(Department.id.in_(ids)))
    return {int(row[0]): str(row[1]) for row in found}
