"""What the sharing demo makes (issue 13, §9): the requesting departments and their systems, and
one entry per application, registration and objection, each telling a small true-to-life story
under Ch. 4 of the regulation.

Sources are named by handle: ``base.person`` and ``base.legal_entity`` are the base databases
(Art. 16, 25(2)); the others are the aggregation demo's pools, by their resource name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The aggregation demo's pools (``aggregation.demo.resources``), by resource name.
HUKOU = "户籍人口登记信息"  # 市公安局, unconditional
SHEBAO = "社会保险参保人员信息"  # 市人力资源和社会保障局, conditional
SHICHANG = "市场主体登记信息"  # 市市场监督管理局, unconditional
SHUIWU = "纳税人登记信息"  # 市税务局, conditional
LIUDONG = "流动人口居住登记信息"  # 渝中区公安分局, conditional
PERSON = "base.person"
LEGAL = "base.legal_entity"


@dataclass(frozen=True)
class System:
    """A requesting department's information system: a token with ``sharing:read``."""

    department: str
    name: str
    address: str  # the system's address on the e-government network (access records)


SYSTEMS: tuple[System, ...] = (
    System("市民政局", "社会救助信息系统", "10.12.8.21"),
    System("市医疗保障局", "医疗保障信息平台", "10.12.14.7"),
    System("市教育委员会", "学籍管理系统", "10.12.3.40"),
    System("市住房和城乡建设委员会", "商品房网签备案系统", "10.12.9.15"),
    System("渝中区公安分局", "渝中区警务综合平台", "10.31.2.11"),
    System("市税务局", "税收征管系统", "10.12.30.5"),
    System("渝中区市场监督管理局", "渝中区市场监管业务系统", "10.31.5.8"),
    System("市统计局", "统计联网直报系统", "10.12.22.3"),
    System("市卫生健康委员会", "全民健康信息平台", "10.12.16.9"),
    System("市商务委员会", "商务运行监测系统", "10.12.17.4"),
    System("江北区民政局", "江北区社会救助系统", "10.32.4.6"),
    System("渝中区人力资源和社会保障局", "渝中区就业服务系统", "10.31.7.2"),
    System("渝中区民政局", "渝中区社会救助系统", "10.31.6.3"),
)


@dataclass(frozen=True)
class Story:
    """One registration or application and what became of it.

    ``outcome``: ``registered`` (a registration, effective at once), ``approved``,
    ``narrowed``, ``refused``, ``withdrawn``, ``pending``, ``pending_overdue``,
    ``pending_extended``. Days are calendar days before today; ``grant_*`` describe the grant
    an approval gave (narrowed: ``grant_items``, ``row_condition``, ``quota``)."""

    handle: str  # the key calls and objections refer to
    requester: str
    source: str
    items: tuple[str, ...]
    duty: str
    legal_basis: str
    purpose: str
    purpose_code: str
    scenario: str
    outcome: str
    received_days_ago: int
    mode: str = "data"
    answered_days_ago: int | None = None
    valid_days: int = 365  # the period asked for (and granted) from its start
    grant_items: tuple[str, ...] | None = None
    row_condition: dict[str, Any] | None = None
    quota: int | None = None
    expected_daily_calls: int | None = None
    note: str = ""  # the provider's decision note
    refusal_reason: str = ""
    refusal_basis: str = ""
    revoke_days_ago: int | None = None
    revoke_reason: str = ""
    extension_reason: str = ""
    calls: int = 0  # access records under the grant over the last 60 days
    extra: dict[str, Any] = field(default_factory=dict)


PERSON_DUTY_BASIS = "《重庆市政务数据资源管理暂行办法》第二十五条第（二）项"

