"""The demo city's people and companies (generated): Faker ``zh_CN`` names, Chongqing addresses,
valid 公民身份号码 and 统一社会信用代码, and the vocabularies their registers use."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from faker import Faker

from govdata.core.ids import id_number_check_char, make_id_number, make_uscc

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


# --- generated people and companies ----------------------------------------------------------


@dataclass
class Person:
    id_number: str
    name: str
    sex: str
    ethnicity: str
    birth: date
    origin: str  # where the 户籍 is: a Chongqing district or another province's county
    district: str  # the Chongqing district of residence
    address: str


@dataclass
class Company:
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
class Generator:
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

    def person(self, *, outside: bool = False, born: tuple[date, date] | None = None) -> Person:
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
        return Person(
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

    def company(self) -> Company:
        division, district = self.rng.choice(self.districts)
        founded = self.day(date(1996, 1, 1), date(2025, 6, 30))
        representative = self.fake.last_name() + self.fake.first_name()
        if self.rng.random() < 0.1:  # 个体工商户: USCC "92…", no registered capital
            shop = self.rng.choice(SHOPS)
            name = self.unique(
                f"{district}{representative[0]}记{shop}",
                lambda n: f"{district}{representative[0]}记{shop}{cn(n)}分店",
            )
            return Company(
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
        return Company(
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
            lambda n: f"重庆市{district}第{cn(n)}{plain}",
        )
        return self.uscc("12", division), name, district


def _org_check(digits: str) -> str:
    """GB 11714 check character of an 8-digit organization code (inside the USCC)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    c = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def bad_check(code: str, alphabet: str) -> str:
    """The same code with a wrong check character (a typing error)."""
    wrong = [c for c in alphabet if c != code[-1]]
    return code[:-1] + wrong[(ord(code[0]) + len(code)) % len(wrong)]


def impossible_birth(division: str, seq: int) -> str:
    """An ID number whose check digit is right but whose birth date (31 February) is not."""
    first17 = f"{division}19870231{seq:03d}"
    return first17 + id_number_check_char(first17)


def variant(name: str, rng: random.Random) -> str:
    """The name with one character written differently (同音字)."""
    for i in range(len(name) - 1, 0, -1):
        if name[i] in HOMOPHONES:
            return name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]
    return name[:-1] + rng.choice("晓文建志春秋")


def company_variant(name: str) -> str:
    """How another register often writes a company's name."""
    if name.endswith("有限公司") and not name.endswith("股份有限公司"):
        return name.removesuffix("有限公司") + "有限责任公司"
    if name.startswith("重庆") and not name.startswith("重庆市"):
        return "重庆市" + name.removeprefix("重庆")
    return name + "（原名）"


def full_width(text: str) -> str:
    """Digits and signs as a spreadsheet typed in full width gives them."""
    return text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})


def cn(n: int) -> str:
    """A number in Chinese numerals (1–99; larger ones in digits)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
    return str(n)


def born_on(p: Person) -> date:
    return p.birth


def iso(value: date) -> str:
    return value.isoformat()
