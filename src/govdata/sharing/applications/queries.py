"""Who sees and handles applications, and reading them (Art. 26 ¶2, 39)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.core.actor import Actor
from govdata.core.errors import InvalidInput, PermissionDenied
from govdata.core.pagination import Page, paginate
from govdata.org.models import ApiToken, Department
from govdata.sharing import policy
from govdata.sharing.errors import ApplicationNotFound
from govdata.sharing.models import (
    ApplicationKind,
    ApplicationStatus,
    ShareApplication,
)

TEXT_MAX = 4000

VIEWS = {
    "outgoing": "本部门提出的",
    "incoming": "待本部门答复",
    "all": "全部申请",
}


# --- who ---------------------------------------------------------------------------------------


def require_person(actor: Actor) -> None:
    """Applications are read and handled by government staff (Art. 26 ¶2); no system token
    opens them (Art. 39), nor does a member of the public's account."""
    if actor.token_id is not None or actor.person_id is None or actor.is_public:
        raise PermissionDenied(
            "sharing.applications_people_only", "共享申请须由工作人员登录后办理，接口令牌不能访问。"
        )


def views(actor: Actor) -> list[str]:
    """The lists an actor has: its department's outgoing and incoming; everything in scope
    for the bureau and auditors."""
    out: list[str] = []
    if policy.department_ids(actor):
        out += ["outgoing", "incoming"]
    if policy.sees_all_sharing(actor) or actor.region_ids() or not out:
        out.append("all")
    return out


def can_withdraw(actor: Actor, a: ShareApplication) -> bool:
    return (
        actor.token_id is None
        and a.status == ApplicationStatus.PENDING
        and a.requester_department_id in policy.department_ids(actor)
    )


def can_answer(actor: Actor, a: ShareApplication) -> bool:
    return a.status == ApplicationStatus.PENDING and policy.can_answer(
        actor, a.provider_department_id
    )


def region_of(session: Session, department_id: int) -> int | None:
    return session.scalar(select(Department.region_id).where(Department.id == department_id))


# --- reading -----------------------------------------------------------------------------------


def get(
    session: Session, actor: Actor, application_id: int, *, for_update: bool = False
) -> ShareApplication:
    """One application the actor may see; anything else is "not found"."""
    require_person(actor)
    stmt = policy.visible_applications(actor).where(ShareApplication.id == application_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    a = session.scalar(stmt)
    if a is None:
        raise ApplicationNotFound()
    return a


def list_applications(
    session: Session,
    actor: Actor,
    *,
    view: str = "all",
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[ShareApplication]:
    """Visible applications. ``incoming`` (the provider's inbox): pending first, by due date,
    so the overdue come first; otherwise newest first."""
    require_person(actor)
    stmt = policy.visible_applications(actor)
    own = policy.department_ids(actor)
    if view == "outgoing":
        stmt = stmt.where(ShareApplication.requester_department_id.in_(own))
    elif view == "incoming":
        stmt = stmt.where(
            ShareApplication.provider_department_id.in_(own),
            ShareApplication.kind == ApplicationKind.APPLICATION.value,
        )
    if status:
        stmt = stmt.where(ShareApplication.status == status)
    if view == "incoming":
        pending_first = case(
            (ShareApplication.status == ApplicationStatus.PENDING.value, 0), else_=1
        )
        stmt = stmt.order_by(pending_first, ShareApplication.due_on, ShareApplication.id.desc())
    else:
        stmt = stmt.order_by(ShareApplication.id.desc())
    return paginate(session, stmt, offset, limit)


def waiting_count(session: Session, actor: Actor) -> int:
    """Applications waiting for the actor's departments' answer (the provider's inbox)."""
    own = policy.department_ids(actor)
    if not own:
        return 0
    stmt = policy.visible_applications(actor).where(
        ShareApplication.provider_department_id.in_(own),
        ShareApplication.status == ApplicationStatus.PENDING.value,
    )
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def overdue_count(session: Session, actor: Actor, *, view: str) -> int:
    """Pending applications past their due date in a view (Art. 50(8))."""
    base = policy.visible_applications(actor).where(
        ShareApplication.status == ApplicationStatus.PENDING.value,
        ShareApplication.due_on < calendar.today(),
    )
    own = policy.department_ids(actor)
    if view == "outgoing":
        base = base.where(ShareApplication.requester_department_id.in_(own))
    elif view == "incoming":
        base = base.where(ShareApplication.provider_department_id.in_(own))
    stmt = select(func.count()).select_from(base.subquery())
    return int(session.scalar(stmt) or 0)


def departments(session: Session, ids: Sequence[int]) -> dict[int, Department]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(wanted)))}


def candidate_systems(session: Session, department_ids: Sequence[int]) -> list[ApiToken]:
    """The systems a department may name (for the form): its live ``sharing:read`` tokens."""
    if not department_ids:
        return []
    tokens = session.scalars(
        select(ApiToken)
        .where(ApiToken.department_id.in_(sorted(department_ids)), ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id)
    )
    return [t for t in tokens if policy.SHARING_SCOPE in t.scope_list]


def clean_text(value: str | None, code: str, message: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(code, message)
    if len(text) > TEXT_MAX:
        raise InvalidInput("sharing.text_too_long", f"填写的内容过长（不超过{TEXT_MAX}字）。")
    return text
