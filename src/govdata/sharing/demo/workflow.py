"""The demo's applications and grants (Art. 24–26), made as the services would.

Grants are made and revoked through ``sharing.grants`` (``create``, ``revoke``). Applications,
registrations, their answers and extensions are written here, one function per step
(``_registration``, ``_application``, ``_answer``, ``_extend``; objections in ``disputes``),
with the fields, statutory clocks (``core.calendar``, ``core.obligations``) and audit events
their services set; at merge each is swapped for its service call. Dates lie in the past (the
story's ``*_days_ago``); the audit events are written now, by the demo.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import audit, obligations
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.crypto import sm3_hex, token_digest
from govdata.core.db import utcnow
from govdata.core.workdays import WorkCalendar
from govdata.org.auth import TOKEN_PREFIX
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import ApiToken, Department, Person, Region
from govdata.org.schemas import GrantIn, PersonCreate
from govdata.org.service import create_person, role_grants
from govdata.sharing import grants
from govdata.sharing.demo.plan import SYSTEMS, Story
from govdata.sharing.models import (
    ApplicationKind,
    ApplicationStatus,
    Grant,
    GrantMode,
    GrantOrigin,
    ShareApplication,
)
from govdata.sharing.policy import SHARING_SCOPE
from govdata.sharing.sources import SharedSource

BEIJING = ZoneInfo("Asia/Shanghai")
ANSWER_WORKING_DAYS = 10  # Art. 26 ¶2 as the platform applies it (the correction's period)

# The clocks' kinds: the applications and objections services declare them; until they are
# merged the demo opens its obligations under the same codes (the to-do list shows unknown
# kinds by their code).
APPLICATION_KIND = "sharing.application"
OBJECTION_KIND = "sharing.objection"


def _kind(code: str, label: str, article: str, href: str) -> obligations.Kind:
    return obligations.kinds().get(code) or obligations.Kind(
        code=code,
        label=label,
        article=article,
        working_days=ANSWER_WORKING_DAYS,
        extendable=code == APPLICATION_KIND,
        href=href,
    )


def application_kind() -> obligations.Kind:
    return _kind(
        APPLICATION_KIND,
        "答复共享申请",
        "第二十六条第二款",
        "/sharing/applications/{subject_id}",
    )


def objection_kind() -> obligations.Kind:
    return _kind(
        OBJECTION_KIND, "协调处理共享异议", "第二十七条", "/sharing/objections/{subject_id}"
    )


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A Beijing wall-clock time on ``day``, as the UTC datetime the tables store."""
    return datetime.combine(day, time(hour, minute), BEIJING).astimezone(UTC)


# --- who acts ----------------------------------------------------------------------------------


@dataclass
class World:
    session: Session
    today: date
    cal: WorkCalendar
    depts: dict[str, Department]
    regions: dict[int, Region]
    sources: dict[str, SharedSource]
    tokens: dict[str, ApiToken]  # department name -> its system's token
    city: Actor

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)

    def officer(self, dept_name: str) -> Actor:
        """The department's demo account when it has one, else its named officer (no login)."""
        dept = self.depts[dept_name]
        for person in self.session.scalars(
            select(Person).where(Person.department_id == dept.id, Person.username.like("demo.%"))
        ):
            actor = Actor(
                person_id=person.id,
                name=person.name,
                grants=role_grants(self.session, person.id),
            )
            if dept.id in actor.department_ids(Role.DEPARTMENT_OFFICER):
                return actor
        return Actor(
            person_id=None,
            name=f"{dept_name}数据专职人员",
            grants=(RoleGrant(Role.DEPARTMENT_OFFICER, department_id=dept.id),),
        )

    def bureau(self, region_id: int) -> Actor:
        """Who coordinates for a provider of ``region_id`` (Art. 6, 27): the city bureau, or
        the district's bureau (its demo account when it is that district's)."""
        region = self.regions[region_id]
        if region.kind == "city":
            return self.city
        person = self.session.scalar(select(Person).where(Person.username == "demo.district"))
        if person is not None:
            actor = Actor(
                person_id=person.id, name=person.name, grants=role_grants(self.session, person.id)
            )
            if region_id in actor.region_ids():
                return actor
        return Actor(
            person_id=None,
            name=f"{region.name}数据主管部门",
            grants=(RoleGrant(Role.DISTRICT_BUREAU_ADMIN, region_id=region_id),),
        )


