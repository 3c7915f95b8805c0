"""The demo's objections (Art. 27), written as the objections service would: received (its
clock, obligation ``sharing.objection``), coordinated by the bureau of the provider's region
with notes from the bureau, the provider and the objector, and settled by ordering a grant
(made through ``sharing.grants``). At merge ``make_dispute`` is swapped for the service calls.
"""

from __future__ import annotations

from datetime import timedelta

from govdata.core import audit, obligations
from govdata.org.models import Department
from govdata.sharing.demo.plan import Dispute, Story
from govdata.sharing.demo.workflow import World, at, grant_for, objection_kind
from govdata.sharing.models import (
    Grant,
    GrantOrigin,
    Objection,
    ObjectionKind,
    ObjectionNote,
    ObjectionStatus,
    ShareApplication,
)


def make_dispute(
    w: World, dispute: Dispute, story: Story, app: ShareApplication
) -> tuple[Objection, Grant | None]:
    """An objection against a refusal: the bureau of the provider's region coordinates with the
    provider (notes), and may settle it by ordering a grant."""
    provider = w.session.get(Department, app.provider_department_id)
    assert provider is not None
    received = w.day(dispute.received_days_ago)
    kind = objection_kind()
    deadline = obligations.deadline(w.session, kind, received)
    objector = w.officer(story.requester)
    bureau = w.bureau(provider.region_id)
    ob = Objection(
        kind=ObjectionKind.REFUSAL.value,
        status=ObjectionStatus.OPEN.value,
        department_id=app.requester_department_id,
        provider_department_id=provider.id,
        region_id=provider.region_id,
        application_id=app.id,
        source_code=app.source_code,
        reason=dispute.reason,
        requested=dispute.requested,
        received_on=received,
        due_on=deadline.due,
        due_provisional=deadline.provisional,
        created_by=objector.person_id,
        created_by_name=objector.name[:64],
        created_at=at(received, 10, 5),
    )
    w.session.add(ob)
    w.session.flush()
    audit.record(
        w.session,
        objector,
        "sharing.objection_opened",
        object_type="share_objection",
        object_id=ob.id,
        summary=f"{story.requester}对第{app.id}号共享申请的答复提出异议",
        change={"kind": ob.kind, "application": app.id},
        region_id=provider.region_id,
        department_id=app.requester_department_id,
    )
    obligations.open(
        w.session,
        objector,
        kind,
        subject_type="share_objection",
        subject_id=ob.id,
        department_id=None,
        region_id=provider.region_id,
        title=f"第{ob.id}号共享异议：{story.requester}对{app.source_name}的答复",
        deadline=deadline,
    )
    authors = {
        "bureau": (bureau, None),
        "provider": (
            w.officer(next(n for n, d in w.depts.items() if d.id == provider.id)),
            provider.id,
        ),
        "objector": (objector, app.requester_department_id),
    }
    for i, (who, text) in enumerate(dispute.notes):
        actor, dept_id = authors[who]
        w.session.add(
            ObjectionNote(
                objection_id=ob.id,
                author_id=actor.person_id,
                author_name=actor.name[:64],
                department_id=dept_id,
                text=text,
                at=at(received + timedelta(days=1 + 2 * i), 11, 15),
            )
        )
    ob.status = ObjectionStatus.COORDINATING.value
    audit.record(
        w.session,
        bureau,
        "sharing.objection_coordinating",
        object_type="share_objection",
        object_id=ob.id,
        summary=f"第{ob.id}号共享异议：会同{provider.name}协调处理（{len(dispute.notes)}条记录）",
        change={"notes": len(dispute.notes)},
        region_id=provider.region_id,
    )
    ordered: Grant | None = None
    if dispute.status == "settled" and dispute.settled_days_ago is not None:
        settled = w.day(dispute.settled_days_ago)
        ordered = grant_for(
            w,
            story,
            None,
            actor=bureau,
            origin=GrantOrigin.ORDER,
            valid_from=settled,
            items=dispute.ordered_items,
            objection_id=ob.id,
        )
        ob.status = ObjectionStatus.SETTLED.value
        ob.outcome = dispute.outcome
        ob.ordered = "grant"
        ob.ordered_grant_id = ordered.id
        ob.answered_on = settled
        ob.settled_by = bureau.person_id
        ob.settled_at = at(settled, 16, 30)
        audit.record(
            w.session,
            bureau,
            "sharing.objection_settled",
            object_type="share_objection",
            object_id=ob.id,
            summary=f"第{ob.id}号共享异议办结：{dispute.outcome[:150]}",
            change={"ordered": "grant", "grant": ordered.id, "answered_on": settled},
            region_id=provider.region_id,
        )
        obligations.answer(
            w.session,
            bureau,
            kind,
            subject_type="share_objection",
            subject_id=ob.id,
            answered_on=settled,
        )
    w.session.flush()
    return ob, ordered
