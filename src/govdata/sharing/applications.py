"""Registrations and applications (Art. 24, 26 ¶2, 50(4)): how a department obtains data.

* **Unconditional sharing** (无条件共享登记): a source whose share type is unconditional (base
  databases always, Art. 25(2)) is obtained by a registration stating the duty it serves (the
  department's function and its legal basis), the purpose (and ``purpose_code``, the short
  name the calling system states on each call), the calling system, the items and the period.
  It takes effect at once: status ``registered`` and a grant (origin ``registration``) made in
  the same transaction.
* **Conditional sharing** (有条件共享申请): anything else that may be shared (a conditional
  source, or an unconditional one with a conditional item asked for) needs an application,
  which the provider answers within 10 working days (``deadlines``: obligation
  ``sharing.application``). The provider approves as asked, approves narrowed (fewer items, a
  row condition, a shorter period, a daily quota; never wider than asked), or refuses with a
  reason and its basis (both required). Approval makes the grant (origin ``application``)
  naming the systems asked for. The requester may withdraw while it is pending.
* **Not shared** sources and items (Art. 24) cannot be applied for: the refusal points to an
  objection (Art. 27).

Who may do what is in ``sharing.policy``; every change is audited; nothing is committed here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.core.pagination import Page, paginate
from govdata.org.models import ApiToken, Department
from govdata.sharing import grants, policy
from govdata.sharing.deadlines import APPLICATION, SUBJECT, title
from govdata.sharing.errors import AlreadyAnswered, ApplicationNotFound, NotShared
from govdata.sharing.models import (
    ApplicationKind,
    ApplicationStatus,
    GrantMode,
    GrantOrigin,
    ShareApplication,
)
from govdata.sharing.sources import SharedSource

#: A purpose code: a short ASCII name, as the calling system states it on each call.
PURPOSE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TEXT_MAX = 4000

VIEWS = {
    "outgoing": "本部门提出的",
    "incoming": "待本部门答复",
    "all": "全部申请",
}


# --- who ---------------------------------------------------------------------------------------


def require_person(actor: Actor) -> None:
    """Applications are read and handled by people; no system token opens them (Art. 39)."""
    if actor.token_id is not None or actor.person_id is None:
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


# --- the form's checks -------------------------------------------------------------------------


def _text(value: str | None, code: str, message: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(code, message)
    if len(text) > TEXT_MAX:
        raise InvalidInput("sharing.text_too_long", f"填写的内容过长（不超过{TEXT_MAX}字）。")
    return text


def kind_for(source: SharedSource, items: Sequence[str]) -> ApplicationKind:
    """Registration for an unconditional source when every item asked for is unconditional
    (Art. 24, 25(2)); an application otherwise (conditional, or mixed items)."""
    if source.share_type == "unconditional" and all(
        (i := source.item(n)) is not None and i.share_type == "unconditional" for n in items
    ):
        return ApplicationKind.REGISTRATION
    return ApplicationKind.APPLICATION


def region_of(session: Session, department_id: int) -> int | None:
    return session.scalar(select(Department.region_id).where(Department.id == department_id))


@dataclass(frozen=True)
class Request:
    """What a department asks for (Art. 26 ¶2, 50(4))."""

    department_id: int
    source_code: str
    items: Sequence[str]
    duty: str
    legal_basis: str
    purpose: str
    purpose_code: str
    calling_system: str
    period_from: date
    period_until: date | None
    token_ids: Sequence[int] = ()
    scenario: str = ""
    expected_daily_calls: int | None = None
    row_condition: dict[str, Any] | None = None
    mode: GrantMode = GrantMode.DATA


@dataclass(frozen=True)
class _Statement:
    duty: str
    basis: str
    purpose: str
    code: str
    system: str
    scenario: str
    calls: int | None


def _check_statement(req: Request, kind: ApplicationKind) -> _Statement:
    """The duty, its legal basis, the purpose and the calling system (Art. 26 ¶2, 50(4)); an
    application also states the usage scenario and the expected daily calls."""
    duty = _text(req.duty, "sharing.duty_required", "请填写所履行的职责（部门职能）。")
    basis = _text(req.legal_basis, "sharing.legal_basis_required", "请填写履行该职责的法律依据。")
    purpose = _text(req.purpose, "sharing.purpose_required", "请填写使用数据的用途。")
    code = req.purpose_code.strip()
    if not PURPOSE_CODE.match(code):
        raise InvalidInput(
            "sharing.purpose_code_invalid",
            "用途代码须为1至64位英文字母、数字、点、下划线或连字符，以字母或数字开头，"
            "调用系统每次调用时声明。",
        )
    system = _text(req.calling_system, "sharing.calling_system_required", "请填写调用系统名称。")
    if len(system) > 200:
        raise InvalidInput("sharing.calling_system_too_long", "调用系统名称不超过200字。")
    application = kind is ApplicationKind.APPLICATION
    scenario = _text(
        req.scenario, "sharing.scenario_required", "请填写数据的使用场景。", required=application
    )
    calls = req.expected_daily_calls
    if application and calls is None:
        raise InvalidInput("sharing.daily_calls_required", "请填写预计每日调用次数。")
    if calls is not None and calls < 1:
        raise InvalidInput("sharing.daily_calls_invalid", "预计每日调用次数须为正整数。")
    return _Statement(duty, basis, purpose, code, system, scenario, calls)


def _check_period(req: Request, today: date) -> None:
    if req.period_from < today:
        raise InvalidInput("sharing.period_in_past", "使用期限的起始日期不能早于今天。")
    if req.period_until is None:
        raise InvalidInput("sharing.period_until_required", "请填写使用期限的截止日期。")
    if req.period_until < req.period_from:
        raise InvalidInput("sharing.period_invalid", "使用期限的截止日期不能早于起始日期。")


def submit(session: Session, actor: Actor, req: Request) -> ShareApplication:
    """Register (unconditional: effective at once, a grant in the same transaction) or apply
    (conditional: pending, the provider's 10-working-day clock opened) (Art. 24, 26 ¶2).

    Checked before anything is stored: the department is the actor's own, the source is in
    the share catalog and is shared, every item exists and is shared (Art. 24), the duty,
    legal basis, purpose and calling system are stated (Art. 50(4)), the purpose code is a
    short ASCII name, the period is sound, the systems are the department's ``sharing:read``
    tokens.
    """
    policy.require_apply_for(actor, req.department_id)
    source = grants.require_source(session, req.source_code.strip())
    if source.share_type == "none":
        raise NotShared(f"“{source.name}”")  # Art. 24: object instead (Art. 27)
    if source.provider_department_id == req.department_id:
        raise InvalidInput(
            "sharing.own_source", "这是本部门提供的数据，无需申请共享。"
        )  # product decision: a department does not apply to itself
    items = grants.check_items(source, req.items, mode=req.mode)
    kind = kind_for(source, items)
    st = _check_statement(req, kind)
    today = calendar.today()
    _check_period(req, today)
    systems = grants.check_systems(session, req.department_id, req.token_ids)
    cond = grants.check_row_condition(source, req.row_condition)
    duty, basis, purpose, code, system, calls = (
        st.duty,
        st.basis,
        st.purpose,
        st.code,
        st.system,
        st.calls,
    )
    a = ShareApplication(
        kind=kind.value,
        status=(
            ApplicationStatus.REGISTERED
            if kind is ApplicationKind.REGISTRATION
            else ApplicationStatus.PENDING
        ).value,
        requester_department_id=req.department_id,
        provider_department_id=source.provider_department_id,
        source_code=source.code,
        source_kind=source.kind.value,
        source_name=source.name,
        resource_id=source.resource_id,
        mode=req.mode.value,
        items=items,
        duty=duty[:500],
        legal_basis=basis,
        purpose=purpose,
        purpose_code=code,
        scenario=st.scenario,
        calling_system=system,
        token_ids=systems,
        period_from=req.period_from,
        period_until=req.period_until,
        expected_daily_calls=calls,
        row_condition=cond.as_json() if cond else None,
        extension_days=0,
        created_by=actor.person_id,
        created_by_name=actor.name[:64],
    )
    provider_region = region_of(session, source.provider_department_id)
    if kind is ApplicationKind.APPLICATION:
        due = obligations.deadline(session, APPLICATION, today)
        a.received_on = today
        a.due_on = due.due
        a.due_provisional = due.provisional
    session.add(a)
    session.flush()
    change = {
        "kind": kind.value,
        "source": source.code,
        "items": items,
        "duty": duty,
        "legal_basis": basis,
        "purpose": purpose,
        "purpose_code": code,
        "calling_system": system,
        "systems": systems,
        "period_from": req.period_from,
        "period_until": req.period_until,
        "row_condition": a.row_condition,
        "expected_daily_calls": calls,
    }
    if kind is ApplicationKind.REGISTRATION:
        # Art. 26 ¶2: unconditional sharing takes effect on registration.
        grant = grants.create(
            session,
            actor,
            origin=GrantOrigin.REGISTRATION,
            source=source,
            requester_department_id=req.department_id,
            items=items,
            mode=req.mode,
            row_condition=a.row_condition,
            duty=duty,
            legal_basis=basis,
            purpose=purpose,
            purpose_code=code,
            valid_from=req.period_from,
            expires_on=req.period_until,
            daily_quota=None,
            token_ids=systems,
            application_id=a.id,
        )
        a.grant_id = grant.id
        session.flush()
        audit.record(
            session,
            actor,
            "sharing.application.register",
            object_type="share_application",
            object_id=a.id,
            summary=f"{actor.name}登记无条件共享{source.name}的{len(items)}个信息项，即时生效",
            change=change | {"grant_id": grant.id},
            region_id=provider_region,
            department_id=source.provider_department_id,
        )
        return a
    assert a.due_on is not None
    audit.record(
        session,
        actor,
        "sharing.application.submit",
        object_type="share_application",
        object_id=a.id,
        summary=(
            f"{actor.name}申请有条件共享{source.name}的{len(items)}个信息项，"
            f"应于{a.due_on.isoformat()}前答复"
        ),
        change=change | {"received_on": today, "due_on": a.due_on},
        region_id=provider_region,
        department_id=source.provider_department_id,
    )
    obligations.open(
        session,
        actor,
        APPLICATION,
        subject_type=SUBJECT,
        subject_id=a.id,
        department_id=source.provider_department_id,
        region_id=provider_region,
        title=title(a),
        deadline=due,
    )
    return a


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


# --- answering (Art. 26 ¶2) --------------------------------------------------------------------


def _pending(session: Session, actor: Actor, application_id: int) -> ShareApplication:
    a = get(session, actor, application_id, for_update=True)
    policy.require_answer(actor, a.provider_department_id)
    if a.status != ApplicationStatus.PENDING:
        raise AlreadyAnswered()
    return a


def _close_clock(session: Session, actor: Actor, a: ShareApplication, today: date) -> None:
    a.answered_on = today
    session.flush()
    obligations.answer(
        session, actor, APPLICATION, subject_type=SUBJECT, subject_id=a.id, answered_on=today
    )


def _narrow_rows(
    source: SharedSource, asked: dict[str, Any] | None, given: dict[str, Any] | None
) -> grants.RowCondition | None:
    """The rows approved: all that were asked, or a narrower condition (never wider)."""
    asked_cond = grants.RowCondition.of(asked)
    cond = grants.check_row_condition(source, given) if given else None
    if cond is None:
        return asked_cond
    if asked_cond is not None and (
        cond.item != asked_cond.item or not set(cond.values) <= set(asked_cond.values)
    ):
        raise InvalidInput(
            "sharing.narrowing_wider",
            f"批准的数据范围不能超出申请的范围（{asked_cond.describe()}）。",
        )
    return cond


def _live_systems(session: Session, a: ShareApplication) -> list[int]:
    """The systems asked for that may still be named (a token revoked since is left out)."""
    out: list[int] = []
    for tid in a.token_ids:
        try:
            out += grants.check_systems(session, a.requester_department_id, [tid])
        except InvalidInput:
            continue
    return out


def approve(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    items: Sequence[str] | None = None,
    row_condition: dict[str, Any] | None = None,
    period_until: date | None = None,
    daily_quota: int | None = None,
    note: str = "",
) -> ShareApplication:
    """The provider approves (Art. 26 ¶2): as asked, or narrowed — fewer items, a row
    condition (e.g. only the requester's district), a shorter period, a daily quota — never
    wider than asked. The grant names the systems asked for; the clock stops."""
    a = _pending(session, actor, application_id)
    source = grants.require_source(session, a.source_code)
    asked = list(a.items)
    chosen = list(items) if items is not None else asked
    wider = sorted(set(chosen) - set(asked))
    if wider:
        raise InvalidInput(
            "sharing.narrowing_wider",
            f"批准的信息项不能超出申请的范围：{'、'.join(wider)}。",
            detail={"items": wider},
        )
    chosen = grants.check_items(source, chosen, mode=GrantMode(a.mode))
    cond = _narrow_rows(source, a.row_condition, row_condition)
    until = period_until if period_until is not None else a.period_until
    if until is not None and a.period_until is not None and until > a.period_until:
        raise InvalidInput(
            "sharing.narrowing_wider",
            f"批准的使用期限不能晚于申请的截止日期{a.period_until.isoformat()}。",
        )
    if until is not None and until < a.period_from:
        raise InvalidInput("sharing.period_invalid", "授权的截止日期不能早于生效日期。")
    if daily_quota is not None and daily_quota < 1:
        raise InvalidInput("sharing.quota_invalid", "每日调用限额须为正整数。")
    text = _text(note, "", "", required=False)
    narrowed = (
        len(chosen) < len(asked)
        or (cond.as_json() if cond else None) != a.row_condition
        or until != a.period_until
        or daily_quota is not None
    )
    systems = _live_systems(session, a)
    grant = grants.create(
        session,
        actor,
        origin=GrantOrigin.APPLICATION,
        source=source,
        requester_department_id=a.requester_department_id,
        items=chosen,
        mode=GrantMode(a.mode),
        row_condition=cond.as_json() if cond else None,
        duty=a.duty,
        legal_basis=a.legal_basis,
        purpose=a.purpose,
        purpose_code=a.purpose_code,
        valid_from=a.period_from,
        expires_on=until,
        daily_quota=daily_quota,
        token_ids=systems,
        application_id=a.id,
    )
    today = calendar.today()
    late = a.due_on is not None and today > a.due_on
    a.status = (ApplicationStatus.NARROWED if narrowed else ApplicationStatus.APPROVED).value
    a.grant_id = grant.id
    a.decided_by = actor.person_id
    a.decided_at = utcnow()
    a.decision_note = text
    _close_clock(session, actor, a, today)
    verdict = "批准（有缩减）" if narrowed else "批准"
    audit.record(
        session,
        actor,
        "sharing.application.approve",
        object_type="share_application",
        object_id=a.id,
        summary=(
            f"{actor.name}答复第{a.id}号共享申请：{verdict}，授权{grant.id}"
            + (f"；逾期答复，期限为{a.due_on}（第五十条第八项）" if late else "")
        ),
        change={
            "status": a.status,
            "items": chosen,
            "asked_items": asked,
            "row_condition": grant.row_condition,
            "period_until": until,
            "daily_quota": daily_quota,
            "systems": systems,
            "note": text,
            "grant_id": grant.id,
            "late": late,
        },
        region_id=region_of(session, a.provider_department_id),
        department_id=a.provider_department_id,
    )
    return a


def refuse(
    session: Session, actor: Actor, application_id: int, *, reason: str, basis: str
) -> ShareApplication:
    """The provider refuses, stating the reason AND its basis (Art. 26 ¶2); the requester
    may object to the bureau (Art. 27)."""
    a = _pending(session, actor, application_id)
    why = _text(reason, "sharing.refusal_reason_required", "不予共享的，须说明理由。")
    on = _text(basis, "sharing.refusal_basis_required", "不予共享的，须说明依据。")
    today = calendar.today()
    late = a.due_on is not None and today > a.due_on
    a.status = ApplicationStatus.REFUSED.value
    a.refusal_reason = why
    a.refusal_basis = on
    a.decided_by = actor.person_id
    a.decided_at = utcnow()
    _close_clock(session, actor, a, today)
    audit.record(
        session,
        actor,
        "sharing.application.refuse",
        object_type="share_application",
        object_id=a.id,
        summary=(
            f"{actor.name}答复第{a.id}号共享申请：不予共享"
            + (f"；逾期答复，期限为{a.due_on}（第五十条第八项）" if late else "")
        ),
        change={"reason": why, "basis": on, "late": late},
        region_id=region_of(session, a.provider_department_id),
        department_id=a.provider_department_id,
    )
    return a


def withdraw(session: Session, actor: Actor, application_id: int) -> ShareApplication:
    """The requester withdraws a pending application; the provider's duty to answer ends."""
    a = get(session, actor, application_id, for_update=True)
    if actor.token_id is not None or a.requester_department_id not in policy.department_ids(actor):
        raise PermissionDenied("sharing.not_requester", "只有申请部门可以撤回申请。")
    if a.status != ApplicationStatus.PENDING:
        raise AlreadyAnswered()
    a.status = ApplicationStatus.WITHDRAWN.value
    _close_clock(session, actor, a, calendar.today())
    audit.record(
        session,
        actor,
        "sharing.application.withdraw",
        object_type="share_application",
        object_id=a.id,
        summary=f"{actor.name}撤回第{a.id}号共享申请",
        change={"status": a.status},
        region_id=region_of(session, a.provider_department_id),
        department_id=a.provider_department_id,
    )
    return a


# --- extending: through the register (the provider's head approves) ---------------------------


def obligation_of(session: Session, a: ShareApplication) -> obligations.Obligation | None:
    if a.kind != ApplicationKind.APPLICATION:
        return None
    return obligations.find(session, APPLICATION, SUBJECT, a.id)


def _open_obligation(
    session: Session, actor: Actor, application_id: int
) -> tuple[ShareApplication, obligations.Obligation]:
    a = get(session, actor, application_id, for_update=True)
    policy.require_answer(actor, a.provider_department_id)
    if a.status != ApplicationStatus.PENDING:
        raise Conflict("sharing.application_closed", "该申请已答复或已撤回，不能再延长期限。")
    ob = obligation_of(session, a)
    if ob is None:
        raise Conflict("obligation.not_open", "该事项没有正在计时的法定时限。")
    return a, ob


def request_extension(
    session: Session, actor: Actor, application_id: int, *, days: int, reason: str
) -> ShareApplication:
    """The provider's staff ask their head to extend the period once (register's rules)."""
    a, ob = _open_obligation(session, actor, application_id)
    obligations.request_extension(session, actor, ob.id, days=days, reason=reason)
    return a


def approve_extension(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    days: int | None = None,
    reason: str | None = None,
) -> ShareApplication:
    """The provider's head extends the period once, by at most 10 working days: a request
    waiting, or directly. The register's hook copies the new due date onto the application."""
    a, ob = _open_obligation(session, actor, application_id)
    obligations.approve_extension(session, actor, ob.id, days=days, reason=reason)
    return a


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
