"""The demo's objections (Art. 27), made through ``sharing.objections``: the refused
requester's officer objects (``object_to``: its clock, obligation ``sharing.objection``), the
bureau of the provider's region takes it up (``take_up``) and coordinates with the provider
and the objector, each noting their steps (``add_note``), and may settle it by ordering a grant
(``settle`` with a ``GrantOrder``).

As in ``workflow``, the services work on today's date: each dispute is played today and then
moved to its days (receipt, the deadline recomputed from it, the notes, the settlement and the
ordered grant's validity); the audit events keep the time the demo wrote them.
"""

from __future__ import annotations

from datetime import timedelta

from govdata.core.actor import Actor
from govdata.sharing import objection_deadlines, objections
from govdata.sharing.demo.plan import Dispute, Story
from govdata.sharing.demo.workflow import World, at
from govdata.sharing.models import (
    Grant,
    Objection,
    ObjectionKind,
    ObjectionResult,
    ShareApplication,
)

ORDERED_VALID_DAYS = 365


def make_dispute(
    w: World, dispute: Dispute, story: Story, app: ShareApplication
) -> tuple[Objection, Grant | None]:
    """An objection against a refusal, coordinated by the bureau of the provider's region with
    the provider (notes), and perhaps settled by ordering a grant."""
    objector = w.officer(story.requester)
    provider = w.officer(w.provider_name(app))
    o = objections.object_to(
        w.session,
        objector,
        kind=ObjectionKind.REFUSAL,
        reason=dispute.reason,
        requested=dispute.requested,
        application_id=app.id,
    )
    bureau = w.bureau(o.region_id)
    authors: dict[str, Actor] = {"bureau": bureau, "provider": provider, "objector": objector}
    notes = list(dispute.notes)
    first = notes.pop(0)[1] if notes and notes[0][0] == "bureau" else ""
    objections.take_up(w.session, bureau, o.id, note=first)
    for who, text in notes:
        objections.add_note(w.session, authors[who], o.id, text)
    ordered: Grant | None = None
    if dispute.status == "settled":
        today = w.today
        objections.settle(
            w.session,
            bureau,
            o.id,
            result=ObjectionResult(dispute.result),
            outcome=dispute.outcome,
            grant=objections.GrantOrder(
                items=list(dispute.ordered_items),
                valid_from=today,
                expires_on=today + timedelta(days=ORDERED_VALID_DAYS),
                token_ids=[w.tokens[story.requester].id],
            ),
        )
        ordered = w.session.get(Grant, o.ordered_grant_id) if o.ordered_grant_id else None
    _move(w, dispute, o, ordered)
    w.session.flush()
    return o, ordered


def _move(w: World, dispute: Dispute, o: Objection, ordered: Grant | None) -> None:
    """The played dispute moved to its days: received, its deadline recomputed from then (the
    objection and its obligation agree), a note every other day, settled (and the ordered
    grant in force) on the settlement day."""
    received = w.day(dispute.received_days_ago)
    deadline = objection_deadlines.start(w.session, received)
    o.received_on = received
    o.due_on, o.due_provisional = deadline.due, deadline.provisional
    o.created_at = at(received, 10, 5)
    ob = objection_deadlines.obligation_of(w.session, o)
    assert ob is not None
    ob.started_on = received
    ob.due_on, ob.provisional = deadline.due, deadline.provisional
    ob.created_at = o.created_at
    for i, note in enumerate(objections.notes(w.session, o.id)):
        note.at = at(received + timedelta(days=1 + 2 * i), 11, 15)
    if dispute.settled_days_ago is None:
        return
    settled = w.day(dispute.settled_days_ago)
    o.answered_on = ob.answered_on = settled
    o.settled_at = at(settled, 16, 30)
    ob.overdue = settled > ob.due_on
    if ordered is not None:
        ordered.valid_from = settled
        ordered.expires_on = settled + timedelta(days=ORDERED_VALID_DAYS)
        ordered.created_at = o.settled_at
