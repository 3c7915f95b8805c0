"""The demo city's catalog (issue: catalog, item 9): about 3,000 resources, one published
version, some demands and one review round still open.

Generated deterministically (a seeded ``random.Random``) through the catalog's own services, so
every rule of the regulation holds for the demo data exactly as for real data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import demands, review, service, updates
from govdata.catalog.models import (
    EntryStatus,
    Resource,
    ReviewEntry,
    SearchSynonym,
    SubmissionStatus,
)
from govdata.catalog.schemas import ChangeIn, DemandIn, InfoItemIn, ResourceIn
from govdata.core import audit, calendar
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import Department, Region

PERSON_ITEMS = [
    InfoItemIn(name="公民身份号码", data_type="C", length=18, is_subject_key=True),
    InfoItemIn(name="姓名", data_type="C", length=50),
    InfoItemIn(name="性别", data_type="C", length=2),
    InfoItemIn(name="出生日期", data_type="D"),
]
COMPANY_ITEMS = [
    InfoItemIn(name="统一社会信用代码", data_type="C", length=18, is_subject_key=True),
    InfoItemIn(name="单位名称", data_type="C", length=200),
    InfoItemIn(name="法定代表人", data_type="C", length=50),
]
OTHER_ITEMS = [
    InfoItemIn(name="行政区划代码", data_type="C", length=6),
    InfoItemIn(name="统计时间", data_type="D"),
]
EXTRA_ITEMS = [
    ("登记日期", "D", None),
    ("办理机关", "C", 100),
    ("状态", "C", 20),
    ("地址", "C", 200),
    ("联系电话", "C", 20),
    ("金额", "Y", None),
    ("数量", "I", None),
    ("备注", "M", None),
    ("有效期至", "D", None),
    ("更新时间", "T", None),
    ("经度", "B", None),
    ("纬度", "B", None),
    ("是否有效", "L", None),
    ("证照编号", "C", 64),
]

# (department keyword, topic, subject, class) — class: (category, class path).
TOPICS: list[tuple[str, str, str, tuple[str, str]]] = [
    ("公安", "户籍人口", "person", ("basic", "人口/户籍")),
    ("公安", "流动人口居住登记", "person", ("basic", "人口/居住")),
    ("公安", "出入境证件", "person", ("department", "公安/出入境")),
    ("公安", "机动车驾驶人", "person", ("department", "公安/交通管理")),
    ("公安", "治安案件", "other", ("department", "公安/治安")),
    ("公安", "旅馆业治安管理", "legal_person", ("department", "公安/治安")),
    ("市场监督", "市场主体登记", "legal_person", ("basic", "法人单位/登记")),
    ("市场监督", "食品经营许可", "legal_person", ("department", "市场监管/许可")),
    ("市场监督", "行政处罚", "legal_person", ("thematic", "社会信用/处罚")),
    ("市场监督", "特种设备", "legal_person", ("department", "市场监管/特种设备")),
    ("人力资源", "社会保险参保", "person", ("thematic", "社会保障/参保")),
    ("人力资源", "就业失业登记", "person", ("thematic", "社会保障/就业")),
    ("人力资源", "职业资格证书", "person", ("department", "人社/职业能力")),
    ("民政", "婚姻登记", "person", ("basic", "人口/婚姻")),
    ("民政", "社会组织登记", "legal_person", ("basic", "法人单位/社会组织")),
    ("民政", "最低生活保障", "person", ("thematic", "社会救助/低保")),
    ("卫生健康", "出生医学证明", "person", ("basic", "人口/出生")),
    ("卫生健康", "医疗机构执业许可", "legal_person", ("department", "卫生健康/医疗机构")),
    ("卫生健康", "预防接种", "person", ("thematic", "医疗健康/疾控")),
    ("规划和自然资源", "不动产登记", "other", ("basic", "自然资源和空间地理/不动产")),
    ("规划和自然资源", "土地利用现状", "other", ("basic", "自然资源和空间地理/土地")),
    ("规划和自然资源", "基础测绘成果", "other", ("basic", "自然资源和空间地理/测绘")),
    ("税务", "纳税信用等级", "legal_person", ("thematic", "社会信用/纳税")),
    ("教育", "学籍", "person", ("department", "教育/学籍")),
    ("交通运输", "道路运输经营许可", "legal_person", ("department", "交通/运输")),
    ("住房和城乡建设", "建筑业企业资质", "legal_person", ("department", "住建/资质")),
    ("生态环境", "排污许可", "legal_person", ("department", "生态环境/排污")),
    ("医疗保障", "医保定点机构", "legal_person", ("thematic", "医疗健康/医保")),
    ("退役军人", "退役军人优待", "person", ("department", "退役军人/优待")),
    ("应急管理", "安全生产许可", "legal_person", ("department", "应急管理/许可")),
]
GENERIC_TOPICS = [
    ("行政许可", "legal_person"),
    ("行政处罚", "legal_person"),
    ("行政检查", "legal_person"),
    ("政务服务事项办件", "other"),
    ("政策文件", "other"),
    ("财政资金项目", "other"),
    ("统计报表", "other"),
    ("投诉举报", "other"),
    ("专项资金补贴发放", "person"),
    ("资格认定", "person"),
]
ASPECTS = [
    "基本信息",
    "变更信息",
    "注销信息",
    "年度统计",
    "办件记录",
    "监督检查记录",
    "奖惩信息",
    "月度汇总",
    "电子证照",
    "档案目录",
    "历史数据",
    "季度报表",
    "异常名录",
    "核验结果",
]
ABSTRACTS = [
    "记录{dept}在履行{topic}管理职能过程中形成的{aspect}，包括{items}等信息项，"
    "用于跨部门业务协同和政务服务。",
    "{dept}依法采集的{topic}{aspect}，涵盖{items}，按{cycle}更新，服务于行政审批、"
    "市场监管和社会治理。",
    "全市{topic}相关的{aspect}数据，由{dept}负责维护，主要字段为{items}。",
]
LEGAL_BASES = [
    "《中华人民共和国个人信息保护法》第十三条",
    "《中华人民共和国数据安全法》第二十一条",
    "《中华人民共和国政府信息公开条例》第十四条",
    "《国务院关于印发政务信息资源共享管理暂行办法的通知》（国发〔2016〕51号）",
    "《中华人民共和国统计法》第二十五条",
]
CYCLES = [
    "realtime",
    "daily",
    "weekly",
    "monthly",
    "quarterly",
    "semiannual",
    "annual",
    "irregular",
]
FORMATS = [
    ("database", "PostgreSQL"),
    ("database", "Oracle"),
    ("spreadsheet", "xlsx"),
    ("service_api", "RESTful"),
    ("self_describing", "JSON"),
    ("electronic_file", "pdf"),
    ("image", "jpg"),
]
CYCLE_LABEL = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "semiannual": "每半年",
    "annual": "每年",
    "irregular": "不定期",
}


@dataclass(frozen=True)
class DemoCatalog:
    resources: int
    published: int
    pending_entries: int
    demands: int


def _items(rng: random.Random, subject: str) -> list[InfoItemIn]:
    base = {"person": PERSON_ITEMS, "legal_person": COMPANY_ITEMS}.get(subject, OTHER_ITEMS)
    extra = rng.sample(EXTRA_ITEMS, rng.randint(2, 6))
    return [*base, *(InfoItemIn(name=n, data_type=t, length=ln) for n, t, ln in extra)]


def _resource(
    rng: random.Random,
    dept: Department,
    topic: str,
    aspect: str,
    subject: str,
    klass: tuple[str, str],
) -> ResourceIn:
    category, class_path = klass
    fmt, subtype = rng.choice(FORMATS)
    items = _items(rng, subject)
    cycle = rng.choice(CYCLES)
    share = (
        "unconditional"
        if category == "basic"
        else rng.choices(["unconditional", "conditional", "none"], weights=[70, 20, 10])[0]
    )
    opened = rng.choices(["unconditional", "conditional", "none"], weights=[30, 20, 50])[0]
    if subject == "person" and opened == "unconditional":
        opened = "conditional"  # personal data is opened only under conditions (Art. 31 ¶2)
    restricted = share != "unconditional" or opened != "unconditional"
    abstract = rng.choice(ABSTRACTS).format(
        dept=dept.name,
        topic=topic,
        aspect=aspect,
        items="、".join(i.name for i in items[:4]),
        cycle=CYCLE_LABEL[cycle],
    )
    return ResourceIn(
        category=category,
        class_path=class_path,
        name=f"{topic}{aspect}",
        abstract=abstract,
        format=fmt,
        format_subtype=subtype,
        share_type=share,
        share_conditions="仅向履行相关法定职责的部门提供" if share == "conditional" else "",
        share_method=rng.choice(["接口", "库表", "文件"]) if share != "none" else "",
        open_type=opened,
        open_conditions="经实名认证并签署数据使用协议后提供" if opened == "conditional" else "",
        legal_basis=rng.choice(LEGAL_BASES) if restricted else "",
        update_cycle=cycle,
        published_on=date(2025, 1, 1) + timedelta(days=rng.randint(0, 600)),
        security_level=rng.choice(["public", "internal", "sensitive"]),
        usage_requirements="仅用于本部门法定职责范围内的业务" if share != "unconditional" else "",
        subject_kind=subject,
        # A scanned document about no one in particular may list no items.
        items=[] if subject == "other" and fmt in ("electronic_file", "image") else items,
    )


def _plan(rng: random.Random, dept: Department, count: int) -> list[ResourceIn]:
    own = [(t, s, k) for kw, t, s, k in TOPICS if kw in dept.name]
    short = dept.name.removeprefix("市")
    generic = [(t, s, ("department", f"{short[:12]}/{t}")) for t, s in GENERIC_TOPICS]
    pool = own + generic
    out: list[ResourceIn] = []
    names: set[str] = set()
    for topic, subject, klass in pool:
        for aspect in rng.sample(ASPECTS, len(ASPECTS)):
            if len(out) >= count:
                return out
            if topic + aspect in names:
                continue
            names.add(topic + aspect)
            out.append(_resource(rng, dept, topic, aspect, subject, klass))
            if len(out) % 4 == 0:
                break  # move on to the next topic so every department covers several
    return out


def load_demo_catalog(session: Session, *, per_city_department: int = 40) -> DemoCatalog | None:
    """Load the demo catalog once; None when the city already has catalog resources."""
    if session.scalar(select(func.count(Resource.id))):
        return None
    rng = random.Random(2019)  # noqa: S311 - the regulation's year: the same demo every time
    city = session.scalar(select(Region).where(Region.kind == "city"))
    if city is None:
        return None
    depts = list(session.scalars(select(Department).order_by(Department.region_id, Department.id)))
    actor: Actor = BOOTSTRAP
    created = 0
    for dept in depts:
        if dept.is_data_bureau:
            continue
        count = per_city_department if dept.region_id == city.id else 8
        for data in _plan(rng, dept, count):
            service.create_resource(session, actor, dept.id, data, audit_event=False)
            created += 1
    audit.record(
        session,
        actor,
        "demo.catalog.load",
        object_type="catalog",
        object_id="demo",
        summary=f"载入演示目录清单：{created} 个政务数据资源",
        change={"resources": created},
    )

    # First round: every list submitted, district lists compiled, everything approved.
    for dept in depts:
        if not dept.is_data_bureau:
            review.submit(session, actor, dept.id, note="演示：首次编制目录清单")
    _compile_all(session, depts, city.id)
    for entry_id in session.scalars(
        select(ReviewEntry.id).where(ReviewEntry.status == EntryStatus.PENDING)
    ):
        review.decide(session, actor, entry_id, approve=True)
    version = review.publish(session, actor, note="演示城市第一版政务数据资源目录")

    # Demands between departments, some accepted and unmet.
    police = _dept(session, "市公安局")
    market = _dept(session, "市市场监督管理局")
    civil = _dept(session, "市民政局")
    health = _dept(session, "市卫生健康委员会")
    made = 0
    for requester, provider, title, items in [
        (police, market, "市场主体登记基本信息", "统一社会信用代码、单位名称、法定代表人"),
        (market, police, "户籍人口基本信息", "公民身份号码、姓名"),
        (civil, health, "出生医学证明基本信息", "公民身份号码、出生日期"),
        (health, civil, "婚姻登记基本信息", "公民身份号码、姓名、登记日期"),
        (civil, None, "低空飞行器登记信息", "登记编号、所有人"),
    ]:
        if requester is None:
            continue
        demands.create_demand(
            session,
            actor,
            requester.id,
            DemandIn(
                title=title,
                wanted_items=items,
                purpose="履行法定职责所需的身份和资格核验",
                provider_department_id=provider.id if provider else None,
            ),
        )
        made += 1

    # An update application (Art. 14) and a pending review round left open for the demo.
    if police is not None:
        today = calendar.today()
        change = updates.record_change(
            session,
            actor,
            police.id,
            ChangeIn(kind="law", description="《重庆市某管理条例》修订", occurred_on=today),
        )
        resources = list(
            session.scalars(select(Resource).where(Resource.department_id == police.id).limit(3))
        )
        for resource in resources:
            data = service.as_input(service.get_resource(session, actor, resource.id))
            data.abstract += "（依据条例修订调整采集范围）"
            service.update_resource(session, actor, resource.id, data)
        service.create_resource(
            session,
            actor,
            police.id,
            ResourceIn(
                category="department",
                class_path="公安/治安",
                name="电动自行车登记信息",
                abstract="电动自行车所有人、车辆识别代码和登记信息，用于车辆管理和防盗。",
                format="database",
                share_type="conditional",
                share_conditions="仅向交通、市场监管部门提供",
                open_type="none",
                legal_basis="《电动自行车安全技术规范》",
                update_cycle="daily",
                items=PERSON_ITEMS,
            ),
        )
        review.submit(session, actor, police.id, note="法规修订后的目录更新", change_id=change.id)
    for requester in (market, civil, health):  # their demand lists, now at the city
        if requester is not None:
            review.submit(session, actor, requester.id, note="演示：需求清单")
    pending = (
        session.scalar(
            select(func.count(ReviewEntry.id)).where(ReviewEntry.status == EntryStatus.PENDING)
        )
        or 0
    )
    _demo_synonyms(session, actor)
    return DemoCatalog(
        resources=created + 1,
        published=version.resource_count,
        pending_entries=pending,
        demands=made,
    )


# Words citizens and officers type, and what the catalog calls them (issue 16).
DEMO_SYNONYMS = (
    ("社保", "社会保险"),
    ("医保", "医疗保险"),
    ("身份证", "公民身份号码"),
    ("户口", "户籍"),
    ("营业执照", "市场主体登记"),
)


def _demo_synonyms(session: Session, actor: Actor) -> None:
    for word, expansion in DEMO_SYNONYMS:
        session.add(SearchSynonym(word=word, expansion=expansion))
    audit.record(
        session,
        actor,
        "demo.catalog.synonyms",
        object_type="search_synonym",
        object_id="demo",
        summary=f"载入演示检索同义词：{len(DEMO_SYNONYMS)} 组",
        change={"synonyms": [list(p) for p in DEMO_SYNONYMS]},
    )


def _dept(session: Session, name: str) -> Department | None:
    return session.scalar(select(Department).where(Department.name == name))


def _compile_all(session: Session, depts: list[Department], city_id: int) -> None:
    from govdata.catalog.models import Submission

    regions = set(
        session.scalars(
            select(Submission.region_id).where(
                Submission.status == SubmissionStatus.PENDING_DISTRICT
            )
        )
    )
    for region_id in sorted(regions):
        admin = Actor(
            person_id=None,
            name="演示区县数据主管部门",
            grants=(RoleGrant(Role.DISTRICT_BUREAU_ADMIN, region_id=region_id),),
        )
        review.compile_district(session, admin, region_id, note="演示：区县汇总")
