"""Conditional-open applications (开放申请, Art. 33 ¶2).

An authenticated user (Art. 33 ¶3: ``policy.require_identity``) applies for a conditionally
open dataset: the items wanted (only its open items), purpose, usage scenario, security
safeguards, the period, and acceptance of the data-use agreement. The providing department
answers within 10 working days (``clocks.APPLICATION``), once extended by at most 10 with its
head's approval: it approves as asked or narrowed (fewer items, a shorter period; never wider
than asked), which opens the granted items for the granted period (``entitlement.in_force``
reads exactly ``granted_items``, ``granted_from``, ``granted_until``), or refuses stating the
reason AND its basis. The applicant may withdraw while it is pending.

Reads are scoped: the applicant sees its own, the provider its department's, the city bureau
all (``application_scope``); anything else is "not found". Services flush, never commit;
every change is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from govdata.catalog.vocab import OpenType
from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.opendata import datasets, errors, policy, vocab
from govdata.opendata.application_scope import (
    VIEWS,
    AlreadyAnswered,
    ApplicationNotFound,
    can_answer,
    can_withdraw,
    dataset_of,
    get,
    list_applications,
    overdue_count,
    text,
    views,
    visible,
)
from govdata.opendata.clocks import APPLICATION, APPLICATION_SUBJECT, region_of, start
from govdata.opendata.models import OpenApplication, OpenApplicationStatus, OpenDataset

__all__ = [
    "VIEWS",
    "AlreadyAnswered",
    "ApplicationNotFound",
    "Request",
    "approve",
    "approve_extension",
    "can_answer",
    "can_withdraw",
    "dataset_of",
    "get",
    "list_applications",
    "obligation_of",
    "overdue_count",
    "refuse",
    "refuse_extension",
    "request_extension",
    "submit",
    "text",
    "views",
    "visible",
    "withdraw",
]


# --- applying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What the applicant asks for (Art. 33 ¶2)."""

    dataset_code: str
    items: Sequence[str]
    purpose: str
    scenario: str
    safeguards: str
    period_from: date
    period_until: date
    agreement_version: str | None  # the data-use agreement accepted; None: not accepted


def _check_items(dataset: OpenDataset, items: Sequence[str]) -> list[str]:
    """Only the dataset's open items, each once, in the catalog's order (Art. 30, 33 ¶2)."""
    names = [str(i["name"]) for i in dataset.items]
    wanted = {i.strip() for i in items if i.strip()}
    if not wanted:
        raise InvalidInput("opendata.items_required", "请至少选择一个信息项。")
    unknown = sorted(wanted - set(names))
    if unknown:
        raise InvalidInput(
            "opendata.item_not_open",
            f"以下信息项不在该数据集的开放范围内：{'、'.join(unknown)}。",
            detail={"items": unknown},
        )
    return [n for n in names if n in wanted]


def _check_period(start_on: date, until: date, today: date) -> None:
    if start_on < today:
        raise InvalidInput("opendata.period_in_past", "使用期限的起始日期不能早于今天。")
    if until < start_on:
        raise InvalidInput("opendata.period_invalid", "使用期限的截止日期不能早于起始日期。")


