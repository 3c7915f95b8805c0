"""Open-catalog correction requests (更正申请, Art. 32 ¶2–3).

An authenticated user who doubts an open-catalog entry asks its providing department to
correct one field (the current value is read from the entry, never taken from the form). The
provider answers within 10 working days (``clocks.CORRECTION``), once extended by at most 10
with its head's approval. Agreed: the provider "提请市政务数据主管部门变更开放目录" — the
corrected field is entered as the department's draft revision of the catalog resource
(``catalog.service.update_resource``), which reaches the next published catalog version
through the ordinary submission and review (Art. 14); ``change_request_note`` says what was
filed. When no draft can be made (a field the catalog form does not hold, or the resource is
under review), the note says so and the agreed request stays on the bureau's list of
corrections for the next version (``pending_for_next_version``). Refused: reason and basis.
"""

from __future__ import annotations

from sqlalchemy import Select, case, false, func, or_, select
from sqlalchemy.orm import Session

from govdata.catalog import service as catalog_service
from govdata.core import audit, calendar, obligations
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from govdata.core.pagination import Page, paginate
from govdata.opendata import datasets, policy
from govdata.opendata.applications import text
from govdata.opendata.clocks import CORRECTION, CORRECTION_SUBJECT, region_of, start
from govdata.opendata.models import CatalogCorrectionRequest, CorrectionRequestStatus, OpenDataset

#: The entry's fields a request may name. The first four are fields of the catalog resource
#: the department can correct in a draft revision; ``other`` is described in the reason.
FIELDS: dict[str, str] = {
    "name": "数据集名称",
    "abstract": "摘要",
    "open_conditions": "开放条件",
    "legal_basis": "法律依据",
    "other": "其他",
}
DRAFTABLE = ("name", "abstract", "open_conditions", "legal_basis")


class CorrectionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("opendata.correction_not_found", "未找到该更正申请。")


class CorrectionClosed(Conflict):
    def __init__(self) -> None:
        super().__init__("opendata.correction_closed", "该更正申请已答复。")


def current_value(dataset: OpenDataset, field: str) -> str:
    if field == "other":
        return ""
    return str(getattr(dataset, field) or "")


# --- who sees what ----------------------------------------------------------------------------


def visible(actor: Actor | None) -> Select[CatalogCorrectionRequest]:
    """The requester its own, the provider its department's, the city bureau all."""
    stmt = select(CatalogCorrectionRequest)
    if actor is None or actor.token_id is not None or actor.person_id is None:
        return stmt.where(false())
    if policy.oversees_all(actor):
        return stmt
    own = actor.department_ids(*policy.STAFF_OF_DEPARTMENT)
    clauses = [CatalogCorrectionRequest.requester_id == actor.person_id]
    if own:
        clauses.append(CatalogCorrectionRequest.provider_department_id.in_(own))
    overseen = policy.overseen_departments(actor)
    if overseen is not None:
        clauses.append(CatalogCorrectionRequest.provider_department_id.in_(overseen))
    return stmt.where(or_(*clauses))


