"""The demo's steps, each through the platform's own services: publishing the resources
through the catalog's review (Art. 12), recording the loads (Art. 17 ¶1), setting the
specification (Art. 15), the base databases (Art. 16, 17 ¶2), a thematic database (Art. 17 ¶3)
and corrections through both channels (Art. 19)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.aggregation import base, corrections, loading, specs, thematic
from govdata.aggregation.demo.files import Data, File
from govdata.aggregation.demo.resources import ACCOUNTS, RESOURCES, SPECS
from govdata.aggregation.models import (
    BaseConflict,
    BaseDatabase,
    BaseKind,
    ConflictStatus,
    Correction,
    CorrectionStatus,
    Load,
    LoadStatus,
    Pool,
    QuarantinedRow,
    ThematicDatabase,
)
from govdata.catalog import review, service
from govdata.catalog.models import EntryStatus, Resource, ReviewEntry, Submission, SubmissionStatus
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import Department, Person
from govdata.org.service import role_grants


@dataclass(frozen=True)
class DemoPools:
    """What ``load_demo_pools`` made, for the CLI's summary line and the tests."""

    pools: int
    loads: int
    rows_loaded: int
    rows_quarantined: int
    rejected_loads: int
    person_base_rows: int
    legal_base_rows: int
    open_conflicts: int
    thematic_rows: int
    open_corrections: int


# --- who acts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actors:
    city: Actor  # the city bureau (demo.city)
    company: Actor | None  # a company on the open portal (demo.company)
    district: Actor | None  # 渝中区's data bureau (demo.district)
    officers: dict[str, Actor]  # department name -> its data officer


def _account(session: Session, username: str) -> Actor | None:
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        return None
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def actors_of(session: Session, depts: dict[str, Department]) -> Actors:
    officers: dict[str, Actor] = {}
    for name, dept in depts.items():
        account = _account(session, ACCOUNTS[name]) if name in ACCOUNTS else None
        if account is None or dept.id not in account.department_ids(Role.DEPARTMENT_OFFICER):
            # No demo account for this department: its data officer, named, without a login.
            account = Actor(
                person_id=None,
                name=f"{name}数据专职人员",
                grants=(RoleGrant(Role.DEPARTMENT_OFFICER, department_id=dept.id),),
            )
        officers[name] = account
    return Actors(
        city=_account(session, "demo.city") or BOOTSTRAP,
        company=_account(session, "demo.company"),
        district=_account(session, "demo.district"),
        officers=officers,
    )


def departments_of(session: Session) -> dict[str, Department] | None:
    names = {d for d, _ in RESOURCES.values()}
    found = {
        d.name: d for d in session.scalars(select(Department).where(Department.name.in_(names)))
    }
    return found if set(found) == names else None


# --- catalog, loads, specifications -------------------------------------------------------------


def publish(session: Session, depts: dict[str, Department], actors: Actors) -> dict[str, str]:
    """Enter, submit, review and publish the six resources (Art. 12): a new catalog version."""
    created = {
        handle: service.create_resource(session, BOOTSTRAP, depts[dept].id, data)
        for handle, (dept, data) in RESOURCES.items()
    }
    codes = {handle: r.code for handle, r in created.items()}
    for name in dict.fromkeys(dept for dept, _ in RESOURCES.values()):
        review.submit(session, BOOTSTRAP, depts[name].id, note="汇聚演示：新增数据资源")
    regions = session.scalars(
        select(Submission.region_id)
        .where(Submission.status == SubmissionStatus.PENDING_DISTRICT)
        .distinct()
    ).all()
    for region_id in sorted(regions):
        compiler = actors.district
        if compiler is None or region_id not in compiler.region_ids():
            compiler = Actor(
                person_id=None,
                name="演示区县数据主管部门",
                grants=(RoleGrant(Role.DISTRICT_BUREAU_ADMIN, region_id=region_id),),
            )
        review.compile_district(session, compiler, region_id, note="汇聚演示：区县汇总")
    ids = [r.id for r in created.values()]
    for entry_id in session.scalars(
        select(ReviewEntry.id).where(
            ReviewEntry.resource_id.in_(ids), ReviewEntry.status == EntryStatus.PENDING
        )
    ).all():
        review.decide(session, BOOTSTRAP, entry_id, approve=True)
    review.publish(
        session,
        BOOTSTRAP,
        note="新增户籍人口、社会保险参保、婚姻登记、市场主体、纳税人和流动人口数据资源",
    )
    return codes