def submit(session: Session, actor: Actor | None, req: Request) -> OpenApplication:
    """Apply for a conditionally open dataset (Art. 33 ¶2); the provider's 10-working-day clock
    starts today and enters the obligations register.

    Checked before anything is stored: identity (Art. 33 ¶3), the dataset is open and not
    withdrawn, it is conditional (unconditional data is obtained directly, Art. 33 ¶3), the
    items are its open items, the statement is complete, the period is sound, and the current
    data-use agreement is accepted.
    """
    who = policy.require_identity(session, actor)
    assert who.person_id is not None
    dataset = datasets.get_dataset(session, req.dataset_code.strip())  # withdrawn: not found
    if dataset.open_type == OpenType.UNCONDITIONAL.value:
        raise InvalidInput(
            "opendata.unconditional_no_application",
            "该数据集为无条件开放，完成身份认证后即可直接获取，无需申请（第三十三条第三款）。",
        )
    if dataset.open_type != OpenType.CONDITIONAL.value:
        raise errors.NotOpen()
    if policy.can_manage(who, dataset.department_id):
        # Product decision: the provider and the bureau already read what they release.
        raise InvalidInput("opendata.own_dataset", "这是本部门提供的数据集，无需申请。")
    items = _check_items(dataset, req.items)
    purpose = text(req.purpose, "opendata.purpose_required", "请填写数据用途。")
    scenario = text(req.scenario, "opendata.scenario_required", "请填写数据的使用场景。")
    safeguards = text(req.safeguards, "opendata.safeguards_required", "请填写数据安全保障措施。")
    today = calendar.today()
    _check_period(req.period_from, req.period_until, today)
    if req.agreement_version != vocab.AGREEMENT_VERSION:
        raise InvalidInput(
            "opendata.agreement_required",
            "须阅读并同意现行的《数据利用协议》后才能提交申请。",
        )
    a = OpenApplication(
        dataset_id=dataset.id,
        applicant_id=who.person_id,
        provider_department_id=dataset.department_id,
        status=OpenApplicationStatus.PENDING.value,
        items=items,
        purpose=purpose,
        scenario=scenario,
        safeguards=safeguards,
        period_from=req.period_from,
        period_until=req.period_until,
        agreement_version=vocab.AGREEMENT_VERSION,
        agreement_accepted_at=utcnow(),
        granted_items=[],
    )
    due = start(session, APPLICATION, a, today)
    session.add(a)
    session.flush()
    region = region_of(session, dataset.department_id)
    audit.record(
        session,
        who,
        "opendata.application.submit",
        object_type="open_application",
        object_id=a.id,
        summary=(
            f"{who.name}申请获取有条件开放数据“{dataset.name}”的{len(items)}个信息项，"
            f"应于{due.due.isoformat()}前答复"
        ),
        change={
            "dataset": dataset.code,
            "items": items,
            "purpose": purpose,
            "scenario": scenario,
            "safeguards": safeguards,
            "period_from": req.period_from,
            "period_until": req.period_until,
            "agreement_version": vocab.AGREEMENT_VERSION,
            "due_on": due.due,
        },
        region_id=region,
        department_id=dataset.department_id,
    )
    obligations.open(
        session,
        who,
        APPLICATION,
        subject_type=APPLICATION_SUBJECT,
        subject_id=a.id,
        department_id=dataset.department_id,
        region_id=region,
        title=f"第{a.id}号开放申请：{dataset.name}（{len(items)}个信息项）",
        deadline=due,
    )
    return a


# --- answering (Art. 33 ¶2) -------------------------------------------------------------------


def _pending(session: Session, actor: Actor, application_id: int) -> OpenApplication:
    a = get(session, actor, application_id, for_update=True)
    if not policy.is_provider(actor, a.provider_department_id) or actor.token_id is not None:
        raise PermissionDenied(
            "opendata.not_provider_answer", "只有数据提供部门可以答复该开放申请。"
        )
    if a.status != OpenApplicationStatus.PENDING:
        raise AlreadyAnswered()
    return a


def _close(session: Session, actor: Actor, a: OpenApplication, today: date) -> None:
    a.answered_on = today
    session.flush()
    obligations.answer(
        session,
        actor,
        APPLICATION,
        subject_type=APPLICATION_SUBJECT,
        subject_id=a.id,
        answered_on=today,
    )


def approve(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    items: Sequence[str] | None = None,
    granted_from: date | None = None,
    granted_until: date | None = None,
) -> OpenApplication:
    """The provider approves (Art. 33 ¶2: "同意的应当予以开放"): as asked, or narrowed to fewer
    items and a shorter period, never wider than asked. The granted items open to the applicant
    for the granted period; the clock stops."""
    a = _pending(session, actor, application_id)
    asked = list(a.items)
    chosen = [i.strip() for i in items if i.strip()] if items is not None else asked
    if not chosen:
        raise InvalidInput(
            "opendata.items_required", "请至少同意一个信息项；不同意的请答复不予开放。"
        )
    wider = sorted(set(chosen) - set(asked))
    if wider:
        raise InvalidInput(
            "opendata.narrowing_wider",
            f"同意的信息项不能超出申请的范围：{'、'.join(wider)}。",
            detail={"items": wider},
        )
    granted = [n for n in asked if n in set(chosen)]
    dataset = dataset_of(session, a)
    if dataset.withdrawn:
        # Product decision: what has left the open catalog is not opened by an approval.
        raise InvalidInput(
            "opendata.dataset_withdrawn",
            "该数据集已退出开放目录，不能同意开放；请答复不同意并说明理由和依据。",
        )
    closed = sorted(set(granted) - {str(i["name"]) for i in dataset.items})
    if closed:
        # Art. 30: an item no longer open (the catalog changed since the application) is
        # never granted.
        raise InvalidInput(
            "opendata.item_not_open",
            f"以下信息项已不在该数据集的开放范围内，不能同意：{'、'.join(closed)}。",
            detail={"items": closed},
        )
    today = calendar.today()
    g_from = granted_from or max(a.period_from, today)
    g_until = granted_until or a.period_until
    if g_from < a.period_from or g_until > a.period_until:
        raise InvalidInput(
            "opendata.narrowing_wider",
            f"同意的期限不能超出申请的期限（{a.period_from.isoformat()}至"
            f"{a.period_until.isoformat()}）。",
        )
    if g_until < g_from or g_until < today:
        raise InvalidInput("opendata.period_invalid", "同意的截止日期不能早于起始日期或今天。")
    late = a.due_on is not None and today > a.due_on
    a.status = OpenApplicationStatus.APPROVED.value
    a.granted_items = granted
    a.granted_from = g_from
    a.granted_until = g_until
    a.decided_by = actor.person_id
    a.decided_at = utcnow()
    _close(session, actor, a, today)
    narrowed = granted != asked or g_from != a.period_from or g_until != a.period_until
    audit.record(
        session,
        actor,
        "opendata.application.approve",
        object_type="open_application",
        object_id=a.id,
        summary=(
            f"{actor.name}答复第{a.id}号开放申请：同意开放"
            + ("（有缩减）" if narrowed else "")
            + (f"；逾期答复，期限为{a.due_on}（第五十条第八项）" if late else "")
        ),
        change={
            "granted_items": granted,
            "asked_items": asked,
            "granted_from": g_from,
            "granted_until": g_until,
            "narrowed": narrowed,
            "late": late,
        },
        region_id=region_of(session, a.provider_department_id),
        department_id=a.provider_department_id,
    )
    return a


