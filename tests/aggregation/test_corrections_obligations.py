"""Corrections in the obligations register (Art. 19 ¶2, Art. 50(8); issue 11 §4, decision 0008):
every correction opens an obligation in its own transaction; the obligation follows it through
an extension asked by staff and approved by the providing department's head, the answer, and
the daily overdue scan; and the correction runs the one clock of ``core.deadlines``."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import corrections
from govdata.aggregation.models import Correction, Pool
from govdata.core import calendar, obligations
from govdata.core.deadlines import Clock
from govdata.core.errors import Conflict
from govdata.core.obligations import Obligation
from tests.aggregation.test_corrections import _apply, _pool
from tests.world import World


@pytest.fixture
def pool(session: Session, world: World) -> Pool:
    return _pool(session, world)


def _today(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    monkeypatch.setattr(calendar, "today", lambda: day)


def _obligation(session: Session, c: Correction) -> Obligation:
    ob = obligations.find(session, corrections.CORRECTION, "correction", c.id)
    assert ob is not None
    return ob


def test_an_application_opens_its_obligation(session, world, pool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool)
    ob = _obligation(session, c)
    assert (ob.kind, ob.article) == ("aggregation.correction", "第十九条第二款")
    assert ob.title == f"第{c.id}号校核申请：{pool.name}的信息项“住址”"
    assert (ob.department_id, ob.region_id) == (world.police, world.city)
    assert (ob.started_on, ob.due_on, ob.working_days) == (c.received_on, c.due_on, 10)
    assert ob.due_on == date(2025, 10, 16) and ob.is_open and not ob.overdue
    # The providing department's officer has it on the to-do list; the applicant does not.
    todo = obligations.open_for(session, world.actor(session, "officer"))
    mine = [t for t in todo if t.kind == ob.kind]
    assert [(t.obligation_id, t.href) for t in mine] == [
        (ob.id, f"/aggregation/corrections/{c.id}")
    ]
    # The correction's clock is the one clock.
    clk = corrections.clock(c, calendar.load_calendar(session), date(2025, 9, 30))
    assert isinstance(clk, Clock) and clk.label == "剩余7个工作日" and clk.state_label == "办理中"


def test_a_refused_application_opens_nothing(session, world, pool) -> None:  # type: ignore[no-untyped-def]
    _apply(session, world, pool)
    with pytest.raises(Conflict) as err:  # one open correction per value
        _apply(session, world, pool)
    assert err.value.code == "aggregation.correction_already_open"
    kinds = session.scalars(
        select(Obligation.kind).where(Obligation.kind == "aggregation.correction")
    )
    assert len(list(kinds)) == 1


def test_the_obligation_follows_extension_and_answer(session, world, pool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool)
    ob = _obligation(session, c)
    # The officer asks, through the register; the head sees it waiting and approves it there.
    _today(monkeypatch, date(2025, 10, 9))
    obligations.request_extension(
        session, world.actor(session, "officer"), ob.id, days=3, reason="需调取档案"
    )
    assert ob.extension_pending and c.extension_days == 0
    head = world.actor(session, "head")
    waiting = [t for t in obligations.open_for(session, head) if t.obligation_id == ob.id]
    assert [(t.awaiting_my_approval, t.requested_days) for t in waiting] == [(True, 3)]
    obligations.approve_extension(session, head, ob.id)
    # The correction follows the register (on_due_changed).
    assert (ob.original_due_on, ob.due_on, ob.extension_days) == (
        date(2025, 10, 16),
        date(2025, 10, 21),
        3,
    )
    session.refresh(c)
    assert (c.original_due_on, c.due_on, c.extension_days) == (
        date(2025, 10, 16),
        date(2025, 10, 21),
        3,
    )
    assert c.extended_by == world.people["head"] and c.extension_reason == "需调取档案"
    # Once only, whichever way it is asked.
    with pytest.raises(Conflict) as err:
        corrections.extend(session, head, c.id, days=1, reason="再延一次")
    assert err.value.code == "deadline.already_extended"
    # The answer closes both, in time.
    _today(monkeypatch, date(2025, 10, 20))
    corrections.answer(
        session, world.actor(session, "officer"), c.id, accept=False, answer="核实无误"
    )
    session.refresh(ob)
    assert ob.answered_on == date(2025, 10, 20) and not ob.is_open and not ob.overdue
    assert ob.answered_by == world.people["officer"]


def test_the_heads_direct_extension_goes_through_the_register(
    session, world, pool, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool)
    corrections.extend(session, world.actor(session, "head"), c.id, days=3, reason="需调取档案")
    ob = _obligation(session, c)
    assert (ob.due_on, ob.extension_days, ob.extended_by) == (
        date(2025, 10, 21),
        3,
        world.people["head"],
    )
    assert c.due_on == ob.due_on and c.original_due_on == ob.original_due_on


def test_an_overdue_correction_is_flagged_and_answered_late(
    session, world, pool, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _today(monkeypatch, date(2025, 9, 26))
    c = _apply(session, world, pool)
    ob = _obligation(session, c)
    assert obligations.scan_overdue(session, date(2025, 10, 16)) == 0  # due today: not yet
    assert obligations.scan_overdue(session, date(2025, 10, 17)) >= 1  # Art. 50(8)
    session.refresh(ob)
    assert ob.overdue and ob.is_open
    _today(monkeypatch, date(2025, 10, 20))
    corrections.answer(
        session, world.actor(session, "officer"), c.id, accept=False, answer="核实无误"
    )
    session.refresh(ob)
    assert ob.answered_on == date(2025, 10, 20) and ob.overdue
    assert corrections.clock(c, calendar.load_calendar(session)).late
