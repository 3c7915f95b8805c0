"""The demo's files: each resource's generated rows with a few faults on purpose (wrong check
characters, impossible dates, values outside the specification, repeated subject keys), as CSV
(UTF-8 and GB18030) and xlsx, and the later incremental file."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from faker import Faker
from openpyxl import Workbook  # type: ignore[import-untyped]

from govdata.aggregation.demo.people import (
    COMPANIES,
    COUPLES,
    FLOATING_FROM_CITY,
    FLOATING_OUTSIDE,
    HUKOU_PEOPLE,
    INSURANCE,
    INSURED_STATUS,
    OUTSIDE_PEOPLE,
    RESIDENCE_REASONS,
    SEED,
    SHEBAO_FROM_HUKOU,
    SHEBAO_OUTSIDE,
    TAX_FROM_MARKET,
    TAX_GRADES,
    TAX_INSTITUTIONS,
    TAX_STATUS,
    USCC_ALPHABET,
    Company,
    Generator,
    Person,
    bad_check,
    born_on,
    company_variant,
    full_width,
    impossible_birth,
    iso,
    variant,
)
from govdata.aggregation.models import BadRowPolicy, LoadMode

# --- the files ---------------------------------------------------------------------------------

Row = dict[str, Any]


@dataclass
class File:
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
class Data:
    """Everything generated, and the subjects the corrections and tests pick."""

    files: dict[str, list[File]]
    upsert: File
    name_conflicts: list[tuple[str, str]]  # (ID number, the other register's name)
    floating: list[Person]
    companies: list[Company]


def _hukou_row(p: Person) -> Row:
    return {
        "公民身份号码": p.id_number,
        "姓名": p.name,
        "性别": p.sex,
        "民族": p.ethnicity,
        "出生日期": iso(p.birth),
        "住址": p.address,
        "登记机关": f"重庆市公安局{p.origin}分局",
    }


def _hukou(g: Generator, people: list[Person]) -> list[Row]:
    """户籍人口: Chongqing's registered people, with a few faults on purpose."""
    rows = [_hukou_row(p) for p in people]
    for i, p in enumerate(people[1000:1004]):  # cleaned on load, not refused
        rows[1000 + i]["出生日期"] = (
            f"{p.birth.year}年{p.birth.month}月{p.birth.day}日"
            if i % 2
            else full_width(p.birth.strftime("%Y/%m/%d"))
        )
    for i in range(8):  # a mistyped check digit
        row = _hukou_row(g.person())
        row["公民身份号码"] = bad_check(row["公民身份号码"], "0123456789X")
        rows.insert(300 * i + 17, row)
    for i in range(4):  # 31 February
        division = g.districts[i % len(g.districts)][0]
        row = _hukou_row(g.person()) | {"公民身份号码": impossible_birth(division, 100 + 2 * i)}
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
    g: Generator, insured: list[Person], employers: list[str]
) -> tuple[list[Row], list[tuple[str, str]]]:
    """社会保险参保: some names differ from 户籍 (conflicts), some rows are bad."""
    rows: list[Row] = []
    conflicts: list[tuple[str, str]] = []
    for n, p in enumerate(insured):
        name = p.name
        if n % 90 == 7 and n < SHEBAO_FROM_HUKOU:
            name = variant(p.name, g.rng)
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
                "参保日期": iso(g.day(earliest, date(2025, 6, 30))),
                "缴费基数": "" if resident else f"{g.rng.randint(3800, 26000)}.00",
                "参保单位名称": "" if resident else g.rng.choice(employers),
            }
        )
    for i in range(5):
        rows[400 * i + 33]["缴费基数"] = "待核定"
    for i in range(3):
        row = rows[500 * i + 61]
        row["公民身份号码"] = bad_check(str(row["公民身份号码"]), "0123456789X")
    rows[1234]["参保日期"] = "2019-02-30"
    return rows, conflicts


def _hunyin(g: Generator, adults: list[Person]) -> list[Row]:
    """婚姻登记: couples of 户籍 adults, one row per spouse (dates as xlsx date cells)."""
    men = sorted((p for p in adults if p.sex == "男" and p.birth <= date(2003, 1, 1)), key=born_on)
    women = sorted(
        (p for p in adults if p.sex == "女" and p.birth <= date(2005, 1, 1)), key=born_on
    )
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


