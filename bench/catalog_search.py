"""Catalog search: full-text (jieba + FTS5 / tsvector) against a plain LIKE scan, 100,000 resources.

    .venv/bin/python bench/catalog_search.py [--db sqlite postgresql] [--resources 100000]
                                             [--rounds 3] [--like-rounds 1] [--seed 2026]
                                             [--keep] [--wait-quiet 300]

For each database (both by default, one after the other, in one run):

1. A fresh database (SQLite ``bench/out/catalog_search.db``; PostgreSQL ``govdata_bench_search``
   on the server of ``GOVDATA_BENCH_PG_URL``, dropped at the end unless ``--keep``), migrated
   with the real migrations; the demo city's regions and departments (``load_demo_org``).
2. ``--resources`` published resources generated from a vocabulary of 20 departmental domains
   (subjects, businesses, info items, systems, purposes, regions, years): names such as
   "渝中区养老机构床位使用统计", abstracts of two to four sentences in several phrasings, 4–12
   info items. Inserted
   with SQLAlchemy Core (classifications, resources, revisions, one version and its members), as
   publishing would have left them, with their ``catalog_info_items`` (the search reads their
   names to find the item names many resources carry, answered ahead: ``search_broad``).
3. ``search.rebuild`` in one transaction, timed: the index build (jieba segmentation included).
4. A query set drawn from the same vocabulary: single topics, two words, info-item names, a
   topic with a filter (department, share type, open type, category, region), misses, and a
   class of broad words ("信息", "数据", "管理"), reported apart. Each query runs as a request
   would: a session, one transaction, ``search.search(...)`` (total, first page of 20, facets).
   The LIKE baseline answers the same question over the same table (the current version's
   ``catalog_revisions``): every whitespace-separated part of the query must occur as
   ``LIKE '%part%'`` in the name, the abstract or an info-item name (read from the revision's
   JSON snapshot), same filters, same facets, first page ordered name-match first, then code.
   ``like_name`` is the cheapest LIKE possible (the ``name`` column only) as a floor.
   Methods alternate query by query; ``--rounds`` passes for full text, ``--like-rounds`` for
   LIKE (it is slow). The script first waits (up to ``--wait-quiet`` s) for an idle machine and
   records the CPU other processes used meanwhile.

JSON goes to ``bench/out/catalog_search_<db>.json``. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Select,
    String,
    and_,
    case,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from common import (
    CpuMeter,
    drop_pg_database,
    fresh_database_url,
    machine_info,
    pg_server_version,
    postgres_cpu_seconds,
    wait_for_quiet,
    write_json,
)
from govdata.catalog import search, search_broad, segmentation
from govdata.catalog.models import (
    CatalogVersion,
    CatalogVersionMember,
    Classification,
    InfoItem,
    Resource,
    ResourceRevision,
)
from govdata.catalog.versions import CatalogFilter, apply_filter, get_version
from govdata.core.db import make_engine, make_sessionmaker, transaction
from govdata.core.migrate import upgrade
from govdata.org.demo import BOOTSTRAP, load_demo_org
from govdata.org.models import Department, Region

PG_DB = "govdata_bench_search"

# --- vocabulary ------------------------------------------------------------------------------
# Each domain: which departments hold it (a word in the department's name), the classification
# it files under, its subjects, businesses, info items, source systems and purposes.


def _w(words: str) -> list[str]:
    return words.split()


DOMAINS: dict[str, dict[str, Any]] = {
    "公安": {
        "depts": ("公安",),
        "kind": "person",
        "subjects": _w(
            "户籍人口 流动人口 暂住人口 出入境人员 机动车 驾驶人 道路交通事故 交通违法行为"
            " 治安案件 旅馆住宿人员 养犬 居民身份证 居住证 重点场所 网吧上网人员 保安从业人员"
        ),
        "businesses": _w("登记 迁入迁出 变更 办理 核查 年检 注销 处罚 签注 申领 挂失补领 查询"),
        "items": _w(
            "公民身份号码 姓名 性别 民族 出生日期 户籍地址 现住址 号牌号码 号牌种类 车辆识别代号"
            " 准驾车型 违法时间 违法地点 处理机关 证件有效期 签发机关 犬只芯片编号"
        ),
        "systems": _w("人口信息管理系统 交通管理综合应用平台 出入境管理系统 警务云平台"),
        "purposes": _w("身份核验 社会治安防控 交通安全管理 人口统计分析"),
        "class": ("basic", "人口/户籍"),
    },
    "市场监管": {
        "depts": ("市场监督",),
        "kind": "legal_person",
        "subjects": _w(
            "市场主体 企业 个体工商户 农民专业合作社 食品经营许可 食品生产许可 特种设备 计量器具"
            " 产品质量抽检 广告监测 商标 经营异常名录 严重违法失信企业 价格投诉举报"
        ),
        "businesses": _w("登记注册 设立 变更 注销 年报 许可 检验检测 抽查 行政处罚 投诉举报 备案"),
        "items": _w(
            "统一社会信用代码 企业名称 法定代表人 注册资本 成立日期 经营范围 住所 登记机关"
            " 许可证编号 有效期至 检验结论 处罚决定书文号 列入原因"
        ),
        "systems": _w("市场主体登记系统 国家企业信用信息公示系统 食品安全监管平台"),
        "purposes": _w("事中事后监管 企业信用监管 准入准营审批 消费维权"),
        "class": ("basic", "法人/登记"),
    },
    "人社": {
        "depts": ("人力资源和社会保障",),
        "kind": "person",
        "subjects": _w(
            "养老保险参保人员 失业保险 工伤保险 就业失业登记 职业技能等级证书 专业技术人员职称"
            " 农民工工资 劳动保障监察 社会保障卡 高校毕业生就业 创业担保贷款 人力资源服务机构"
        ),
        "businesses": _w("参保 缴费 待遇发放 认定 评审 培训 补贴 申领 核定 转移接续"),
        "items": _w(
            "公民身份号码 姓名 社会保障号码 参保单位 缴费基数 缴费月数 待遇标准 证书编号 职业名称"
            " 技能等级 就业单位 补贴金额"
        ),
        "systems": _w("金保工程 社会保险信息系统 公共就业服务平台"),
        "purposes": _w("社保待遇资格认证 就业创业服务 劳动关系监管"),
        "class": ("thematic", "社会保障/社会保险"),
    },
    "民政": {
        "depts": ("民政",),
        "kind": "person",
        "subjects": _w(
            "城乡低保对象 特困供养人员 临时救助 养老机构 社会组织 婚姻登记 殡葬服务"
            " 残疾人两项补贴 留守儿童 地名 社区 慈善组织 高龄津贴"
        ),
        "businesses": _w("登记 审批 救助 补贴发放 年检 评估 备案 入住 床位使用 走访"),
        "items": _w(
            "公民身份号码 姓名 家庭人口数 保障金额 救助类型 机构名称 床位数 登记证号 婚姻状况"
            " 登记日期 所属社区 监护人"
        ),
        "systems": _w("社会救助信息系统 婚姻登记管理系统 养老服务信息平台"),
        "purposes": _w("精准救助 养老服务监管 基层社会治理"),
        "class": ("thematic", "社会保障/社会救助"),
    },
    "卫健": {
        "depts": ("卫生健康",),
        "kind": "person",
        "subjects": _w(
            "医疗机构 执业医师 执业护士 出生医学证明 预防接种 传染病报告 居民健康档案"
            " 家庭医生签约 妇幼保健 院前急救 职业健康检查 公共场所卫生许可"
        ),
        "businesses": _w("执业登记 注册 校验 签发 接种 报告 签约 随访 监督检查 许可"),
        "items": _w(
            "公民身份号码 姓名 医疗机构名称 执业地点 执业范围 疫苗名称 接种日期 诊断名称 报告日期"
            " 签约团队 出生证明编号 新生儿姓名"
        ),
        "systems": _w("全民健康信息平台 免疫规划信息系统 传染病网络直报系统"),
        "purposes": _w("公共卫生应急 健康管理服务 卫生监督执法"),
        "class": ("thematic", "医疗健康/公共卫生"),
    },
    "医保": {
        "depts": ("医疗保障",),
        "kind": "person",
        "subjects": _w(
            "医保参保人员 定点医药机构 医保结算 门诊慢特病 异地就医备案 医保目录 药品集中采购"
            " 医保基金"
        ),
        "businesses": _w("参保登记 结算 报销 备案 审核 稽核 支付"),
        "items": _w(
            "公民身份号码 姓名 医保编号 定点机构编码 结算金额 统筹支付 个人自付 病种名称 就医地"
            " 药品通用名"
        ),
        "systems": _w("医疗保障信息平台 医保结算系统"),
        "purposes": _w("医保基金监管 跨省直接结算 待遇保障"),
        "class": ("thematic", "医疗健康/医疗保障"),
    },
    "教育": {
        "depts": ("教育",),
        "kind": "person",
        "subjects": _w(
            "中小学学籍 幼儿园 义务教育招生 高中阶段学校 教师资格 学生资助 校外培训机构"
            " 高等学校毕业生 学校安全 教育经费"
        ),
        "businesses": _w("注册 招生 入学 转学 认定 资助 审批 评估 统计"),
        "items": _w(
            "学籍号 学生姓名 公民身份号码 学校名称 学段 年级 班级 资助金额 教师资格证书编号"
            " 办学许可证号"
        ),
        "systems": _w("学籍管理系统 教育管理公共服务平台 学生资助管理系统"),
        "purposes": _w("入学资格审核 教育质量监测 学生资助精准发放"),
        "class": ("thematic", "教育文化/教育"),
    },
    "住建": {
        "depts": ("住房和城乡建设",),
        "kind": "legal_person",
        "subjects": _w(
            "商品房预售 房屋网签备案 住房公积金 公租房 建筑施工企业 建设工程 物业服务企业"
            " 城镇老旧小区改造 建筑工人实名制 房地产开发企业"
        ),
        "businesses": _w("许可 备案 缴存 提取 贷款 配租 资质审批 竣工验收 质量监督 安全监督"),
        "items": _w(
            "统一社会信用代码 企业名称 项目名称 项目地址 预售许可证号 合同编号 建筑面积 缴存基数"
            " 贷款金额 资质等级 竣工日期"
        ),
        "systems": _w("住房公积金管理系统 房屋交易管理系统 建筑市场监管平台"),
        "purposes": _w("房地产市场监管 住房保障 工程质量安全监管"),
        "class": ("department", "住房城乡建设/住房"),
    },
    "交通": {
        "depts": ("交通",),
        "kind": "legal_person",
        "subjects": _w(
            "道路运输经营 网约车 出租汽车 公交线路 轨道交通客流 公路桥梁 水路运输 港口 营运车辆"
            " 从业资格 高速公路通行"
        ),
        "businesses": _w("许可 年审 备案 监测 统计 养护 运行 考试 执法检查"),
        "items": _w(
            "统一社会信用代码 经营业户名称 道路运输证号 车牌号码 线路名称 站点名称 客流量"
            " 桥梁编号 技术状况 从业资格证号 通行时间"
        ),
        "systems": _w("道路运输管理系统 交通运行监测平台 网约车监管平台"),
        "purposes": _w("交通运行监测 运输市场监管 出行服务"),
        "class": ("thematic", "交通出行/道路运输"),
    },
    "生态环境": {
        "depts": ("生态环境",),
        "kind": "other",
        "subjects": _w(
            "空气质量 地表水水质 排污许可 建设项目环境影响评价 重点排污单位 固体废物 危险废物"
            " 噪声 土壤污染 环境信访"
        ),
        "businesses": _w("监测 许可 审批 执法 申报 转移联单 处罚 评价"),
        "items": _w(
            "监测点位 监测时间 二氧化硫浓度 细颗粒物浓度 空气质量指数 断面名称 水质类别"
            " 排污许可证编号 排放口编号 废物类别 产生量"
        ),
        "systems": _w("生态环境监测网络 排污许可管理信息平台 固体废物管理信息系统"),
        "purposes": _w("污染防治 环境质量评价 环境执法"),
        "class": ("thematic", "生态环境/环境质量"),
    },
    "规划自然资源": {
        "depts": ("规划和自然资源",),
        "kind": "other",
        "subjects": _w(
            "不动产登记 国有建设用地使用权 土地利用现状 国土空间规划 地质灾害隐患点 矿业权"
            " 测绘成果 耕地保护"
        ),
        "businesses": _w("登记 出让 调查 审批 监测 核查 复核 公示"),
        "items": _w(
            "不动产单元号 权利人 坐落 宗地面积 用途 权利类型 地块编号 规划用途 隐患点编号 经度 纬度"
        ),
        "systems": _w("不动产登记信息管理平台 国土空间基础信息平台"),
        "purposes": _w("自然资源确权 用地审批 防灾减灾"),
        "class": ("basic", "自然资源和空间地理/土地"),
    },
    "税务": {
        "depts": ("税务",),
        "kind": "legal_person",
        "subjects": _w("纳税人 增值税发票 欠税 纳税信用等级 个人所得税 税收优惠 社会保险费"),
        "businesses": _w("登记 申报 缴纳 开具 评定 减免 征收"),
        "items": _w(
            "纳税人识别号 纳税人名称 税种 税款所属期 应纳税额 欠税余额 信用等级 发票代码 发票号码"
        ),
        "systems": _w("金税工程 电子税务局"),
        "purposes": _w("税收征管 纳税信用评价 涉税信息共享"),
        "class": ("department", "税务/征管"),
    },
    "发改": {
        "depts": ("发展和改革",),
        "kind": "legal_person",
        "subjects": _w("投资项目 政府投资项目 重点项目 价格监测 信用信息 能源消费 粮食储备"),
        "businesses": _w("审批 核准 备案 监测 调度 评价 归集"),
        "items": _w(
            "项目代码 项目名称 建设单位 总投资 建设地点 开工时间 监测品种 价格 统一社会信用代码"
        ),
        "systems": _w("投资项目在线审批监管平台 信用信息共享平台"),
        "purposes": _w("投资项目监管 社会信用体系建设 宏观经济监测"),
        "class": ("department", "发展改革/投资"),
    },
    "应急": {
        "depts": ("应急",),
        "kind": "legal_person",
        "subjects": _w(
            "安全生产许可 危险化学品企业 应急避难场所 自然灾害灾情 应急救援队伍 应急物资储备"
            " 生产安全事故"
        ),
        "businesses": _w("许可 检查 统计 报送 调度 演练 备案"),
        "items": _w(
            "企业名称 统一社会信用代码 许可范围 场所名称 容纳人数 受灾人口 直接经济损失 物资名称"
            " 储备数量 事故等级"
        ),
        "systems": _w("应急管理综合应用平台 安全生产监管信息系统"),
        "purposes": _w("应急指挥调度 安全生产监管 灾害风险评估"),
        "class": ("thematic", "安全应急/应急管理"),
    },
    "农业": {
        "depts": ("农业农村",),
        "kind": "legal_person",
        "subjects": _w(
            "农村土地承包经营权 家庭农场 农产品质量安全 动物防疫 农机购置补贴 高标准农田"
            " 耕地地力保护补贴"
        ),
        "businesses": _w("确权登记 认定 抽检 检疫 补贴 建设 验收"),
        "items": _w(
            "承包方代表 承包地块面积 农场名称 抽检品种 检测结果 动物种类 补贴金额 项目区"
            " 公民身份号码"
        ),
        "systems": _w("农业农村大数据平台 动物检疫监管系统"),
        "purposes": _w("乡村振兴 农产品质量监管 惠农补贴发放"),
        "class": ("thematic", "农业农村/农业生产"),
    },
    "文旅": {
        "depts": ("文化和旅游",),
        "kind": "legal_person",
        "subjects": _w(
            "A级旅游景区 旅行社 导游 文物保护单位 公共图书馆 演出场所 星级饭店 游客接待量"
        ),
        "businesses": _w("评定 许可 备案 统计 监测 年检 普查"),
        "items": _w(
            "景区名称 等级 许可证号 导游证号 文物名称 保护级别 接待人次 旅游收入 统一社会信用代码"
        ),
        "systems": _w("文化和旅游市场监管平台 智慧旅游平台"),
        "purposes": _w("旅游市场监管 文旅消费分析 文物安全"),
        "class": ("thematic", "教育文化/文化旅游"),
    },
    "统计": {
        "depts": ("统计",),
        "kind": "legal_person",
        "subjects": _w(
            "国民经济核算 规模以上工业企业 固定资产投资 社会消费品零售总额 人口抽样调查 经济普查"
            " 名录库"
        ),
        "businesses": _w("统计 调查 普查 报表 核算 发布"),
        "items": _w(
            "指标名称 统计期 本期值 同比增长 行业代码 单位详细名称 从业人员期末人数 营业收入"
        ),
        "systems": _w("联网直报平台 统计数据库"),
        "purposes": _w("经济运行分析 统计数据发布"),
        "class": ("department", "统计/经济统计"),
    },
    "大数据": {
        "depts": ("大数据",),
        "kind": "other",
        "subjects": _w(
            "政务服务事项 电子证照 好差评 政务数据共享 数字重庆 政务云资源 公共数据开放"
            " 一网通办办件"
        ),
        "businesses": _w("办理 归集 调用 评价 申请 目录编制 运行监测"),
        "items": _w(
            "事项编码 事项名称 办件编号 受理时间 办结时间 证照类型 证照编号 评价等级 调用次数"
            " 数据资源代码"
        ),
        "systems": _w("一体化政务服务平台 政务数据共享交换平台 电子证照库"),
        "purposes": _w("政务服务一网通办 数据共享调度 营商环境评价"),
        "class": ("thematic", "政务服务/政务服务事项"),
    },
    "司法": {
        "depts": ("司法",),
        "kind": "person",
        "subjects": _w(
            "律师事务所 执业律师 公证机构 人民调解组织 法律援助 社区矫正对象 司法鉴定机构"
        ),
        "businesses": _w("执业许可 年度考核 办理 调解 援助 登记 备案"),
        "items": _w("机构名称 执业证号 律师姓名 公证书编号 调解结果 受援人 矫正期限 公民身份号码"),
        "systems": _w("司法行政综合平台 法律服务网"),
        "purposes": _w("公共法律服务 执业监管"),
        "class": ("department", "司法行政/法律服务"),
    },
    "综合": {
        "depts": (),
        "kind": "other",
        "subjects": _w(
            "政府信息公开 财政预算 政府采购 行政许可 行政处罚 信访事项 档案目录 办公用房 公务车辆"
            " 人员编制 政策文件 建议提案办理"
        ),
        "businesses": _w("公开 编制 执行 审批 办理 登记 统计 公示"),
        "items": _w(
            "文件名称 发文字号 发布日期 项目名称 预算金额 中标单位 许可决定书文号 处罚事由"
            " 办理结果 承办单位 经办人"
        ),
        "systems": _w("协同办公系统 政务公开平台 预算管理一体化系统"),
        "purposes": _w("政务公开 内部管理 绩效评价"),
        "class": ("department", "综合管理/政务公开"),
    },
}

SUFFIXES = _w("信息 数据 记录 名录 台账 明细 统计 清单 档案 汇总表 情况")
SCOPES = _w("全市 本部门 主城都市区 渝东北三峡库区城镇群 渝东南武陵山区城镇群 各区县 辖区内")
PERSON_ITEMS = _w("公民身份号码 姓名 联系电话 地址")
LEGAL_ITEMS = _w("统一社会信用代码 单位名称 法定代表人 联系电话 注册地址")
GENERIC_ITEMS = _w("行政区划代码 登记日期 更新时间 数据来源 备注 经办机构 状态 审核意见")
GENERAL_PURPOSES = _w(
    "跨部门业务协同 政务服务一网通办 事中事后监管 统计分析 社会信用体系建设 应急指挥调度"
    " 领导决策支持 基层减负"
)
PREFIXES = ["", "", "", "全市", "年度", "季度", "月度", "历年"]
CYCLE_LABELS = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "semiannual": "每半年",
    "annual": "每年",
    "irregular": "不定期",
}
FORMATS = [
    ("database", "MySQL", 30),
    ("database", "Oracle", 10),
    ("database", "PostgreSQL", 5),
    ("spreadsheet", "xlsx", 20),
    ("service_api", "RESTful", 15),
    ("electronic_file", "pdf", 10),
    ("image", "jpg", 5),
    ("streaming", "mp4", 2),
    ("self_describing", "json", 3),
]
CYCLES = [
    ("realtime", 8),
    ("daily", 20),
    ("weekly", 8),
    ("monthly", 25),
    ("quarterly", 10),
    ("semiannual", 4),
    ("annual", 15),
    ("irregular", 10),
]
SHARE = [("unconditional", 50), ("conditional", 35), ("none", 15)]
OPEN = [("none", 60), ("conditional", 15), ("unconditional", 25)]
DATA_TYPES = "CCCCCNDDTI"


def _weighted(rng: random.Random, pairs: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    return rng.choices(pairs, weights=[p[-1] for p in pairs])[0]


def _domain_of(department_name: str) -> str:
    for key, domain in DOMAINS.items():
        if any(word in department_name for word in domain["depts"]):
            return key
    return "综合"


# --- 1-2. generate ---------------------------------------------------------------------------


def _org(session: Session) -> list[tuple[int, int, str, str, str, bool]]:
    """(department id, region id, code, name, region name, is city) of every department."""
    rows = session.execute(
        select(
            Department.id,
            Department.region_id,
            Department.code,
            Department.name,
            Region.name,
            Region.kind,
        ).join(Region, Region.id == Department.region_id)
    ).all()
    return [(d, r, c, n, rn, kind == "city") for d, r, c, n, rn, kind in rows]


def _classifications(session: Session) -> dict[str, tuple[int, str, str, str]]:
    """One classification node per domain (like ``service.classification_for`` would give)."""
    digits = {"basic": "1", "thematic": "2", "department": "3"}
    seen: dict[str, int] = {}
    out: dict[str, tuple[int, str, str, str]] = {}
    for key, domain in DOMAINS.items():
        category, path = domain["class"]
        seen[category] = seen.get(category, 0) + 1
        code = f"{digits[category]}{seen[category]:02d}001000"
        cid = session.execute(
            insert(Classification)
            .values(category=category, path=path, code=code, next_seq=1)
            .returning(Classification.id)
        ).scalar_one()
        out[key] = (cid, category, path, code)
    return out


def _resource(rng: random.Random, dept: tuple[int, int, str, str, str, bool]) -> dict[str, Any]:
    """One resource's metadata, in the shape of ``service.snapshot``."""
    _, _, dept_code, dept_name, region_name, is_city = dept
    key = _domain_of(dept_name)
    dom = DOMAINS[key]
    subject = rng.choice(dom["subjects"])
    business = rng.choice(dom["businesses"])
    prefix = rng.choice(PREFIXES)
    if not is_city and (prefix == "全市" or rng.random() < 0.5):
        prefix = region_name
    elif prefix == "年度":
        prefix = f"{rng.randint(2015, 2025)}年"
    name = f"{prefix}{subject}{business}{rng.choice(SUFFIXES)}"
    kind = dom["kind"]
    base_items = {"person": PERSON_ITEMS, "legal_person": LEGAL_ITEMS}.get(kind, [])
    own = rng.sample(dom["items"], k=min(len(dom["items"]), rng.randint(3, 8)))
    extra = rng.sample(GENERIC_ITEMS, k=rng.randint(0, 3))
    head = base_items[: rng.randint(1, len(base_items))] if base_items else []
    names = list(dict.fromkeys([*head, *own, *extra]))[:12]
    share = _weighted(rng, SHARE)[0]
    open_ = "none" if share == "none" else _weighted(rng, OPEN)[0]
    fmt, subtype, _ = _weighted(rng, FORMATS)
    cycle = _weighted(rng, CYCLES)[0]
    shown = "、".join(rng.sample(names, k=min(3, len(names))))
    p1, p2 = rng.sample([*dom["purposes"], *GENERAL_PURPOSES], k=2)
    scope = region_name if not is_city else rng.choice(SCOPES)
    system, cycle_label = rng.choice(dom["systems"]), CYCLE_LABELS[cycle]
    sentences = [
        rng.choice(
            [
                f"本资源记录{scope}{subject}{business}的{shown}等信息。",
                f"汇集{scope}{subject}{business}过程中产生的{shown}等数据。",
                f"包含{scope}{subject}的{shown}，反映{business}情况。",
                f"{dept_name}在{business}工作中形成的{subject}数据，字段包括{shown}。",
            ]
        ),
        rng.choice(
            [
                f"数据来源于{system}，由{dept_name}{cycle_label}更新。",
                f"通过{system}采集，{cycle_label}同步至共享交换平台。",
                f"依托{system}汇聚，更新周期为{cycle_label}。",
            ]
        ),
    ]
    if rng.random() < 0.7:
        sentences.append(
            rng.choice(
                [
                    f"主要用于{p1}和{p2}。",
                    f"可支撑{p1}、{p2}等应用场景。",
                    f"服务于{p1}，兼顾{p2}。",
                ]
            )
        )
    if share == "conditional":
        sentences.append(
            rng.choice(["仅向承担相关职责的政务部门共享。", "共享须经数据提供部门审核同意。"])
        )
    items = [
        {
            "name": n,
            "data_type": rng.choice(DATA_TYPES),
            "length": rng.choice([None, 18, 32, 50, 100, 200]),
            "share_type": share,
            "open_type": open_,
            "is_subject_key": n in ("公民身份号码", "统一社会信用代码"),
        }
        for n in names
    ]
    return {
        "domain": key,
        "name": name,
        "abstract": "".join(sentences),
        "format": fmt,
        "format_subtype": subtype,
        "share_type": share,
        "share_conditions": "用于履行法定职责" if share == "conditional" else "",
        "share_method": rng.choice(["接口", "库表", "文件"]),
        "open_type": open_,
        "open_conditions": "",
        "legal_basis": "《重庆市政务数据资源管理暂行办法》",
        "update_cycle": cycle,
        "security_level": rng.choice(["public", "internal", "sensitive"]),
        "usage_requirements": "",
        "subject_kind": kind,
        "items": items,
        "department_code": dept_code,
        "department_name": dept_name,
    }