STORIES: tuple[Story, ...] = (
    # --- registrations for unconditional sources (Art. 24, 26 ¶2): effective at once --------
    Story(
        handle="civil_person",
        requester="市民政局",
        source=PERSON,
        items=("公民身份号码", "姓名", "性别", "出生日期", "住址"),
        duty="最低生活保障、特困人员救助供养对象的认定和动态管理",
        legal_basis="《社会救助暂行办法》第十一条；" + PERSON_DUTY_BASIS,
        purpose="核对社会救助申请人及其家庭成员的身份信息",
        purpose_code="social-assistance-identity",
        scenario="窗口受理救助申请时实时核对；每月对在册对象批量复核",
        outcome="registered",
        received_days_ago=150,
        valid_days=1095,
        expected_daily_calls=300,
        calls=6200,
    ),
    Story(
        handle="medical_person",
        requester="市医疗保障局",
        source=PERSON,
        items=("公民身份号码", "姓名", "性别", "出生日期"),
        duty="城乡居民基本医疗保险参保登记",
        legal_basis="《中华人民共和国社会保险法》第二十五条；" + PERSON_DUTY_BASIS,
        purpose="城乡居民医保参保登记时核对参保人身份",
        purpose_code="medical-insurance-enrolment",
        scenario="参保登记和信息变更时逐人查询",
        outcome="registered",
        received_days_ago=140,
        valid_days=1095,
        expected_daily_calls=250,
        calls=5200,
    ),
    Story(
        handle="education_person",
        requester="市教育委员会",
        source=PERSON,
        items=("公民身份号码", "姓名", "出生日期", "住址"),
        duty="义务教育阶段入学资格审核和学籍管理",
        legal_basis="《中华人民共和国义务教育法》第十二条；" + PERSON_DUTY_BASIS,
        purpose="义务教育入学资格审核和学籍建立",
        purpose_code="school-enrolment",
        scenario="每日增量同步新入学学生身份信息；入学登记时逐人查询",
        outcome="registered",
        received_days_ago=120,
        valid_days=730,
        expected_daily_calls=150,
        calls=3000,
    ),
    Story(
        handle="housing_verify",
        requester="市住房和城乡建设委员会",
        source=PERSON,
        items=("公民身份号码", "姓名"),
        mode="verification",
        duty="商品房买卖合同网签备案",
        legal_basis="《城市房地产开发经营管理条例》第二十七条；" + PERSON_DUTY_BASIS,
        purpose="网签备案时核验购房人身份号码与姓名是否一致（仅核验，不获取数据）",
        purpose_code="housing-buyer-verification",
        scenario="网签备案提交时逐人核验",
        outcome="registered",
        received_days_ago=100,
        expected_daily_calls=200,
        calls=4200,
    ),
    Story(
        handle="yz_police_hukou",
        requester="渝中区公安分局",
        source=HUKOU,
        items=("公民身份号码", "姓名", "性别", "住址", "登记机关"),
        duty="辖区户籍人口和实有人口管理",
        legal_basis="《中华人民共和国户口登记条例》第三条",
        purpose="核查辖区实有人口的户籍登记信息",
        purpose_code="household-check",
        scenario="社区民警入户走访、办理居住登记时查询",
        outcome="registered",
        received_days_ago=110,
        expected_daily_calls=120,
        calls=3000,
    ),
    Story(
        handle="tax_legal",
        requester="市税务局",
        source=LEGAL,
        items=("统一社会信用代码", "企业名称", "法定代表人", "经营状态"),
        duty="纳税人税务登记信息的确认和变更",
        legal_basis="《中华人民共和国税收征收管理法》第十五条；"
        "《重庆市政务数据资源管理暂行办法》第二十五条第（二）项",
        purpose="办理税务登记时核对市场主体登记信息",
        purpose_code="tax-registration-check",
        scenario="“多证合一”登记信息确认；每周批量比对经营状态",
        outcome="registered",
        received_days_ago=130,
        expected_daily_calls=140,
        calls=3000,
    ),
    # --- applications for conditional sources (Art. 24, 26 ¶2) -----------------------------
    Story(
        handle="civil_shebao",
        requester="市民政局",
        source=SHEBAO,
        items=("公民身份号码", "姓名", "参保险种", "参保状态", "缴费基数"),
        duty="社会救助家庭经济状况核对",
        legal_basis="《社会救助暂行办法》第十一条、第六十条",
        purpose="核对社会救助申请家庭成员的就业和收入情况",
        purpose_code="social-assistance-income",
        scenario="救助申请审核和年度复核时逐人查询",
        outcome="approved",
        received_days_ago=95,
        answered_days_ago=88,
        expected_daily_calls=120,
        note="用途符合本资源“仅向履行社会保障、就业服务和社会救助职责的部门提供”的共享条件，"
        "同意按申请提供。",
        calls=2500,
    ),
    Story(
        handle="yz_market_tax",
        requester="渝中区市场监督管理局",
        source=SHUIWU,
        items=(
            "统一社会信用代码",
            "企业名称",
            "纳税人状态",
            "纳税信用等级",
            "登记日期",
            "主管税务机关",
        ),
        duty="辖区市场主体信用分类监管",
        legal_basis="《企业信息公示暂行条例》第十五条；《优化营商环境条例》第五十三条",
        purpose="对辖区市场主体开展信用风险分类监管",
        purpose_code="credit-risk-supervision",
        scenario="每月生成辖区市场主体信用风险分类结果",
        outcome="narrowed",
        received_days_ago=80,
        answered_days_ago=72,
        expected_daily_calls=600,
        grant_items=("统一社会信用代码", "企业名称", "纳税人状态", "纳税信用等级"),
        row_condition={"item": "主管税务机关", "values": ["国家税务总局重庆市渝中区税务局"]},
        quota=300,
        valid_days=180,
        note="按最小必要原则缩减：仅提供信用分类所需的4个信息项，数据范围限于渝中区主管的"
        "纳税人，每日调用不超过300次。",
        calls=1500,
    ),
    Story(
        handle="stats_shebao",
        requester="市统计局",
        source=SHEBAO,
        items=("公民身份号码", "参保险种", "参保状态", "参保日期"),
        duty="就业和社会保障统计调查",
        legal_basis="《中华人民共和国统计法》第七条",
        purpose="编制季度就业和社会保险参保统计",
        purpose_code="employment-statistics",
        scenario="每季度末批量获取",
        outcome="approved",
        received_days_ago=220,
        answered_days_ago=212,
        valid_days=190,  # expired some days ago: the statistics office has to apply again
        expected_daily_calls=40,
        note="同意提供，授权期限至本季度统计工作结束。",
        calls=900,
    ),
    Story(
        handle="health_shebao",
        requester="市卫生健康委员会",
        source=SHEBAO,
        items=("公民身份号码", "姓名", "参保状态"),
        duty="家庭医生签约服务管理",
        legal_basis="《中华人民共和国基本医疗卫生与健康促进法》第三十一条",
        purpose="核对家庭医生签约居民的医保参保状态",
        purpose_code="family-doctor-signing",
        scenario="签约时逐人查询",
        outcome="approved",
        received_days_ago=90,
        answered_days_ago=84,
        expected_daily_calls=80,
        note="同意按申请提供。",
        revoke_days_ago=9,
        revoke_reason="监测发现该系统在非工作时间批量调用参保信息，调用量远超申请的日均调用量，"
        "与授权用途不符（第四十条、第五十条第（五）项），撤销授权；整改后可重新申请。",
        calls=1400,
    ),
    Story(
        handle="commerce_shebao",
        requester="市商务委员会",
        source=SHEBAO,
        items=("公民身份号码", "姓名", "参保单位名称", "缴费基数"),
        duty="商贸流通行业运行监测",
        legal_basis="《重庆市促进消费条例》",
        purpose="分析商贸企业从业人员收入水平，服务促消费政策制定",
        purpose_code="consumption-analysis",
        scenario="按月批量获取",
        outcome="refused",
        expected_daily_calls=30,
        received_days_ago=45,
        answered_days_ago=38,
        refusal_reason="申请用途为行业统计分析，不属于本资源共享条件所列的社会保障、就业服务和"
        "社会救助职责；且申请逐人获取缴费基数，超出分析所需。",
        refusal_basis="《中华人民共和国社会保险法》第八十一条；本资源共享条件“仅向履行社会保障、"
        "就业服务和社会救助职责的部门提供”（第二十四条、第二十五条第（一）项）",
    ),
    Story(
        handle="yz_civil_liudong",
        requester="渝中区民政局",
        source=LIUDONG,
        items=("公民身份号码", "姓名", "户籍地", "居住地址", "居住事由"),
        duty="流动人口临时救助",
        legal_basis="《社会救助暂行办法》第四十七条、第五十条",
        purpose="对在渝中区居住的流动人口实施临时救助时核实居住情况",
        purpose_code="temporary-assistance",
        scenario="受理临时救助申请时逐人查询",
        outcome="refused",
        expected_daily_calls=20,
        received_days_ago=70,
        answered_days_ago=62,
        refusal_reason="临时救助以户籍地为主，居住登记信息涉及个人隐私，申请的信息项超出需要。",
        refusal_basis="《居住证暂行条例》第十六条",
    ),
    Story(
        handle="jb_civil_liudong",
        requester="江北区民政局",
        source=LIUDONG,
        items=("公民身份号码", "姓名", "居住地址"),
        duty="流动人口临时救助",
        legal_basis="《社会救助暂行办法》第四十七条",
        purpose="核实跨区流动的临时救助申请人居住情况",
        purpose_code="temporary-assistance",
        scenario="受理临时救助申请时逐人查询",
        outcome="withdrawn",  # the person turned out to live in 江北区: nothing to ask 渝中区 for
        received_days_ago=30,
        answered_days_ago=27,
        expected_daily_calls=10,
    ),
    Story(
        handle="yz_hrss_liudong",
        requester="渝中区人力资源和社会保障局",
        source=LIUDONG,
        items=("公民身份号码", "姓名", "居住地址", "居住事由"),
        duty="流动人口就业服务和就业登记",
        legal_basis="《就业服务与就业管理规定》第六十一条",
        purpose="为在渝中区务工的流动人口办理就业登记和提供就业服务",
        purpose_code="employment-service",
        scenario="就业登记时逐人查询",
        outcome="pending",
        received_days_ago=2,
        expected_daily_calls=60,
    ),
    Story(
        handle="housing_shebao",
        requester="市住房和城乡建设委员会",
        source=SHEBAO,
        items=("公民身份号码", "姓名", "参保单位名称", "参保日期"),
        duty="公共租赁住房申请资格审核",
        legal_basis="《公共租赁住房管理办法》第七条",
        purpose="审核公租房申请人在本市的社会保险缴纳年限",
        purpose_code="public-housing-eligibility",
        scenario="公租房申请集中审核期间批量核对",
        outcome="pending_overdue",
        received_days_ago=26,
        expected_daily_calls=100,
    ),
    Story(
        handle="medical_shebao",
        requester="市医疗保障局",
        source=SHEBAO,
        items=("公民身份号码", "姓名", "参保险种", "参保状态", "参保单位名称"),
        duty="职工基本医疗保险和城乡居民医保重复参保治理",
        legal_basis="《医疗保障基金使用监督管理条例》第十五条",
        purpose="比对职工社会保险参保情况，清理重复参保",
        purpose_code="duplicate-enrolment-check",
        scenario="每月批量比对",
        outcome="pending_extended",
        received_days_ago=16,
        expected_daily_calls=200,
        extension_reason="涉及全市参保人员比对，需会同信息中心评估批量调用对系统的影响，"
        "经主要负责人同意延长答复期限。",
    ),
)