def create_loads(
    session: Session,
    actors: Actors,
    codes: dict[str, str],
    files: Sequence[File],
    directory: Path,
) -> list[int]:
    """Write each file and record its load (queued), as the department's officer (Art. 17)."""
    ids: list[int] = []
    for f in files:
        dept, data = RESOURCES[f.handle]
        folder = directory / f"{len(list(directory.iterdir())):02d}"
        folder.mkdir()
        path = f.write(folder, [item.name for item in data.items])
        load = loading.create_load(
            session,
            actors.officers[dept],
            resource_code=codes[f.handle],
            path=path,
            filename=f.filename,
            policy=f.policy,
            mode=f.mode,
            channel="upload",
        )
        ids.append(load.id)
    return ids


def set_specs(session: Session, actors: Actors, codes: dict[str, str]) -> None:
    for handle, rules in SPECS.items():
        dept, _data = RESOURCES[handle]
        pool_id = session.scalar(
            select(Pool.id)
            .join(Resource, Resource.id == Pool.resource_id)
            .where(Resource.code == codes[handle])
        )
        assert pool_id is not None
        for item, required, allowed in rules:
            specs.set_spec(
                session,
                actors.officers[dept],
                pool_id,
                item_name=item,
                required=required,
                allowed_values=allowed,
            )


# --- base and thematic databases, corrections ---------------------------------------------------

PERSON_ITEMS = ["姓名", "性别", "民族", "出生日期", "住址"]
LEGAL_ITEMS = [
    *("企业名称", "法定代表人", "企业类型", "成立日期", "注册资本（万元）", "住所", "经营状态")
]


def define_bases(
    session: Session, depts: dict[str, Department], actors: Actors, codes: dict[str, str]
) -> None:
    """The city bureau sets up both bases; each lead department names the authoritative
    source of every base item (一数一源, Art. 16, 17 ¶2) and builds it."""
    for kind, lead, handle, items in (
        (BaseKind.PERSON, "市公安局", "hukou", PERSON_ITEMS),
        (BaseKind.LEGAL_ENTITY, "市市场监督管理局", "shichang", LEGAL_ITEMS),
    ):
        base.define_base(session, actors.city, kind, lead_department_id=depts[lead].id)
        officer = actors.officers[lead]
        for item in items:
            base.add_item(
                session,
                officer,
                kind,
                name=item,
                source_resource_code=codes[handle],
                source_item=item,
            )
        base.build(session, officer, kind)


def define_thematic(
    session: Session, depts: dict[str, Department], actors: Actors, codes: dict[str, str]
) -> ThematicDatabase:
    dept = "市人力资源和社会保障局"
    return thematic.define(
        session,
        actors.officers[dept],
        depts[dept].id,
        name="在保人员基本信息主题库",
        description="正常参保人员的身份信息（取自自然人基础数据库）与参保险种、参保单位，"
        "用于社会保险待遇核定和就业服务。",
        definition={
            "base_kind": BaseKind.PERSON.value,
            "base_items": ["姓名", "性别", "出生日期", "住址"],
            "pool_items": [
                {"resource_code": codes["shebao"], "item": "参保险种"},
                {"resource_code": codes["shebao"], "item": "参保单位名称"},
                {"resource_code": codes["shebao"], "item": "参保状态"},
            ],
            "filters": [{"item": "参保状态", "op": "eq", "value": "正常参保"}],
        },
    )


def _pool_id(session: Session, code: str) -> int:
    pool_id = session.scalar(
        select(Pool.id).join(Resource, Resource.id == Pool.resource_id).where(Resource.code == code)
    )
    assert pool_id is not None
    return pool_id