def actor_of(session: Session, username: str) -> Actor | None:
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        return None
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


# --- tokens -------------------------------------------------------------------------------------


def demo_secret(dept_code: str) -> str:
    """A demo system's bearer secret, derived from its department's code: a published demo
    credential like ``org.demo.DEMO_PASSWORD`` (printed on every start), never for production."""
    digest = sm3_hex(f"govdata-demo-sharing-token:{dept_code}".encode())
    return f"{TOKEN_PREFIX}demo{digest[:4]}_{digest[4:44]}"


def issue_tokens(session: Session, depts: dict[str, Department]) -> dict[str, ApiToken]:
    """Each requesting department's system gets a token with ``sharing:read`` (Art. 22, 26 ¶2),
    recorded as ``org.auth.issue_token`` records it, with the demo's known secret."""
    out: dict[str, ApiToken] = {}
    now = utcnow()
    for system in SYSTEMS:
        dept = depts[system.department]
        secret = demo_secret(dept.code)
        token = session.scalar(select(ApiToken).where(ApiToken.digest == token_digest(secret)))
        if token is None:
            token = ApiToken(
                department_id=dept.id,
                name=system.name,
                prefix=secret[len(TOKEN_PREFIX) :].split("_")[0][:16],
                digest=token_digest(secret),
                scopes=SHARING_SCOPE,
                created_by=None,
                created_at=now,
                expires_at=now + timedelta(days=365),
            )
            session.add(token)
            session.flush()
            audit.record(
                session,
                BOOTSTRAP,
                "org.token.issue",
                object_type="api_token",
                object_id=token.id,
                summary=f"为{dept.name}签发接口令牌“{token.name}”（{token.prefix}，演示）",
                change={"scopes": token.scopes, "expires_at": token.expires_at.isoformat()},
                region_id=dept.region_id,
                department_id=dept.id,
            )
        out[system.department] = token
    return out


def department_head(w: World, dept_name: str) -> Actor:
    """The provider's head, who approves an extension (product decision, as Art. 19 ¶2): a named
    person without a known password (no demo login)."""
    dept = w.depts[dept_name]
    username = f"demo.head{dept.id}"
    person = w.session.scalar(select(Person).where(Person.username == username))
    if person is None:
        person = create_person(
            w.session,
            BOOTSTRAP,
            PersonCreate(
                username=username,
                name=f"{dept_name.removeprefix('市')}主要负责人",
                password=secrets.token_urlsafe(24),
                department_id=dept.id,
                kind="staff",
                grants=[GrantIn(role=Role.DEPARTMENT_HEAD, department_id=dept.id)],
            ),
        )
    return Actor(person_id=person.id, name=person.name, grants=role_grants(w.session, person.id))


# --- applications and registrations -------------------------------------------------------------


def _new(w: World, story: Story, kind: ApplicationKind) -> ShareApplication:
    source = w.sources[story.source]
    requester = w.depts[story.requester]
    officer = w.officer(story.requester)
    received = w.day(story.received_days_ago)
    token = w.tokens[story.requester]
    app = ShareApplication(
        kind=kind.value,
        status=ApplicationStatus.PENDING.value,
        requester_department_id=requester.id,
        provider_department_id=source.provider_department_id,
        source_code=source.code,
        source_kind=source.kind.value,
        source_name=source.name,
        resource_id=source.resource_id,
        mode=story.mode,
        items=list(story.items),
        duty=story.duty,
        legal_basis=story.legal_basis,
        purpose=story.purpose,
        purpose_code=story.purpose_code,
        scenario=story.scenario,
        calling_system=token.name,
        token_ids=[token.id],
        period_from=received,
        period_until=received + timedelta(days=story.valid_days) if story.valid_days else None,
        expected_daily_calls=story.expected_daily_calls,
        row_condition=None,
        created_by=officer.person_id,
        created_by_name=officer.name[:64],
        created_at=at(received, 9, 30),
    )
    w.session.add(app)
    w.session.flush()
    return app


