"""The demo city's aggregation data (issue 5, item 8): pools, base databases, a thematic
database and corrections, all made through the platform's own services.

Six resources are published through the catalog's review (Art. 12): 市公安局 户籍人口登记信息,
市人力资源和社会保障局 社会保险参保人员信息, 市民政局 婚姻登记信息, 市市场监督管理局
市场主体登记信息, 市税务局 纳税人登记信息 and 渝中区公安分局 流动人口居住登记信息. Their data is
generated (Faker ``zh_CN`` names, Chongqing addresses, valid 公民身份号码 and 统一社会信用代码)
with a few faults on purpose (wrong check characters, impossible birth dates, values outside the
aggregation specification, repeated subject keys), written to CSV (UTF-8 and GB18030) and xlsx
files and loaded by the real pipeline (Art. 15–18): quarantined rows, one refused load and one
incremental load show in the load reports. Then the person and legal-person base databases are
defined and built (Art. 16, 17 ¶2), with conflicts where other departments disagree with the
authoritative source; 人社 defines a thematic database (Art. 17 ¶3); and corrections are applied
for through both channels (Art. 19).

Deterministic: Faker and ``random`` are seeded, so every run generates the same data (only
dates of receipt and load follow the clock). Loaded once: a database that already has pools is
left alone.
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from faker import Faker
from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import base, corrections, loading, specs, tasks, thematic
from govdata.aggregation.models import (
    BadRowPolicy,
    BaseConflict,
    BaseDatabase,
    BaseKind,
    ConflictStatus,
    Correction,
    CorrectionStatus,
    Load,
    LoadMode,
    LoadStatus,
    Pool,
    QuarantinedRow,
    ThematicDatabase,
)
from govdata.catalog import review, service
from govdata.catalog.models import EntryStatus, Resource, ReviewEntry, Submission, SubmissionStatus
from govdata.catalog.schemas import ResourceIn
from govdata.core import audit, calendar
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.db import transaction
from govdata.core.ids import id_number_check_char, make_id_number, make_uscc
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import Department, Person, Region
from govdata.org.service import role_grants

SEED = 2019  # the regulation's year, as in the catalog demo

# Sizes: a few thousand rows per pool keeps `govdata demo` quick.
HUKOU_PEOPLE = 4000
OUTSIDE_PEOPLE = 700
SHEBAO_FROM_HUKOU = 2600
SHEBAO_OUTSIDE = 400
COUPLES = 700
COMPANIES = 3000
TAX_FROM_MARKET = 2500
TAX_INSTITUTIONS = 100
FLOATING_FROM_CITY = 500
FLOATING_OUTSIDE = 300

# Real division codes outside Chongqing, for people whose 户籍 is elsewhere.
OUTSIDE_DIVISIONS = [
    ("510104", "四川省成都市锦江区"),
    ("510704", "四川省绵阳市游仙区"),
    ("511302", "四川省南充市顺庆区"),
    ("520102", "贵州省贵阳市南明区"),
    ("520302", "贵州省遵义市红花岗区"),
    ("420106", "湖北省武汉市武昌区"),
    ("422801", "湖北省恩施土家族苗族自治州恩施市"),
    ("430104", "湖南省长沙市岳麓区"),
    ("610113", "陕西省西安市雁塔区"),
]
ETHNIC = [("汉族", 920), ("土家族", 50), ("苗族", 20), ("回族", 4), ("彝族", 3), ("蒙古族", 3)]
INSURANCE = [
    ("企业职工基本养老保险", 45),
    ("职工基本医疗保险", 25),
    ("失业保险", 12),
    ("工伤保险", 10),
    ("城乡居民基本养老保险", 8),
]
INSURED_STATUS = [("正常参保", 85), ("暂停缴费", 10), ("终止参保", 5)]
INDUSTRIES = [
    "科技",
    "商贸",
    "建筑工程",
    "餐饮管理",
    "物流",
    "实业",
    "电子商务",
    "农业开发",
    "汽车零部件",
    "医药",
    "文化传媒",
    "环保科技",
    "装饰工程",
    "火锅",
    "旅游开发",
    "机械制造",
]
COMPANY_KINDS = [
    ("有限责任公司（自然人投资或控股）", "有限公司", 55),
    ("有限责任公司（自然人独资）", "有限公司", 20),
    ("有限责任公司（法人独资）", "有限责任公司", 8),
    ("股份有限公司（非上市、自然人投资或控股）", "股份有限公司", 5),
    ("个人独资企业", "商行", 4),
    ("普通合伙企业", "合伙企业（普通合伙）", 3),
]
SHOPS = ["火锅店", "小面馆", "便利店", "五金店", "理发店", "茶馆", "水果店", "干洗店", "药店"]
BUSINESS_STATUS = [("存续", 85), ("迁出", 4), ("注销", 8), ("吊销", 3)]
TAX_STATUS = [("正常", 90), ("非正常", 6), ("注销", 4)]
TAX_GRADES = [("A", 20), ("B", 45), ("M", 25), ("C", 7), ("D", 3)]
INSTITUTIONS = [
    "人民医院",
    "中医院",
    "第一中学",
    "实验小学",
    "图书馆",
    "文化馆",
    "疾病预防控制中心",
]
RESIDENCE_REASONS = [("务工", 55), ("经商", 15), ("就学", 12), ("投靠亲友", 10), ("其他", 8)]
# One character different, the usual way two registers disagree on a name.
HOMOPHONES = dict(
    zip("伟静敏丽军华杰芳磊勇燕红平英刚林", "玮婧明莉君骅洁方垒永艳宏萍瑛钢琳", strict=True)
)
# Roads and streets of Chongqing, for addresses (the rest come from Faker).
STREETS = [
    "民族路", "五一路", "中山一路", "中山三路", "人民路", "解放西路", "新华路", "临江路",
    "和平路", "长江二路", "大坪正街", "石油路", "渝州路", "科园一路", "杨家坪正街", "西郊路",
    "九龙大道", "建新北路", "龙溪路", "金开大道", "星光大道", "黄山大道", "天生路", "北泉路",
    "江南大道", "南坪西路", "学府大道", "双龙大道", "南滨路", "汉渝路", "大学城中路", "龙湖路",
]  # fmt: skip
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


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


# --- generated people and companies ----------------------------------------------------------


@dataclass
class _Person:
    id_number: str
    name: str
    sex: str
    ethnicity: str
    birth: date
    origin: str  # where the 户籍 is: a Chongqing district or another province's county
    district: str  # the Chongqing district of residence
    address: str


@dataclass
class _Company:
    uscc: str
    name: str
    kind: str
    representative: str
    founded: date
    capital: str  # 万元, two decimals; empty for 个体工商户
    address: str
    district: str
    status: str


@dataclass
class _Generator:
    rng: random.Random
    fake: Faker
    districts: list[tuple[str, str]]  # (division code, name) of Chongqing's districts
    ids: set[str] = field(default_factory=set)
    usccs: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def pick(self, weighted: Sequence[tuple[str, int]]) -> str:
        return self.rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]

    def day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, max(0, (end - start).days)))

    def address(self, district: str) -> str:
        street = self.rng.choice(STREETS) if self.rng.random() < 0.6 else self.fake.street_name()
        number = self.rng.randint(1, 388)
        if self.rng.random() < 0.6:
            return (
                f"重庆市{district}{street}{number}号{self.rng.randint(1, 12)}栋"
                f"{self.rng.randint(1, 32)}-{self.rng.randint(1, 8)}"
            )
        return f"重庆市{district}{street}{number}号"

    def person(self, *, outside: bool = False, born: tuple[date, date] | None = None) -> _Person:
        if outside:
            division, origin = self.rng.choice(OUTSIDE_DIVISIONS)
            district = self.rng.choice(self.districts)[1]
        else:
            division, origin = self.rng.choice(self.districts)
            # Most people live in the district of their 户籍, some moved within the city.
            district = origin if self.rng.random() < 0.8 else self.rng.choice(self.districts)[1]
        start, end = born or (date(1942, 1, 1), date(2021, 12, 31))
        birth = self.day(start, end)
        male = self.rng.random() < 0.51
        while True:
            seq = self.rng.randrange(1 if male else 0, 1000, 2)
            number = make_id_number(division, birth, seq)
            if number not in self.ids:
                self.ids.add(number)
                break
        first = self.fake.first_name_male() if male else self.fake.first_name_female()
        return _Person(
            id_number=number,
            name=self.fake.last_name() + first,
            sex="男" if male else "女",
            ethnicity=self.pick(ETHNIC),
            birth=birth,
            origin=origin,
            district=district,
            address=self.address(district),
        )

    def unique(self, name: str, numbered: Callable[[int], str]) -> str:
        """``name``, or when taken the first free ``numbered(n)`` for n = 2, 3, …"""
        n = 2
        while name in self.names:
            name = numbered(n)
            n += 1
        self.names.add(name)
        return name

    def uscc(self, prefix: str, division: str) -> str:
        while True:
            digits = "".join(str(self.rng.randint(0, 9)) for _ in range(8))
            code = make_uscc(prefix + division + digits + _org_check(digits))
            if code not in self.usccs:
                self.usccs.add(code)
                return code

    def company(self) -> _Company:
        division, district = self.rng.choice(self.districts)
        founded = self.day(date(1996, 1, 1), date(2025, 6, 30))
        representative = self.fake.last_name() + self.fake.first_name()
        if self.rng.random() < 0.1:  # 个体工商户: USCC "92…", no registered capital
            shop = self.rng.choice(SHOPS)
            name = self.unique(
                f"{district}{representative[0]}记{shop}",
                lambda n: f"{district}{representative[0]}记{shop}{_cn(n)}分店",
            )
            return _Company(
                uscc=self.uscc("92", division),
                name=name,
                kind="个体工商户",
                representative=representative,
                founded=founded,
                capital="",
                address=self.address(district),
                district=district,
                status=self.pick(BUSINESS_STATUS),
            )
        kinds = [(k, w) for k, _s, w in COMPANY_KINDS]
        kind = self.pick(kinds)
        suffix = next(s for k, s, _w in COMPANY_KINDS if k == kind)
        industry = self.rng.choice(INDUSTRIES)
        name = f"重庆{self.fake.company_prefix()}{industry}{suffix}"
        while name in self.names:  # a trade name of two words, as many are
            trade = self.fake.company_prefix() + self.fake.company_prefix()
            name = f"重庆{trade}{industry}{suffix}"
        self.names.add(name)
        capital = self.rng.choice([10, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000])
        if self.rng.random() < 0.2:
            capital = self.rng.randint(3, 8000)
        return _Company(
            uscc=self.uscc("91", division),
            name=name,
            kind=kind,
            representative=representative,
            founded=founded,
            capital=f"{capital}.00",
            address=self.address(district),
            district=district,
            status=self.pick(BUSINESS_STATUS),
        )

    def institution(self) -> tuple[str, str, str]:
        """A public institution (事业单位, USCC "12…"): (USCC, name, district)."""
        division, district = self.rng.choice(self.districts)
        kind = self.rng.choice(INSTITUTIONS)
        plain = self.rng.choice(["中学", "小学", "人民医院"])  # the numbered kinds
        name = self.unique(
            f"重庆市{district}{kind}",
            lambda n: f"重庆市{district}第{_cn(n)}{plain}",
        )
        return self.uscc("12", division), name, district


def _org_check(digits: str) -> str:
    """GB 11714 check character of an 8-digit organization code (inside the USCC)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    c = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def _bad_check(code: str, alphabet: str) -> str:
    """The same code with a wrong check character (a typing error)."""
    wrong = [c for c in alphabet if c != code[-1]]
    return code[:-1] + wrong[(ord(code[0]) + len(code)) % len(wrong)]


