"""Feedback on open datasets (Art. 36): an identified person rates a dataset (1–5) and may
comment; the city bureau publishes or rejects it before anyone else sees it; the providing
department may reply. A dataset's average rating counts only published feedback.

One rating per person per dataset at a time (a product decision): a second while the first is
pending or published is refused, so one person cannot tilt an average; after a rejection the
person may try again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.opendata import datasets, policy
from govdata.opendata.contributions import (
    NOTE_MAX,
    Decision,
    clean_text,
    require_contributor,
    require_moderator,
)
from govdata.opendata.models import DatasetFeedback, ModerationStatus, OpenDataset

COMMENT_MAX = 1000


class FeedbackNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("opendata.feedback_not_found", "未找到该评价。")


@dataclass(frozen=True)
class Rating:
    average: float | None  # None without published feedback
    count: int


def submit(
    session: Session, actor: Actor | None, dataset_code: str, *, rating: int, comment: str = ""
) -> DatasetFeedback:
    """Art. 36: rate and comment on a dataset; pending until the bureau publishes it."""
    who = require_contributor(session, actor)
    dataset = datasets.get_dataset(session, dataset_code)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput("opendata.invalid_rating", "评分应为 1 至 5 的整数。")
    text = clean_text(comment, "评价内容", limit=COMMENT_MAX, required=False)
    standing = session.scalar(
        select(DatasetFeedback.id).where(
            DatasetFeedback.dataset_id == dataset.id,
            DatasetFeedback.author_id == who.person_id,
            DatasetFeedback.status.in_(
                (ModerationStatus.PENDING.value, ModerationStatus.PUBLISHED.value)
            ),
        )
    )
    if standing is not None:
        raise Conflict("opendata.feedback_exists", "您已评价过该数据集（待审核或已公开）。")
    row = DatasetFeedback(
        dataset_id=dataset.id,
        author_id=who.person_id,
        rating=rating,
        comment=text,
        status=ModerationStatus.PENDING.value,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        who,
        "opendata.feedback.submit",
        object_type="open_feedback",
        object_id=row.id,
        summary=f"对开放数据集「{dataset.name}」提交评价（{rating} 分，第三十六条）",
        department_id=dataset.department_id,
    )
    return row


def _get(session: Session, feedback_id: int) -> tuple[DatasetFeedback, OpenDataset]:
    row = session.get(DatasetFeedback, feedback_id)
    if row is None:
        raise FeedbackNotFound()
    dataset = session.get(OpenDataset, row.dataset_id)
    assert dataset is not None
    return row, dataset


def moderate(
    session: Session, actor: Actor, feedback_id: int, decision: Decision, note: str = ""
) -> DatasetFeedback:
    """Art. 36: the city bureau publishes or rejects pending feedback, with a note; audited."""
    require_moderator(actor)
    row, dataset = _get(session, feedback_id)
    if row.status != ModerationStatus.PENDING.value:
        raise Conflict("opendata.already_moderated", "该评价已审核。")
    text = clean_text(note, "审核意见", limit=NOTE_MAX, required=decision is Decision.REJECT)
    row.status = (
        ModerationStatus.PUBLISHED if decision is Decision.PUBLISH else ModerationStatus.REJECTED
    ).value
    row.moderated_by = actor.person_id
    row.moderated_at = utcnow()
    row.moderation_note = text
    session.flush()
    audit.record(
        session,
        actor,
        f"opendata.feedback.{decision.value}",
        object_type="open_feedback",
        object_id=row.id,
        summary=f"审核开放数据集「{dataset.name}」的评价：{ModerationStatus(row.status).label}",
        change={"status": row.status, "note": text},
        department_id=dataset.department_id,
    )
    return row


def reply(session: Session, actor: Actor, feedback_id: int, text: str) -> DatasetFeedback:
    """Art. 36: the providing department (or the city bureau) answers published feedback.
    Feedback not published is not found by anyone else (404, never a leak)."""
    row, dataset = _get(session, feedback_id)
    if row.status != ModerationStatus.PUBLISHED.value and not policy.can_moderate(actor):
        raise FeedbackNotFound()
    policy.require_manage(actor, dataset.department_id)
    if row.status != ModerationStatus.PUBLISHED.value:
        raise Conflict("opendata.feedback_not_published", "只能答复已公开的评价。")
    answer = clean_text(text, "答复内容", limit=COMMENT_MAX)
    before = row.reply
    row.reply = answer
    session.flush()
    audit.record(
        session,
        actor,
        "opendata.feedback.reply",
        object_type="open_feedback",
        object_id=row.id,
        summary=f"答复开放数据集「{dataset.name}」的评价",
        change={"before": before, "after": answer},
        department_id=dataset.department_id,
    )
    return row


def published(session: Session, dataset_id: int, *, limit: int = 50) -> list[DatasetFeedback]:
    """The dataset's published feedback, newest first (what the public sees)."""
    return list(
        session.scalars(
            select(DatasetFeedback)
            .where(
                DatasetFeedback.dataset_id == dataset_id,
                DatasetFeedback.status == ModerationStatus.PUBLISHED.value,
            )
            .order_by(DatasetFeedback.created_at.desc(), DatasetFeedback.id.desc())
            .limit(limit)
        )
    )


def rating(session: Session, dataset_id: int) -> Rating:
    """Average and count of published ratings (Art. 36)."""
    avg, count = session.execute(
        select(func.avg(DatasetFeedback.rating), func.count()).where(
            DatasetFeedback.dataset_id == dataset_id,
            DatasetFeedback.status == ModerationStatus.PUBLISHED.value,
        )
    ).one()
    return Rating(round(float(avg), 2) if avg is not None else None, int(count or 0))


def pending(session: Session, actor: Actor, *, limit: int = 200) -> list[DatasetFeedback]:
    """Feedback waiting for moderation, oldest first (the bureau only)."""
    require_moderator(actor)
    return list(
        session.scalars(
            select(DatasetFeedback)
            .where(DatasetFeedback.status == ModerationStatus.PENDING.value)
            .order_by(DatasetFeedback.created_at, DatasetFeedback.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class FeedbackView:
    """What a dataset's page shows of its feedback (``community_dataset_block.html``)."""

    average: float | None
    count: int
    items: list[DatasetFeedback]


def view(session: Session, dataset_id: int) -> FeedbackView:
    summary = rating(session, dataset_id)
    return FeedbackView(summary.average, summary.count, published(session, dataset_id))
