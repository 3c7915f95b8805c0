"""Real-name registration and identity completion (Art. 33 ¶3: open data is obtained after
identity authentication), as services and over HTTP, refusals from the refused side."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from govdata.aggregation.models import BaseKind
from govdata.aggregation.subjects import base_table, find_base, items_of
from govdata.core.access import AccessRecord
from govdata.core.audit import AuditEvent
from govdata.core.crypto import subject_digest
from govdata.core.errors import Conflict, DomainError, InvalidInput, TooManyRequests
from govdata.core.ids import make_id_number, make_uscc
from govdata.opendata import identity
from govdata.opendata.identity import REGISTER_PER_ADDRESS, Registration
from govdata.org.models import Person, RoleAssignment
from govdata.web.deps import SESSION_COOKIE
from tests.aggregation.base_helpers import build_city
from tests.world import World

NUMBER = make_id_number("500103", date(1992, 3, 4), 21)
OTHER = make_id_number("500103", date(1993, 5, 6), 22)
USCC = make_uscc("91500000MA5U00001")
PASSWORD = "山城的雾 morning 2026"


def _reg(**kw: Any) -> Registration:
    base: dict[str, Any] = {
        "kind": "citizen",
        "name": "张三",
        "number": NUMBER,
        "username": "zhangsan",
        "password": PASSWORD,
    }
    return Registration(**(base | kw))


def _people(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Person)) or 0)


def _put_in_base(session: Session, world: World, number: str, name: str) -> None:
    """The person base records ``name`` for ``number`` (the police's authoritative 姓名)."""
    build_city(session, world)
    base = find_base(session, BaseKind.PERSON)
    assert base is not None
    item = next(i for i in items_of(session, base) if i.name == "姓名")
    table = base_table(base, [item.id])
    session.execute(insert(table).values({"subject_key": number, f"v{item.id}": name}))


def _refused_attempts(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(AccessRecord.reason).where(
                AccessRecord.action == identity.REGISTER, AccessRecord.outcome == "refused"
            )
        )
    )


# --- registration (service) -------------------------------------------------------------------


def test_a_citizen_registers_with_a_checked_identity(session: Session) -> None:  # Art. 33 ¶3
    person = identity.register(session, _reg(phone=" 13800000000 "), address="10.0.0.1")
    assert (person.kind, person.username, person.name) == ("public", "zhangsan", "张三")
    assert person.identity_digest == subject_digest(NUMBER)
    assert person.phone == "13800000000"
    roles = session.scalars(
        select(RoleAssignment.role).where(RoleAssignment.person_id == person.id)
    )
    assert list(roles) == ["citizen"]
    # Art. 40: the number itself is kept nowhere on the account.
    assert NUMBER not in {person.username, person.name, person.phone, person.email}
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "opendata.identity.register")
    ).one()
    assert NUMBER not in event.summary and event.object_id == str(person.id)


def test_a_company_registers_with_its_credit_code(session: Session) -> None:
    person = identity.register(
        session, _reg(kind="company", name="重庆山城科技有限公司", number=USCC.lower())
    )
    assert person.identity_digest == subject_digest(USCC)
    roles = session.scalars(
        select(RoleAssignment.role).where(RoleAssignment.person_id == person.id)
    )
    assert list(roles) == ["company"]