def _impossible_birth(division: str, seq: int) -> str:
    """An ID number whose check digit is right but whose birth date (31 February) is not."""
    first17 = f"{division}19870231{seq:03d}"
    return first17 + id_number_check_char(first17)


def _variant(name: str, rng: random.Random) -> str:
    """The name with one character written differently (同音字)."""
    for i in range(len(name) - 1, 0, -1):
        if name[i] in HOMOPHONES:
            return name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]
    return name[:-1] + rng.choice("晓文建志春秋")


def _company_variant(name: str) -> str:
    """How another register often writes a company's name."""
    if name.endswith("有限公司") and not name.endswith("股份有限公司"):
        return name.removesuffix("有限公司") + "有限责任公司"
    if name.startswith("重庆") and not name.startswith("重庆市"):
        return "重庆市" + name.removeprefix("重庆")
    return name + "（原名）"


def _full_width(text: str) -> str:
    """Digits and signs as a spreadsheet typed in full width gives them."""
    return text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})


def _cn(n: int) -> str:
    """A number in Chinese numerals (1–99; larger ones in digits)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
    return str(n)


def _born(p: _Person) -> date:
    return p.birth


def _d(value: date) -> str:
    return value.isoformat()


# --- the resources ----------------------------------------------------------------------------


def _resource(
    name: str,
    *,
    category: str,
    class_path: str,
    abstract: str,
    subject_kind: str,
    items: list[tuple[str, str, int | None]],
    share_type: str = "unconditional",
    share_conditions: str = "",
    open_type: str = "none",
    legal_basis: str,
    update_cycle: str,
    security_level: str,
    format_subtype: str = "Oracle",
) -> ResourceIn:
    key = "公民身份号码" if subject_kind == "person" else "统一社会信用代码"
    return ResourceIn.model_validate(
        {
            "category": category,
            "class_path": class_path,
            "name": name,
            "abstract": abstract,
            "format": "database",
            "format_subtype": format_subtype,
            "share_type": share_type,
            "share_conditions": share_conditions,
            "share_method": "共享系统接口",
            "open_type": open_type,
            "legal_basis": legal_basis,
            "update_cycle": update_cycle,
            "published_on": date(2025, 7, 1),
            "security_level": security_level,
            "usage_requirements": "" if share_type == "unconditional" else "仅用于履行法定职责",
            "subject_kind": subject_kind,
            "items": [
                {"name": n, "data_type": t, "length": ln, "is_subject_key": n == key}
                for n, t, ln in items
            ],
        }
    )


HUKOU = _resource(
    "户籍人口登记信息",
    category="basic",
    class_path="人口/户籍",
    abstract="全市户籍人口的身份和户籍登记信息，是自然人基础数据库姓名、性别、民族、出生日期、"
    "住址的权威来源，每日更新。",
    subject_kind="person",
    items=[
        ("公民身份号码", "C", 18),
        ("姓名", "C", 50),
        ("性别", "C", 2),
        ("民族", "C", 20),
        ("出生日期", "D", None),
        ("住址", "C", 200),
        ("登记机关", "C", 100),
    ],
    legal_basis="《中华人民共和国户口登记条例》；《中华人民共和国居民身份证法》",
    update_cycle="daily",
    security_level="sensitive",
)
SHEBAO = _resource(
    "社会保险参保人员信息",
    category="thematic",
    class_path="社会保障/参保",
    abstract="在本市参加社会保险的人员及其参保险种、状态、缴费基数和参保单位，按月更新。",
    subject_kind="person",
    items=[
        ("公民身份号码", "C", 18),
        ("姓名", "C", 50),
        ("性别", "C", 2),
        ("参保险种", "C", 50),
        ("参保状态", "C", 10),
        ("参保日期", "D", None),
        ("缴费基数", "Y", None),
        ("参保单位名称", "C", 200),
    ],
    share_type="conditional",
    share_conditions="仅向履行社会保障、就业服务和社会救助职责的部门提供",
    legal_basis="《中华人民共和国社会保险法》第七十四条",
    update_cycle="monthly",
    security_level="sensitive",
)
HUNYIN = _resource(
    "婚姻登记信息",
    category="basic",
    class_path="人口/婚姻",
    abstract="全市婚姻登记机关办理的结婚、离婚登记信息，每人一条最近的登记记录。",
    subject_kind="person",
    items=[
        ("公民身份号码", "C", 18),
        ("姓名", "C", 50),
        ("登记类型", "C", 20),
        ("登记日期", "D", None),
        ("配偶姓名", "C", 50),
        ("配偶身份证件号码", "C", 18),
        ("登记机关", "C", 100),
    ],
    legal_basis="《婚姻登记条例》",
    update_cycle="monthly",
    security_level="sensitive",
    format_subtype="xlsx",
)
SHICHANG = _resource(
    "市场主体登记信息",
    category="basic",
    class_path="法人单位/登记",
    abstract="全市企业、个体工商户等市场主体的登记信息，是法人基础数据库企业名称、法定代表人、"
    "企业类型、成立日期、注册资本（万元）、住所、经营状态的权威来源。",
    subject_kind="legal_person",
    items=[
        ("统一社会信用代码", "C", 18),
        ("企业名称", "C", 200),
        ("法定代表人", "C", 50),
        ("企业类型", "C", 50),
        ("成立日期", "D", None),
        ("注册资本（万元）", "Y", None),
        ("住所", "C", 200),
        ("登记机关", "C", 100),
        ("经营状态", "C", 20),
    ],
    open_type="unconditional",
    legal_basis="《企业信息公示暂行条例》",
    update_cycle="daily",
    security_level="public",
)
SHUIWU = _resource(
    "纳税人登记信息",
    category="thematic",
    class_path="社会信用/纳税",
    abstract="在本市办理税务登记的纳税人及其状态、纳税信用等级和主管税务机关，按月更新。",
    subject_kind="legal_person",
    items=[
        ("统一社会信用代码", "C", 18),
        ("企业名称", "C", 200),
        ("纳税人状态", "C", 10),
        ("纳税信用等级", "C", 2),
        ("登记日期", "D", None),
        ("主管税务机关", "C", 100),
    ],
    share_type="conditional",
    share_conditions="仅向履行市场监管、社会信用管理职责的部门提供",
    legal_basis="《中华人民共和国税收征收管理法》第八条",
    update_cycle="monthly",
    security_level="internal",
)
LIUDONG = _resource(
    "流动人口居住登记信息",
    category="department",
    class_path="公安/居住",
    abstract="在渝中区居住半年以上、户籍不在本区的流动人口的居住登记信息，每周更新。",
    subject_kind="person",
    items=[
        ("公民身份号码", "C", 18),
        ("姓名", "C", 50),
        ("性别", "C", 2),
        ("户籍地", "C", 100),
        ("居住地址", "C", 200),
        ("居住事由", "C", 20),
        ("登记日期", "D", None),
    ],
    share_type="conditional",
    share_conditions="仅向渝中区履行社区治理、公共服务职责的部门提供",
    legal_basis="《居住证暂行条例》",
    update_cycle="weekly",
    security_level="sensitive",
    format_subtype="MySQL",
)

# handle -> (department name, resource)
RESOURCES: dict[str, tuple[str, ResourceIn]] = {
    "hukou": ("市公安局", HUKOU),
    "shebao": ("市人力资源和社会保障局", SHEBAO),
    "hunyin": ("市民政局", HUNYIN),
    "shichang": ("市市场监督管理局", SHICHANG),
    "shuiwu": ("市税务局", SHUIWU),
    "liudong": ("渝中区公安分局", LIUDONG),
}
# Departments whose demo accounts act for them (org.demo); the others get a named officer.
ACCOUNTS = {
    "市公安局": "demo.officer",
    "市市场监督管理局": "demo.officer2",
    "渝中区公安分局": "demo.district_officer",
}


# --- the files ---------------------------------------------------------------------------------

Row = dict[str, Any]


@dataclass
class _File:
    handle: str  # the resource
    filename: str
    rows: list[Row]
    policy: BadRowPolicy = BadRowPolicy.QUARANTINE
    mode: LoadMode = LoadMode.REPLACE
    encoding: str = "utf-8"  # csv only

    def write(self, directory: Path, header: list[str]) -> Path:
        path = directory / self.filename
        if path.suffix == ".xlsx":
            wb = Workbook(write_only=True)
            ws = wb.create_sheet(self.handle)
            ws.append(header)
            for row in self.rows:
                ws.append([row.get(h) for h in header])
            wb.save(path)
            return path
        with path.open("w", encoding=self.encoding, newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for row in self.rows:
                writer.writerow(["" if row.get(h) is None else row.get(h) for h in header])
        return path


@dataclass
class _Data:
    """Everything generated, and the subjects the corrections and tests pick."""

    files: dict[str, list[_File]]
    upsert: _File
    name_conflicts: list[tuple[str, str]]  # (ID number, the other register's name)
    floating: list[_Person]
    companies: list[_Company]


def _hukou_row(p: _Person) -> Row:
    return {
        "公民身份号码": p.id_number,
        "姓名": p.name,
        "性别": p.sex,
        "民族": p.ethnicity,
        "出生日期": _d(p.birth),
        "住址": p.address,
        "登记机关": f"重庆市公安局{p.origin}分局",
    }


def _hukou(g: _Generator, people: list[_Person]) -> list[Row]:
    """户籍人口: Chongqing's registered people, with a few faults on purpose."""
    rows = [_hukou_row(p) for p in people]
    for i, p in enumerate(people[1000:1004]):  # cleaned on load, not refused
        rows[1000 + i]["出生日期"] = (
            f"{p.birth.year}年{p.birth.month}月{p.birth.day}日"
            if i % 2
            else _full_width(p.birth.strftime("%Y/%m/%d"))
        )
    for i in range(8):  # a mistyped check digit
        row = _hukou_row(g.person())
        row["公民身份号码"] = _bad_check(row["公民身份号码"], "0123456789X")
        rows.insert(300 * i + 17, row)
    for i in range(4):  # 31 February
        division = g.districts[i % len(g.districts)][0]
        row = _hukou_row(g.person()) | {"公民身份号码": _impossible_birth(division, 100 + 2 * i)}
        rows.insert(700 * i + 45, row)
    for i in range(5):  # outside the aggregation specification (性别: 男/女)
        rows.insert(600 * i + 90, _hukou_row(g.person()) | {"性别": "未知"})
    for i in range(3):  # not a date
        rows.insert(900 * i + 130, _hukou_row(g.person()) | {"出生日期": "不详"})
    for p in (people[10], people[20]):  # a repeated key: the later row (a new address) wins
        p.address = g.address(p.district)
        rows.append(_hukou_row(p))
    return rows


