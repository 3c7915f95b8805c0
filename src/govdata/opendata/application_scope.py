"""Reading conditional-open applications (Art. 33 ¶2): who sees what, the lists, and who may
answer or withdraw. The applicant sees its own, the provider its department's, the city bureau
all (Art. 29); anything else is "not found" (a token, another department, another person)."""

from __future__ import annotations

from sqlalchemy import Select, case, false, func, or_, select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.actor import Actor
from govdata.core.errors import Conflict, InvalidInput, NotFound
from govdata.core.pagination import Page, paginate
from govdata.core.text import has_control
from govdata.opendata import policy
from govdata.opendata.models import OpenApplication, OpenApplicationStatus, OpenDataset

TEXT_MAX = 4000


class ApplicationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("opendata.application_not_found", "未找到该开放申请。")


class AlreadyAnswered(Conflict):
    def __init__(self) -> None:
        super().__init__("opendata.application_closed", "该开放申请已答复或已撤回。")


def text(value: str | None, code: str, message: str, *, required: bool = True) -> str:
    out = (value or "").strip()
    if required and not out:
        raise InvalidInput(code, message)
    if len(out) > TEXT_MAX:
        raise InvalidInput("opendata.text_too_long", f"填写的内容过长（不超过{TEXT_MAX}字）。")
    if has_control(out, multiline=True):
        raise InvalidInput("opendata.text_control", "填写的内容含有控制字符，请删除后再提交。")
    return out


# --- who sees what ----------------------------------------------------------------------------


def visible(actor: Actor | None) -> Select[OpenApplication]:
    """The applicant its own, the provider its department's, the city bureau and auditors all
    (Art. 29, 33 ¶2, 49), a district bureau its districts' departments' (Art. 6 ¶2); a
    department system's token nothing."""
    stmt = select(OpenApplication)
    if actor is None or actor.token_id is not None or actor.person_id is None:
        return stmt.where(false())
    if policy.oversees_all(actor):
        return stmt
    own = actor.department_ids(*policy.STAFF_OF_DEPARTMENT)
    clauses = [OpenApplication.applicant_id == actor.person_id]
    if own:
        clauses.append(OpenApplication.provider_department_id.in_(own))
    overseen = policy.overseen_departments(actor)
    if overseen is not None:
        clauses.append(OpenApplication.provider_department_id.in_(overseen))
    return stmt.where(or_(*clauses))


def get(
    session: Session, actor: Actor | None, application_id: int, *, for_update: bool = False
) -> OpenApplication:
    policy.require_person(actor)
    stmt = visible(actor).where(OpenApplication.id == application_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    a = session.scalar(stmt)
    if a is None:
        raise ApplicationNotFound()
    return a


VIEWS = {"mine": "我的申请", "inbox": "待本部门答复", "all": "全部申请"}


def views(actor: Actor) -> list[str]:
    out = ["mine"]
    if actor.department_ids(*policy.STAFF_OF_DEPARTMENT):
        out.insert(0, "inbox")
    if policy.oversees_all(actor) or policy.overseen_departments(actor) is not None:
        out.append("all")  # all the actor oversees (read-only but for the bureau's own)
    return out


def list_applications(
    session: Session,
    actor: Actor,
    *,
    view: str = "mine",
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[OpenApplication]:
    """``mine``: the actor's own, newest first. ``inbox`` (its departments') and ``all`` (the
    bureau): pending first by due date, so the overdue come first (Art. 50(8))."""
    policy.require_person(actor)
    stmt = visible(actor)
    if view == "mine":
        stmt = stmt.where(OpenApplication.applicant_id == actor.person_id)
    elif view == "inbox":
        own = actor.department_ids(*policy.STAFF_OF_DEPARTMENT)
        stmt = stmt.where(OpenApplication.provider_department_id.in_(own))
    if status:
        stmt = stmt.where(OpenApplication.status == status)
    if view == "mine":
        stmt = stmt.order_by(OpenApplication.id.desc())
    else:
        pending_first = case(
            (OpenApplication.status == OpenApplicationStatus.PENDING.value, 0), else_=1
        )
        stmt = stmt.order_by(pending_first, OpenApplication.due_on, OpenApplication.id.desc())
    return paginate(session, stmt, offset, limit)


def overdue_count(session: Session, actor: Actor) -> int:
    """Pending applications past due that the actor sees (flagged on both sides)."""
    base = visible(actor).where(
        OpenApplication.status == OpenApplicationStatus.PENDING.value,
        OpenApplication.due_on < calendar.today(),
    )
    return int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)


def can_answer(actor: Actor | None, a: OpenApplication) -> bool:
    """Art. 33 ¶2: the providing department answers (its officer or head)."""
    return (
        actor is not None
        and actor.token_id is None
        and a.status == OpenApplicationStatus.PENDING
        and policy.is_provider(actor, a.provider_department_id)
    )


def can_withdraw(actor: Actor | None, a: OpenApplication) -> bool:
    return (
        actor is not None
        and actor.token_id is None
        and a.status == OpenApplicationStatus.PENDING
        and a.applicant_id == actor.person_id
    )


def dataset_of(session: Session, a: OpenApplication) -> OpenDataset:
    row = session.get(OpenDataset, a.dataset_id)
    assert row is not None  # a foreign key
    return row
