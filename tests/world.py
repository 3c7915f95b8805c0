"""A small committed world shared by the tests: three regions, six departments, one person per
role. Built with direct inserts (one password hash) so that the session starts fast."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.crypto import hash_password
from govdata.org.models import Department, Person, Region, RoleAssignment
from govdata.org.service import role_grants

PASSWORD = "Jialing River 2026"  # with spaces, kept as typed (the rule: govdata.org.passwords)


@dataclass(frozen=True)
class World:
    city: int
    yuzhong: int  # 渝中区
    jiangbei: int  # 江北区
    liangjiang: int  # 两江新区, a dispatched body (Art. 5 ¶2)
    city_bureau: int  # 市大数据局
    police: int  # 市公安局
    market: int  # 市市场监管局
    yz_bureau: int  # 渝中区大数据局
    yz_police: int  # 渝中区公安分局
    jb_police: int  # 江北区公安分局
    people: dict[str, int]

    def actor(self, session: Session, username: str) -> Actor:
        pid = self.people[username]
        person = session.get(Person, pid)
        assert person is not None
        return Actor(person_id=pid, name=person.name, grants=role_grants(session, pid))


def build_world(session: Session) -> World:
    city = Region(code="500000", name="重庆市", kind="city")
    session.add(city)
    session.flush()
    yz = Region(code="500103", name="渝中区", kind="district", parent_id=city.id)
    jb = Region(code="500105", name="江北区", kind="district", parent_id=city.id)
    lj = Region(code=None, name="两江新区", kind="dispatched_body", parent_id=city.id)
    session.add_all([yz, jb, lj])
    session.flush()
    depts = {
        "city_bureau": Department(
            code="500000-001", name="市大数据应用发展管理局", region_id=city.id, is_data_bureau=True
        ),
        "police": Department(code="500000-007", name="市公安局", region_id=city.id),
        "market": Department(code="500000-026", name="市市场监督管理局", region_id=city.id),
        "yz_bureau": Department(
            code="500103-001", name="渝中区大数据发展局", region_id=yz.id, is_data_bureau=True
        ),
        "yz_police": Department(code="500103-002", name="渝中区公安分局", region_id=yz.id),
        "jb_police": Department(code="500105-002", name="江北区公安分局", region_id=jb.id),
    }
    session.add_all(depts.values())
    session.flush()
    pw = hash_password(PASSWORD)
    plan: list[tuple[str, str, str | None, list[RoleGrant], str]] = [
        ("city", "陈市管", "city_bureau", [RoleGrant(Role.CITY_BUREAU_ADMIN)], "staff"),
        (
            "yz_admin",
            "李区管",
            "yz_bureau",
            [RoleGrant(Role.DISTRICT_BUREAU_ADMIN, region_id=yz.id)],
            "staff",
        ),
        (
            "jb_admin",
            "江区管",
            None,
            [RoleGrant(Role.DISTRICT_BUREAU_ADMIN, region_id=jb.id)],
            "staff",
        ),
        (
            "officer",
            "王专员",
            "police",
            [RoleGrant(Role.DEPARTMENT_OFFICER, department_id=depts["police"].id)],
            "staff",
        ),
        (
            "head",
            "赵局长",
            "police",
            [RoleGrant(Role.DEPARTMENT_HEAD, department_id=depts["police"].id)],
            "staff",
        ),
        (
            "officer2",
            "孙专员",
            "market",
            [RoleGrant(Role.DEPARTMENT_OFFICER, department_id=depts["market"].id)],
            "staff",
        ),
        (
            "yz_officer",
            "周专员",
            "yz_police",
            [RoleGrant(Role.DEPARTMENT_OFFICER, department_id=depts["yz_police"].id)],
            "staff",
        ),
        (
            "jb_officer",
            "吴专员",
            "jb_police",
            [RoleGrant(Role.DEPARTMENT_OFFICER, department_id=depts["jb_police"].id)],
            "staff",
        ),
        ("auditor", "钱审计", None, [RoleGrant(Role.AUDITOR)], "staff"),
        ("citizen", "郑公民", None, [RoleGrant(Role.CITIZEN)], "public"),
        ("company", "示例公司", None, [RoleGrant(Role.COMPANY)], "public"),
        ("plain", "冯无角色", "police", [], "staff"),
    ]
    people: dict[str, int] = {}
    for username, name, dept_key, grants, kind in plan:
        person = Person(
            username=username,
            name=name,
            kind=kind,
            department_id=depts[dept_key].id if dept_key else None,
            password_hash=pw,
        )
        session.add(person)
        session.flush()
        for g in grants:
            session.add(
                RoleAssignment(
                    person_id=person.id,
                    role=g.role.value,
                    region_id=g.region_id,
                    department_id=g.department_id,
                )
            )
        people[username] = person.id
    session.flush()
    return World(
        city=city.id,
        yuzhong=yz.id,
        jiangbei=jb.id,
        liangjiang=lj.id,
        city_bureau=depts["city_bureau"].id,
        police=depts["police"].id,
        market=depts["market"].id,
        yz_bureau=depts["yz_bureau"].id,
        yz_police=depts["yz_police"].id,
        jb_police=depts["jb_police"].id,
        people=people,
    )