def _shebao(
    g: _Generator, insured: list[_Person], employers: list[str]
) -> tuple[list[Row], list[tuple[str, str]]]:
    """社会保险参保: some names differ from 户籍 (conflicts), some rows are bad."""
    rows: list[Row] = []
    conflicts: list[tuple[str, str]] = []
    for n, p in enumerate(insured):
        name = p.name
        if n % 90 == 7 and n < SHEBAO_FROM_HUKOU:
            name = _variant(p.name, g.rng)
            conflicts.append((p.id_number, name))
        earliest = max(date(1998, 1, 1), p.birth + timedelta(days=365 * 18))
        kind = g.pick(INSURANCE)
        resident = kind == "城乡居民基本养老保险"  # no employer, no contribution base
        rows.append(
            {
                "公民身份号码": p.id_number,
                "姓名": name,
                "性别": p.sex,
                "参保险种": kind,
                "参保状态": g.pick(INSURED_STATUS),
                "参保日期": _d(g.day(earliest, date(2025, 6, 30))),
                "缴费基数": "" if resident else f"{g.rng.randint(3800, 26000)}.00",
                "参保单位名称": "" if resident else g.rng.choice(employers),
            }
        )
    for i in range(5):
        rows[400 * i + 33]["缴费基数"] = "待核定"
    for i in range(3):
        row = rows[500 * i + 61]
        row["公民身份号码"] = _bad_check(str(row["公民身份号码"]), "0123456789X")
    rows[1234]["参保日期"] = "2019-02-30"
    return rows, conflicts


