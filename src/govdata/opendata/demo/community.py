"""The demo city's feedback, data requests and reuses (Art. 36, 37), in every state: feedback
published (one answered by the bureau), pending and rejected; requests pending, answered with
the dataset now open, and rejected; reuses published, pending and rejected.

Made through the services, acting as the people who would take each step: identified public
accounts contribute (``demo.citizen`` once its identity is checked; staff accounts, who are
identified by their department, otherwise), ``demo.city`` moderates and answers. Loaded once:
a database that already has contributions is left alone.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.opendata import data_requests, datasets, feedback, policy, reuses
from govdata.opendata.contributions import Decision
from govdata.opendata.models import DataRequest, DatasetFeedback, OpenDataset, Reuse
from govdata.org.models import Person
from govdata.org.service import role_grants

BUREAU = "demo.city"
CONTRIBUTORS = ("demo.citizen", "demo.company", "demo.officer2", "demo.district", "demo.officer")
COMMENTS = [
    (5, "字段说明清楚，更新及时，已用于出行小程序。"),
    (4, "数据质量不错，希望增加按区县的汇总。"),
    (2, "部分记录的更新日期较旧。"),
    (1, "（广告内容）"),
]


def _actor(session: Session, username: str) -> Actor | None:
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        return None
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def _count(session: Session, model: type[DatasetFeedback | DataRequest | Reuse]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def demo_community(session: Session) -> int:
    """Load the demo contributions; returns how many feedback, requests and reuses were made
    (0 when the demo city is missing or they exist already)."""
    if any(_count(session, m) for m in (DatasetFeedback, DataRequest, Reuse)):
        return 0
    datasets.ensure_synced(session)
    bureau = _actor(session, BUREAU)
    people = [a for a in (_actor(session, u) for u in CONTRIBUTORS) if a is not None]
    people = [a for a in people if policy.identity_checked(session, a)]
    open_sets = list(
        session.scalars(
            select(OpenDataset)
            .where(OpenDataset.withdrawn.is_(False))
            .order_by(OpenDataset.downloads.desc(), OpenDataset.code)
            .limit(4)
        )
    )
    if bureau is None or not people or not open_sets:
        return 0
    made = 0
    # Feedback: each (person, dataset) pair at most once (one rating per person per dataset).
    pairs = [(who, d) for d in open_sets for who in people]
    states = [Decision.PUBLISH, Decision.PUBLISH, None, Decision.REJECT]
    for i, ((rating, comment), (who, dataset)) in enumerate(zip(COMMENTS, pairs, strict=False)):
        row = feedback.submit(session, who, dataset.code, rating=rating, comment=comment)
        made += 1
        decision = states[i]
        if decision is Decision.PUBLISH:
            feedback.moderate(session, bureau, row.id, decision)
            if i == 0:
                feedback.reply(session, bureau, row.id, "感谢反馈，该数据集按日更新。")
        elif decision is Decision.REJECT:
            feedback.moderate(session, bureau, row.id, decision, "与数据集无关的推广内容。")
    # Data requests: pending, answered with the dataset now open, rejected.
    asker = people[0]
    pending = [
        ("公交线路实时到站数据", "用于出行应用，希望按线路提供到站预测。"),
        ("公共停车场空余车位", "用于停车导航，希望分钟级更新。"),
    ]
    for title, description in pending:
        data_requests.submit(session, asker, title=title, description=description)
        made += 1
    answered = data_requests.submit(
        session, asker, title=f"{open_sets[0].name}开放", description="希望开放该数据用于研究。"
    )
    data_requests.answer(
        session,
        bureau,
        answered.id,
        status="answered",
        text="已在开放目录中开放，可在数据集页面获取。",
        dataset_code=open_sets[0].code,
    )
    rejected = data_requests.submit(
        session, asker, title="某企业员工个人信息", description="用于招聘背景调查。"
    )
    data_requests.answer(
        session,
        bureau,
        rejected.id,
        status="rejected",
        text="涉及个人信息，依法不予开放（《办法》第三十条）。",
    )
    made += 2
    # Reuses: two published, one pending, one rejected.
    codes = [d.code for d in open_sets]
    plan = [
        (
            "app",
            "渝快查",
            "查询市场主体登记状态的小程序。",
            "https://example.cn/yukuaicha",
            Decision.PUBLISH,
        ),
        (
            "visualization",
            "重庆人口分布图",
            "按区县展示的人口分布可视化。",
            "https://example.cn/viz",
            Decision.PUBLISH,
        ),
        (
            "research",
            "城市活力指数研究",
            "基于开放数据的城市活力研究论文。",
            "https://example.cn/paper",
            None,
        ),
        ("news", "推广链接", "与开放数据无关的内容。", "https://example.cn/ad", Decision.REJECT),
    ]
    for n, (kind, title, description, url, decision) in enumerate(plan):
        row_r = reuses.submit(
            session,
            people[n % len(people)],
            kind=kind,
            title=title,
            description=description,
            url=url,
            dataset_codes=codes[: 1 + n % len(codes)],
        )
        made += 1
        if decision is Decision.PUBLISH:
            reuses.moderate(session, bureau, row_r.id, decision)
        elif decision is Decision.REJECT:
            reuses.moderate(session, bureau, row_r.id, decision, "内容与开放数据无关。")
    return made