def generate(engine: Engine, n: int, seed: int) -> dict[str, Any]:
    """Insert ``n`` published resources with Core; one version; returns a few facts."""
    rng = random.Random(seed)
    sm = make_sessionmaker(engine)
    now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    with transaction(sm) as session:
        load_demo_org(session)
    with transaction(sm) as session:
        depts = _org(session)
        classes = _classifications(session)
        weights = [5 if d[5] else 1 for d in depts]  # city departments hold more
        seq: dict[str, int] = {}
        names_used: set[tuple[int, str]] = set()
        version_id = session.execute(
            insert(CatalogVersion)
            .values(
                number=1,
                published_at=now,
                note="基准测试生成",
                resource_count=n,
                added=n,
                changed=0,
                removed=0,
            )
            .returning(CatalogVersion.id)
        ).scalar_one()
        batch = 5000
        for start in range(1, n + 1, batch):
            resources, revisions, members = [], [], []
            info_items: list[dict[str, Any]] = []
            for rid in range(start, min(start + batch, n + 1)):
                dept = rng.choices(depts, weights=weights)[0]
                meta = _resource(rng, dept)
                while (dept[0], meta["name"]) in names_used:  # names unique in a department
                    meta["name"] = f"{meta['name']}（{rng.randint(2, 99)}）"
                names_used.add((dept[0], meta["name"]))
                cid, category, path, ccode = classes[meta.pop("domain")]
                seq[ccode] = seq.get(ccode, 0) + 1
                code = f"{ccode}/{seq[ccode]:06d}"
                published_on = date(2020, 1, 1) + timedelta(days=rng.randint(0, 2000))
                common = {
                    "code": code,
                    "name": meta["name"],
                    "format": meta["format"],
                    "share_type": meta["share_type"],
                    "open_type": meta["open_type"],
                    "update_cycle": meta["update_cycle"],
                    "withdrawn": False,
                }
                resources.append(
                    {
                        **common,
                        "id": rid,
                        "classification_id": cid,
                        "department_id": dept[0],
                        "abstract": meta["abstract"],
                        "format_subtype": meta["format_subtype"],
                        "share_conditions": meta["share_conditions"],
                        "share_method": meta["share_method"],
                        "open_conditions": "",
                        "legal_basis": meta["legal_basis"],
                        "published_on": published_on,
                        "related_codes": [],
                        "security_level": meta["security_level"],
                        "usage_requirements": "",
                        "subject_kind": meta["subject_kind"],
                        "state": "published",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                data = {
                    "category": category,
                    "class_path": path,
                    **meta,
                    "published_on": published_on.isoformat(),
                    "related_codes": [],
                    "code": code,
                    "classification_code": ccode,
                    "withdrawn": False,
                }
                revisions.append(
                    {
                        **common,
                        "id": rid,
                        "resource_id": rid,
                        "number": 1,
                        "department_id": dept[0],
                        "region_id": dept[1],
                        "category": category,
                        "classification_code": ccode,
                        "data": data,
                        "created_at": now,
                    }
                )
                members.append({"version_id": version_id, "resource_id": rid, "revision_id": rid})
                info_items += [
                    {"resource_id": rid, "position": pos, **item}
                    for pos, item in enumerate(meta["items"], start=1)
                ]
            session.execute(insert(Resource), resources)
            session.execute(insert(ResourceRevision), revisions)
            session.execute(insert(CatalogVersionMember), members)
            session.execute(insert(InfoItem), info_items)
            print(f"  {start + len(resources) - 1:>9,} resources", flush=True)
        session.execute(
            update(Resource)
            .values(published_revision_id=Resource.id, latest_revision_id=Resource.id)
            .execution_options(synchronize_session=False)
        )
        for ccode, last in seq.items():
            session.execute(
                update(Classification)
                .where(Classification.code == ccode)
                .values(next_seq=last + 1)
                .execution_options(synchronize_session=False)
            )
    return {"departments": len(depts), "classifications": len(classes)}


def analyze(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("VACUUM (ANALYZE)"))


# --- 4. queries ------------------------------------------------------------------------------


def query_set(
    rng: random.Random, depts: list[tuple[int, int, str, str, str, bool]], regions: list[int]
) -> list[dict[str, Any]]:
    """Queries as people would type them, by class; each a dict(q, flt, cls)."""
    subjects = sorted({s for d in DOMAINS.values() for s in d["subjects"]})
    items = sorted({i for d in DOMAINS.values() for i in d["items"]})
    out: list[dict[str, Any]] = []
    for s in rng.sample(subjects, 40):
        out.append({"cls": "topic", "q": s, "flt": None})
    for key in rng.sample(sorted(DOMAINS), 15):
        dom = DOMAINS[key]
        q = f"{rng.choice(dom['subjects'])} {rng.choice(dom['businesses'])}"
        out.append({"cls": "two_words", "q": q, "flt": None})
    for i in rng.sample(items, 20):
        out.append({"cls": "item", "q": i, "flt": None})
    city_depts = [d for d in depts if d[5]]
    for s in rng.sample(subjects, 20):
        choice = rng.randrange(5)
        flt = [
            CatalogFilter(department_id=rng.choice(city_depts)[0]),
            CatalogFilter(share_type="unconditional"),
            CatalogFilter(open_type="unconditional"),
            CatalogFilter(category=rng.choice(["basic", "thematic", "department"])),
            CatalogFilter(region_id=rng.choice(regions)),
        ][choice]
        out.append({"cls": "filtered", "q": s, "flt": flt})
    for q in ["火星探测", "量子通信", "海洋捕捞", "航天发射", "北极科考"]:
        out.append({"cls": "miss", "q": q, "flt": None})
    for q in ["信息", "数据", "管理", "登记", "统一社会信用代码", "公民身份号码"]:
        out.append({"cls": "broad", "q": q, "flt": None})
    return out


def like_search(
    session: Session,
    q: str,
    flt: CatalogFilter | None,
    *,
    name_only: bool = False,
    limit: int = 20,
) -> tuple[int, list[ResourceRevision], dict[str, dict[str, int]]]:
    """The same question answered without an index: LIKE '%part%' over the revisions.

    Same contract as ``search.search``: the current version, every filter (``apply_filter``),
    total, facets and the first page (name matches first, then code), through the same
    ``search._facets_and_page`` statement, so only the matching differs.
    """
    version = get_version(session)
    rev = ResourceRevision
    sqlite = session.get_bind().dialect.name == "sqlite"
    parts = q.split()
    conditions = []
    for part in parts:
        pattern = literal(f"%{part}%", String)
        ors = [rev.name.like(pattern)]
        if not name_only:
            abstract = rev.data["abstract"].as_string()
            if sqlite:
                each = func.json_each(rev.data, "$.items").table_valued("value")
                item_name = func.json_extract(each.c.value, "$.name")
                item = select(literal_column("1")).select_from(each).where(item_name.like(pattern))
            else:
                elems = func.json_array_elements(rev.data.op("->")(literal("items"))).alias("i")
                item_name = literal_column("i").op("->>")(literal("name"))
                item = select(literal_column("1")).select_from(elems).where(item_name.like(pattern))
            ors += [abstract.like(pattern), item.exists()]
        conditions.append(or_(*ors))
    name_first = case((rev.name.like(literal(f"%{parts[0]}%", String)), 0), else_=1)
    matches: Select[Any] = (
        select(
            rev.id.label("revision_id"),
            rev.code,
            *(getattr(rev, f) for f in search.FACETS),
            name_first.label("rank"),
        )
        .join(CatalogVersionMember, CatalogVersionMember.revision_id == rev.id)
        .where(CatalogVersionMember.version_id == version.id, and_(*conditions))
    )
    if flt is not None:
        matches = apply_filter(matches, flt)
    facets, hits = search._facets_and_page(session, matches, 0, limit)
    return sum(facets["department_id"].values()), hits, facets


# --- 5. timing -------------------------------------------------------------------------------


def _time(sm: Any, fn: Callable[[Session], int]) -> tuple[float, int]:
    started = time.perf_counter()
    with transaction(sm) as session:
        total = fn(session)
    return time.perf_counter() - started, total


def _stats(ms: list[float]) -> dict[str, float]:
    xs = sorted(ms)

    def pct(p: float) -> float:
        return xs[min(len(xs) - 1, max(0, round(p * len(xs)) - 1))]

    return {
        "n": len(xs),
        "p50_ms": round(statistics.median(xs), 2),
        "p95_ms": round(pct(0.95), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(xs[-1], 2),
        "mean_ms": round(statistics.fmean(xs), 2),
    }


def _rounds(queries: list[dict[str, Any]], rounds: int, rng: random.Random) -> Iterator[int]:
    for _ in range(rounds):
        order = list(range(len(queries)))
        rng.shuffle(order)
        yield from order


def _queried(session: Session, qd: dict[str, Any]) -> int:
    answer = search_broad.answer
    search_broad.answer = lambda *a, **k: None  # type: ignore[assignment]
    try:
        return search.search(session, BOOTSTRAP, qd["q"], qd["flt"]).total
    finally:
        search_broad.answer = answer  # type: ignore[assignment]


def measure(
    engine: Engine, queries: list[dict[str, Any]], rounds: int, like_rounds: int, seed: int
) -> dict[str, Any]:
    sm = make_sessionmaker(engine)
    methods: dict[str, Callable[[dict[str, Any]], Callable[[Session], int]]] = {
        "fts": lambda qd: lambda s: search.search(s, BOOTSTRAP, qd["q"], qd["flt"]).total,
        # The same search with no answer read ahead (search_broad): the baseline of issue 16.
        "fts_queried": lambda qd: lambda s: _queried(s, qd),
        "like": lambda qd: lambda s: like_search(s, qd["q"], qd["flt"])[0],
        "like_name": lambda qd: lambda s: like_search(s, qd["q"], qd["flt"], name_only=True)[0],
    }
    for qd in queries[:10]:  # warm-up: caches, statement compilation
        for method, make in methods.items():
            if method.startswith("fts") or like_rounds:
                _time(sm, make(qd))
    samples: dict[str, dict[str, list[float]]] = {m: {} for m in methods}
    totals: dict[str, dict[int, int]] = {m: {} for m in methods}
    rng = random.Random(seed)
    fts_order = list(_rounds(queries, rounds, rng))
    like_order = list(_rounds(queries, like_rounds, rng))
    meter = CpuMeter()
    meter.start()
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    pg0 = postgres_cpu_seconds()
    started = time.perf_counter()
    # Interleave: one full-text query, then (while they last) one query of each LIKE method.
    for i, qi in enumerate(fts_order):
        todo = [("fts", qi), ("fts_queried", qi)]
        if i < len(like_order):
            todo += [("like", like_order[i]), ("like_name", like_order[i])]
        for method, index in todo:
            qd = queries[index]
            seconds, total = _time(sm, methods[method](qd))
            samples[method].setdefault(qd["cls"], []).append(seconds * 1000)
            totals[method][index] = total
        if (i + 1) % 100 == 0:
            print(f"  {i + 1}/{len(fts_order)} full-text queries", flush=True)
    duration = time.perf_counter() - started
    pg_cpu = postgres_cpu_seconds() - pg0
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    machine_cpu, _ = meter.stop()
    own = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    result: dict[str, Any] = {
        "duration_s": round(duration, 1),
        "bench_cpu_s": round(own, 1),
        "postgres_cpu_s": round(pg_cpu, 1),
        # CPU the rest of the machine used meanwhile (other people's work): noise.
        "other_cpu_s": round(max(machine_cpu - own - pg_cpu, 0.0), 1),
    }
    for method, by_cls in samples.items():
        if not by_cls:
            continue
        every = [x for cls, xs in by_cls.items() if cls != "broad" for x in xs]
        result[method] = {
            "mix_without_broad": _stats(every),
            "all": _stats([x for xs in by_cls.values() for x in xs]),
            **{cls: _stats(xs) for cls, xs in sorted(by_cls.items())},
        }
    result["matches"] = [
        {
            "cls": qd["cls"],
            "q": qd["q"],
            "filter": {k: v for k, v in (qd["flt"].__dict__ if qd["flt"] else {}).items() if v},
            "fts_total": totals["fts"].get(i),
            "like_total": totals["like"].get(i),
        }
        for i, qd in enumerate(queries)
    ]
    return result


# --- main ------------------------------------------------------------------------------------


def run(db: str, args: argparse.Namespace) -> dict[str, Any]:
    url = fresh_database_url(db, "catalog_search", PG_DB)
    engine = make_engine(url)
    upgrade(engine)
    print(f"[{db}] generating {args.resources:,} published resources ...", flush=True)
    started = time.perf_counter()
    facts = generate(engine, args.resources, args.seed)
    gen_s = time.perf_counter() - started
    print(f"  generated in {gen_s:.1f} s", flush=True)
    analyze(engine)

    print(f"[{db}] search.rebuild ...", flush=True)
    sm = make_sessionmaker(engine)
    started = time.perf_counter()
    with transaction(sm) as session:
        indexed = search.rebuild(session)
    build_s = time.perf_counter() - started
    print(f"  indexed {indexed:,} resources in {build_s:.1f} s", flush=True)
    analyze(engine)
    with transaction(sm) as session:
        t0 = time.perf_counter()
        for _ in range(200):
            segmentation.segment("本资源记录全市养老机构床位使用的机构名称、床位数等信息。")
        seg_us = (time.perf_counter() - t0) / 200 * 1e6
        depts = _org(session)
        regions = sorted({d[1] for d in depts})
        sizes = {}
        if db == "sqlite":
            sizes["database_mb"] = round(
                session.execute(
                    text("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
                ).scalar_one()
                / 1e6,
                1,
            )
        else:
            for name in ("catalog_search", "catalog_revisions"):
                sizes[f"{name}_mb"] = round(
                    session.execute(text(f"SELECT pg_total_relation_size('{name}')")).scalar_one()
                    / 1e6,
                    1,
                )
    queries = query_set(random.Random(args.seed), depts, regions)
    busy = wait_for_quiet(args.wait_quiet)
    print(
        f"[{db}] {len(queries)} queries x {args.rounds} rounds (full text), "
        f"x {args.like_rounds} (LIKE) ...",
        flush=True,
    )
    timing = measure(engine, queries, args.rounds, args.like_rounds, args.seed)
    engine.dispose()
    server = pg_server_version(url) if db == "postgresql" else "sqlite (WAL)"
    if db == "postgresql" and not args.keep:
        drop_pg_database(PG_DB)
    return {
        "benchmark": "catalog_search",
        "db": db,
        "database": server,
        "resources": args.resources,
        **facts,
        "generate_s": round(gen_s, 1),
        "index_build_s": round(build_s, 1),
        "indexed": indexed,
        "segment_us_per_abstract": round(seg_us, 1),
        "sizes": sizes,
        "machine": machine_info(),
        "machine_busy_before": round(busy, 3),
        "queries": len(queries),
        "rounds": args.rounds,
        "like_rounds": args.like_rounds,
        "timing": timing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the queries (FTS)")
    parser.add_argument("--like-rounds", type=int, default=1, help="passes for the LIKE scans")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument(
        "--wait-quiet", type=float, default=300, help="wait up to N s for an idle machine"
    )
    args = parser.parse_args()
    results = {}
    for db in args.db:
        results[db] = run(db, args)
        path = write_json(f"catalog_search_{db}.json", results[db])
        print(f"wrote {path}", flush=True)

    print()
    print(f"{args.resources:,} published resources; times per query in ms (session + search)")
    header = f"  {'db':<11} {'method':<12} {'class':<18} {'n':>4} {'p50':>8} {'p95':>8} {'max':>8}"
    print(header)
    for db, r in results.items():
        t = r["timing"]
        print(
            f"  {db}: measured over {t['duration_s']:.0f} s; CPU: bench {t['bench_cpu_s']:.0f} s, "
            f"postgres {t['postgres_cpu_s']:.0f} s, other work {t['other_cpu_s']:.0f} s"
        )
        for method in ("fts", "fts_queried", "like", "like_name"):
            for cls, s in t.get(method, {}).items():
                print(
                    f"  {db:<11} {method:<12} {cls:<18} {s['n']:>4} {s['p50_ms']:>8.1f} "
                    f"{s['p95_ms']:>8.1f} {s['max_ms']:>8.1f}"
                )
        print(
            f"  {db}: index build {r['index_build_s']:.1f} s for {r['indexed']:,} resources "
            f"(generation {r['generate_s']:.1f} s)"
        )


if __name__ == "__main__":
    main()