def _hunyin(g: _Generator, adults: list[_Person]) -> list[Row]:
    """婚姻登记: couples of 户籍 adults, one row per spouse (dates as xlsx date cells)."""
    men = sorted((p for p in adults if p.sex == "男" and p.birth <= date(2003, 1, 1)), key=_born)
    women = sorted((p for p in adults if p.sex == "女" and p.birth <= date(2005, 1, 1)), key=_born)
    # Spouses of about the same age: the same place in the two birth orders.
    picked = sorted(g.rng.sample(range(len(men)), COUPLES))
    couples = [(men[i], women[min(len(women) - 1, i * len(women) // len(men))]) for i in picked]
    rows: list[Row] = []
    for man, woman in couples:
        of_age = max(man.birth + timedelta(days=22 * 366), woman.birth + timedelta(days=20 * 366))
        registered = g.day(max(of_age, date(1990, 1, 1)), date(2025, 6, 30))
        kind = "离婚登记" if g.rng.random() < 0.12 else "结婚登记"
        office = f"重庆市{man.district}民政局婚姻登记处"
        for me, spouse in ((man, woman), (woman, man)):
            rows.append(
                {
                    "公民身份号码": me.id_number,
                    "姓名": me.name,
                    "登记类型": kind,
                    "登记日期": registered,
                    "配偶姓名": spouse.name,
                    "配偶身份证件号码": spouse.id_number,
                    "登记机关": office,
                }
            )
    return rows


def _shichang(g: _Generator, companies: list[_Company]) -> list[Row]:
    """市场主体登记: faults on purpose and a repeated key."""
    rows = [_company_row(c) for c in companies]
    for i in range(8):
        extra = g.company()
        bad = _bad_check(extra.uscc, USCC_ALPHABET)
        rows.insert(350 * i + 21, _company_row(extra) | {"统一社会信用代码": bad})
    for i in range(3):
        rows.insert(800 * i + 77, _company_row(g.company()) | {"注册资本（万元）": "五十万"})
    for i in range(2):
        rows.insert(1200 * i + 101, _company_row(g.company()) | {"成立日期": "2023-13-01"})
    rows.insert(1500, _company_row(g.company()) | {"经营状态": "停业整顿"})
    for c in (companies[5], companies[50]):
        c.status = "迁出" if c.status == "存续" else "存续"
        rows.append(_company_row(c))
    return rows


def _shuiwu(g: _Generator, companies: list[_Company]) -> tuple[list[Row], list[Row]]:
    """纳税人登记 (most market entities, some public institutions, some names written
    differently), and the later incremental file: grade changes, renamed and new payers."""
    taxed = g.rng.sample(companies, TAX_FROM_MARKET)
    rows: list[Row] = []
    for n, c in enumerate(taxed):
        name = _company_variant(c.name) if n % 100 == 3 else c.name
        rows.append(_tax_row(g, c.uscc, name, c.founded, c.district))
    for _ in range(TAX_INSTITUTIONS):
        code, name, district = g.institution()
        founded = g.day(date(1996, 1, 1), date(2020, 12, 31))
        rows.append(_tax_row(g, code, name, founded, district))
    update = [
        row | {"纳税信用等级": g.pick(TAX_GRADES)}
        for row in g.rng.sample(rows[:TAX_FROM_MARKET], 40)
    ]
    for c in g.rng.sample(taxed, 5):
        update.append(_tax_row(g, c.uscc, _company_variant(c.name), c.founded, c.district))
    for _ in range(15):
        fresh = g.company()
        update.append(_tax_row(g, fresh.uscc, fresh.name, date(2025, 6, 1), fresh.district))
    return rows, update


def _liudong(g: _Generator, floating: list[_Person]) -> list[Row]:
    """流动人口 living in 渝中区 whose 户籍 is elsewhere (written in GB18030)."""
    rows: list[Row] = []
    for n, p in enumerate(floating):
        other = n % 120 == 11 and n < FLOATING_FROM_CITY
        rows.append(
            {
                "公民身份号码": p.id_number,
                "姓名": _variant(p.name, g.rng) if other else p.name,
                "性别": p.sex,
                "户籍地": p.origin if len(p.origin) > 4 else f"重庆市{p.origin}",
                "居住地址": g.address("渝中区"),
                "居住事由": g.pick(RESIDENCE_REASONS),
                "登记日期": _d(g.day(date(2019, 1, 1), date(2025, 6, 30))),
            }
        )
    rows[222]["登记日期"] = "2024年13月1日"
    rows[444]["公民身份号码"] = _bad_check(str(rows[444]["公民身份号码"]), "0123456789X")
    return rows


def _generate(districts: list[tuple[str, str]], today: date) -> _Data:
    rng = random.Random(SEED)  # noqa: S311 - demo data, reproducible on purpose
    fake = Faker("zh_CN")
    fake.seed_instance(SEED)
    g = _Generator(rng, fake, districts)
    stamp = today.strftime("%Y%m%d")

    people = [g.person() for _ in range(HUKOU_PEOPLE)]
    born = (date(1960, 1, 1), date(2005, 12, 31))
    outsiders = [g.person(outside=True, born=born) for _ in range(OUTSIDE_PEOPLE)]
    hukou = _hukou(g, people)
    adults = [p for p in people if p.birth <= date(2005, 12, 31)]
    companies = [g.company() for _ in range(COMPANIES)]
    employers = [c.name for c in companies if c.kind != "个体工商户"]
    insured = rng.sample(adults, SHEBAO_FROM_HUKOU) + outsiders[:SHEBAO_OUTSIDE]
    shebao, name_conflicts = _shebao(g, insured, employers)
    hunyin = _hunyin(g, adults)
    shichang = _shichang(g, companies)
    shuiwu, update = _shuiwu(g, companies)
    elsewhere = [p for p in adults if p.origin != "渝中区"]
    floating = rng.sample(elsewhere, FLOATING_FROM_CITY) + outsiders[-FLOATING_OUTSIDE:]
    liudong = _liudong(g, floating)

    reject, mixed = BadRowPolicy.REJECT_FILE, BadRowPolicy.QUARANTINE
    files = {
        "hukou": [_File("hukou", f"户籍人口登记信息_{stamp}.csv", hukou, mixed)],
        "shebao": [
            # First sent as "refuse the file on any error": refused, nothing loaded.
            _File("shebao", f"参保人员_{stamp}.csv", shebao, reject),
            # Then again, keeping the bad rows aside.
            _File("shebao", f"参保人员_{stamp}.csv", shebao, mixed),
        ],
        "hunyin": [_File("hunyin", f"婚姻登记_{stamp}.xlsx", hunyin, reject)],
        "shichang": [_File("shichang", f"市场主体登记_{stamp}.csv", shichang, mixed)],
        "shuiwu": [_File("shuiwu", f"纳税人登记_{stamp}.csv", shuiwu, reject)],
        "liudong": [
            _File("liudong", f"流动人口居住登记_{stamp}.csv", liudong, mixed, encoding="gb18030")
        ],
    }
    upsert = _File("shuiwu", f"纳税人登记_增量_{stamp}.csv", update, reject, LoadMode.UPSERT)
    return _Data(files, upsert, name_conflicts, floating, companies)


def _company_row(c: _Company) -> Row:
    return {
        "统一社会信用代码": c.uscc,
        "企业名称": c.name,
        "法定代表人": c.representative,
        "企业类型": c.kind,
        "成立日期": _d(c.founded),
        "注册资本（万元）": c.capital,
        "住所": c.address,
        "登记机关": f"重庆市{c.district}市场监督管理局",
        "经营状态": c.status,
    }


def _tax_row(g: _Generator, uscc: str, name: str, founded: date, district: str) -> Row:
    return {
        "统一社会信用代码": uscc,
        "企业名称": name,
        "纳税人状态": g.pick(TAX_STATUS),
        "纳税信用等级": g.pick(TAX_GRADES),
        "登记日期": _d(founded + timedelta(days=g.rng.randint(3, 40))),
        "主管税务机关": f"国家税务总局重庆市{district}税务局",
    }


# --- who acts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Actors:
    city: Actor  # the city bureau (demo.city)
    company: Actor | None  # a company on the open portal (demo.company)
    district: Actor | None  # 渝中区's data bureau (demo.district)
    officers: dict[str, Actor]  # department name -> its data officer


def _account(session: Session, username: str) -> Actor | None:
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        return None
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def _actors(session: Session, depts: dict[str, Department]) -> _Actors:
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
    return _Actors(
        city=_account(session, "demo.city") or BOOTSTRAP,
        company=_account(session, "demo.company"),
        district=_account(session, "demo.district"),
        officers=officers,
    )


def _departments(session: Session) -> dict[str, Department] | None:
    names = {d for d, _ in RESOURCES.values()}
    found = {
        d.name: d for d in session.scalars(select(Department).where(Department.name.in_(names)))
    }
    return found if set(found) == names else None


# --- catalog, loads, specifications -------------------------------------------------------------


def _publish(session: Session, depts: dict[str, Department], actors: _Actors) -> dict[str, str]:
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


def _create_loads(
    session: Session,
    actors: _Actors,
    codes: dict[str, str],
    files: Sequence[_File],
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


# handle -> [(item, required, allowed values)]: the aggregation specification (Art. 15).
SPECS: dict[str, list[tuple[str, bool, list[str]]]] = {
    "hukou": [("姓名", True, []), ("性别", True, ["男", "女"]), ("出生日期", True, [])],
    "shebao": [
        ("参保险种", True, [v for v, _ in INSURANCE]),
        ("参保状态", True, [v for v, _ in INSURED_STATUS]),
    ],
    "hunyin": [("登记类型", True, ["结婚登记", "离婚登记"])],
    "shichang": [
        ("企业名称", True, []),
        ("经营状态", True, [v for v, _ in BUSINESS_STATUS]),
    ],
    "shuiwu": [("纳税信用等级", False, [v for v, _ in TAX_GRADES])],
    "liudong": [("居住事由", False, [v for v, _ in RESIDENCE_REASONS])],
}


def _set_specs(session: Session, actors: _Actors, codes: dict[str, str]) -> None:
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


def _define_bases(
    session: Session, depts: dict[str, Department], actors: _Actors, codes: dict[str, str]
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


def _define_thematic(
    session: Session, depts: dict[str, Department], actors: _Actors, codes: dict[str, str]
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


def _apply_corrections(
    session: Session,
    depts: dict[str, Department],
    actors: _Actors,
    codes: dict[str, str],
    data: _Data,
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


def _summary(session: Session, codes: dict[str, str]) -> DemoPools:
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


# --- the whole -----------------------------------------------------------------------------------


def load_demo_pools(factory: sessionmaker[Session]) -> DemoPools | None:
    """Load the demo city's aggregation data once; None when pools exist already (or the demo
    city's departments do not).

    Takes a session factory, not a session: each load commits as the pipeline does (Art. 18,
    ``tasks.run_load``), and base and thematic databases follow in transactions of their own.
    """
    with transaction(factory) as session:
        if session.scalar(select(func.count(Pool.id))):
            return None
        depts = _departments(session)
        if depts is None:
            return None
        districts = [
            (str(code), str(name))
            for code, name in session.execute(
                select(Region.code, Region.name)
                .where(Region.kind == "district", Region.code.is_not(None))
                .order_by(Region.code)
            )
        ]
    if not districts:
        return None
    data = _generate(districts, calendar.today())
    with tempfile.TemporaryDirectory(prefix="govdata-demo-") as tmp:
        directory = Path(tmp)
        with transaction(factory) as session:
            depts = _departments(session) or {}
            actors = _actors(session, depts)
            codes = _publish(session, depts, actors)
            files = [f for group in data.files.values() for f in group]
            load_ids = _create_loads(session, actors, codes, files, directory)
            _set_specs(session, actors, codes)
        for load_id in load_ids:
            tasks.run_load(factory, load_id)
        with transaction(factory) as session:
            depts = _departments(session) or {}
            _define_bases(session, depts, actors, codes)
            (upsert_id,) = _create_loads(session, actors, codes, [data.upsert], directory)
        # An incremental load after the bases exist: they follow it (Art. 18).
        tasks.run_load(factory, upsert_id)
    with transaction(factory) as session:
        depts = _departments(session) or {}
        _define_thematic(session, depts, actors, codes)
        _apply_corrections(session, depts, actors, codes, data)
        result = _summary(session, codes)
        audit.record(
            session,
            BOOTSTRAP,
            "demo.aggregation.load",
            object_type="aggregation",
            object_id="demo",
            summary=(
                f"载入演示数据资源池：{result.pools} 个资源池，{result.rows_loaded} 行数据，"
                "自然人和法人基础数据库、主题数据库各已建立"
            ),
            change={"pools": result.pools, "rows": result.rows_loaded, "codes": codes},
        )
    return result
