"""谁用了我的数据 ("who used my data", as Estonia's data tracker; Art. 40, 50(4)(5)).

A citizen or company signed in to the portal sees the sharing calls about them: the access
records whose ``subject_digest`` (the keyed SM3 digest of the subject looked up) equals the
account's ``Person.identity_digest``, set once the account's identity is verified (identity
authentication, the open-data issue). For each: which department read, from which department's
data, when, for what (the grant's purpose and the duty it serves), which items, the outcome.

Only the person: staff never see another person's list here (they read usage dashboards,
which show no subject at all), and no token opens it. Reading one's own list leaves an access
record; it carries no digest, so it never appears in the list itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.access import AccessRecord as AR
from govdata.core.access import record_access
from govdata.core.actor import Actor
from govdata.core.calendar import CITY_TZ
from govdata.core.errors import PermissionDenied
from govdata.core.pagination import Page
from govdata.org.models import Department, Person
from govdata.org.policy import require_person
from govdata.sharing.models import Grant
from govdata.sharing.usage import ACTIONS, SHARE_SOURCE, local_date

MONTHS = 12
EXPLANATION = (
    "这里列出政务部门通过共享系统调用与您（本单位）有关的数据的每一次记录：哪个部门、什么时间、"
    "为履行什么职责、用于什么用途、调用了哪些信息项，以及调用是否被允许。"
    "记录由平台在每次调用时自动生成，调用部门不能修改或删除（《重庆市政务数据资源管理暂行办法》"
    "第四十条）。如认为某次调用与该部门的职责无关，可向市政务数据资源主管部门反映（第五十条）。"
)
NOT_VERIFIED_DETAIL = (
    "您的账户尚未完成身份认证，平台还无法确认哪些调用记录与您有关，"
    "因此这里暂不显示任何记录。身份认证将在开放门户提供，该功能正在建设中，尚未开放；"
    "开放后完成身份认证，即可在这里查看。"
)
NOT_VERIFIED = "身份认证后可查看。" + NOT_VERIFIED_DETAIL


@dataclass(frozen=True)
class DataUse:
    """One read of data about the person, in plain words."""

    at: datetime
    department: str  # who read (the requesting department)
    provider: str  # whose data it was
    source: str  # the data resource's name (or code)
    action_label: str
    purpose: str  # the grant's purpose text, else the purpose the call stated
    duty: str  # the duty the grant serves (Art. 26 ¶2, 50(4))
    items: list[str]
    allowed: bool


@dataclass(frozen=True)
class MyDataUse:
    verified: bool  # whether the account's identity is verified (else nothing can be matched)
    page: Page[DataUse]
    months: list[tuple[str, int]]  # the last 12 months (YYYY-MM) and the calls in each


def require_public(actor: Actor) -> None:
    """The person themself: a citizen's or company's account, signed in (no token)."""
    require_person(actor)
    if not actor.is_public:
        raise PermissionDenied(
            "sharing.my_data_public_only",
            "“谁用了我的数据”供公民、法人和其他组织查看与本人（本单位）有关的数据调用情况，"
            "工作人员不能在此查看他人的记录。",
        )


def _month_starts(today: date, n: int) -> list[date]:
    y, m = today.year, today.month
    out = []
    for _ in range(n):
        out.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def my_data_use(
    session: Session,
    actor: Actor,
    *,
    offset: int = 0,
    limit: int = 20,
    today: date | None = None,
) -> MyDataUse:
    """The sharing calls about the signed-in person, newest first, and a count by month."""
    require_public(actor)
    offset = max(offset, 0)
    limit = min(max(limit, 1), 100)
    person = session.get(Person, actor.person_id)
    digest = person.identity_digest if person is not None else None
    months = _month_starts(today or calendar.today(), MONTHS)
    if not digest:
        _leave_trace(session, actor, 0)
        return MyDataUse(
            False, Page([], 0, offset, limit), [(m.strftime("%Y-%m"), 0) for m in months]
        )
    mine = (AR.subject_digest == digest, AR.object_type == SHARE_SOURCE)
    total = session.scalar(select(func.count()).select_from(AR).where(*mine)) or 0
    rows = session.execute(
        select(AR, Grant.purpose, Grant.duty, Grant.source_name)
        .outerjoin(Grant, Grant.id == AR.grant_id)
        .where(*mine)
        .order_by(AR.at.desc(), AR.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    names = _names(session, rows)
    items = [
        DataUse(
            at=r.at,
            department=names.get(r.actor_department_id or 0, "（未注明的部门）"),
            provider=names.get(r.owner_department_id or 0, ""),
            source=source_name or r.object_id,
            action_label=ACTIONS.get(r.action, r.action),
            purpose=purpose or r.purpose,
            duty=duty or "",
            items=[x for x in r.fields.split(",") if x],
            allowed=r.outcome == "allowed",
        )
        for r, purpose, duty, source_name in rows
    ]
    _leave_trace(session, actor, len(items))
    return MyDataUse(True, Page(items, total, offset, limit), _per_month(session, digest, months))


def _names(session: Session, rows: Any) -> dict[int, str]:
    ids = {i for r, *_ in rows for i in (r.actor_department_id, r.owner_department_id) if i}
    if not ids:
        return {}
    return dict(
        session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all()
    )


def _per_month(session: Session, digest: str, months: list[date]) -> list[tuple[str, int]]:
    """Calls about the person per Beijing month (one GROUP BY on the subject index)."""
    dialect = session.get_bind().dialect.name
    month = func.substr(local_date(dialect), 1, 7)
    start = datetime.combine(months[0], time.min, CITY_TZ)
    counted: dict[str, int] = dict(
        session.execute(
            select(month, func.count())
            .where(AR.subject_digest == digest, AR.object_type == SHARE_SOURCE, AR.at >= start)
            .group_by(month)
        ).all()
    )
    return [(m.strftime("%Y-%m"), int(counted.get(m.strftime("%Y-%m"), 0))) for m in months]


def _leave_trace(session: Session, actor: Actor, rows: int) -> None:
    """Reading one's own list is a read too (Art. 40); without a digest, so it is not listed."""
    record_access(
        session,
        actor,
        "sharing.my_data_use.read",
        object_type="person",
        object_id=actor.person_id or "",
        rows=rows,
    )
