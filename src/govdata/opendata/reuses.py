"""Reuses of open data (Art. 37): an identified person submits an app, research, a news story
or a visualization built on open datasets (title, description, an http(s) link, the datasets
it uses); the city bureau reviews it before it is shown in the showcase and on the datasets'
pages. Only published reuses are found by the public: another's pending or rejected reuse is
404, never a leak.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.opendata import datasets
from govdata.opendata.contributions import (
    NOTE_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Decision,
    clean_text,
    clean_url,
    limit_pending,
    require_contributor,
    require_moderator,
)
from govdata.opendata.models import (
    ModerationStatus,
    OpenDataset,
    Reuse,
    ReuseDataset,
    ReuseKind,
)

MAX_DATASETS = 20


class ReuseNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("opendata.reuse_not_found", "未找到该应用成果。")


def submit(
    session: Session,
    actor: Actor | None,
    *,
    kind: str,
    title: str,
    description: str,
    url: str,
    dataset_codes: Sequence[str],
) -> Reuse:
    """Art. 37: submit a reuse of open datasets; pending until the city bureau reviews it."""
    who = require_contributor(session, actor)
    if kind not in set(ReuseKind):
        raise InvalidInput("opendata.invalid_kind", "成果类型应为应用、研究、新闻报道或可视化。")
    clean_title = clean_text(title, "成果名称", limit=TITLE_MAX)
    clean_description = clean_text(description, "成果简介", limit=TEXT_MAX)
    clean_link = clean_url(url)
    codes = list(dict.fromkeys(c.strip() for c in dataset_codes if c and c.strip()))
    if not codes:
        raise InvalidInput("opendata.no_datasets", "请选择该成果使用的开放数据集。")
    if len(codes) > MAX_DATASETS:
        raise InvalidInput("opendata.no_datasets", f"最多关联{MAX_DATASETS}个开放数据集。")
    used = [datasets.get_dataset(session, code) for code in codes]
    limit_pending(
        int(
            session.scalar(
                select(func.count())
                .select_from(Reuse)
                .where(
                    Reuse.submitter_id == who.person_id,
                    Reuse.status == ModerationStatus.PENDING.value,
                )
            )
            or 0
        )
    )
    row = Reuse(
        submitter_id=who.person_id,
        kind=kind,
        title=clean_title,
        description=clean_description,
        url=clean_link,
        status=ModerationStatus.PENDING.value,
    )
    session.add(row)
    session.flush()
    session.add_all(ReuseDataset(reuse_id=row.id, dataset_id=d.id) for d in used)
    session.flush()
    audit.record(
        session,
        who,
        "opendata.reuse.submit",
        object_type="open_reuse",
        object_id=row.id,
        summary=f"提交开放数据应用成果「{clean_title}」（第三十七条）",
        change={"datasets": codes, "url": clean_link},
    )
    return row


def moderate(
    session: Session, actor: Actor, reuse_id: int, decision: Decision, note: str = ""
) -> Reuse:
    """Art. 37: the city bureau publishes or rejects a pending reuse, with a note; audited."""
    require_moderator(actor)
    row = session.get(Reuse, reuse_id)
    if row is None:
        raise ReuseNotFound()
    if row.status != ModerationStatus.PENDING.value:
        raise Conflict("opendata.already_moderated", "该应用成果已审核。")
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
        f"opendata.reuse.{decision.value}",
        object_type="open_reuse",
        object_id=row.id,
        summary=f"审核开放数据应用成果「{row.title}」：{ModerationStatus(row.status).label}",
        change={"status": row.status, "note": text},
    )
    return row


def get_published(session: Session, reuse_id: int) -> Reuse:
    row = session.get(Reuse, reuse_id)
    if row is None or row.status != ModerationStatus.PUBLISHED.value:
        raise ReuseNotFound()
    return row


def published_for_dataset(session: Session, dataset_id: int) -> list[Reuse]:
    """The published reuses of a dataset, newest first (its portal page)."""
    return list(
        session.scalars(
            select(Reuse)
            .join(ReuseDataset, ReuseDataset.reuse_id == Reuse.id)
            .where(
                ReuseDataset.dataset_id == dataset_id,
                Reuse.status == ModerationStatus.PUBLISHED.value,
            )
            .order_by(Reuse.moderated_at.desc(), Reuse.id.desc())
            .limit(50)
        )
    )


def showcase(
    session: Session, *, kind: str | None = None, offset: int = 0, limit: int = 24
) -> tuple[list[Reuse], int]:
    """Published reuses, newest first, optionally of one kind, and how many there are."""
    where = [Reuse.status == ModerationStatus.PUBLISHED.value]
    if kind:
        where.append(Reuse.kind == kind)
    rows = session.scalars(
        select(Reuse)
        .where(*where)
        .order_by(Reuse.moderated_at.desc(), Reuse.id.desc())
        .offset(max(offset, 0))
        .limit(max(min(limit, 100), 0))
    )
    total = session.scalar(select(func.count()).select_from(Reuse).where(*where))
    return list(rows), int(total or 0)


def datasets_of(session: Session, reuse_ids: Sequence[int]) -> dict[int, list[OpenDataset]]:
    """The open (not withdrawn) datasets each reuse uses, by reuse id."""
    out: dict[int, list[OpenDataset]] = {i: [] for i in reuse_ids}
    if not reuse_ids:
        return out
    rows = session.execute(
        select(ReuseDataset.reuse_id, OpenDataset)
        .join(OpenDataset, OpenDataset.id == ReuseDataset.dataset_id)
        .where(ReuseDataset.reuse_id.in_(list(reuse_ids)), OpenDataset.withdrawn.is_(False))
        .order_by(OpenDataset.name)
    )
    for reuse_id, dataset in rows:
        out[reuse_id].append(dataset)
    return out


def pending(session: Session, actor: Actor, *, limit: int = 200) -> list[Reuse]:
    """Reuses waiting for review, oldest first (the bureau only)."""
    require_moderator(actor)
    return list(
        session.scalars(
            select(Reuse)
            .where(Reuse.status == ModerationStatus.PENDING.value)
            .order_by(Reuse.created_at, Reuse.id)
            .limit(limit)
        )
    )
