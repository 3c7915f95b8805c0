"""The district bureau's review before compiling (Art. 12 ¶1).

A district department submits its lists to its district bureau. The bureau reads each
submission, returns the entries it will not forward, each with a reason, to the department,
and compiles the rest into a forwarding to the city (``review.compile_district``). A returned
entry goes back to the department as a return by the city would: the resource (or demand) is
editable again and shows the reason.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from govdata.catalog import policy
from govdata.catalog.models import (
    Demand,
    DemandStatus,
    EntryStatus,
    Resource,
    ResourceState,
    ReviewEntry,
    ReviewStage,
    Submission,
    SubmissionStatus,
)
from govdata.catalog.submissions import get_submission
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound


def settle(
    session: Session,
    actor: Actor,
    entry: ReviewEntry,
    *,
    approve: bool,
    reason: str,
    stage: ReviewStage,
) -> str:
    """Record a decision on ``entry`` and carry it to its resource or demand; its label."""
    entry.status = EntryStatus.APPROVED if approve else EntryStatus.RETURNED
    entry.reason = reason
    entry.decided_by = actor.person_id
    entry.decided_at = utcnow()
    entry.decided_stage = stage.value
    label = ""
    if entry.resource_id is not None:
        resource = session.get(Resource, entry.resource_id)
        assert resource is not None
        resource.state = ResourceState.APPROVED if approve else ResourceState.RETURNED
        label = f"“{resource.name}”（{resource.code}）"
    if entry.demand_id is not None:
        demand = session.get(Demand, entry.demand_id)
        assert demand is not None
        demand.status = DemandStatus.ACCEPTED if approve else DemandStatus.RETURNED
        demand.return_reason = "" if approve else reason
        demand.updated_at = utcnow()
        label = f"需求“{demand.title}”"
    return label


def return_entries(
    session: Session, actor: Actor, submission_id: int, entry_ids: list[int], reason: str
) -> list[ReviewEntry]:
    """The district bureau returns the selected entries of a submission to the department, with
    a reason, before compiling (Art. 12 ¶1). The other entries stay to be forwarded.

    All or nothing: an entry not of this submission, or already decided, refuses the lot.
    """
    submission: Submission = get_submission(session, actor, submission_id)  # 404 outside scope
    policy.require_compile_district(actor, submission.region_id)
    if submission.status != SubmissionStatus.PENDING_DISTRICT:
        raise Conflict(
            "catalog.submission_not_at_district", "该清单已不在区县汇总阶段，不能由区县退回。"
        )
    reason = reason.strip()
    if not reason:
        raise InvalidInput("catalog.return_reason_required", "退回时须说明理由。")
    wanted = list(dict.fromkeys(entry_ids))
    if not wanted:
        raise InvalidInput("catalog.no_entries_selected", "请先勾选要退回的条目。")
    entries = {e.id: e for e in submission.entries}
    missing = [i for i in wanted if i not in entries]
    if missing:
        raise NotFound("catalog.entry_not_found", "所选条目不属于该清单。")
    chosen = [entries[i] for i in wanted]
    if any(e.status != EntryStatus.PENDING for e in chosen):
        raise Conflict("catalog.entry_decided", "所选条目中有已退回的条目，不能重复退回。")
    labels = [
        settle(session, actor, e, approve=False, reason=reason, stage=ReviewStage.DISTRICT)
        for e in chosen
    ]
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.entry.district_return",
        object_type="submission",
        object_id=submission.id,
        summary=f"区县数据主管部门退回{len(chosen)}条：{'、'.join(labels)}；理由：{reason}",
        change={"entries": [e.id for e in chosen], "reason": reason},
        region_id=submission.region_id,
        department_id=submission.department_id,
    )
    return chosen
