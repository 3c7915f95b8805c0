"""The open-data city of tests/e2e/test_opendata_flows.py, written into the live database: two
datasets published through the catalog's review, filled through a pool and released by the
release builder (default masking, the leak scan, Art. 31 ¶2), as the platform does; a public
account with a checked identity and one without (Art. 33 ¶3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govdata.catalog import review, service
from govdata.catalog.models import Resource, ReviewEntry
from govdata.catalog.schemas import ResourceIn
from govdata.core.actor import Actor, Role
from govdata.core.crypto import subject_digest
from govdata.core.ids import make_id_number, make_uscc
from govdata.opendata import datasets, releases
from govdata.opendata.models import ReleaseStatus
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import Person
from govdata.org.schemas import GrantIn, PersonCreate
from govdata.org.service import create_person, role_grants
from tests.aggregation.factories import fill_pool, resource_input
from tests.e2e.helpers import LiveServer

PASSWORD = "Citizen2026x"
CITIZEN = "e2e.od.citizen"  # a checked identity
NEWCOMER = "e2e.od.newcomer"  # a public account without identity
CITIZEN_ID = make_id_number("500106", date(1992, 4, 9), 27)
NEWCOMER_ID = make_id_number("500105", date(1995, 11, 2), 44)
PEOPLE = "e2e开放户籍人口信息"  # 市公安局, open unconditionally, 出生日期 not open
SHOPS = "e2e开放个体工商户信息"  # 市市场监督管理局, open on conditions, 从业人数 not open

PEOPLE_ITEMS = [
    ("公民身份号码", "C", 18),
    ("姓名", "C", 50),
    ("出生日期", "C", 10),
    ("户籍地址", "C", 200),
]
SHOP_ITEMS = [
    ("统一社会信用代码", "C", 18),
    ("字号名称", "C", 100),
    ("经营范围", "C", 200),
    ("经营场所", "C", 200),
    ("从业人数", "C", 10),
]
PERSON_ROWS = [
    (make_id_number("500103", date(1980 + i, 1 + i, 3 + i), 11 + i), name, f"{district}某街道{i}号")
    for i, (name, district) in enumerate(
        [
            ("刘晓红", "渝中区"),
            ("陈建国", "江北区"),
            ("王秀英", "渝中区"),
            ("张伟明", "南岸区"),
            ("李桂兰", "沙坪坝区"),
            ("黄志强", "九龙坡区"),
        ]
    )
]
SHOP_ROWS = [
    (make_uscc(f"92500103MA{i:07d}"), f"解放碑{name}店", scope, f"渝中区民权路{i}号", 3 + i)
    for i, (name, scope) in enumerate(
        [("小面", "餐饮服务"), ("茶叶", "预包装食品销售"), ("五金", "五金交电零售")]
    )
]


@dataclass(frozen=True)
class OpenFlows:
    people: str  # the unconditional dataset's code
    shops: str  # the conditional one's
    citizen: int  # person ids
    newcomer: int


def _actor(session: Session, username: str) -> Actor:
    person = session.scalar(select(Person).where(Person.username == username))
    assert person is not None
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def _resource(
    name: str,
    items: list[tuple[str, str, int]],
    *,
    key: str,
    subject_kind: str,
    open_type: str,
    closed: str,
    conditions: str = "",
) -> ResourceIn:
    data: dict[str, Any] = resource_input(
        name, items, key=key, subject_kind=subject_kind, class_path="e2e/开放"
    ).model_dump()
    data |= {
        "open_type": open_type,
        "open_conditions": conditions,
        "legal_basis": "《重庆市政务数据资源管理暂行办法》第二十九条",
    }
    for it in data["items"]:
        it["open_type"] = "none" if it["name"] == closed else open_type
    return ResourceIn.model_validate(data)


def _publish(session: Session, city: Actor, department_id: int, data: ResourceIn) -> Resource:
    resource = service.create_resource(session, city, department_id, data)
    submission = review.submit(session, city, department_id)
    for entry in session.scalars(
        select(ReviewEntry).where(ReviewEntry.submission_id == submission.id)
    ):
        review.decide(session, city, entry.id, approve=True)
    review.publish(session, city, note="e2e开放")
    session.refresh(resource)
    return resource


def _public(session: Session, username: str, name: str, identity: str | None) -> int:
    person = create_person(
        session,
        BOOTSTRAP,
        PersonCreate(
            username=username,
            name=name,
            password=PASSWORD,
            department_id=None,
            kind="public",
            grants=[GrantIn(role=Role.CITIZEN)],
        ),
    )
    if identity is not None:
        person.identity_digest = subject_digest(identity)
    return person.id


def build_open_flows(live_server: LiveServer, db: sessionmaker[Session]) -> OpenFlows:
    deps = live_server.departments
    with db() as session, session.begin():
        city = _actor(session, "demo.city")
        people = _publish(
            session,
            city,
            deps["市公安局"],
            _resource(
                PEOPLE,
                PEOPLE_ITEMS,
                key="公民身份号码",
                subject_kind="person",
                open_type="unconditional",
                closed="出生日期",
            ),
        )
        fill_pool(
            session,
            city,
            people,
            [
                {"公民身份号码": n, "姓名": name, "出生日期": n[6:14], "户籍地址": address}
                for n, name, address in PERSON_ROWS
            ],
        )
        shops = _publish(
            session,
            city,
            deps["市市场监督管理局"],
            _resource(
                SHOPS,
                SHOP_ITEMS,
                key="统一社会信用代码",
                subject_kind="legal_person",
                open_type="conditional",
                closed="从业人数",
                conditions="仅用于学术研究和公益用途",
            ),
        )
        fill_pool(
            session,
            city,
            shops,
            [
                {
                    "统一社会信用代码": code,
                    "字号名称": name,
                    "经营范围": scope,
                    "经营场所": place,
                    "从业人数": str(staff),
                }
                for code, name, scope, place, staff in SHOP_ROWS
            ],
        )
        datasets.sync(session)
        for resource in (people, shops):
            release = releases.build(session, city, resource.code)
            assert release.status == ReleaseStatus.READY.value, release.scan
            releases.publish(session, city, resource.code, release.id)
        citizen = _public(session, CITIZEN, "郑晓梅", CITIZEN_ID)
        newcomer = _public(session, NEWCOMER, "新用户", None)
        codes = (people.code, shops.code)
    return OpenFlows(codes[0], codes[1], citizen, newcomer)
