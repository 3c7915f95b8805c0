"""Open-catalog correction requests (Art. 32 ¶2–3, Art. 14, Art. 50(8)): service and HTTP."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.models import Resource
from govdata.core import calendar, obligations
from govdata.core.errors import DomainError
from govdata.opendata import corrections
from govdata.opendata.clocks import CORRECTION, CORRECTION_SUBJECT
from govdata.opendata.models import CatalogCorrectionRequest
from tests.opendata.helpers import OpenCity, build_open_city
from tests.world import World

DAY = date(2025, 9, 26)  # a Friday before National Day 2025


def _today(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    monkeypatch.setattr(calendar, "today", lambda: day)


@pytest.fixture
def oc(session: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> OpenCity:
    _today(monkeypatch, DAY)
    return build_open_city(session, world)


def ask(session: Session, world: World, code: str, **kw: Any) -> CatalogCorrectionRequest:
    fields: dict[str, Any] = {
        "dataset_code": code,
        "field": "abstract",
        "proposed_value": "本市户籍人口的基本信息（已脱敏）。",
        "reason": "摘要未说明数据已脱敏",
    }
    return corrections.submit(session, world.actor(session, "citizen"), **(fields | kw))


def test_a_request_reads_the_current_value_and_starts_the_clock(
    session: Session, world: World, oc: OpenCity
) -> None:
    r = ask(session, world, oc.person.code)
    assert r.current_value == oc.person.abstract  # from the entry, never from the form
    assert (r.status, r.received_on, r.due_on) == ("pending", DAY, date(2025, 10, 16))
    ob = obligations.find(session, CORRECTION, CORRECTION_SUBJECT, r.id)
    assert ob is not None and ob.is_open and ob.department_id == world.police
    assert ob.article == "第三十二条第三款"


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"field": "items"}, "opendata.correction_field_invalid"),
        ({"proposed_value": " "}, "opendata.proposed_value_required"),
        ({"reason": ""}, "opendata.correction_reason_required"),
        ({"field": "name", "proposed_value": "户籍人口基本信息"}, "opendata.correction_unchanged"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_stored(
    session: Session, world: World, oc: OpenCity, kw: dict[str, Any], code: str
) -> None:
    with pytest.raises(DomainError) as exc:
        ask(session, world, oc.person.code, **kw)
    assert exc.value.code == code and exc.value.message
    assert session.scalar(select(CatalogCorrectionRequest.id)) is None


def test_identity_is_required(session: Session, world: World, oc: OpenCity) -> None:
    with pytest.raises(DomainError) as exc:
        corrections.submit(
            session,
            world.actor(session, "company"),
            dataset_code=oc.person.code,
            field="abstract",
            proposed_value="x",
            reason="y",
        )
    assert exc.value.code == "opendata.identity_required"


def test_agreed_makes_the_departments_draft_revision_of_the_resource(
    session: Session, world: World, oc: OpenCity
) -> None:
    r = ask(session, world, oc.person.code, field="legal_basis", proposed_value="《户口登记条例》")
    r = corrections.agree(session, world.actor(session, "officer"), r.id, answer="同意")
    assert r.status == "agreed" and r.answered_on == DAY
    res = session.scalar(select(Resource).where(Resource.code == oc.person.code))
    assert res is not None and res.legal_basis == "《户口登记条例》" and res.state == "draft"
    assert "修订草稿" in r.change_request_note and res.code in r.change_request_note
    ob = obligations.find(session, CORRECTION, CORRECTION_SUBJECT, r.id)
    assert ob is not None and not ob.is_open
    # Until the next version is published, the bureau lists it.
    pending = corrections.pending_for_next_version(session, world.actor(session, "city"))
    assert [x.id for x in pending] == [r.id]
    with pytest.raises(DomainError) as exc:
        corrections.pending_for_next_version(session, world.actor(session, "officer"))
    assert exc.value.status == 403


def test_agreed_without_a_draft_goes_to_the_bureaus_list(
    session: Session, world: World, oc: OpenCity
) -> None:
    # The head may answer but does not keep the catalog list (Art. 7 ¶2): no draft is made.
    r = ask(session, world, oc.person.code)
    r = corrections.agree(session, world.actor(session, "head"), r.id)
    assert "待纳入下一版目录的更正" in r.change_request_note
    res = session.scalar(select(Resource).where(Resource.code == oc.person.code))
    assert res is not None and res.abstract != "本市户籍人口的基本信息（已脱敏）。"
    other = ask(session, world, oc.person.code, field="other", proposed_value="补充字段说明")
    other = corrections.agree(session, world.actor(session, "officer"), other.id)
    assert "待纳入下一版目录的更正" in other.change_request_note
    pending = corrections.pending_for_next_version(session, world.actor(session, "city"))
    assert {x.id for x in pending} == {r.id, other.id}


def test_a_refusal_needs_reason_and_basis(session: Session, world: World, oc: OpenCity) -> None:
    r = ask(session, world, oc.person.code)
    officer = world.actor(session, "officer")
    with pytest.raises(DomainError) as exc:
        corrections.refuse(session, officer, r.id, reason="摘要准确", basis="")
    assert exc.value.code == "opendata.refusal_basis_required"
    with pytest.raises(DomainError) as exc:
        corrections.refuse(session, officer, r.id, reason="", basis="《目录编制指南》")
    assert exc.value.code == "opendata.refusal_reason_required"
    r = corrections.refuse(session, officer, r.id, reason="摘要准确", basis="《目录编制指南》")
    assert (r.status, r.answer, r.refusal_basis) == ("refused", "摘要准确", "《目录编制指南》")
    with pytest.raises(DomainError) as exc:
        corrections.agree(session, officer, r.id)
    assert exc.value.code == "opendata.correction_closed"


def test_scoped_reads_and_who_answers(session: Session, world: World, oc: OpenCity) -> None:
    r = ask(session, world, oc.person.code)
    for who in ("citizen", "officer", "head", "city", "auditor"):
        assert corrections.get(session, world.actor(session, who), r.id).id == r.id
    for who in ("company", "officer2", "yz_officer", "yz_admin"):
        with pytest.raises(DomainError) as exc:
            corrections.get(session, world.actor(session, who), r.id)
        assert exc.value.status == 404
    for who in ("citizen", "auditor"):  # Art. 49: auditors read, never answer
        with pytest.raises(DomainError) as exc:
            corrections.agree(session, world.actor(session, who), r.id)
        assert exc.value.code == "opendata.not_provider_answer"
    # Art. 6 ¶2: a district bureau reads its districts' departments' requests.
    r.provider_department_id = world.yz_police
    session.flush()
    yz = world.actor(session, "yz_admin")
    assert corrections.get(session, yz, r.id).id == r.id and not corrections.can_answer(yz, r)
    with pytest.raises(DomainError) as exc:
        corrections.agree(session, world.actor(session, "city"), r.id)
    assert exc.value.code == "opendata.not_provider_answer"


def test_extension_once_by_the_head_and_overdue(
    session: Session, world: World, oc: OpenCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = ask(session, world, oc.person.code)
    head = world.actor(session, "head")
    with pytest.raises(DomainError) as exc:
        corrections.approve_extension(
            session, world.actor(session, "officer"), r.id, days=3, reason="核实"
        )
    assert exc.value.code == "deadline.head_approval_required"
    r = corrections.approve_extension(session, head, r.id, days=3, reason="需核实来源系统")
    assert (r.original_due_on, r.due_on, r.extension_days) == (
        date(2025, 10, 16),
        date(2025, 10, 21),
        3,
    )
    with pytest.raises(DomainError) as exc:
        corrections.approve_extension(session, head, r.id, days=1, reason="再延")
    assert exc.value.code == "deadline.already_extended"
    assert obligations.scan_overdue(session, date(2025, 10, 21)) == 0
    assert obligations.scan_overdue(session, date(2025, 10, 22)) >= 1
    _today(monkeypatch, date(2025, 10, 22))
    for who in ("citizen", "officer", "city"):
        assert corrections.overdue_count(session, world.actor(session, who)) == 1


# --- HTTP ---------------------------------------------------------------------------------------


def test_http_submit_list_answer_and_scope(
    session: Session, world: World, oc: OpenCity, sign_in: Any
) -> None:
    citizen = sign_in("citizen")
    r = citizen.post(
        "/api/v1/opendata/corrections",
        json={
            "dataset": oc.person.code,
            "field": "abstract",
            "proposed_value": "新的摘要",
            "reason": "原摘要不完整",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    rid = body["id"]
    assert body["status"] == "pending" and body["due_on"] == "2025-10-16"
    assert body["field_label"] == "摘要" and body["current_value"] == oc.person.abstract
    bad = citizen.post(
        "/api/v1/opendata/corrections",
        json={"dataset": oc.person.code, "field": "abstract", "proposed_value": "x", "reason": ""},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "opendata.correction_reason_required"
    assert citizen.get("/api/v1/opendata/corrections").json()["total"] == 1
    other = sign_in("officer2")
    assert other.get(f"/api/v1/opendata/corrections/{rid}").status_code == 404
    assert other.post(f"/api/v1/opendata/corrections/{rid}/agree", json={}).status_code == 404
    officer = sign_in("officer")
    inbox = officer.get("/api/v1/opendata/corrections?view=inbox").json()
    assert [x["id"] for x in inbox["items"]] == [rid]
    no_basis = officer.post(
        f"/api/v1/opendata/corrections/{rid}/refuse", json={"reason": "准确", "basis": ""}
    )
    assert no_basis.status_code == 400
    assert no_basis.json()["error"]["code"] == "opendata.refusal_basis_required"
    ok = officer.post(f"/api/v1/opendata/corrections/{rid}/agree", json={"answer": "同意"})
    assert ok.status_code == 200 and ok.json()["status"] == "agreed"
    assert "修订草稿" in ok.json()["change_request_note"]


def test_pages(session: Session, world: World, oc: OpenCity, sign_in: Any, client: Any) -> None:
    anon = client.get(f"/open/datasets/{oc.person.code}/correct", follow_redirects=False)
    assert anon.status_code in (303, 401)
    citizen = sign_in("citizen")
    form = citizen.get(f"/open/datasets/{oc.person.code}/correct")
    assert form.status_code == 200 and "更正" in form.text
    bad = citizen.post(
        f"/open/datasets/{oc.person.code}/correct",
        data={
            "field": "abstract",
            "proposed_value": "新摘要",
            "reason": "",
            "csrf_token": citizen.csrf,
        },
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "请说明申请更正的理由" in bad.text
    assert session.scalar(select(CatalogCorrectionRequest.id)) is None
    done = citizen.post(
        f"/open/datasets/{oc.person.code}/correct",
        data={
            "field": "abstract",
            "proposed_value": "新摘要",
            "reason": "不完整",
            "csrf_token": citizen.csrf,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    mine = citizen.get("/open/corrections")
    assert mine.status_code == 200 and "新摘要" in mine.text
    officer = sign_in("officer")
    inbox = officer.get("/opendata/corrections")
    assert inbox.status_code == 200 and "新摘要" in inbox.text and "2025-10-16" in inbox.text
    assert sign_in("officer2").get("/opendata/corrections").text.count("新摘要") == 0
    bureau = sign_in("city").get("/opendata/corrections?view=next")
    assert bureau.status_code == 200 and "待纳入下一版目录的更正" in bureau.text