@dataclass(frozen=True)
class Dispute:
    """An objection (Art. 27) against a story's refusal, and how far it went."""

    story: str  # the refused application
    status: str  # coordinating / settled
    received_days_ago: int
    reason: str
    requested: str
    notes: tuple[tuple[str, str], ...]  # (who: bureau / provider / objector, text)
    outcome: str = ""
    result: str = ""  # upheld / partly / dismissed (``ObjectionResult``), when settled
    settled_days_ago: int | None = None
    ordered_items: tuple[str, ...] = ()
    ordered_calls: int = 0


DISPUTES: tuple[Dispute, ...] = (
    Dispute(
        story="commerce_shebao",
        status="coordinating",
        received_days_ago=20,
        reason="促消费政策需要掌握商贸行业从业人员收入水平，拒绝提供影响政策制定。",
        requested="请求提供参保单位名称和缴费基数，或提供按行业汇总的统计数据。",
        notes=(
            (
                "bureau",
                "已受理。请市人力资源和社会保障局说明不予共享的依据，并研究能否提供按行业"
                "汇总、不含个人信息的统计结果。",
            ),
            (
                "provider",
                "逐人缴费基数属于个人信息，申请用途不在共享条件之内；可按行业提供汇总"
                "统计数，需市商务委员会明确行业口径。",
            ),
            ("objector", "同意改为按国民经济行业分类（门类）汇总，不再申请逐人数据。"),
        ),
    ),
    Dispute(
        story="yz_civil_liudong",
        status="settled",
        received_days_ago=58,
        reason="临时救助对象包括在本区居住的流动人口，须核实其居住情况，拒绝提供影响救助。",
        requested="请求提供流动人口的居住地址和居住事由。",
        notes=(
            ("bureau", "已受理，会同渝中区公安分局协调。"),
            ("provider", "同意提供核实居住情况所需的信息项，户籍地不予提供。"),
        ),
        outcome="经协调，渝中区公安分局向渝中区民政局提供身份号码、姓名、居住地址和居住事由，"
        "仅用于临时救助，户籍地不予提供。",
        result="partly",  # the 户籍地 is not given
        settled_days_ago=50,
        ordered_items=("公民身份号码", "姓名", "居住地址", "居住事由"),
        ordered_calls=500,
    ),
)

assert {s.requester for s in STORIES} <= {s.department for s in SYSTEMS}

# Refusal codes of the data access API (``sharing.errors``) mixed into the calls, by weight.
REFUSALS: tuple[tuple[str, int], ...] = (
    ("sharing.purpose_mismatch", 3),
    ("sharing.item_not_granted", 4),
    ("sharing.system_not_named", 1),
    ("request.rate_limited", 2),
)