@pytest.mark.parametrize(
    ("kw", "code", "words"),
    [
        (
            {"number": NUMBER[:-1] + ("0" if NUMBER[-1] != "0" else "1")},
            "opendata.id_number_invalid",
            "校验码",
        ),
        ({"number": "50010319920304"}, "opendata.id_number_invalid", "18位"),
        (
            {"kind": "company", "number": USCC[:-1] + "Z"},
            "opendata.uscc_invalid",
            "统一社会信用代码",
        ),
        ({"kind": "nobody"}, "opendata.identity_kind_invalid", "认证类型"),
        ({"name": "  "}, "opendata.identity_name_invalid", "姓名"),
        ({"username": "张三"}, "opendata.username_invalid", "用户名"),
        ({"password": "short"}, "org.password_too_short", "至少"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    session: Session, kw: dict[str, Any], code: str, words: str
) -> None:
    before = _people(session)
    with pytest.raises(InvalidInput) as err:
        identity.register(session, _reg(**kw), address="10.0.0.2")
    assert err.value.code == code and words in err.value.message
    assert err.value.keep_changes  # the attempt's record is kept (the throttle counts it) …
    assert _people(session) == before  # … and no account is half-written
    assert _refused_attempts(session) == [code]


def test_the_name_must_match_the_person_base(session: Session, world: World) -> None:
    _put_in_base(session, world, NUMBER, "张三")
    with pytest.raises(InvalidInput) as err:
        identity.register(session, _reg(name="李四"))
    assert err.value.code == "opendata.identity_name_mismatch"
    assert "不一致" in err.value.message
    assert identity.register(session, _reg(name=" 张三 ")).name == "张三"


def test_a_number_the_base_does_not_hold_passes_on_its_check_character(
    session: Session, world: World
) -> None:  # a product decision: no national identity service here
    _put_in_base(session, world, NUMBER, "张三")
    assert identity.register(session, _reg(number=OTHER, name="王二")).name == "王二"


def test_one_identity_one_account(session: Session) -> None:
    identity.register(session, _reg())
    with pytest.raises(Conflict) as err:
        identity.register(session, _reg(username="zhangsan2"))
    assert err.value.code == "opendata.identity_taken"
    assert "只能认证一个账户" in err.value.message
    # Art. 40: the number's holder sees that it was used, and that the attempt was refused.
    outcomes = session.scalars(
        select(AccessRecord.outcome)
        .where(AccessRecord.subject_digest == subject_digest(NUMBER))
        .order_by(AccessRecord.id)
    )
    assert list(outcomes) == ["allowed", "refused"]
    with pytest.raises(Conflict) as taken:
        identity.register(session, _reg(number=OTHER, username="ZhangSan"))
    assert taken.value.code == "opendata.username_taken"


def test_a_username_taken_by_a_racing_sign_up_is_a_conflict_not_a_500(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:  # Art. 33 ¶3
    """Two sign-ups of one username at once both pass the username check; the one whose row
    lands second is told the name is taken (and its attempt recorded), not a server error."""
    checked = identity.check_identity

    def and_meanwhile(*args: Any, **kwargs: Any) -> tuple[str, str]:
        out = checked(*args, **kwargs)
        # The other sign-up commits its row between this one's checks and its insert.
        session.add(Person(username="zhangsan", name="李四", kind="public", password_hash="x"))
        session.flush()
        return out

    monkeypatch.setattr(identity, "check_identity", and_meanwhile)
    with pytest.raises(Conflict) as err:
        identity.register(session, _reg())
    assert err.value.code == "opendata.username_taken"
    assert err.value.keep_changes
    assert _refused_attempts(session) == ["opendata.username_taken"]
    assert session.scalars(select(Person.name).where(Person.username == "zhangsan")).all() == [
        "李四"
    ]


def test_sign_up_is_throttled_per_address(session: Session) -> None:  # a product decision
    for i in range(REGISTER_PER_ADDRESS):
        with pytest.raises(DomainError):
            identity.register(session, _reg(username=f"bot{i}", password="x"), address="10.9.9.9")
    with pytest.raises(TooManyRequests) as err:
        identity.register(session, _reg(), address="10.9.9.9")
    assert err.value.code == "opendata.register_throttled" and err.value.retry_after > 0
    assert "过于频繁" in err.value.message
    # Another address is not affected.
    assert identity.register(session, _reg(), address="10.9.9.10").id


# --- completing an identity ----------------------------------------------------------------------


def test_a_public_account_completes_its_identity(session: Session, world: World) -> None:
    company = world.actor(session, "company")
    with pytest.raises(InvalidInput) as kind:
        identity.complete_identity(session, company, "citizen", "示例公司", NUMBER)
    assert kind.value.code == "opendata.identity_kind_mismatch"
    person = identity.complete_identity(session, company, "company", "示例公司", USCC)
    assert person.identity_digest == subject_digest(USCC)
    assert session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "opendata.identity.complete")
    )
    with pytest.raises(Conflict) as again:
        identity.complete_identity(session, company, "company", "示例公司", USCC)
    assert again.value.code == "opendata.identity_already_checked"


def test_completion_refuses_a_number_someone_else_holds(session: Session, world: World) -> None:
    identity.register(session, _reg(kind="company", name="甲公司", number=USCC, username="jia"))
    with pytest.raises(Conflict) as err:
        identity.complete_identity(session, world.actor(session, "company"), "company", "乙", USCC)
    assert err.value.code == "opendata.identity_taken"
    company = session.get(Person, world.people["company"])
    assert company is not None and company.identity_digest is None


def test_staff_need_no_real_name_identity(session: Session, world: World) -> None:
    with pytest.raises(InvalidInput) as err:
        identity.complete_identity(session, world.actor(session, "officer"), "citizen", "x", NUMBER)
    assert err.value.code == "opendata.not_public_account"


# --- over HTTP --------------------------------------------------------------------------------------


def _csrf(client: TestClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def _form(**kw: str) -> dict[str, str]:
    return {
        "kind": "citizen",
        "name": "张三",
        "number": NUMBER,
        "username": "zhangsan",
        "password": PASSWORD,
    } | kw


def test_register_page_signs_the_new_account_in(client: TestClient, session: Session) -> None:
    token = _csrf(client, "/open/register")
    r = client.post("/open/register", data=_form(csrf_token=token), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/open/identity?msg=registered"
    assert client.cookies.get(SESSION_COOKIE)
    page = client.get("/open/identity?msg=registered")
    assert 'data-testid="identity-checked"' in page.text and "注册成功" in page.text


def test_register_page_refusal_says_why_and_keeps_nothing(
    client: TestClient, session: Session
) -> None:
    before = _people(session)
    token = _csrf(client, "/open/register")
    r = client.post("/open/register", data=_form(csrf_token=token, number="500103199203040000"))
    assert r.status_code == 400
    assert 'data-code="opendata.id_number_invalid"' in r.text and "校验码" in r.text
    assert "500103199203040000" not in r.text  # the number is not echoed back
    assert _people(session) == before
    assert SESSION_COOKIE not in client.cookies


def test_register_page_without_csrf_is_refused(client: TestClient, session: Session) -> None:
    before = _people(session)
    r = client.post("/open/register", data=_form(), headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.csrf_failed"
    assert _people(session) == before


def test_register_page_throttle_answers_429(client: TestClient, session: Session) -> None:
    token = _csrf(client, "/open/register")
    for i in range(REGISTER_PER_ADDRESS):
        client.post("/open/register", data=_form(csrf_token=token, username=f"b{i}x", password="x"))
    r = client.post("/open/register", data=_form(csrf_token=token))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert 'data-code="opendata.register_throttled"' in r.text


def test_identity_page_completes_a_company(sign_in: Any, session: Session, world: World) -> None:
    c = sign_in("company")
    page = c.get("/open/identity")
    assert 'data-testid="identity-form"' in page.text and "统一社会信用代码" in page.text
    bad = c.post("/open/identity", data={"kind": "company", "name": "示例公司", "number": "1"})
    assert bad.status_code == 400 and 'data-code="opendata.uscc_invalid"' in bad.text
    r = c.post(
        "/open/identity",
        data={"kind": "company", "name": "示例公司", "number": USCC},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    company = session.get(Person, world.people["company"])
    assert company is not None and company.identity_digest == subject_digest(USCC)


def test_identity_page_needs_sign_in(client: TestClient) -> None:
    r = client.get("/open/identity", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


# --- the demo city ---------------------------------------------------------------------------------


def test_demo_identities_are_loaded_once(session: Session) -> None:
    from govdata.opendata.identity_demo import DEMO_ID_NUMBER, load_demo_identity
    from govdata.opendata.keys import key_for_secret

    assert load_demo_identity(session) is None  # no demo accounts: nothing to do
    for username in ("demo.citizen", "demo.company"):
        session.add(Person(username=username, name=username, kind="public", password_hash="x"))
    session.flush()
    first = load_demo_identity(session)
    assert first is not None and first.checked == ("demo.citizen", "demo.company")
    assert first.key_secret is not None and key_for_secret(session, first.key_secret)
    citizen = session.scalars(select(Person).where(Person.username == "demo.citizen")).one()
    assert citizen.identity_digest == subject_digest(DEMO_ID_NUMBER)
    again = load_demo_identity(session)
    assert again is not None and again.checked == () and again.key_secret is None