def grant_for(
    w: World,
    story: Story,
    app: ShareApplication | None,
    *,
    actor: Actor,
    origin: GrantOrigin,
    valid_from: date,
    items: tuple[str, ...],
    objection_id: int | None = None,
) -> Grant:
    source = w.sources[story.source]
    grant = grants.create(
        w.session,
        actor,
        origin=origin,
        source=source,
        requester_department_id=w.depts[story.requester].id,
        items=list(items),
        mode=GrantMode(story.mode),
        row_condition=story.row_condition if origin is not GrantOrigin.ORDER else None,
        duty=story.duty,
        legal_basis=story.legal_basis,
        purpose=story.purpose,
        purpose_code=story.purpose_code,
        valid_from=valid_from,
        expires_on=valid_from + timedelta(days=story.valid_days) if story.valid_days else None,
        daily_quota=story.quota if origin is not GrantOrigin.ORDER else None,
        token_ids=[w.tokens[story.requester].id],
        application_id=app.id if app is not None else None,
        objection_id=objection_id,
    )
    grant.created_at = at(valid_from, 15, 30)  # made on the day it took effect
    return grant


def _registration(w: World, story: Story) -> tuple[ShareApplication, Grant]:
    """无条件共享登记 (Art. 24, 26 ¶2): effective at once, a grant as registered, no clock."""
    app = _new(w, story, ApplicationKind.REGISTRATION)
    app.status = ApplicationStatus.REGISTERED.value
    officer = w.officer(story.requester)
    audit.record(
        w.session,
        officer,
        "sharing.application_registered",
        object_type="share_application",
        object_id=app.id,
        summary=f"{story.requester}登记共享{app.source_name}（无条件共享，登记即生效）",
        change={"source": app.source_code, "items": app.items, "purpose": app.purpose_code},
        department_id=app.requester_department_id,
    )
    grant = grant_for(
        w,
        story,
        app,
        actor=officer,
        origin=GrantOrigin.REGISTRATION,
        valid_from=app.period_from,
        items=story.items,
    )
    app.grant_id = grant.id
    return app, grant


def _application(w: World, story: Story) -> ShareApplication:
    """有条件共享申请 (Art. 24, 26 ¶2): received, the provider's clock starts (10 working
    days, obligation ``sharing.application``)."""
    app = _new(w, story, ApplicationKind.APPLICATION)
    app.row_condition = None
    received = w.day(story.received_days_ago)
    kind = application_kind()
    deadline = obligations.deadline(w.session, kind, received)
    app.received_on = received
    app.due_on = deadline.due
    app.due_provisional = deadline.provisional
    officer = w.officer(story.requester)
    audit.record(
        w.session,
        officer,
        "sharing.application_submitted",
        object_type="share_application",
        object_id=app.id,
        summary=f"{story.requester}申请共享{app.source_name}（有条件共享），"
        f"应于{deadline.due.isoformat()}前答复",
        change={"source": app.source_code, "items": app.items, "purpose": app.purpose_code},
        department_id=app.requester_department_id,
    )
    provider = w.session.get(Department, app.provider_department_id)
    assert provider is not None
    obligations.open(
        w.session,
        officer,
        kind,
        subject_type="share_application",
        subject_id=app.id,
        department_id=provider.id,
        region_id=provider.region_id,
        title=f"第{app.id}号共享申请：{story.requester}申请{app.source_name}",
        deadline=deadline,
    )
    return app


