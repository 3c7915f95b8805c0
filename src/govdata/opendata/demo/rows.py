"""Plausible rows for a demo dataset, from its info items' names and catalog data types
(issue 14, §11): valid 公民身份号码 and 统一社会信用代码, Faker ``zh_CN`` names, addresses in
Chongqing's districts, dates, amounts, coordinates inside the city, phone numbers.

Every value passes aggregation's validation (type, length, check characters, Art. 15, 16), so
the pools are loaded whole. What kind of value an item gets is read from its name first (the
guide names items in plain words), then from its data type. Deterministic for a given
``random.Random`` and Faker seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from faker import Faker

from govdata.aggregation.demo.people import ETHNIC, INDUSTRIES, STREETS, USCC_ALPHABET
from govdata.catalog.published import PublishedItem, PublishedResource
from govdata.catalog.vocab import ID_NUMBER_ITEM_NAMES, USCC_ITEM_NAMES
from govdata.core.ids import make_id_number, make_uscc

Row = dict[str, str]

STATUSES = ["正常", "正常", "正常", "有效", "暂停", "注销"]
REMARKS = [
    "无",
    "按期办结",
    "材料齐全，已办理",
    "已现场核查",
    "信息已更新",
    "依申请办理",
    "按年度报送",
    "已归档",
]
UNIT_KINDS = ["有限公司", "有限责任公司", "股份有限公司", "合伙企业（普通合伙）", "商行"]


@dataclass
class RowMaker:
    """Values for one run of the demo: the districts to place people and companies in."""

    rng: random.Random
    fake: Faker
    districts: Sequence[tuple[str, str]]  # (division code, name) of Chongqing's districts
    today: date
    _ids: set[str] = field(default_factory=set)
    _usccs: set[str] = field(default_factory=set)

    # --- single values -------------------------------------------------------------------------

    def district(self) -> tuple[str, str]:
        return self.rng.choice(list(self.districts))

    def id_number(self) -> str:
        while True:
            division, _ = self.district()
            born = self.day(date(1945, 1, 1), date(2006, 12, 31))
            number = make_id_number(division, born, self.rng.randint(0, 999))
            if number not in self._ids:
                self._ids.add(number)
                return number

    def uscc(self) -> str:
        while True:
            division, _ = self.district()
            body = self.rng.choice(["91", "92", "12", "52"]) + division
            body += "".join(self.rng.choice(USCC_ALPHABET[:10]) for _ in range(9))
            code = make_uscc(body)
            if code not in self._usccs:
                self._usccs.add(code)
                return code

    def person_name(self) -> str:
        return self.fake.last_name() + self.fake.first_name()

    def address(self) -> str:
        _, district = self.district()
        street = self.rng.choice(STREETS)
        return f"重庆市{district}{street}{self.rng.randint(1, 388)}号"

    def unit_name(self) -> str:
        industry = self.rng.choice(INDUSTRIES)
        return f"重庆{self.fake.company_prefix()}{industry}{self.rng.choice(UNIT_KINDS)}"

    def phone(self) -> str:
        # Mobile numbers and Chongqing landlines (023), as registers hold both.
        if self.rng.random() < 0.6:
            return self.fake.phone_number()
        return f"023-{self.rng.randint(4000_0000, 8999_9999)}"

    def day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, max(0, (end - start).days)))

    def moment(self) -> str:
        d = self.day(self.today - timedelta(days=365), self.today)
        t = datetime(d.year, d.month, d.day, self.rng.randint(8, 18), self.rng.randint(0, 59))
        return t.strftime("%Y-%m-%d %H:%M:%S")

    def licence_number(self) -> str:
        # A letter prefix and fewer than 11 digits: no identifier pattern (ID, USCC, phone).
        year, seq = self.rng.randint(2015, 2025), self.rng.randint(0, 99999)
        return f"渝{self.rng.choice('ABCDEJKLS')}{year}{seq:05d}"

    # --- by item ------------------------------------------------------------------------------

    def maker(self, item: PublishedItem, subject_kind: str, department: str) -> Callable[[], str]:
        """How to make a value of ``item`` (name first, then data type)."""
        name, t = item.name, item.data_type.value
        if item.is_subject_key and subject_kind == "person":
            return self.id_number
        if item.is_subject_key and subject_kind == "legal_person":
            return self.uscc
        if t in ("C", "G", "M"):
            return self._text(name, t, department)
        return self._typed(name, t)

    def _text(self, name: str, t: str, department: str) -> Callable[[], str]:
        rng = self.rng
        if name in ID_NUMBER_ITEM_NAMES or "身份证" in name or "公民身份号码" in name:
            return self.id_number
        if name in USCC_ITEM_NAMES or "信用代码" in name:
            return self.uscc
        if any(w in name for w in ("姓名", "法定代表人", "负责人", "联系人", "经营者")):
            return self.person_name
        if "性别" in name:
            return lambda: rng.choice(["男", "女"])
        if "民族" in name:
            return lambda: rng.choices([v for v, _ in ETHNIC], [w for _, w in ETHNIC])[0]
        if "区划代码" in name:
            return lambda: self.district()[0]
        if any(w in name for w in ("电话", "手机", "联系方式", "传真")):
            return self.phone
        if any(w in name for w in ("地址", "住址", "住所", "地点")):
            return self.address
        if "名称" in name:
            return self.unit_name
        if "机关" in name or "部门" in name or "单位" in name:
            return lambda: department
        if "状态" in name:
            return lambda: rng.choice(STATUSES)
        if "编号" in name or "证号" in name or "号码" in name:
            return self.licence_number
        if t == "M":
            return lambda: rng.choice(REMARKS)
        return lambda: rng.choice(REMARKS[1:])

    def _typed(self, name: str, t: str) -> Callable[[], str]:
        rng = self.rng
        today = self.today
        if t == "D":
            if "出生" in name:
                return lambda: self.day(date(1945, 1, 1), date(2006, 12, 31)).isoformat()
            if "有效期" in name or "截止" in name or "到期" in name:
                return lambda: self.day(today, today + timedelta(days=5 * 365)).isoformat()
            return lambda: self.day(date(2015, 1, 1), today).isoformat()
        if t == "T":
            return self.moment
        if t == "L":
            return lambda: rng.choice(["是", "是", "是", "否"])
        if t == "I":
            return lambda: str(rng.randint(1, 500))
        if t == "Y":
            return lambda: str(Decimal(rng.randint(100, 5_000_000)) / 100)
        if "经度" in name:  # Chongqing lies between 105°17′E and 110°11′E
            return lambda: f"{rng.uniform(105.3, 110.1):.6f}"
        if "纬度" in name:  # … and 28°10′N and 32°13′N
            return lambda: f"{rng.uniform(28.2, 32.2):.6f}"
        return lambda: f"{rng.uniform(0, 10_000):.2f}"  # N, F, B: a plain measure

    def rows(self, resource: PublishedResource, department: str, count: int) -> list[Row]:
        """``count`` rows of every info item of ``resource`` (item name → text)."""
        makers = [
            (it, self.maker(it, resource.subject_kind.value, department)) for it in resource.items
        ]
        out: list[Row] = []
        for _ in range(count):
            row: Row = {}
            for it, make in makers:
                value = make()
                if it.length and it.data_type.value in ("C", "G"):
                    value = value[: it.length]
                row[it.name] = value
            out.append(row)
        return out