def get(
    session: Session, actor: Actor | None, request_id: int, *, for_update: bool = False
) -> CatalogCorrectionRequest:
    policy.require_person(actor)
    stmt = visible(actor).where(CatalogCorrectionRequest.id == request_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    r = session.scalar(stmt)
    if r is None:
        raise CorrectionNotFound()
    return r


def list_requests(
    session: Session,
    actor: Actor,
    *,
    view: str = "mine",
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[CatalogCorrectionRequest]:
    """``mine`` newest first; ``inbox`` and ``all`` pending first by due date (overdue first)."""
    policy.require_person(actor)
    stmt = visible(actor)
    if view == "mine":
        stmt = stmt.where(CatalogCorrectionRequest.requester_id == actor.person_id)
    elif view == "inbox":
        own = actor.department_ids(*policy.STAFF_OF_DEPARTMENT)
        stmt = stmt.where(CatalogCorrectionRequest.provider_department_id.in_(own))
    if status:
        stmt = stmt.where(CatalogCorrectionRequest.status == status)
    if view == "mine":
        stmt = stmt.order_by(CatalogCorrectionRequest.id.desc())
    else:
        pending_first = case(
            (CatalogCorrectionRequest.status == CorrectionRequestStatus.PENDING.value, 0),
            else_=1,
        )
        stmt = stmt.order_by(
            pending_first, CatalogCorrectionRequest.due_on, CatalogCorrectionRequest.id.desc()
        )
    return paginate(session, stmt, offset, limit)


def overdue_count(session: Session, actor: Actor) -> int:
    base = visible(actor).where(
        CatalogCorrectionRequest.status == CorrectionRequestStatus.PENDING.value,
        CatalogCorrectionRequest.due_on < calendar.today(),
    )
    return int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)


def pending_for_next_version(session: Session, actor: Actor) -> list[CatalogCorrectionRequest]:
    """The bureau's list "待纳入下一版目录的更正": agreed requests whose dataset has not yet
    been re-published since the answer (the open catalog still shows the old revision)."""
    if not policy.is_bureau(actor):
        raise PermissionDenied("opendata.bureau_only", "只有数据主管部门可以查看该列表。")
    stmt = (
        select(CatalogCorrectionRequest)
        .join(OpenDataset, OpenDataset.id == CatalogCorrectionRequest.dataset_id)
        .where(
            CatalogCorrectionRequest.status == CorrectionRequestStatus.AGREED.value,
            OpenDataset.metadata_modified <= CatalogCorrectionRequest.decided_at,
        )
        .order_by(CatalogCorrectionRequest.decided_at)
    )
    return list(session.scalars(stmt))


def can_answer(actor: Actor | None, r: CatalogCorrectionRequest) -> bool:
    return (
        actor is not None
        and actor.token_id is None
        and r.status == CorrectionRequestStatus.PENDING
        and policy.is_provider(actor, r.provider_department_id)
    )


def dataset_of(session: Session, r: CatalogCorrectionRequest) -> OpenDataset:
    row = session.get(OpenDataset, r.dataset_id)
    assert row is not None  # a foreign key
    return row


# --- asking (Art. 32 ¶2) ----------------------------------------------------------------------


def submit(
    session: Session,
    actor: Actor | None,
    *,
    dataset_code: str,
    field: str,
    proposed_value: str,
    reason: str,
) -> CatalogCorrectionRequest:
    """Ask the provider to correct one field of an open-catalog entry (Art. 32 ¶2); the
    provider's 10-working-day clock starts (Art. 32 ¶3). The current value is the entry's."""
    who = policy.require_identity(session, actor)
    assert who.person_id is not None
    dataset = datasets.get_dataset(session, dataset_code.strip())
    if field not in FIELDS:
        raise InvalidInput("opendata.correction_field_invalid", "请选择需要更正的目录项。")
    proposed = text(proposed_value, "opendata.proposed_value_required", "请填写建议更正为的内容。")
    why = text(reason, "opendata.correction_reason_required", "请说明申请更正的理由。")
    current = current_value(dataset, field)
    if field != "other" and proposed == current:
        raise InvalidInput("opendata.correction_unchanged", "建议的内容与目录现有内容相同。")
    if field == "name" and not (2 <= len(proposed) <= 200):
        raise InvalidInput("opendata.correction_name_length", "数据集名称应为2至200字。")
    r = CatalogCorrectionRequest(
        dataset_id=dataset.id,
        requester_id=who.person_id,
        provider_department_id=dataset.department_id,
        status=CorrectionRequestStatus.PENDING.value,
        field=field,
        current_value=current,
        proposed_value=proposed,
        reason=why,
    )
    today = calendar.today()
    due = start(session, CORRECTION, r, today)
    session.add(r)
    session.flush()
    region = region_of(session, dataset.department_id)
    audit.record(
        session,
        who,
        "opendata.correction.submit",
        object_type="open_correction",
        object_id=r.id,
        summary=(
            f"{who.name}申请更正开放目录“{dataset.name}”的{FIELDS[field]}，"
            f"应于{due.due.isoformat()}前答复"
        ),
        change={
            "dataset": dataset.code,
            "field": field,
            "current": current,
            "proposed": proposed,
            "reason": why,
            "due_on": due.due,
        },
        region_id=region,
        department_id=dataset.department_id,
    )
    obligations.open(
        session,
        who,
        CORRECTION,
        subject_type=CORRECTION_SUBJECT,
        subject_id=r.id,
        department_id=dataset.department_id,
        region_id=region,
        title=f"第{r.id}号开放目录更正申请：{dataset.name}（{FIELDS[field]}）",
        deadline=due,
    )
    return r


# --- answering (Art. 32 ¶3) -------------------------------------------------------------------


def _pending(session: Session, actor: Actor, request_id: int) -> CatalogCorrectionRequest:
    r = get(session, actor, request_id, for_update=True)
    if not policy.is_provider(actor, r.provider_department_id) or actor.token_id is not None:
        raise PermissionDenied(
            "opendata.not_provider_answer", "只有数据提供部门可以答复该更正申请。"
        )
    if r.status != CorrectionRequestStatus.PENDING:
        raise CorrectionClosed()
    return r


def _close(session: Session, actor: Actor, r: CatalogCorrectionRequest) -> bool:
    today = calendar.today()
    late = r.due_on is not None and today > r.due_on
    r.answered_on = today
    r.decided_by = actor.person_id
    r.decided_at = utcnow()
    session.flush()
    obligations.answer(
        session,
        actor,
        CORRECTION,
        subject_type=CORRECTION_SUBJECT,
        subject_id=r.id,
        answered_on=today,
    )
    return late


def _draft(session: Session, actor: Actor, r: CatalogCorrectionRequest) -> str:
    """Enter the corrected field in the department's draft revision of the resource; the note
    says what was filed, or why the bureau's list carries it instead."""
    dataset = dataset_of(session, r)
    if r.field not in DRAFTABLE:
        return (
            "该更正不对应目录表单中的单一字段，已列入“待纳入下一版目录的更正”，由数据主管部门处理。"
        )
    try:
        with session.begin_nested():  # a refused draft leaves nothing half-written
            resource = catalog_service.get_resource(session, actor, dataset.resource_id)
            data = catalog_service.as_input(resource).model_copy(update={r.field: r.proposed_value})
            catalog_service.update_resource(session, actor, resource.id, data)
    except DomainError as exc:
        return (
            f"未能生成目录修订草稿（{exc.message}），已列入“待纳入下一版目录的更正”，"
            "由数据主管部门在下一版目录中变更。"
        )
    return (
        f"已在本部门目录清单中生成资源{resource.code}的修订草稿（{FIELDS[r.field]}改为"
        f"“{r.proposed_value}”），经报送审核后纳入市政务数据主管部门发布的下一版开放目录"
        "（第十四条、第三十二条第三款）。"
    )


def agree(
    session: Session, actor: Actor, request_id: int, *, answer: str = ""
) -> CatalogCorrectionRequest:
    """The provider agrees and asks the city bureau to change the open catalog (Art. 32 ¶3)."""
    r = _pending(session, actor, request_id)
    note = text(answer, "", "", required=False)
    r.status = CorrectionRequestStatus.AGREED.value
    r.answer = note
    r.change_request_note = _draft(session, actor, r)
    late = _close(session, actor, r)
    audit.record(
        session,
        actor,
        "opendata.correction.agree",
        object_type="open_correction",
        object_id=r.id,
        summary=(
            f"{actor.name}答复第{r.id}号开放目录更正申请：同意更正"
            + (f"；逾期答复，期限为{r.due_on}（第五十条第八项）" if late else "")
        ),
        change={"answer": note, "change_request": r.change_request_note, "late": late},
        region_id=region_of(session, r.provider_department_id),
        department_id=r.provider_department_id,
    )
    return r


def refuse(
    session: Session, actor: Actor, request_id: int, *, reason: str, basis: str
) -> CatalogCorrectionRequest:
    """The provider refuses, stating the reason AND its basis (Art. 32 ¶3)."""
    r = _pending(session, actor, request_id)
    why = text(reason, "opendata.refusal_reason_required", "不同意更正的，应当说明理由。")
    on = text(basis, "opendata.refusal_basis_required", "不同意更正的，应当提供依据。")
    r.status = CorrectionRequestStatus.REFUSED.value
    r.answer = why
    r.refusal_basis = on
    late = _close(session, actor, r)
    audit.record(
        session,
        actor,
        "opendata.correction.refuse",
        object_type="open_correction",
        object_id=r.id,
        summary=(
            f"{actor.name}答复第{r.id}号开放目录更正申请：不同意更正"
            + (f"；逾期答复，期限为{r.due_on}（第五十条第八项）" if late else "")
        ),
        change={"reason": why, "basis": on, "late": late},
        region_id=region_of(session, r.provider_department_id),
        department_id=r.provider_department_id,
    )
    return r


# --- extending (Art. 32 ¶3) -------------------------------------------------------------------


def obligation_of(session: Session, r: CatalogCorrectionRequest) -> obligations.Obligation | None:
    return obligations.find(session, CORRECTION, CORRECTION_SUBJECT, r.id)


def _open_obligation(session: Session, actor: Actor, request_id: int) -> obligations.Obligation:
    r = _pending(session, actor, request_id)
    ob = obligation_of(session, r)
    if ob is None:
        raise Conflict("obligation.not_open", "该事项没有正在计时的法定时限。")
    return ob


def request_extension(
    session: Session, actor: Actor, request_id: int, *, days: int, reason: str
) -> CatalogCorrectionRequest:
    ob = _open_obligation(session, actor, request_id)
    obligations.request_extension(session, actor, ob.id, days=days, reason=reason)
    return get(session, actor, request_id)


def approve_extension(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    days: int | None = None,
    reason: str | None = None,
) -> CatalogCorrectionRequest:
    """The provider's head extends once, by at most 10 working days (Art. 32 ¶3)."""
    ob = _open_obligation(session, actor, request_id)
    obligations.approve_extension(session, actor, ob.id, days=days, reason=reason)
    return get(session, actor, request_id)


def refuse_extension(
    session: Session, actor: Actor, request_id: int, *, reason: str
) -> CatalogCorrectionRequest:
    ob = _open_obligation(session, actor, request_id)
    obligations.refuse_extension(session, actor, ob.id, reason=reason)
    return get(session, actor, request_id)
