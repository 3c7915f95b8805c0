"""JSON API of the org domain under ``/api/v1/org`` (thin: HTTP to service and back)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from govdata.core.pagination import PageOut, page_out
from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId, Offset
from govdata.org import auth, policy, service, sessions
from govdata.org.schemas import (
    ActorRole,
    DepartmentCreate,
    DepartmentOut,
    DepartmentUpdate,
    GrantIn,
    GrantOut,
    Me,
    PasswordReset,
    PersonCreate,
    PersonOut,
    PersonUpdate,
    RegionOut,
    SessionOut,
    SignedIn,
    SignIn,
    TokenCreate,
    TokenIssued,
    TokenOut,
)
from govdata.org.throttle import Throttle
from govdata.web.csrf import csrf_token
from govdata.web.deps import (
    SESSION_COOKIE,
    ApiActor,
    CurrentActor,
    DbSession,
    get_settings,
    unit_of_work,
)
from govdata.web.session_cookie import clear_session_cookie, set_session_cookie

router = APIRouter(prefix="/api/v1", tags=["org"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=200)]
SearchText = Annotated[str | None, Query(max_length=100)]


@router.post("/auth/session", response_model=SignedIn)
@unit_of_work
def api_sign_in(request: Request, response: Response, session: DbSession, body: SignIn) -> SignedIn:
    """Sign in (Art. 39). Refusals: 401 ``auth.invalid_credentials`` whether the account is
    unknown, inactive or locked or the password wrong; 429 ``auth.too_many_attempts`` with
    ``Retry-After`` after too many failures from this address or on this username. A session
    cookie sent with the request ends."""
    settings = get_settings(request)
    result = auth.sign_in(
        session,
        body.username,
        body.password,
        hours=settings.session_hours,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        previous_secret=request.cookies.get(SESSION_COOKIE),
        throttle=Throttle.from_settings(settings),
    )
    set_session_cookie(response, settings, result.secret)
    return SignedIn(
        person=PersonOut.model_validate(result.person),
        csrf_token=csrf_token(settings.secret_key, result.secret),
        expires_at=result.web_session.expires_at,
        failed_attempts=result.failed_attempts,
    )


@router.delete("/auth/session", status_code=204)
@unit_of_work
def api_sign_out(request: Request, session: DbSession, actor: ApiActor) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        auth.sign_out(session, secret)
    response = Response(status_code=204)
    clear_session_cookie(response)
    return response


@router.get("/auth/sessions", response_model=list[SessionOut])
@unit_of_work
def my_sessions(request: Request, session: DbSession, actor: CurrentActor) -> list[SessionOut]:
    """The signed-in person's own sessions (devices), the current one marked (Art. 39)."""
    found = sessions.list_sessions(
        session, actor, current_secret=request.cookies.get(SESSION_COOKIE)
    )
    return [SessionOut.model_validate(s) for s in found]