def apply_corrections(
    session: Session,
    depts: dict[str, Department],
    actors: Actors,
    codes: dict[str, str],
    data: Data,
) -> None:
    """Corrections through both channels (Art. 19 ¶2); one answered, the others open."""
    hukou, market = _pool_id(session, codes["hukou"]), _pool_id(session, codes["shichang"])
    id_number, other_name = data.name_conflicts[0]
    corrections.apply(
        session,
        actors.city,
        pool_id=hukou,
        subject_key=id_number,
        item_name="姓名",
        proposed_value=other_name,
        reason=f"社会保险参保登记中该人员姓名为“{other_name}”，与户籍登记不一致，请核实。",
        evidence="社会保险参保登记表复印件",
    )
    if actors.district is not None:
        person = data.floating[3]
        corrections.apply(
            session,
            actors.district,
            pool_id=_pool_id(session, codes["liudong"]),
            subject_key=person.id_number,
            item_name="居住地址",
            proposed_value=f"重庆市渝中区解放碑街道民族路{88 + len(person.name)}号",
            reason="社区网格员入户核实，该人员已搬至新居住地址。",
            evidence="社区网格走访记录",
        )
    if actors.company is not None:
        company = next(c for c in data.companies[200:] if c.kind != "个体工商户")
        corrections.apply(
            session,
            actors.company,
            pool_id=market,
            subject_key=company.uscc,
            item_name="住所",
            proposed_value=f"重庆市{company.district}金开大道{1000 + len(company.name)}号",
            reason="本单位住所已变更，变更登记已获准，开放数据中的住所仍为旧址。",
            evidence="准予变更登记通知书",
        )
    # One the market regulator has already answered: the value in its pool is corrected.
    company = next(c for c in data.companies[300:] if c.capital)
    corrected = f"{int(float(company.capital)) * 2}.00"
    c = corrections.apply(
        session,
        actors.city,
        pool_id=market,
        subject_key=company.uscc,
        item_name="注册资本（万元）",
        proposed_value=corrected,
        reason="该企业已办理增资，注册资本与企业年度报告不一致。",
        evidence="企业年度报告",
    )
    corrections.answer(
        session,
        actors.officers["市市场监督管理局"],
        c.id,
        accept=True,
        answer="经核实，该企业已于今年办理增资变更登记，已更正注册资本。",
    )


def summary(session: Session, codes: dict[str, str]) -> DemoPools:
    pool_ids = (
        select(Pool.id)
        .join(Resource, Resource.id == Pool.resource_id)
        .where(Resource.code.in_(list(codes.values())))
    )
    load_ids = select(Load.id).where(Load.pool_id.in_(pool_ids))
    rows: dict[str, int] = {
        str(k): int(n)
        for k, n in session.execute(select(BaseDatabase.kind, BaseDatabase.row_count))
    }
    return DemoPools(
        pools=session.scalar(select(func.count()).select_from(pool_ids.subquery())) or 0,
        loads=session.scalar(select(func.count()).select_from(load_ids.subquery())) or 0,
        rows_loaded=session.scalar(
            select(func.coalesce(func.sum(Pool.row_count), 0)).where(Pool.id.in_(pool_ids))
        )
        or 0,
        rows_quarantined=session.scalar(
            select(func.count(QuarantinedRow.id)).where(QuarantinedRow.load_id.in_(load_ids))
        )
        or 0,
        rejected_loads=session.scalar(
            select(func.count(Load.id)).where(
                Load.id.in_(load_ids), Load.status == LoadStatus.REJECTED
            )
        )
        or 0,
        person_base_rows=rows.get(BaseKind.PERSON.value, 0),
        legal_base_rows=rows.get(BaseKind.LEGAL_ENTITY.value, 0),
        open_conflicts=session.scalar(
            select(func.count(BaseConflict.id)).where(BaseConflict.status == ConflictStatus.OPEN)
        )
        or 0,
        thematic_rows=session.scalar(select(func.coalesce(func.sum(ThematicDatabase.row_count), 0)))
        or 0,
        open_corrections=session.scalar(
            select(func.count(Correction.id)).where(Correction.status == CorrectionStatus.OPEN)
        )
        or 0,
    )
