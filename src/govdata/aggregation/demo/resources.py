"""The six resources the aggregation demo publishes (Art. 11, 12), the demo accounts acting
for their departments, and their aggregation specification (Art. 15)."""

from __future__ import annotations

from datetime import date

from govdata.aggregation.demo.people import (
    BUSINESS_STATUS,
    INSURANCE,
    INSURED_STATUS,
    RESIDENCE_REASONS,
    TAX_GRADES,
)
from govdata.catalog.schemas import ResourceIn


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
