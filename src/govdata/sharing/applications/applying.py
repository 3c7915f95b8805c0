"""Registering and applying (Art. 24, 25(2), 26 ¶2, 50(4)): the statement checked, a
registration effective at once, an application's clock opened."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor
from govdata.core.errors import InvalidInput
from govdata.sharing import grants, policy
from govdata.sharing.applications.queries import (
    clean_text,
    region_of,
)
from govdata.sharing.deadlines import APPLICATION, SUBJECT, title
from govdata.sharing.errors import NotShared
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


# --- the form's checks -------------------------------------------------------------------------


def kind_for(source: SharedSource, items: Sequence[str]) -> ApplicationKind:
    """Registration for an unconditional source when every item asked for is unconditional
    (Art. 24, 25(2)); an application otherwise (conditional, or mixed items)."""
    if source.share_type == "unconditional" and all(
        (i := source.item(n)) is not None and i.share_type == "unconditional" for n in items
    ):
        return ApplicationKind.REGISTRATION
    return ApplicationKind.APPLICATION


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
    duty = clean_text(req.duty, "sharing.duty_required", "请填写所履行的职责（部门职能）。")
    basis = clean_text(
        req.legal_basis, "sharing.legal_basis_required", "请填写履行该职责的法律依据。"
    )
    purpose = clean_text(req.purpose, "sharing.purpose_required", "请填写使用数据的用途。")
    code = req.purpose_code.strip()
    if not PURPOSE_CODE.match(code):
        raise InvalidInput(
            "sharing.purpose_code_invalid",
            "用途代码须为1至64位英文字母、数字、点、下划线或连字符，以字母或数字开头，"
            "调用系统每次调用时声明。",
        )
    system = clean_text(
        req.calling_system, "sharing.calling_system_required", "请填写调用系统名称。"
    )
    if len(system) > 200:
        raise InvalidInput("sharing.calling_system_too_long", "调用系统名称不超过200字。")
    application = kind is ApplicationKind.APPLICATION
    scenario = clean_text(
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
