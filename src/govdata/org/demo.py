"""The demo city's organizations and one account per role (issue: foundation, item 9).

Chongqing-like: the city, its 38 districts and counties and two dispatched bodies with
administrative functions (Art. 5 ¶2), about 40 city departments with the big-data bureau as the
data bureau (Art. 6), and a few departments in every district.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.org.models import Department, Region
from govdata.org.schemas import GrantIn, PersonCreate
from govdata.org.service import create_person

BOOTSTRAP = Actor(person_id=None, name="系统初始化", grants=(RoleGrant(Role.CITY_BUREAU_ADMIN),))

DEMO_PASSWORD = "Demo2026pass"  # noqa: S105 - published demo credential

CITY_DEPARTMENTS = [
    "市大数据应用发展管理局",
    "市发展和改革委员会",
    "市教育委员会",
    "市科学技术局",
    "市经济和信息化委员会",
    "市民族宗教事务委员会",
    "市公安局",
    "市民政局",
    "市司法局",
    "市财政局",
    "市人力资源和社会保障局",
    "市规划和自然资源局",
    "市生态环境局",
    "市住房和城乡建设委员会",
    "市城市管理局",
    "市交通运输委员会",
    "市水利局",
    "市农业农村委员会",
    "市商务委员会",
    "市文化和旅游发展委员会",
    "市卫生健康委员会",
    "市退役军人事务局",
    "市应急管理局",
    "市审计局",
    "市人民政府国有资产监督管理委员会",
    "市市场监督管理局",
    "市体育局",
    "市统计局",
    "市医疗保障局",
    "市林业局",
    "市机关事务管理局",
    "市人民政府外事办公室",
    "市乡村振兴局",
    "市药品监督管理局",
    "市知识产权局",
    "市地方金融监督管理局",
    "市人民防空办公室",
    "市信访办公室",
    "市公共资源交易监督管理局",
    "市税务局",
]

DISTRICT_DEPARTMENTS = [
    "大数据发展局",
    "公安分局",
    "市场监督管理局",
    "人力资源和社会保障局",
    "民政局",
    "卫生健康委员会",
]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    name: str
    role: Role
    department: str | None  # the account's department, if any
    where: str  # what the account sees, for the printed table


DEMO_ACCOUNTS = [
    DemoAccount("demo.city", "陈市管", Role.CITY_BUREAU_ADMIN, "市大数据应用发展管理局", "全市"),
    DemoAccount(
        "demo.district", "李区管", Role.DISTRICT_BUREAU_ADMIN, "渝中区大数据发展局", "渝中区"
    ),
    DemoAccount("demo.officer", "王专员", Role.DEPARTMENT_OFFICER, "市公安局", "市公安局"),
    DemoAccount("demo.head", "赵局长", Role.DEPARTMENT_HEAD, "市公安局", "市公安局"),
    DemoAccount(
        "demo.officer2", "孙专员", Role.DEPARTMENT_OFFICER, "市市场监督管理局", "市市场监督管理局"
    ),
    DemoAccount(
        "demo.district_officer",
        "周专员",
        Role.DEPARTMENT_OFFICER,
        "渝中区公安分局",
        "渝中区公安分局",
    ),
    DemoAccount("demo.auditor", "吴审计", Role.AUDITOR, None, "全市（只读）"),
    DemoAccount("demo.citizen", "郑公民", Role.CITIZEN, None, "开放门户"),
    DemoAccount("demo.company", "重庆示例科技有限公司", Role.COMPANY, None, "开放门户"),
]


def default_regions_csv() -> Path:
    """``../shared/data`` beside the checkout when present (DESIGN), else the bundled copy."""
    shared = Path(__file__).resolve().parents[4] / "shared" / "data" / "chongqing-regions.csv"
    return shared if shared.exists() else Path(__file__).parent / "data" / "chongqing-regions.csv"


def load_regions(session: Session, csv_path: Path) -> list[Region]:
    with csv_path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    city_rows = [r for r in rows if r["kind"] == "city"]
    if len(city_rows) != 1:
        raise ValueError(f"{csv_path}: expected exactly one city row")
    city = Region(code=city_rows[0]["code"], name=city_rows[0]["name"], kind="city")
    session.add(city)
    session.flush()
    regions = [city]
    for r in rows:
        if r["kind"] == "city":
            continue
        region = Region(code=r["code"] or None, name=r["name"], kind=r["kind"], parent_id=city.id)
        session.add(region)
        regions.append(region)
    session.flush()
    return regions


def _dept_code(region: Region, seq: int) -> str:
    return f"{region.code or f'P{region.id:02d}'}-{seq:03d}"


def load_demo_org(session: Session, csv_path: Path | None = None) -> list[DemoAccount] | None:
    """Load the demo organizations and accounts once; None when they are already there."""
    if session.scalar(select(Region.id).where(Region.kind == "city")) is not None:
        return None
    regions = load_regions(session, csv_path or default_regions_csv())
    city = regions[0]
    by_name: dict[str, Department] = {}
    for i, name in enumerate(CITY_DEPARTMENTS, start=1):
        d = Department(
            code=_dept_code(city, i), name=name, region_id=city.id, is_data_bureau=(i == 1)
        )
        session.add(d)
        by_name[name] = d
    for region in regions[1:]:
        short = region.name
        for i, suffix in enumerate(DISTRICT_DEPARTMENTS, start=1):
            d = Department(
                code=_dept_code(region, i),
                name=f"{short}{suffix}",
                region_id=region.id,
                is_data_bureau=(i == 1),
            )
            session.add(d)
            by_name[d.name] = d
    session.flush()
    audit.record(
        session,
        BOOTSTRAP,
        "demo.org.load",
        object_type="region",
        object_id=city.id,
        summary=f"载入演示城市：{len(regions)} 个行政区域，{len(by_name)} 个部门",
        change={"regions": len(regions), "departments": len(by_name)},
    )
    yuzhong = next(r for r in regions if r.name == "渝中区")

    for account in DEMO_ACCOUNTS:
        username, name, role = account.username, account.name, account.role
        dept_name = account.department
        grant_region = yuzhong if role is Role.DISTRICT_BUREAU_ADMIN else None
        dept = by_name[dept_name] if dept_name else None
        grant = GrantIn(
            role=role,
            region_id=grant_region.id if grant_region is not None else None,
            department_id=dept.id if dept is not None and role.scope == "department" else None,
        )
        create_person(
            session,
            BOOTSTRAP,
            PersonCreate(
                username=username,
                name=name,
                password=DEMO_PASSWORD,
                department_id=dept.id if dept else None,
                kind="public" if role in (Role.CITIZEN, Role.COMPANY) else "staff",
                grants=[grant],
            ),
        )
    return DEMO_ACCOUNTS
