"""Applications in the states an objection is about, stored directly (the application workflow
is tested in test_applications); the sharing city is ``tests.sharing.helpers``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from govdata.core import calendar
from govdata.sharing.models import ApplicationKind, ApplicationStatus, ShareApplication
from govdata.sharing.sources import SharedSource
from tests.world import World


def application(
    session: Session,
    world: World,
    source: SharedSource,
    status: ApplicationStatus,
    *,
    items: list[str] | None = None,
) -> ShareApplication:
    """An application of 渝中区公安分局 to ``source``'s provider, answered with ``status``."""
    today = calendar.today()
    app = ShareApplication(
        kind=ApplicationKind.APPLICATION.value,
        status=status.value,
        requester_department_id=world.yz_police,
        provider_department_id=source.provider_department_id,
        source_code=source.code,
        source_kind=source.kind.value,
        source_name=source.name,
        resource_id=source.resource_id,
        items=items or ["公民身份号码", "姓名", "经营状态"],
        duty="社会救助对象核查（《社会救助暂行办法》第十一条）",
        legal_basis="《社会救助暂行办法》",
        purpose="核查救助申请人的经营状况",
        purpose_code="relief-check",
        calling_system="渝中区救助核查系统",
        token_ids=[],
        period_from=today,
        period_until=today + timedelta(days=365),
        received_on=today,
        due_on=today + timedelta(days=14),
        answered_on=today,
        refusal_reason="不符合共享条件" if status == ApplicationStatus.REFUSED else "",
        refusal_basis="《市场主体登记管理条例》" if status == ApplicationStatus.REFUSED else "",
        created_by_name="周专员",
    )
    session.add(app)
    session.flush()
    return app
