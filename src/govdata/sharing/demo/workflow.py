"""The demo's applications and grants (Art. 24–26), made through the platform's own services.

Every step is the service call the person who would take it makes: the requester's officer
registers or applies (``sharing.applications.submit``) and may withdraw; the provider's officer
approves, narrows or refuses, and asks its head to extend the period, which the head approves
(``request_extension``, ``approve_extension``: the register's rules); the bureau revokes
(``sharing.grants.revoke``). So the rows, audit events and obligations (kind
``sharing.application``) are exactly what the platform produces.

The services work on today's date (they take no ``today``), and the demo tells stories that
began weeks or months ago. So each story is played today and its rows are then moved to the
story's dates (``_move_application``): the receipt day and the statutory deadline recomputed
from it on the calendar (on the application and its obligation alike), the answer day, the
period and the grant's validity, the revocation. The audit events keep the time they were
written: now, by the demo's load.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import audit, obligations
from govdata.core.actor import Actor, Role
from govdata.core.crypto import sm3_hex, token_digest
from govdata.core.db import utcnow
from govdata.core.workdays import WorkCalendar
from govdata.org.auth import TOKEN_PREFIX
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import ApiToken, Department, Person, Region
from govdata.org.schemas import GrantIn, PersonCreate
from govdata.org.service import create_person, role_grants
from govdata.sharing import applications, grants
from govdata.sharing.deadlines import APPLICATION, SUBJECT
from govdata.sharing.demo.plan import SYSTEMS, Story
from govdata.sharing.models import (
    ApplicationKind,
    ApplicationStatus,
    Grant,
    GrantMode,
    ShareApplication,
)
from govdata.sharing.policy import SHARING_SCOPE
from govdata.sharing.sources import SharedSource

BEIJING = ZoneInfo("Asia/Shanghai")


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
        """The department's demo account when it has one, else its named officer (a person
        made for the demo, without a known password: the services act for people only)."""
        dept = self.depts[dept_name]
        for person in self.session.scalars(
            select(Person)
            .where(Person.department_id == dept.id, Person.username.like("demo.%"))
            .order_by(Person.id)
        ):
            actor = _actor(self.session, person)
            if dept.id in actor.department_ids(Role.DEPARTMENT_OFFICER):
                return actor
        return _named(
            self.session,
            f"demo.officer{dept.id}",
            f"{dept_name}数据专职人员",
            GrantIn(role=Role.DEPARTMENT_OFFICER, department_id=dept.id),
            department_id=dept.id,
        )

    def bureau(self, region_id: int) -> Actor:
        """Who coordinates for a provider of ``region_id`` (Art. 6, 27): the city bureau, or
        the district's bureau (its demo account when it is that district's)."""
        region = self.regions[region_id]
        if region.kind == "city":
            return self.city
        person = self.session.scalar(select(Person).where(Person.username == "demo.district"))
        if person is not None:
            actor = _actor(self.session, person)
            if region_id in actor.region_ids():
                return actor
        return _named(
            self.session,
            f"demo.bureau{region_id}",
            f"{region.name}数据主管部门管理员"[:64],
            GrantIn(role=Role.DISTRICT_BUREAU_ADMIN, region_id=region_id),
        )

    def provider_name(self, app: ShareApplication) -> str:
        return next(n for n, d in self.depts.items() if d.id == app.provider_department_id)


def _actor(session: Session, person: Person) -> Actor:
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def _named(
    session: Session, username: str, name: str, grant: GrantIn, *, department_id: int | None = None
) -> Actor:
    """A named person the demo acts as, made once through ``org.service.create_person``."""
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        person = create_person(
            session,
            BOOTSTRAP,
            PersonCreate(
                username=username,
                name=name,
                password=secrets.token_urlsafe(24),
                department_id=department_id,
                kind="staff",
                grants=[grant],
            ),
        )
    return _actor(session, person)


def actor_of(session: Session, username: str) -> Actor | None:
    person = session.scalar(select(Person).where(Person.username == username))
    return _actor(session, person) if person is not None else None


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
    """The provider's head, who approves an extension (product decision, as Art. 19 ¶2): the
    demo account when the department has one, else a named person without a known password."""
    dept = w.depts[dept_name]
    for person in w.session.scalars(
        select(Person)
        .where(Person.department_id == dept.id, Person.username.like("demo.%"))
        .order_by(Person.id)
    ):
        actor = _actor(w.session, person)
        if dept.id in actor.department_ids(Role.DEPARTMENT_HEAD):
            return actor
    return _named(
        w.session,
        f"demo.head{dept.id}",
        f"{dept_name.removeprefix('市')}主要负责人",
        GrantIn(role=Role.DEPARTMENT_HEAD, department_id=dept.id),
        department_id=dept.id,
    )


# --- registrations and applications, through ``sharing.applications`` --------------------------


def _request(w: World, story: Story) -> applications.Request:
    """What the requester's officer fills in, starting today (moved to the story's days
    afterwards: the form takes no period in the past)."""
    token = w.tokens[story.requester]
    today = w.today
    return applications.Request(
        department_id=w.depts[story.requester].id,
        source_code=w.sources[story.source].code,
        items=list(story.items),
        duty=story.duty,
        legal_basis=story.legal_basis,
        purpose=story.purpose,
        purpose_code=story.purpose_code,
        calling_system=token.name,
        period_from=today,
        period_until=today + timedelta(days=story.valid_days),
        token_ids=[token.id],
        scenario=story.scenario,
        expected_daily_calls=story.expected_daily_calls,
        mode=GrantMode(story.mode),
    )


def _grant_of(w: World, app: ShareApplication) -> Grant | None:
    return w.session.get(Grant, app.grant_id) if app.grant_id is not None else None


def _move_period(w: World, app: ShareApplication, start: date) -> Grant | None:
    """The period asked for (and the grant made from it) begins on ``start``."""
    shift = start - app.period_from
    app.period_from = start
    if app.period_until is not None:
        app.period_until += shift
    grant = _grant_of(w, app)
    if grant is not None:
        grant.valid_from += shift
        if grant.expires_on is not None:
            grant.expires_on += shift
        grant.created_at = at(start, 15, 30)  # made on the day it took effect
    return grant


def _move_application(
    w: World, story: Story, app: ShareApplication, answered: date | None
) -> obligations.Obligation | None:
    """Move a played story to its days: received ``story.received_days_ago``, the statutory
    deadline recomputed from that day (application and obligation agree), answered on
    ``answered`` (the clock stopped then; late only if after the due date)."""
    received = w.day(story.received_days_ago)
    app.created_at = at(received, 9, 30)
    if app.received_on is None:  # a registration: no clock
        return None
    deadline = obligations.deadline(w.session, APPLICATION, received)
    app.received_on = received
    app.due_on = deadline.due
    app.due_provisional = deadline.provisional
    ob = obligations.find(w.session, APPLICATION, SUBJECT, app.id)
    assert ob is not None
    ob.started_on = received
    ob.due_on = deadline.due
    ob.provisional = deadline.provisional
    ob.created_at = app.created_at
    if answered is not None:
        app.answered_on = ob.answered_on = answered
        ob.overdue = answered > ob.due_on
        if app.decided_at is not None:
            app.decided_at = at(answered, 15, 20)
    return ob


def _register(w: World, story: Story) -> tuple[ShareApplication, Grant | None]:
    """无条件共享登记 (Art. 24, 26 ¶2): effective at once, a grant as registered, no clock."""
    app = applications.submit(w.session, w.officer(story.requester), _request(w, story))
    if app.kind != ApplicationKind.REGISTRATION:
        raise RuntimeError(f"演示登记“{story.handle}”不是无条件共享")
    _move_application(w, story, app, None)
    return app, _move_period(w, app, w.day(story.received_days_ago))


def _extend(w: World, story: Story, app: ShareApplication) -> None:
    """The provider's officer asks, its head approves one extension of 10 working days
    (through the register), a few days after receipt; moved to that day like the rest."""
    provider = w.provider_name(app)
    officer, head = w.officer(provider), department_head(w, provider)
    applications.request_extension(
        w.session, officer, app.id, days=10, reason=story.extension_reason
    )
    applications.approve_extension(w.session, head, app.id)
    ob = _move_application(w, story, app, None)
    assert ob is not None and head.person_id is not None
    on = w.day(max(story.received_days_ago - 4, 0))
    extended = obligations.deadline(w.session, APPLICATION, ob.started_on).extend(
        w.cal, 10, approved_by=head.person_id
    )
    ob.original_due_on = extended.original_due
    ob.due_on = extended.due
    ob.provisional = extended.provisional
    ob.extension_requested_on = ob.extended_on = on
    if APPLICATION.on_due_changed is not None:  # the register's hook: the application follows
        APPLICATION.on_due_changed(w.session, ob)


def _answer(w: World, story: Story, app: ShareApplication) -> Grant | None:
    """The provider's officer approves (as asked or narrowed) or refuses; or the requester's
    officer withdraws. The clock stops on the story's answer day."""
    assert story.answered_days_ago is not None
    answered = w.day(story.answered_days_ago)
    provider = w.officer(w.provider_name(app))
    if story.outcome == "withdrawn":
        applications.withdraw(w.session, w.officer(story.requester), app.id)
    elif story.outcome == "refused":
        applications.refuse(
            w.session, provider, app.id, reason=story.refusal_reason, basis=story.refusal_basis
        )
    else:
        applications.approve(
            w.session,
            provider,
            app.id,
            items=story.grant_items,
            row_condition=story.row_condition,
            daily_quota=story.quota,
            note=story.note,
        )
        if ApplicationStatus(app.status).value != story.outcome:
            raise RuntimeError(f"演示申请“{story.handle}”的答复不是{story.outcome}")
    _move_application(w, story, app, answered)
    return _move_period(w, app, answered)


def make_story(w: World, story: Story) -> tuple[ShareApplication, Grant | None]:
    """One story, through to its outcome (and a revocation, Art. 50(4)(5))."""
    if story.outcome == "registered":
        app, grant = _register(w, story)
    else:
        app = applications.submit(w.session, w.officer(story.requester), _request(w, story))
        grant = None
        if story.outcome == "pending_extended":
            _extend(w, story, app)
        elif story.outcome.startswith("pending"):
            _move_application(w, story, app, None)
        if story.outcome.startswith("pending"):
            _move_period(w, app, w.day(story.received_days_ago))
        else:
            grant = _answer(w, story, app)
    if grant is not None and story.revoke_days_ago is not None:
        grants.revoke(w.session, w.city, grant.id, story.revoke_reason)
        # Moved to the story's day, like the rest.
        grant.revoked_at = at(w.day(story.revoke_days_ago), 16, 45)
    w.session.flush()
    return app, grant