def refuse(
    session: Session, actor: Actor, application_id: int, *, reason: str, basis: str
) -> OpenApplication:
    """The provider refuses, stating the reason AND its basis (Art. 33 ¶2)."""
    a = _pending(session, actor, application_id)
    why = text(reason, "opendata.refusal_reason_required", "不同意开放的，应当说明理由。")
    on = text(basis, "opendata.refusal_basis_required", "不同意开放的，应当提供依据。")
    today = calendar.today()
    late = a.due_on is not None and today > a.due_on
    a.status = OpenApplicationStatus.REFUSED.value
    a.refusal_reason = why
    a.refusal_basis = on
    a.decided_by = actor.person_id
    a.decided_at = utcnow()
    _close(session, actor, a, today)
    audit.record(
        session,
        actor,
        "opendata.application.refuse",
        object_type="open_application",
        object_id=a.id,
        summary=(
            f"{actor.name}答复第{a.id}号开放申请：不同意开放"
            + (f"；逾期答复，期限为{a.due_on}（第五十条第八项）" if late else "")
        ),
        change={"reason": why, "basis": on, "late": late},
        region_id=region_of(session, a.provider_department_id),
        department_id=a.provider_department_id,
    )
    return a


def withdraw(session: Session, actor: Actor, application_id: int) -> OpenApplication:
    """The applicant withdraws a pending application; the provider's duty to answer ends."""
    a = get(session, actor, application_id, for_update=True)
    if a.applicant_id != actor.person_id or actor.token_id is not None:
        raise PermissionDenied("opendata.not_applicant", "只有申请人可以撤回申请。")
    if a.status != OpenApplicationStatus.PENDING:
        raise AlreadyAnswered()
    a.status = OpenApplicationStatus.WITHDRAWN.value
    _close(session, actor, a, calendar.today())
    audit.record(
        session,
        actor,
        "opendata.application.withdraw",
        object_type="open_application",
        object_id=a.id,
        summary=f"{actor.name}撤回第{a.id}号开放申请",
        change={"status": a.status},
        region_id=region_of(session, a.provider_department_id),
        department_id=a.provider_department_id,
    )
    return a


# --- extending: through the register (the provider's head approves, Art. 33 ¶2) ---------------


def obligation_of(session: Session, a: OpenApplication) -> obligations.Obligation | None:
    return obligations.find(session, APPLICATION, APPLICATION_SUBJECT, a.id)


def _open_obligation(
    session: Session, actor: Actor, application_id: int
) -> tuple[OpenApplication, obligations.Obligation]:
    a = get(session, actor, application_id, for_update=True)
    if not policy.is_provider(actor, a.provider_department_id):
        raise PermissionDenied(
            "opendata.not_provider_answer", "只有数据提供部门可以答复该开放申请。"
        )
    if a.status != OpenApplicationStatus.PENDING:
        raise AlreadyAnswered()
    ob = obligation_of(session, a)
    if ob is None:
        raise Conflict("obligation.not_open", "该事项没有正在计时的法定时限。")
    return a, ob


def request_extension(
    session: Session, actor: Actor, application_id: int, *, days: int, reason: str
) -> OpenApplication:
    """The provider's staff ask their head to extend the period once (Art. 33 ¶2)."""
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
) -> OpenApplication:
    """The provider's head extends the period once, by at most 10 working days, with a reason
    (Art. 33 ¶2): a waiting request, or directly. The register's hook moves the due date."""
    a, ob = _open_obligation(session, actor, application_id)
    obligations.approve_extension(session, actor, ob.id, days=days, reason=reason)
    return a


def refuse_extension(
    session: Session, actor: Actor, application_id: int, *, reason: str
) -> OpenApplication:
    a, ob = _open_obligation(session, actor, application_id)
    obligations.refuse_extension(session, actor, ob.id, reason=reason)
    return a
