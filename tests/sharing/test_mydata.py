"""谁用了我的数据 (Art. 40): a citizen with a verified identity sees the sharing calls about
them, and nothing else; without a verified identity, nothing; staff and tokens never."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.core.crypto import subject_digest
from govdata.core.errors import DomainError
from govdata.org import auth
from govdata.org.models import Person
from govdata.org.schemas import TokenCreate
from govdata.sharing import mydata
from tests.sharing.usage_calls import NOON, call, grant
from tests.world import World

MINE = "500103198001010011"
OTHER = "500103198001010038"
TODAY = date(2026, 3, 20)


def _verify(session: Session, world: World, username: str, key: str) -> None:
    """What identity authentication (the open-data issue) will set."""
    person = session.get(Person, world.people[username])
    assert person is not None
    person.identity_digest = subject_digest(key)
    session.flush()


def _calls(session: Session, world: World) -> int:
    g = grant(session, requester=world.yz_police, provider=world.police)
    call(session, requester=world.yz_police, provider=world.police, grant_id=g.id, subject=MINE)
    call(
        session,
        requester=world.jb_police,
        provider=world.police,
        subject=MINE,
        outcome="refused",
        reason="sharing.no_grant",
        at=NOON + timedelta(hours=1),
        purpose="stated-purpose",
    )
    # A month earlier, and someone else's.
    call(
        session,
        requester=world.yz_police,
        provider=world.police,
        grant_id=g.id,
        subject=MINE,
        at=datetime(2026, 2, 10, 3, 0, tzinfo=UTC),
    )
    call(session, requester=world.yz_police, provider=world.police, subject=OTHER)
    return g.id


def test_a_citizen_sees_who_read_data_about_them(session: Session, world: World) -> None:
    _calls(session, world)
    _verify(session, world, "citizen", MINE)
    citizen = world.actor(session, "citizen")
    result = mydata.my_data_use(session, citizen, today=TODAY)
    assert result.verified and result.page.total == 3
    newest, second, oldest = result.page.items
    assert newest.at > second.at > oldest.at
    # The refused call: the department, no data obtained, the purpose it stated.
    assert (newest.department, newest.allowed, newest.purpose) == (
        "江北区公安分局",
        False,
        "stated-purpose",
    )
    # Under a grant: the grant's purpose in words and the duty it serves.
    assert second.department == "渝中区公安分局" and second.allowed
    assert second.purpose == "核查辖区户籍人口信息"
    assert second.duty.startswith("户籍管理")
    assert second.source == "户籍人口基本信息" and second.provider == "市公安局"
    assert second.items == ["公民身份号码", "姓名"]
    months = dict(result.months)
    assert len(result.months) == 12 and result.months[-1][0] == "2026-03"
    assert (months["2026-02"], months["2026-03"], months["2026-01"]) == (1, 2, 0)


def test_reading_ones_list_leaves_a_record_that_is_not_listed(
    session: Session, world: World
) -> None:
    _calls(session, world)
    _verify(session, world, "citizen", MINE)
    citizen = world.actor(session, "citizen")
    mydata.my_data_use(session, citizen, today=TODAY)
    again = mydata.my_data_use(session, citizen, today=TODAY)
    assert again.page.total == 3  # the reads of the list are not about the subject
    traces = session.scalars(
        select(AccessRecord).where(
            AccessRecord.action == "sharing.my_data_use.read",
            AccessRecord.actor_id == world.people["citizen"],
        )
    ).all()
    assert len(traces) == 2 and traces[0].rows == 3 and traces[0].subject_digest is None


def test_another_person_and_an_unverified_account_see_none(session: Session, world: World) -> None:
    _calls(session, world)
    # The company has not verified its identity: nothing can be matched.
    result = mydata.my_data_use(session, world.actor(session, "company"), today=TODAY)
    assert not result.verified and result.page.total == 0
    assert [n for _, n in result.months] == [0] * 12
    # Verified as someone else: only that one's record.
    _verify(session, world, "company", OTHER)
    other = mydata.my_data_use(session, world.actor(session, "company"), today=TODAY)
    assert other.page.total == 1


@pytest.mark.parametrize("username", ["officer", "city", "auditor", "yz_admin", "plain"])
def test_staff_never_see_a_persons_list_here(session: Session, world: World, username: str) -> None:
    with pytest.raises(DomainError) as exc:
        mydata.my_data_use(session, world.actor(session, username))
    assert exc.value.code == "sharing.my_data_public_only" and exc.value.status == 403


def _code(r: Any) -> str:
    return str(r.json()["error"]["code"])


def test_api_and_page(client: TestClient, session: Session, world: World, sign_in: Any) -> None:
    _calls(session, world)
    _verify(session, world, "citizen", MINE)
    issued = auth.issue_token(
        session,
        world.actor(session, "officer"),
        world.police,
        TokenCreate(name="业务系统", scopes=sorted(auth.SCOPES)),
    )
    session.commit()
    citizen = sign_in("citizen")
    r = citizen.get("/api/v1/my/data-use")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] and body["total"] == 3 and len(body["months"]) == 12
    assert body["items"][1]["purpose"] == "核查辖区户籍人口信息"
    assert not {k for item in body["items"] for k in item if "subject" in k}
    page = citizen.get("/my/data-use")
    assert page.status_code == 200
    assert "谁用了我的数据" in page.text and "渝中区公安分局" in page.text
    assert '<svg role="img"' in page.text
    # An account without a verified identity is told why and where.
    unverified = sign_in("company").get("/my/data-use")
    assert unverified.status_code == 200 and "身份认证后可查看" in unverified.text
    assert "尚未开放" in unverified.text
    assert sign_in("company").get("/api/v1/my/data-use").json()["verified"] is False
    # Staff and tokens are refused.
    r = sign_in("officer").get("/api/v1/my/data-use")
    assert (r.status_code, _code(r)) == (403, "sharing.my_data_public_only")
    r = client.get("/api/v1/my/data-use", headers={"Authorization": f"Bearer {issued.secret}"})
    assert (r.status_code, _code(r)) == (403, "auth.people_only")
    assert (
        sign_in("officer").get("/my/data-use", headers={"Accept": "text/html"}).status_code == 403
    )
