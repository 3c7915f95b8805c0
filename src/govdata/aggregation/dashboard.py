"""The aggregation card on a department's home page (Art. 17–19): its pools and the
corrections of its data waiting for its answer, each figure opening the list it counts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.aggregation import corrections, policy
from govdata.aggregation.models import CorrectionStatus, Pool
from govdata.core.actor import Actor
from govdata.web.domain import Section, Stat

INCOMING = "/aggregation/corrections?view=incoming&status=" + CorrectionStatus.OPEN.value


def sections(session: Session, actor: Actor) -> list[Section]:
    departments = policy.correction_departments(actor)
    if actor.token_id is not None or not departments:
        return []
    pools = (
        session.scalar(
            select(func.count())
            .select_from(Pool)
            .where(Pool.department_id.in_(sorted(departments)))
        )
        or 0
    )
    waiting = corrections.list_corrections(
        session, actor, status=CorrectionStatus.OPEN.value, direction="incoming", limit=1
    ).total
    overdue = corrections.list_corrections(
        session,
        actor,
        status=CorrectionStatus.OPEN.value,
        direction="incoming",
        overdue_only=True,
        limit=1,
    ).total
    return [
        Section(
            "数据汇聚",
            [
                Stat("aggregation_pools", "本部门数据资源池", pools, "/aggregation/pools"),
                Stat("corrections_waiting", "待本部门答复的数据校核", waiting, INCOMING),
                Stat(
                    "corrections_overdue",
                    "逾期未答复的数据校核",
                    overdue,
                    INCOMING + "&overdue=1",
                ),
            ],
        )
    ]
