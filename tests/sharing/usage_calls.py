"""Access records of sharing calls, written as the data access API writes them
(``sharing.access.record_call``'s fields), so the usage and "who used my data" tests need not
wait for the API: a department system's token, the grant, purpose, source, rows, outcome."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from govdata.core.access import record_access
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.crypto import subject_digest
from govdata.sharing.models import Grant, GrantOrigin

# A fixed moment: 2026-03-02 10:00 Beijing time (02:00 UTC).
NOON = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def system(department_id: int, token_id: int, name: str = "业务系统") -> Actor:
    """A department system's token actor (as ``org.auth`` resolves one)."""
    return Actor(
        person_id=None,
        name=name,
        grants=(RoleGrant(Role.DEPARTMENT_SYSTEM, department_id=department_id),),
        token_id=token_id,
        scopes=frozenset({"sharing:read"}),
    )


def call(
    session: Session,
    *,
    requester: int,
    provider: int,
    source: str = "SRC-1",
    token_id: int = 900,
    system_name: str = "业务系统",
    action: str = "sharing.lookup",
    at: datetime = NOON,
    grant_id: int | None = None,
    purpose: str = "household-check",
    fields: tuple[str, ...] = ("公民身份号码", "姓名"),
    rows: int = 1,
    outcome: str = "allowed",
    reason: str = "",
    subject: str | None = None,
) -> None:
    record_access(
        session,
        system(requester, token_id, system_name),
        action,
        object_type="share_source",
        object_id=source,
        rows=rows if outcome == "allowed" else 0,
        personal=False,  # the personal-data budget is core's to test
        owner_department_id=provider,
        fields=list(fields),
        outcome="allowed" if outcome == "allowed" else "refused",
        reason=reason,
        at=at,
        grant_id=grant_id,
        purpose=purpose,
        subject_digest=subject_digest(subject) if subject else None,
    )


def grant(
    session: Session,
    *,
    requester: int,
    provider: int,
    source: str = "SRC-1",
    source_name: str = "户籍人口基本信息",
    purpose: str = "核查辖区户籍人口信息",
    duty: str = "户籍管理（《户口登记条例》第三条）",
    daily_quota: int | None = None,
) -> Grant:
    """A grant row as the grants service stores it (its rules are tested in test_sources)."""
    g = Grant(
        origin=GrantOrigin.APPLICATION,
        requester_department_id=requester,
        provider_department_id=provider,
        source_code=source,
        source_kind="pool",
        source_name=source_name,
        items=["公民身份号码", "姓名"],
        duty=duty,
        legal_basis="《中华人民共和国户口登记条例》",
        purpose=purpose,
        purpose_code="household-check",
        valid_from=date(2026, 1, 1),
        daily_quota=daily_quota,
    )
    session.add(g)
    session.flush()
    return g
