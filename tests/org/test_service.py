"""Org rules at the service level (no HTTP): who sees what, who may change whom (Art. 5–7).

Every permission rule is tested from both sides; a refusal must name its stable code and leave
nothing behind (no row, no audit event). Every change appends exactly one audit event to a chain
that still verifies (Art. 49).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.actor import Role
from govdata.core.audit import AuditEvent
from govdata.core.audit_seal import seal
from govdata.core.audit_verify import verify
from govdata.core.crypto import verify_password
from govdata.core.db import transaction, utcnow
from govdata.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from govdata.org import auth, service
from govdata.org.models import ApiToken, Department, Person, RoleAssignment, WebSession
from govdata.org.schemas import (
    DepartmentCreate,
    DepartmentUpdate,
    GrantIn,
    PersonCreate,
    PersonUpdate,
)
from tests.live import in_thread, live_database, wait_until_blocked
from tests.pgcluster import PgCluster
from tests.world import PASSWORD, World

NEW_PASSWORD = "NeuesPass2026"


# --- helpers -------------------------------------------------------------------------------


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _snapshot(session: Session) -> dict[str, int]:
    return {
        m.__tablename__: _count(session, m)
        for m in (Person, RoleAssignment, Department, ApiToken, WebSession, AuditEvent)
    }


def _last_seq(session: Session) -> int:
    return session.scalar(select(func.max(AuditEvent.id))) or 0


def _actions_since(session: Session, seq: int) -> list[str]:
    session.flush()
    return list(
        session.scalars(
            select(AuditEvent.action).where(AuditEvent.id > seq).order_by(AuditEvent.id)
        )
    )


def _assert_audited(session: Session, seq: int, *actions: str) -> None:
    """Exactly these events were appended since ``seq``, and the chain verifies (Art. 49)."""
    assert _actions_since(session, seq) == list(actions)
    seal(session)  # the events join the chain, then it verifies
    result = verify(session)
    assert result.ok, result


@contextmanager
def _refused(session: Session, error: type[DomainError], code: str) -> Iterator[None]:
    """The block raises ``error`` with ``code`` and stores nothing at all."""
    before = _snapshot(session)
    with pytest.raises(error) as info:
        yield
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert info.value.code == code
    assert _snapshot(session) == before


def _new_staff(username: str, department_id: int | None, **kw: object) -> PersonCreate:
    return PersonCreate(
        username=username,
        name="测试人员",
        password=PASSWORD,
        department_id=department_id,
        **kw,  # type: ignore[arg-type]
    )


def _ids(items: list) -> set[int]:
    return {i.id for i in items}


# --- visibility (Art. 6: the city bureau directs all; Art. 7: a department its own) ----------


@pytest.mark.parametrize("username", ["city", "auditor"])
def test_city_admin_and_auditor_see_all_departments(
    session: Session, world: World, username: str
) -> None:
    # Art. 6 ¶1 (city bureau), Art. 49 (audit oversight, read-only).
    page = service.list_departments(session, world.actor(session, username))
    assert page.total == 6
    assert _ids(page.items) == {
        world.city_bureau,
        world.police,
        world.market,
        world.yz_bureau,
        world.yz_police,
        world.jb_police,
    }


def test_district_admin_sees_only_its_region_departments(session: Session, world: World) -> None:
    # Art. 6 ¶2: a district bureau manages its own district.
    page = service.list_departments(session, world.actor(session, "yz_admin"))
    assert _ids(page.items) == {world.yz_bureau, world.yz_police}
    assert page.total == 2


def test_officer_sees_only_its_own_department(session: Session, world: World) -> None:
    # Art. 7: a department is responsible for its own data.
    page = service.list_departments(session, world.actor(session, "officer"))
    assert _ids(page.items) == {world.police}


@pytest.mark.parametrize(
    ("username", "department"),
    [
        ("officer", "market"),
        ("yz_admin", "jb_police"),
        ("yz_admin", "police"),
        ("citizen", "police"),
    ],
)
def test_department_outside_scope_is_not_found_never_forbidden(
    session: Session, world: World, username: str, department: str
) -> None:
    # DESIGN principle 2: outside the scope is "not found", so existence does not leak.
    actor = world.actor(session, username)
    with _refused(session, NotFound, "org.department_not_found"):
        service.get_department(session, actor, getattr(world, department))


def test_unknown_department_is_not_found_with_the_same_code(session: Session, world: World) -> None:
    with _refused(session, NotFound, "org.department_not_found"):
        service.get_department(session, world.actor(session, "city"), 999_999)


def test_district_admin_sees_people_of_its_region_only(session: Session, world: World) -> None:
    page = service.list_people(session, world.actor(session, "yz_admin"))
    assert _ids(page.items) == {world.people["yz_admin"], world.people["yz_officer"]}


def test_officer_sees_people_of_its_own_department(session: Session, world: World) -> None:
    page = service.list_people(session, world.actor(session, "officer"))
    assert _ids(page.items) == {
        world.people["officer"],
        world.people["head"],
        world.people["plain"],
    }


@pytest.mark.parametrize(
    ("username", "other"),
    [
        ("officer", "officer2"),
        ("yz_admin", "jb_officer"),
        ("yz_admin", "city"),
        ("citizen", "officer"),
    ],
)
def test_person_outside_scope_is_not_found_never_forbidden(
    session: Session, world: World, username: str, other: str
) -> None:
    actor = world.actor(session, username)
    with _refused(session, NotFound, "org.person_not_found"):
        service.get_person(session, actor, world.people[other])


@pytest.mark.parametrize("username", ["citizen", "company", "plain"])
def test_public_and_roleless_accounts_cannot_list_people(
    session: Session, world: World, username: str
) -> None:
    with _refused(session, PermissionDenied, "auth.staff_only"):
        service.list_people(session, world.actor(session, username))


def test_public_account_sees_only_itself(session: Session, world: World) -> None:
    actor = world.actor(session, "citizen")
    assert service.get_person(session, actor, world.people["citizen"]).username == "citizen"
    with _refused(session, NotFound, "org.person_not_found"):
        service.get_person(session, actor, world.people["company"])


# --- create_person (Art. 6, 7) ---------------------------------------------------------------


def test_city_admin_creates_person_in_any_department(session: Session, world: World) -> None:
    seq = _last_seq(session)
    person = service.create_person(
        session, world.actor(session, "city"), _new_staff("jb.new", world.jb_police)
    )
    assert person.department_id == world.jb_police
    assert person.password_hash != PASSWORD
    assert verify_password(person.password_hash, PASSWORD)
    _assert_audited(session, seq, "org.person.create")
    # ids come from a sequence: after rolled-back tests they have gaps on PostgreSQL.
    event = session.scalar(select(AuditEvent).where(AuditEvent.id > seq).order_by(AuditEvent.id))
    assert event is not None
    assert (event.object_id, event.department_id) == (str(person.id), world.jb_police)
    assert PASSWORD not in event.summary


def test_district_admin_creates_person_with_grant_in_its_region(
    session: Session, world: World
) -> None:
    # Art. 6 ¶2: the district bureau manages its district's departments.
    seq = _last_seq(session)
    person = service.create_person(
        session,
        world.actor(session, "yz_admin"),
        _new_staff(
            "yz.new",
            world.yz_police,
            grants=[GrantIn(role=Role.DEPARTMENT_OFFICER, department_id=world.yz_police)],
        ),
    )
    assert [(g.role, g.department_id) for g in service.role_grants(session, person.id)] == [
        (Role.DEPARTMENT_OFFICER, world.yz_police)
    ]
    _assert_audited(session, seq, "org.person.create", "org.role.grant")


def test_district_admin_cannot_create_person_in_another_region(
    session: Session, world: World
) -> None:
    # 江北 is not visible to 渝中's bureau: not found rather than forbidden.
    actor = world.actor(session, "yz_admin")
    with _refused(session, NotFound, "org.department_not_found"):
        service.create_person(session, actor, _new_staff("jb.x", world.jb_police))


@pytest.mark.parametrize("username", ["officer", "head", "auditor"])
def test_visible_department_without_right_to_manage_people_is_forbidden(
    session: Session, world: World, username: str
) -> None:
    # An officer sees its department, an auditor sees all (Art. 49), neither manages people.
    actor = world.actor(session, username)
    with _refused(session, PermissionDenied, "org.cannot_manage_people"):
        service.create_person(session, actor, _new_staff("police.x", world.police))


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Short1", "org.password_too_short"),
        ("qwertyuiop123456", "org.password_common"),
        ("weak.pw is my name", "org.password_contains_username"),
    ],
)
def test_weak_password_is_refused(session: Session, world: World, password: str, code: str) -> None:
    data = PersonCreate(
        username="weak.pw", name="弱密码", password=password, department_id=world.police
    )
    with _refused(session, InvalidInput, code):
        service.create_person(session, world.actor(session, "city"), data)


def test_duplicate_username_is_a_conflict(session: Session, world: World) -> None:
    with _refused(session, Conflict, "org.username_taken"):
        service.create_person(
            session, world.actor(session, "city"), _new_staff("officer", world.police)
        )


def test_city_admin_creates_public_account(session: Session, world: World) -> None:
    # Ch. 5: citizens' accounts on the open portal.
    seq = _last_seq(session)
    person = service.create_person(
        session,
        world.actor(session, "city"),
        _new_staff("citizen2", None, kind="public", grants=[GrantIn(role=Role.CITIZEN)]),
    )
    assert person.kind == "public"
    assert service.role_grants(session, person.id)[0].role is Role.CITIZEN
    _assert_audited(session, seq, "org.person.create", "org.role.grant")


@pytest.mark.parametrize("username", ["yz_admin", "officer", "auditor"])
def test_only_city_admin_creates_public_accounts(
    session: Session, world: World, username: str
) -> None:
    actor = world.actor(session, username)
    with _refused(session, PermissionDenied, "auth.city_admin_required"):
        service.create_person(session, actor, _new_staff("pub.x", None, kind="public"))


def test_public_account_with_a_department_is_refused(session: Session, world: World) -> None:
    with _refused(session, InvalidInput, "org.public_account_department"):
        service.create_person(
            session,
            world.actor(session, "city"),
            _new_staff("pub.dept", world.police, kind="public"),
        )


def test_staff_without_department_only_by_city_admin(session: Session, world: World) -> None:
    actor = world.actor(session, "yz_admin")
    with _refused(session, PermissionDenied, "auth.city_admin_required"):
        service.create_person(session, actor, _new_staff("nodept.x", None))
    person = service.create_person(
        session, world.actor(session, "city"), _new_staff("nodept.ok", None)
    )
    assert person.department_id is None


# --- departments (Art. 5, 6) -----------------------------------------------------------------


def test_district_admin_creates_department_in_its_region(session: Session, world: World) -> None:
    seq = _last_seq(session)
    dept = service.create_department(
        session,
        world.actor(session, "yz_admin"),
        DepartmentCreate(code="500103-099", name="渝中区测试局", region_id=world.yuzhong),
    )
    assert dept.region_id == world.yuzhong
    _assert_audited(session, seq, "org.department.create")


def test_district_admin_cannot_create_department_in_another_region(
    session: Session, world: World
) -> None:
    data = DepartmentCreate(code="500105-099", name="江北区测试局", region_id=world.jiangbei)
    with _refused(session, PermissionDenied, "org.cannot_create_department"):
        service.create_department(session, world.actor(session, "yz_admin"), data)


def test_update_department_by_manager_and_refused_for_officer(
    session: Session, world: World
) -> None:
    data = DepartmentUpdate(name="渝中区公安分局（新）")
    with _refused(session, PermissionDenied, "org.cannot_manage_people"):
        service.update_department(
            session, world.actor(session, "yz_officer"), world.yz_police, data
        )
    seq = _last_seq(session)
    dept = service.update_department(
        session, world.actor(session, "yz_admin"), world.yz_police, data
    )
    assert dept.name == "渝中区公安分局（新）"
    _assert_audited(session, seq, "org.department.update")


def test_renaming_a_department_to_a_name_its_region_has_is_409(
    session: Session, world: World
) -> None:
    # Art. 5: one name per department within a region; the rename says so as creation does.
    data = DepartmentUpdate(name="市公安局")
    with _refused(session, Conflict, "org.department_name_taken"):
        service.update_department(session, world.actor(session, "city"), world.market, data)
    same = DepartmentUpdate(name="市市场监督管理局")  # its own name: no conflict with itself
    dept = service.update_department(session, world.actor(session, "city"), world.market, same)
    assert dept.name == "市市场监督管理局"


def test_a_concurrent_rename_to_the_same_name_is_409_not_500(
    pg_cluster: PgCluster | None, tmp_path: Path, worker: str
) -> None:
    # Two managers rename two departments of one region to the same name at once. The second
    # did not see the first's uncommitted row; the unique constraint refuses it, and the
    # service names the conflict instead of letting the IntegrityError through (a 500).
    data = DepartmentUpdate(name="市数据资源局")
    with live_database(pg_cluster, tmp_path, f"govdata_rename_{worker}") as live:
        world = live.world
        with transaction(live.factory) as first:
            service.update_department(first, world.actor(first, "city"), world.market, data)

            def second() -> object:
                with transaction(live.factory) as s:
                    return service.update_department(s, world.actor(s, "city"), world.police, data)

            thread, out = in_thread(second)
            wait_until_blocked(live.engine, thread)
        thread.join(30)
        error = out.get("error")
        assert isinstance(error, Conflict), error
        assert error.code == "org.department_name_taken"
        with live.factory() as s:
            names = s.scalars(select(Department.name).where(Department.name == data.name))
            assert len(list(names)) == 1


# --- grants ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "grant",
    [
        GrantIn(role=Role.AUDITOR),
        GrantIn(role=Role.CITY_BUREAU_ADMIN),
        GrantIn(role=Role.DISTRICT_BUREAU_ADMIN, region_id=1),
    ],
    ids=lambda g: g.role.value,
)
def test_district_admin_cannot_grant_oversight_or_bureau_roles(
    session: Session, world: World, grant: GrantIn
) -> None:
    # Only the city bureau makes bureau admins and auditors (Art. 6 ¶1, Art. 49).
    actor = world.actor(session, "yz_admin")
    with _refused(session, PermissionDenied, "org.cannot_grant_role"):
        service.grant_role(session, actor, world.people["yz_officer"], grant)


def test_officer_cannot_grant_any_role(session: Session, world: World) -> None:
    grant = GrantIn(role=Role.DEPARTMENT_OFFICER, department_id=world.police)
    with _refused(session, PermissionDenied, "org.cannot_grant_role"):
        service.grant_role(session, world.actor(session, "officer"), world.people["plain"], grant)


def test_district_admin_grants_department_role_in_its_region(
    session: Session, world: World
) -> None:
    seq = _last_seq(session)
    service.grant_role(
        session,
        world.actor(session, "yz_admin"),
        world.people["yz_officer"],
        GrantIn(role=Role.DEPARTMENT_HEAD, department_id=world.yz_police),
    )
    assert world.yz_police in world.actor(session, "yz_officer").department_ids(
        Role.DEPARTMENT_HEAD
    )
    _assert_audited(session, seq, "org.role.grant")


@pytest.mark.parametrize("region", [None, "city"])
def test_district_admin_role_needs_a_district_region(
    session: Session, world: World, region: str | None
) -> None:
    grant = GrantIn(
        role=Role.DISTRICT_BUREAU_ADMIN, region_id=getattr(world, region) if region else None
    )
    with _refused(session, InvalidInput, "org.grant_scope_invalid"):
        service.grant_role(session, world.actor(session, "city"), world.people["plain"], grant)


def test_dispatched_body_counts_as_a_district(session: Session, world: World) -> None:
    # Art. 5 ¶2: 两江新区 (a dispatched body) is treated as a district.
    seq = _last_seq(session)
    service.grant_role(
        session,
        world.actor(session, "city"),
        world.people["plain"],
        GrantIn(role=Role.DISTRICT_BUREAU_ADMIN, region_id=world.liangjiang),
    )
    _assert_audited(session, seq, "org.role.grant")
    lj_admin = world.actor(session, "plain")
    assert lj_admin.region_ids() == {world.liangjiang}
    dept = service.create_department(
        session,
        lj_admin,
        DepartmentCreate(code="LJ-001", name="两江新区大数据局", region_id=world.liangjiang),
    )
    assert [d.id for d in service.list_departments(session, lj_admin).items] == [dept.id]


def test_department_role_needs_a_department(session: Session, world: World) -> None:
    grant = GrantIn(role=Role.DEPARTMENT_OFFICER)
    with _refused(session, InvalidInput, "org.grant_scope_invalid"):
        service.grant_role(session, world.actor(session, "city"), world.people["plain"], grant)


def test_department_role_must_match_the_person_department(session: Session, world: World) -> None:
    # Art. 7 ¶2: a department's officer works in that department.
    grant = GrantIn(role=Role.DEPARTMENT_OFFICER, department_id=world.market)
    with _refused(session, InvalidInput, "org.grant_department_mismatch"):
        service.grant_role(session, world.actor(session, "city"), world.people["plain"], grant)


@pytest.mark.parametrize(
    ("username", "grant"),
    [("officer", GrantIn(role=Role.CITIZEN)), ("citizen", GrantIn(role=Role.AUDITOR))],
    ids=["citizen-role-to-staff", "staff-role-to-citizen"],
)
def test_role_kind_must_match_account_kind(
    session: Session, world: World, username: str, grant: GrantIn
) -> None:
    with _refused(session, InvalidInput, "org.grant_kind_mismatch"):
        service.grant_role(session, world.actor(session, "city"), world.people[username], grant)


def test_existing_grant_is_a_conflict(session: Session, world: World) -> None:
    grant = GrantIn(role=Role.DEPARTMENT_OFFICER, department_id=world.police)
    with _refused(session, Conflict, "org.grant_exists"):
        service.grant_role(session, world.actor(session, "city"), world.people["officer"], grant)


def test_revoke_role_removes_it_and_audits(session: Session, world: World) -> None:
    pid = world.people["officer"]
    (assignment,) = service.grants_of(session, pid)
    seq = _last_seq(session)
    service.revoke_role(session, world.actor(session, "city"), pid, assignment.id)
    assert service.role_grants(session, pid) == ()
    _assert_audited(session, seq, "org.role.revoke")


def test_district_admin_revokes_department_role_in_its_region(
    session: Session, world: World
) -> None:
    pid = world.people["yz_officer"]
    (assignment,) = service.grants_of(session, pid)
    service.revoke_role(session, world.actor(session, "yz_admin"), pid, assignment.id)
    assert service.role_grants(session, pid) == ()


def test_revoke_of_a_role_the_actor_cannot_grant_is_refused(session: Session, world: World) -> None:
    pid = world.people["yz_admin"]  # visible to itself; its role only the city grants
    (assignment,) = service.grants_of(session, pid)
    with _refused(session, PermissionDenied, "org.cannot_grant_role"):
        service.revoke_role(session, world.actor(session, "yz_admin"), pid, assignment.id)


def test_grant_of_another_person_is_not_found(session: Session, world: World) -> None:
    (other,) = service.grants_of(session, world.people["head"])
    with _refused(session, NotFound, "org.grant_not_found"):
        service.revoke_role(
            session, world.actor(session, "city"), world.people["officer"], other.id
        )


def test_city_admin_cannot_revoke_own_city_admin_role(session: Session, world: World) -> None:
    pid = world.people["city"]
    (assignment,) = service.grants_of(session, pid)
    with _refused(session, InvalidInput, "org.cannot_revoke_self"):
        service.revoke_role(session, world.actor(session, "city"), pid, assignment.id)


# --- account state: deactivation, password reset, unlock (Art. 39) ---------------------------


def _sessions_of(session: Session, person_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.person_id == person_id)
        )
        or 0
    )


def _lock(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    assert person is not None
    person.failed_logins = 5
    person.locked_until = utcnow() + timedelta(minutes=30)
    session.flush()
    return person


def test_deactivating_a_person_ends_their_sessions(session: Session, world: World) -> None:
    signed = auth.sign_in(session, "officer", PASSWORD)
    pid = world.people["officer"]
    assert _sessions_of(session, pid) == 1
    seq = _last_seq(session)
    service.update_person(session, world.actor(session, "city"), pid, PersonUpdate(active=False))
    assert _sessions_of(session, pid) == 0
    assert auth.resolve_session(session, signed.secret) is None
    _assert_audited(session, seq, "org.person.update")


def test_deactivation_refused_for_non_manager_keeps_sessions(
    session: Session, world: World
) -> None:
    auth.sign_in(session, "officer", PASSWORD)
    pid = world.people["officer"]
    with _refused(session, PermissionDenied, "org.cannot_manage_people"):
        service.update_person(
            session, world.actor(session, "head"), pid, PersonUpdate(active=False)
        )
    assert _sessions_of(session, pid) == 1
    assert session.get(Person, pid).active is True  # type: ignore[union-attr]


def test_only_city_admin_manages_accounts_without_department(
    session: Session, world: World
) -> None:
    # jb_admin has no department: only the city bureau may change it.
    with _refused(session, PermissionDenied, "auth.city_admin_required"):
        service.update_person(
            session,
            world.actor(session, "auditor"),
            world.people["jb_admin"],
            PersonUpdate(name="改名"),
        )


def test_reset_password_ends_sessions_and_clears_lockout(session: Session, world: World) -> None:
    pid = world.people["officer"]
    auth.sign_in(session, "officer", PASSWORD)
    person = _lock(session, pid)
    seq = _last_seq(session)
    service.reset_password(session, world.actor(session, "city"), pid, NEW_PASSWORD)
    assert (person.failed_logins, person.locked_until) == (0, None)
    assert _sessions_of(session, pid) == 0
    assert verify_password(person.password_hash, NEW_PASSWORD)
    _assert_audited(session, seq, "org.person.password_reset")
    assert auth.sign_in(session, "officer", NEW_PASSWORD).person.id == pid


def test_reset_password_refused_for_non_manager(session: Session, world: World) -> None:
    pid = world.people["officer"]
    old_hash = session.get(Person, pid).password_hash  # type: ignore[union-attr]
    with _refused(session, PermissionDenied, "org.cannot_manage_people"):
        service.reset_password(session, world.actor(session, "head"), pid, NEW_PASSWORD)
    with _refused(session, NotFound, "org.person_not_found"):
        service.reset_password(session, world.actor(session, "officer2"), pid, NEW_PASSWORD)
    assert session.get(Person, pid).password_hash == old_hash  # type: ignore[union-attr]


def test_reset_password_refuses_weak_password(session: Session, world: World) -> None:
    with _refused(session, InvalidInput, "org.password_too_short"):
        service.reset_password(
            session, world.actor(session, "city"), world.people["officer"], "short"
        )


def test_person_may_change_own_password_with_the_current_one(
    session: Session, world: World
) -> None:
    pid = world.people["officer"]
    service.reset_password(
        session, world.actor(session, "officer"), pid, NEW_PASSWORD, current_password=PASSWORD
    )
    assert verify_password(session.get(Person, pid).password_hash, NEW_PASSWORD)  # type: ignore[union-attr]


def test_unlock_clears_lockout(session: Session, world: World) -> None:
    pid = world.people["officer"]
    person = _lock(session, pid)
    seq = _last_seq(session)
    service.unlock_person(session, world.actor(session, "city"), pid)
    assert (person.failed_logins, person.locked_until) == (0, None)
    _assert_audited(session, seq, "org.person.unlock")
    assert auth.sign_in(session, "officer", PASSWORD).person.id == pid


def test_unlock_refused_for_non_manager(session: Session, world: World) -> None:
    pid = world.people["officer"]
    person = _lock(session, pid)
    with _refused(session, PermissionDenied, "org.cannot_manage_people"):
        service.unlock_person(session, world.actor(session, "head"), pid)
    with _refused(session, NotFound, "org.person_not_found"):
        service.unlock_person(session, world.actor(session, "yz_admin"), pid)
    assert person.failed_logins == 5
    assert person.locked_until is not None
