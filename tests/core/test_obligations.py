"""The obligations register (法定时限): opening and answering clocks, one extension approved by
the owner department's head (Art. 19 ¶2, 32 ¶3, 33 ¶2), the daily overdue scan over National
Day and the Spring Festival (Art. 50(8)), and each actor's own to-do list, scoped."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govdata.core import calendar, obligations
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.audit import AuditEvent
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.obligations import Kind, Obligation
from tests.world import World

moved_dues: list[tuple[int, date]] = []


def _moved(session: Session, ob: Obligation) -> None:
    moved_dues.append((ob.subject_id, ob.due_on))


# A kind like Art. 19's corrections: 10 working days, one extension.
ANSWER = obligations.register(
    Kind(
        code="test.answer",
        label="答复测试申请",
        article="第十九条第二款",
        working_days=10,
        extendable=True,
        href="/test/things/{subject_id}?department={department_id}",
        on_due_changed=_moved,
    )
)
# A kind like Art. 14's: no extension.
REVIEW = obligations.register(
    Kind(code="test.review", label="审核测试申请", article="第十四条第二款", working_days=5)
)


def _open(
    session: Session,
    world: World,
    *,
    kind: Kind = ANSWER,
    subject_id: int = 1,
    department: str = "police",
    start: date = date(2025, 9, 26),
) -> Obligation:
    department_id = getattr(world, department)
    region = world.yuzhong if department == "yz_police" else world.city
    return obligations.open(
        session,
        world.actor(session, "officer"),
        kind,
        subject_type="thing",
        subject_id=subject_id,
        department_id=department_id,
        region_id=region,
        title=f"第{subject_id}号测试申请",
        deadline=obligations.deadline(session, kind, start),
    )


def _today(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    monkeypatch.setattr(calendar, "today", lambda: day)


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- opening and answering ---------------------------------------------------------------------


def test_open_over_national_day(session, world) -> None:  # type: ignore[no-untyped-def]
    # Art. 19 ¶2: 10 working days from Fri 2025-09-26: 28 (调休), 29, 30, Oct 9, 10, 11 (调休),
    # 13, 14, 15, 16.
    ob = _open(session, world)
    assert (ob.kind, ob.article, ob.subject_type, ob.subject_id) == (
        "test.answer",
        "第十九条第二款",
        "thing",
        1,
    )
    assert (ob.department_id, ob.region_id) == (world.police, world.city)
    assert (ob.started_on, ob.working_days, ob.due_on) == (
        date(2025, 9, 26),
        10,
        date(2025, 10, 16),
    )
    assert ob.is_open and not ob.provisional and not ob.overdue and ob.extension_days == 0
    (event,) = _events(session, "obligation.open")
    assert event.object_id == str(ob.id) and event.department_id == world.police
    assert "2025-10-16" in event.summary


def test_a_period_into_an_unpublished_year_is_provisional(session, world) -> None:  # type: ignore[no-untyped-def]
    ob = _open(session, world, start=date(2026, 12, 28))
    assert ob.due_on.year == 2027 and ob.provisional


def test_a_deadline_of_another_period_is_refused(session, world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="runs 10 working days"):
        obligations.open(
            session,
            world.actor(session, "officer"),
            ANSWER,
            subject_type="thing",
            subject_id=1,
            department_id=world.police,
            region_id=world.city,
            title="错配",
            deadline=obligations.deadline(session, REVIEW, date(2025, 9, 26)),
        )
    assert session.scalar(select(func.count()).select_from(Obligation)) == 0


def test_answer_in_time_and_late(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    _open(session, world, subject_id=1)
    _open(session, world, subject_id=2)
    kept = obligations.answer(
        session, officer, ANSWER, subject_type="thing", subject_id=1, answered_on=date(2025, 10, 16)
    )
    assert (kept.answered_on, kept.answered_by, kept.overdue) == (
        date(2025, 10, 16),
        world.people["officer"],
        False,
    )
    late = obligations.answer(
        session, officer, ANSWER, subject_type="thing", subject_id=2, answered_on=date(2025, 10, 17)
    )
    assert late.overdue  # Art. 50(8): answered after the due date
    summaries = [e.summary for e in _events(session, "obligation.answer")]
    assert any("按期办结" in s for s in summaries)
    assert any("逾期办结" in s and "第五十条第八项" in s for s in summaries)
    with pytest.raises(Conflict) as err:
        obligations.answer(session, officer, ANSWER, subject_type="thing", subject_id=2)
    assert err.value.code == "obligation.not_open"
    assert obligations.find(session, ANSWER, "thing", 3) is None


def test_answer_defaults_to_today(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _open(session, world)
    _today(monkeypatch, date(2025, 10, 9))
    ob = obligations.answer(
        session, world.actor(session, "officer"), ANSWER, subject_type="thing", subject_id=1
    )
    assert ob.answered_on == date(2025, 10, 9) and not ob.overdue


# --- the daily scan (Art. 50(8)) ---------------------------------------------------------------


def test_scan_over_the_spring_festival(session, world) -> None:  # type: ignore[no-untyped-def]
    # From Thu 2026-02-12 the 10 working days end on 2026-03-04 (the holiday is 15–23).
    ob = _open(session, world, start=date(2026, 2, 12))
    assert ob.due_on == date(2026, 3, 4)
    assert obligations.scan_overdue(session, date(2026, 2, 23)) == 0  # the holiday's last day
    assert obligations.scan_overdue(session, date(2026, 3, 4)) == 0  # due today: not yet
    assert obligations.scan_overdue(session, date(2026, 3, 5)) == 1
    assert ob.overdue  # the loaded row sees the flag
    assert obligations.scan_overdue(session, date(2026, 3, 6)) == 0  # flagged once
    (event,) = _events(session, "obligation.overdue_scan")
    assert event.actor_name == "系统" and "1项" in event.summary


def test_scan_over_national_day(session, world) -> None:  # type: ignore[no-untyped-def]
    ob = _open(session, world)  # due 2025-10-16
    assert obligations.scan_overdue(session, date(2025, 10, 8)) == 0
    assert obligations.scan_overdue(session, date(2025, 10, 16)) == 0
    assert obligations.scan_overdue(session, date(2025, 10, 17)) == 1 and ob.overdue


def test_scan_leaves_answered_obligations(session, world) -> None:  # type: ignore[no-untyped-def]
    _open(session, world)
    obligations.answer(
        session,
        world.actor(session, "officer"),
        ANSWER,
        subject_type="thing",
        subject_id=1,
        answered_on=date(2025, 10, 10),
    )
    assert obligations.scan_overdue(session, date(2025, 12, 1)) == 0
    assert _events(session, "obligation.overdue_scan") == []


def test_the_scan_job_runs_in_its_own_transaction(
    session: Session, world: World, test_sessionmaker: sessionmaker[Session], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    ob = _open(session, world)
    session.commit()  # the job's session must see it (the test's outer transaction rolls back)
    _today(monkeypatch, date(2025, 10, 20))
    obligations.scan_overdue_job(test_sessionmaker)
    session.expire_all()
    assert session.get(Obligation, ob.id).overdue  # type: ignore[union-attr]


# --- to-do lists, scoped -----------------------------------------------------------------------


def _ids(session: Session, world: World, who: str) -> set[int]:
    return {t.obligation_id for t in obligations.open_for(session, world.actor(session, who))}


def test_each_actor_sees_its_own_obligations(session, world) -> None:  # type: ignore[no-untyped-def]
    police = _open(session, world, subject_id=1)
    yz = _open(session, world, subject_id=2, department="yz_police")
    both = {police.id, yz.id}
    assert _ids(session, world, "officer") == {police.id}
    assert _ids(session, world, "head") == {police.id}
    assert _ids(session, world, "yz_officer") == {yz.id}
    assert _ids(session, world, "yz_admin") == {yz.id}  # the district bureau: its region
    assert _ids(session, world, "city") == both
    assert _ids(session, world, "auditor") == both


@pytest.mark.parametrize(
    "who", ["officer2", "jb_officer", "jb_admin", "citizen", "company", "plain"]
)
def test_others_see_none_of_it(session, world, who: str) -> None:  # type: ignore[no-untyped-def]
    # Art. 19, 50(8): another department's officer, another district, the public, a person
    # without a role: nothing to do, and nothing to read.
    ob = _open(session, world)
    _open(session, world, subject_id=2, department="yz_police")
    assert _ids(session, world, who) == set()
    with pytest.raises(NotFound) as err:
        obligations.get(session, world.actor(session, who), ob.id)
    assert err.value.code == "obligation.not_found"
    with pytest.raises(NotFound):
        obligations.request_extension(
            session, world.actor(session, who), ob.id, days=3, reason="测试"
        )
    assert session.get(Obligation, ob.id).extension_requested_on is None  # type: ignore[union-attr]


def test_a_department_systems_token_has_no_to_do_list(session, world) -> None:  # type: ignore[no-untyped-def]
    _open(session, world)
    token = Actor(
        person_id=None,
        name="公安业务系统",
        grants=(RoleGrant(Role.DEPARTMENT_SYSTEM, department_id=world.police),),
        token_id=1,
    )
    assert obligations.open_for(session, token) == []


def test_a_to_do_item_says_what_and_by_when(session, world) -> None:  # type: ignore[no-untyped-def]
    ob = _open(session, world)
    (item,) = obligations.open_for(
        session, world.actor(session, "officer"), today=date(2025, 10, 5)
    )
    assert item.obligation_id == ob.id
    assert (item.kind, item.kind_label, item.article) == (
        "test.answer",
        "答复测试申请",
        "第十九条第二款",
    )
    assert (item.title, item.due, item.provisional) == ("第1号测试申请", date(2025, 10, 16), False)
    assert (item.overdue, item.status_label) == (False, "剩余7个工作日")
    assert item.href == f"/test/things/1?department={world.police}"
    assert not item.extension_pending and not item.awaiting_my_approval
    (late,) = obligations.open_for(
        session, world.actor(session, "officer"), today=date(2025, 10, 20)
    )
    assert (late.overdue, late.status_label) == (True, "已超期2个工作日")


def test_answered_obligations_leave_the_list(session, world) -> None:  # type: ignore[no-untyped-def]
    _open(session, world)
    obligations.answer(
        session, world.actor(session, "officer"), ANSWER, subject_type="thing", subject_id=1
    )
    assert obligations.open_for(session, world.actor(session, "officer")) == []


def test_a_kind_no_module_declared_still_shows(session, world) -> None:  # type: ignore[no-untyped-def]
    ob = _open(session, world)
    ob.kind = "test.undeclared"
    session.flush()
    (item,) = obligations.open_for(session, world.actor(session, "officer"))
    assert (item.kind_label, item.href) == ("test.undeclared", None)
    with pytest.raises(Conflict) as err:
        obligations.approve_extension(
            session, world.actor(session, "head"), ob.id, days=1, reason="x"
        )
    assert err.value.code == "obligation.kind_unknown"


# --- extensions (Art. 19 ¶2, Art. 32 ¶3, Art. 33 ¶2) -------------------------------------------


def test_request_then_the_head_approves(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    moved_dues.clear()
    first = _open(session, world, subject_id=1, start=date(2025, 9, 22))  # due 2025-10-10
    ob = _open(session, world, subject_id=2)  # due 2025-10-16
    _today(monkeypatch, date(2025, 10, 13))
    obligations.request_extension(
        session, world.actor(session, "officer"), ob.id, days=5, reason="数据量大，需要核实"
    )
    assert ob.extension_pending
    assert (ob.extension_requested_days, ob.extension_requested_by) == (5, world.people["officer"])
    assert ob.due_on == date(2025, 10, 16)  # nothing moves before the head approves
    # The head sees it first, waiting for approval; the officer sees it pending.
    todo = obligations.open_for(session, world.actor(session, "head"))
    assert [t.obligation_id for t in todo] == [ob.id, first.id]
    assert todo[0].awaiting_my_approval and todo[0].requested_days == 5
    mine = obligations.open_for(session, world.actor(session, "officer"))
    assert [(t.obligation_id, t.awaiting_my_approval) for t in mine] == [
        (first.id, False),
        (ob.id, False),
    ]
    # The officer cannot approve; the head can: 5 working days from 10-16: 17, 20, 21, 22, 23.
    with pytest.raises(PermissionDenied) as err:
        obligations.approve_extension(session, world.actor(session, "officer"), ob.id)
    assert err.value.code == "deadline.head_approval_required"
    obligations.approve_extension(session, world.actor(session, "head"), ob.id)
    assert (ob.due_on, ob.original_due_on, ob.extension_days) == (
        date(2025, 10, 23),
        date(2025, 10, 16),
        5,
    )
    assert (ob.extended_by, ob.extended_on, ob.extension_reason) == (
        world.people["head"],
        date(2025, 10, 13),
        "数据量大，需要核实",
    )
    assert not ob.extension_pending
    assert moved_dues == [(2, date(2025, 10, 23))]  # the domain's row follows (on_due_changed)
    (event,) = _events(session, "obligation.extension.approve")
    assert event.actor_id == world.people["head"] and "2025-10-23" in event.summary
    # Once only.
    with pytest.raises(Conflict) as again:
        obligations.request_extension(
            session, world.actor(session, "officer"), ob.id, days=1, reason="再延"
        )
    assert again.value.code == "deadline.already_extended"
    assert json.loads(json.dumps(again.value.detail)) == {
        "original_due": "2025-10-16",
        "due": "2025-10-23",
    }


def test_the_head_extends_directly(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Art. 19 ¶2, over National Day: due Sun 2025-09-28 (调休); +10: 29, 30, Oct 9, 10,
    # 11 (调休), 13–17.
    ob = _open(session, world, start=date(2025, 9, 15))
    assert ob.due_on == date(2025, 9, 28)
    _today(monkeypatch, date(2025, 9, 26))
    head = world.actor(session, "head")
    with pytest.raises(InvalidInput) as err:
        obligations.approve_extension(session, head, ob.id)
    assert err.value.code == "obligation.extension_days_required"
    obligations.approve_extension(session, head, ob.id, days=10, reason="涉及多个部门")
    assert ob.due_on == date(2025, 10, 17) and ob.extension_requested_on is None


def test_the_head_refuses_and_the_staff_may_ask_again(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ob = _open(session, world)
    _today(monkeypatch, date(2025, 10, 9))
    officer, head = world.actor(session, "officer"), world.actor(session, "head")
    obligations.request_extension(session, officer, ob.id, days=3, reason="理由")
    with pytest.raises(Conflict) as pending:
        obligations.request_extension(session, officer, ob.id, days=2, reason="理由")
    assert pending.value.code == "obligation.extension_pending"
    with pytest.raises(InvalidInput) as err:
        obligations.refuse_extension(session, head, ob.id, reason=" ")
    assert err.value.code == "obligation.refusal_reason_required"
    with pytest.raises(PermissionDenied):
        obligations.refuse_extension(session, officer, ob.id, reason="不同意")
    obligations.refuse_extension(session, head, ob.id, reason="期限内可以完成")
    assert not ob.extension_pending and ob.due_on == date(2025, 10, 16)
    assert "期限内可以完成" in _events(session, "obligation.extension.refuse")[0].summary
    with pytest.raises(Conflict) as none:
        obligations.refuse_extension(session, head, ob.id, reason="不同意")
    assert none.value.code == "obligation.no_extension_pending"
    obligations.request_extension(session, officer, ob.id, days=2, reason="新情况")
    assert ob.extension_pending


@pytest.mark.parametrize(
    ("days", "reason", "code", "message"),
    [
        (11, "理由", "deadline.extension_too_long", "延长期限不得超过10个工作日。"),
        (0, "理由", "deadline.extension_invalid", "延长期限至少为1个工作日。"),
        (3, "  ", "obligation.extension_reason_required", "请说明需要延长期限的理由。"),
    ],
)
def test_a_bad_request_is_refused_and_nothing_is_stored(  # type: ignore[no-untyped-def]
    session, world, monkeypatch, days: int, reason: str, code: str, message: str
) -> None:
    ob = _open(session, world)
    _today(monkeypatch, date(2025, 10, 9))
    with pytest.raises(InvalidInput) as err:
        obligations.request_extension(
            session, world.actor(session, "officer"), ob.id, days=days, reason=reason
        )
    assert (err.value.code, err.value.message) == (code, message)
    session.expire_all()
    stored = session.get(Obligation, ob.id)
    assert stored is not None and stored.extension_requested_on is None
    assert stored.extension_reason == "" and stored.due_on == date(2025, 10, 16)
    assert _events(session, "obligation.extension.request") == []


def test_no_extension_after_the_due_date(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ob = _open(session, world)
    _today(monkeypatch, date(2025, 10, 17))
    with pytest.raises(Conflict) as err:
        obligations.approve_extension(
            session, world.actor(session, "head"), ob.id, days=3, reason="迟"
        )
    assert err.value.code == "obligation.extension_after_due"
    assert "2025-10-16" in err.value.message


def test_no_extension_where_the_article_allows_none(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Art. 14 has no extension.
    ob = _open(session, world, kind=REVIEW)
    _today(monkeypatch, date(2025, 9, 29))
    with pytest.raises(Conflict) as err:
        obligations.request_extension(
            session, world.actor(session, "officer"), ob.id, days=3, reason="理由"
        )
    assert (err.value.code, err.value.message) == (
        "obligation.not_extendable",
        "第十四条第二款规定的期限不能延长。",
    )


def test_no_extension_once_answered(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ob = _open(session, world)
    _today(monkeypatch, date(2025, 10, 9))
    obligations.answer(
        session, world.actor(session, "officer"), ANSWER, subject_type="thing", subject_id=1
    )
    with pytest.raises(Conflict) as err:
        obligations.approve_extension(
            session, world.actor(session, "head"), ob.id, days=3, reason="x"
        )
    assert err.value.code == "obligation.answered"


def test_kinds_are_declared_once(session, world) -> None:  # type: ignore[no-untyped-def]
    assert obligations.register(ANSWER) is ANSWER  # the same declaration again is harmless
    assert obligations.kinds()["test.answer"] == ANSWER
    with pytest.raises(ValueError, match="already declared"):
        obligations.register(
            Kind(code="test.answer", label="别的", article="第十九条第二款", working_days=10)
        )
