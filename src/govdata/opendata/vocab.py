"""Open data's vocabularies: licences (the terms a dataset is opened under) and the data-use
agreement a conditional-open applicant accepts (Art. 33 ¶2)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    id: str  # CKAN's ``license_id``
    title: str
    url: str  # the terms' page on the portal (DCAT ``dct:license``)


LICENCES: dict[str, Licence] = {
    "cq-open-data-1.0": Licence(
        "cq-open-data-1.0", "重庆市公共数据开放许可协议（1.0）", "/open/terms#licence"
    ),
    "cc-by-4.0": Licence(
        "cc-by-4.0", "知识共享署名 4.0 国际许可协议", "https://creativecommons.org/licenses/by/4.0/"
    ),
}
DEFAULT_LICENCE = "cq-open-data-1.0"

# The data-use agreement (数据利用协议) a conditional-open application accepts (Art. 33 ¶2).
AGREEMENT_VERSION = "2026-1"


# DCAT-AP's themes: the EU data-theme authority table. A dataset's theme (the first part of its
# class path, Chinese) maps to one by the first keyword it contains; the more specific lists
# come first (社会保障 is SOCI, not GOVE; 公共交通 is TRAN).
EU_DATA_THEMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HEAL", ("卫生", "健康", "医疗", "医保", "药品", "疾控")),
    ("TRAN", ("交通", "运输", "公交", "道路", "铁路", "航空", "港口", "物流")),
    ("EDUC", ("教育", "学校", "文化", "体育", "旅游", "文物", "图书")),
    ("AGRI", ("农业", "农村", "林业", "渔业", "畜牧", "粮食", "食品")),
    ("ENER", ("能源", "电力", "燃气", "石油", "煤炭")),
    ("ENVI", ("环境", "生态", "气象", "水利", "自然资源", "污染", "林地")),
    ("JUST", ("司法", "公安", "法律", "安全", "应急", "消防", "信用", "执法")),
    ("TECH", ("科技", "科学", "技术", "信息化", "专利", "知识产权")),
    ("REGI", ("城市", "城乡", "住房", "规划", "地理", "不动产", "区域")),
    ("SOCI", ("人口", "社会", "民政", "就业", "社保", "养老", "户籍", "婚姻")),
    ("ECON", ("经济", "金融", "财政", "税务", "市场", "企业", "商务", "价格", "统计")),
    ("INTR", ("外事", "国际", "侨务", "港澳台")),
    ("GOVE", ("政务", "政府", "机构", "公共", "党务", "人事")),
)


def eu_data_theme(theme: str) -> str:
    """The EU data-theme code of a Chinese theme; ``OP_DATPRO`` (provisional data) when none
    of the keywords fits, as the authority table provides."""
    for code, words in EU_DATA_THEMES:
        if any(w in theme for w in words):
            return code
    return "OP_DATPRO"