@router.delete("/auth/sessions/{session_id}", status_code=204)
@unit_of_work
def end_my_session(
    request: Request,
    session: DbSession,
    actor: ApiActor,
    session_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> Response:
    """End one of one's own sessions (退出该设备); ending the current one signs out."""
    ended = sessions.end_session(
        session, actor, session_id, current_secret=request.cookies.get(SESSION_COOKIE)
    )
    response = Response(status_code=204)
    if ended.current:
        clear_session_cookie(response)
    return response


@router.get("/me", response_model=Me)
@unit_of_work
def me(actor: CurrentActor) -> Me:
    return Me(
        person_id=actor.person_id,
        name=actor.name,
        roles=[
            ActorRole(role=g.role, region_id=g.region_id, department_id=g.department_id)
            for g in actor.grants
        ],
        token_id=actor.token_id,
        scopes=sorted(actor.scopes),
    )


@router.get("/org/regions", response_model=list[RegionOut])
@unit_of_work
def regions(session: DbSession, actor: CurrentActor) -> list[RegionOut]:
    policy.require_scope(actor, "org:read")
    if actor.token_id is None:
        policy.require_staff(actor)
    return [RegionOut.model_validate(r) for r in service.list_regions(session, actor)]


@router.get("/org/departments", response_model=PageOut[DepartmentOut])
@unit_of_work
def departments(
    session: DbSession,
    actor: CurrentActor,
    region_id: DbId | None = None,
    q: SearchText = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[DepartmentOut]:
    policy.require_scope(actor, "org:read")
    page = service.list_departments(
        session, actor, region_id=region_id, q=q, offset=offset, limit=limit
    )
    return page_out(page, DepartmentOut)


@router.get("/org/departments/{department_id}", response_model=DepartmentOut)
@unit_of_work
def department(session: DbSession, actor: CurrentActor, department_id: DbId) -> DepartmentOut:
    policy.require_scope(actor, "org:read")
    return DepartmentOut.model_validate(service.get_department(session, actor, department_id))


@router.post("/org/departments", response_model=DepartmentOut, status_code=201)
@unit_of_work
def create_department(session: DbSession, actor: ApiActor, body: DepartmentCreate) -> DepartmentOut:
    return DepartmentOut.model_validate(service.create_department(session, actor, body))


@router.patch("/org/departments/{department_id}", response_model=DepartmentOut)
@unit_of_work
def update_department(
    session: DbSession, actor: ApiActor, department_id: DbId, body: DepartmentUpdate
) -> DepartmentOut:
    return DepartmentOut.model_validate(
        service.update_department(session, actor, department_id, body)
    )


@router.get("/org/people", response_model=PageOut[PersonOut])
@unit_of_work
def people(
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId | None = None,
    q: SearchText = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[PersonOut]:
    policy.require_scope(actor, "org:read")
    page = service.list_people(
        session, actor, department_id=department_id, q=q, offset=offset, limit=limit
    )
    return page_out(page, PersonOut)


@router.get("/org/people/{person_id}", response_model=PersonOut)
@unit_of_work
def person(session: DbSession, actor: CurrentActor, person_id: DbId) -> PersonOut:
    policy.require_scope(actor, "org:read")
    return PersonOut.model_validate(service.get_person(session, actor, person_id))


@router.post("/org/people", response_model=PersonOut, status_code=201)
@unit_of_work
def create_person(session: DbSession, actor: ApiActor, body: PersonCreate) -> PersonOut:
    return PersonOut.model_validate(service.create_person(session, actor, body))


@router.patch("/org/people/{person_id}", response_model=PersonOut)
@unit_of_work
def update_person(
    session: DbSession, actor: ApiActor, person_id: DbId, body: PersonUpdate
) -> PersonOut:
    return PersonOut.model_validate(service.update_person(session, actor, person_id, body))


@router.post("/org/people/{person_id}/password", status_code=204)
@unit_of_work
def reset_password(
    request: Request, session: DbSession, actor: ApiActor, person_id: DbId, body: PasswordReset
) -> Response:
    """Set a password. One's own needs ``current_password`` (a wrong one counts towards the
    lockout) and ends one's other sessions; an administrator's reset of another's ends all of
    theirs (Art. 39)."""
    service.reset_password(
        session,
        actor,
        person_id,
        body.password,
        current_password=body.current_password,
        current_session=request.cookies.get(SESSION_COOKIE),
    )
    return Response(status_code=204)


@router.post("/org/people/{person_id}/unlock", response_model=PersonOut)
@unit_of_work
def unlock(session: DbSession, actor: ApiActor, person_id: DbId) -> PersonOut:
    return PersonOut.model_validate(service.unlock_person(session, actor, person_id))


@router.get("/org/people/{person_id}/grants", response_model=list[GrantOut])
@unit_of_work
def grants(session: DbSession, actor: CurrentActor, person_id: DbId) -> list[GrantOut]:
    policy.require_scope(actor, "org:read")
    person = service.get_person(session, actor, person_id)
    return [GrantOut.model_validate(g) for g in service.grants_of(session, person.id)]


@router.post("/org/people/{person_id}/grants", response_model=GrantOut, status_code=201)
@unit_of_work
def grant(session: DbSession, actor: ApiActor, person_id: DbId, body: GrantIn) -> GrantOut:
    return GrantOut.model_validate(service.grant_role(session, actor, person_id, body))


@router.delete("/org/people/{person_id}/grants/{grant_id}", status_code=204)
@unit_of_work
def revoke(session: DbSession, actor: ApiActor, person_id: DbId, grant_id: DbId) -> Response:
    service.revoke_role(session, actor, person_id, grant_id)
    return Response(status_code=204)


@router.get("/org/departments/{department_id}/tokens", response_model=list[TokenOut])
@unit_of_work
def tokens(session: DbSession, actor: CurrentActor, department_id: DbId) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in auth.list_tokens(session, actor, department_id)]


@router.post("/org/departments/{department_id}/tokens", response_model=TokenIssued, status_code=201)
@unit_of_work
def issue_token(
    session: DbSession, actor: ApiActor, department_id: DbId, body: TokenCreate
) -> TokenIssued:
    issued = auth.issue_token(session, actor, department_id, body)
    out = TokenOut.model_validate(issued.token)
    return TokenIssued(**out.model_dump(), secret=issued.secret)


@router.delete("/org/tokens/{token_id}", response_model=TokenOut)
@unit_of_work
def revoke_token(session: DbSession, actor: ApiActor, token_id: DbId) -> TokenOut:
    return TokenOut.model_validate(auth.revoke_token(session, actor, token_id))