def _answer(w: World, story: Story, app: ShareApplication) -> Grant | None:
    """The provider's answer (approved, narrowed, refused) or the requester's withdrawal; the
    clock stops on that day."""
    assert story.answered_days_ago is not None
    answered = w.day(story.answered_days_ago)
    status = ApplicationStatus(
        {"approved": "approved", "narrowed": "narrowed", "refused": "refused"}.get(
            story.outcome, "withdrawn"
        )
    )
    provider_name = next(n for n, d in w.depts.items() if d.id == app.provider_department_id)
    actor = w.officer(story.requester if status is ApplicationStatus.WITHDRAWN else provider_name)
    app.status = status.value
    app.answered_on = answered
    grant: Grant | None = None
    if status is ApplicationStatus.WITHDRAWN:
        app.decision_note = story.note
    else:
        app.decided_by = actor.person_id
        app.decided_at = at(answered, 15, 20)
        app.decision_note = story.note
        app.refusal_reason = story.refusal_reason
        app.refusal_basis = story.refusal_basis
    if status in (ApplicationStatus.APPROVED, ApplicationStatus.NARROWED):
        grant = grant_for(
            w,
            story,
            app,
            actor=actor,
            origin=GrantOrigin.APPLICATION,
            valid_from=answered,
            items=story.grant_items or story.items,
        )
        app.grant_id = grant.id
    audit.record(
        w.session,
        actor,
        f"sharing.application_{status.value}",
        object_type="share_application",
        object_id=app.id,
        summary=f"第{app.id}号共享申请{status.label}（{answered.isoformat()}）",
        change={
            "status": status.value,
            "answered_on": answered,
            "grant": app.grant_id,
            "reason": app.refusal_reason,
            "basis": app.refusal_basis,
        },
        department_id=app.provider_department_id,
    )
    obligations.answer(
        w.session,
        actor,
        application_kind(),
        subject_type="share_application",
        subject_id=app.id,
        answered_on=answered,
    )
    return grant


def _extend(w: World, story: Story, app: ShareApplication) -> None:
    """One extension of at most 10 working days with the provider's head's approval (product
    decision, as Art. 19 ¶2), on the application and its obligation alike."""
    provider_name = next(n for n, d in w.depts.items() if d.id == app.provider_department_id)
    head = department_head(w, provider_name)
    assert head.person_id is not None and app.received_on is not None
    kind = application_kind()
    ob = obligations.find(w.session, kind, "share_application", app.id)
    assert ob is not None
    extended = ob.deadline.extend(w.cal, ANSWER_WORKING_DAYS, approved_by=head.person_id)
    on = w.day(max(story.received_days_ago - 12, 0))
    for row in (app, ob):
        row.due_on = extended.due
        row.original_due_on = extended.original_due
        row.extension_days = extended.extension_days
        row.extended_by = head.person_id
        row.extension_reason = story.extension_reason
    app.due_provisional = extended.provisional
    ob.provisional = extended.provisional
    ob.extended_on = on
    ob.extension_requested_days = extended.extension_days
    ob.extension_requested_by = w.officer(provider_name).person_id
    ob.extension_requested_on = on
    audit.record(
        w.session,
        head,
        "sharing.application_extended",
        object_type="share_application",
        object_id=app.id,
        summary=f"第{app.id}号共享申请的答复期限延长{extended.extension_days}个工作日，"
        f"至{extended.due.isoformat()}",
        change={"due_on": extended.due, "original_due_on": extended.original_due},
        department_id=app.provider_department_id,
    )


def make_story(w: World, story: Story) -> tuple[ShareApplication, Grant | None]:
    """One story, through to its outcome (and a revocation, Art. 50(4)(5))."""
    if story.outcome == "registered":
        return _registration(w, story)
    app = _application(w, story)
    grant: Grant | None = None
    if story.outcome == "pending_extended":
        _extend(w, story, app)
    elif not story.outcome.startswith("pending"):
        grant = _answer(w, story, app)
    if grant is not None and story.revoke_days_ago is not None:
        grants.revoke(w.session, w.city, grant.id, story.revoke_reason)
        grant.revoked_at = at(w.day(story.revoke_days_ago), 16, 45)
    return app, grant