def _shichang(g: Generator, companies: list[Company]) -> list[Row]:
    """市场主体登记: faults on purpose and a repeated key."""
    rows = [_company_row(c) for c in companies]
    for i in range(8):
        extra = g.company()
        bad = bad_check(extra.uscc, USCC_ALPHABET)
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


def _shuiwu(g: Generator, companies: list[Company]) -> tuple[list[Row], list[Row]]:
    """纳税人登记 (most market entities, some public institutions, some names written
    differently), and the later incremental file: grade changes, renamed and new payers."""
    taxed = g.rng.sample(companies, TAX_FROM_MARKET)
    rows: list[Row] = []
    for n, c in enumerate(taxed):
        name = company_variant(c.name) if n % 100 == 3 else c.name
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
        update.append(_tax_row(g, c.uscc, company_variant(c.name), c.founded, c.district))
    for _ in range(15):
        fresh = g.company()
        update.append(_tax_row(g, fresh.uscc, fresh.name, date(2025, 6, 1), fresh.district))
    return rows, update


def _liudong(g: Generator, floating: list[Person]) -> list[Row]:
    """流动人口 living in 渝中区 whose 户籍 is elsewhere (written in GB18030)."""
    rows: list[Row] = []
    for n, p in enumerate(floating):
        other = n % 120 == 11 and n < FLOATING_FROM_CITY
        rows.append(
            {
                "公民身份号码": p.id_number,
                "姓名": variant(p.name, g.rng) if other else p.name,
                "性别": p.sex,
                "户籍地": p.origin if len(p.origin) > 4 else f"重庆市{p.origin}",
                "居住地址": g.address("渝中区"),
                "居住事由": g.pick(RESIDENCE_REASONS),
                "登记日期": iso(g.day(date(2019, 1, 1), date(2025, 6, 30))),
            }
        )
    rows[222]["登记日期"] = "2024年13月1日"
    rows[444]["公民身份号码"] = bad_check(str(rows[444]["公民身份号码"]), "0123456789X")
    return rows


def generate(districts: list[tuple[str, str]], today: date) -> Data:
    rng = random.Random(SEED)  # noqa: S311 - demo data, reproducible on purpose
    fake = Faker("zh_CN")
    fake.seed_instance(SEED)
    g = Generator(rng, fake, districts)
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
        "hukou": [File("hukou", f"户籍人口登记信息_{stamp}.csv", hukou, mixed)],
        "shebao": [
            # First sent as "refuse the file on any error": refused, nothing loaded.
            File("shebao", f"参保人员_{stamp}.csv", shebao, reject),
            # Then again, keeping the bad rows aside.
            File("shebao", f"参保人员_{stamp}.csv", shebao, mixed),
        ],
        "hunyin": [File("hunyin", f"婚姻登记_{stamp}.xlsx", hunyin, reject)],
        "shichang": [File("shichang", f"市场主体登记_{stamp}.csv", shichang, mixed)],
        "shuiwu": [File("shuiwu", f"纳税人登记_{stamp}.csv", shuiwu, reject)],
        "liudong": [
            File("liudong", f"流动人口居住登记_{stamp}.csv", liudong, mixed, encoding="gb18030")
        ],
    }
    upsert = File("shuiwu", f"纳税人登记_增量_{stamp}.csv", update, reject, LoadMode.UPSERT)
    return Data(files, upsert, name_conflicts, floating, companies)


def _company_row(c: Company) -> Row:
    return {
        "统一社会信用代码": c.uscc,
        "企业名称": c.name,
        "法定代表人": c.representative,
        "企业类型": c.kind,
        "成立日期": iso(c.founded),
        "注册资本（万元）": c.capital,
        "住所": c.address,
        "登记机关": f"重庆市{c.district}市场监督管理局",
        "经营状态": c.status,
    }


def _tax_row(g: Generator, uscc: str, name: str, founded: date, district: str) -> Row:
    return {
        "统一社会信用代码": uscc,
        "企业名称": name,
        "纳税人状态": g.pick(TAX_STATUS),
        "纳税信用等级": g.pick(TAX_GRADES),
        "登记日期": iso(founded + timedelta(days=g.rng.randint(3, 40))),
        "主管税务机关": f"国家税务总局重庆市{district}税务局",
    }
