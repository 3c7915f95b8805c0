"""zh-CN pages of identity authentication (Art. 33 ¶3).

- ``/open/register``: real-name registration of a citizen or a company account; signed in
  at once on success.
- ``/open/identity``: a public account without a checked identity completes it.
- ``/open/oidc/login`` → the city's unified identity platform → ``/open/oidc/callback``:
  sign-in with OpenID Connect (404 while it is not configured).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, NotFound
from govdata.opendata import identity, oidc
from govdata.opendata.policy import identity_checked
from govdata.org import auth
from govdata.org.throttle import Throttle
from govdata.web.deps import SESSION_COOKIE, CurrentActor, DbSession, OptionalActor, get_settings
from govdata.web.session_cookie import set_session_cookie
from govdata.web.templating import render

router = APIRouter()

KIND_LABELS = {"citizen": "公民（公民身份号码）", "company": "法人和其他组织（统一社会信用代码）"}


def safe_next(value: str | None) -> str:
    """Only a path on this site (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _refusal(request: Request, template: str, ctx: dict[str, Any], exc: DomainError) -> Response:
    response = render(
        request,
        template,
        {**ctx, "error": exc.message, "error_code": exc.code},
        status_code=exc.status,
    )
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _register_ctx(request: Request, **form: str) -> dict[str, Any]:
    return {
        "title": "实名注册",
        "kinds": KIND_LABELS,
        "form": form,
        "oidc": oidc.enabled(get_settings(request)),
    }


@router.get("/open/register")
def register_page(request: Request, actor: OptionalActor) -> Response:
    return render(
        request, "opendata/identity_register.html", _register_ctx(request, kind="citizen")
    )


@router.post("/open/register")
def register(
    request: Request,
    session: DbSession,
    kind: Annotated[str, Form(max_length=10)],
    name: Annotated[str, Form(max_length=100)],
    number: Annotated[str, Form(max_length=40)],
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    phone: Annotated[str, Form(max_length=20)] = "",
    email: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    settings = get_settings(request)
    data = identity.Registration(kind, name, number, username, password, phone, email)
    try:
        identity.register(session, data, address=_address(request))
        signed = auth.sign_in(
            session,
            username,
            password,
            hours=settings.session_hours,
            ip=_address(request),
            user_agent=request.headers.get("user-agent"),
            previous_secret=request.cookies.get(SESSION_COOKIE),
            throttle=Throttle.from_settings(settings),
        )
    except DomainError as exc:
        finish_failed(session, exc)  # a refused attempt still counts towards the throttle
        # The number is not echoed back: it stays only in the browser that typed it.
        ctx = _register_ctx(
            request, kind=kind, name=name, username=username, phone=phone, email=email
        )
        return _refusal(request, "opendata/identity_register.html", ctx, exc)
    redirect = RedirectResponse("/open/identity?msg=registered", status_code=303)
    set_session_cookie(redirect, settings, signed.secret)
    return redirect


def _identity_ctx(request: Request, session: DbSession, actor: CurrentActor) -> dict[str, Any]:
    from govdata.core.actor import Role

    return {
        "title": "实名认证",
        "checked": identity_checked(session, actor),
        "public": actor.is_public,
        "kind": "company" if actor.has(Role.COMPANY) else "citizen",
        "kinds": KIND_LABELS,
        "oidc": oidc.enabled(get_settings(request)),
    }


FLASHES = {"registered": "注册成功，已完成实名认证并登录。", "checked": "已完成实名认证。"}


@router.get("/open/identity")
def identity_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    ctx = _identity_ctx(request, session, actor)
    return render(
        request, "opendata/identity_status.html", {**ctx, "flash": FLASHES.get(msg or "")}
    )


@router.post("/open/identity")
def complete_identity(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    kind: Annotated[str, Form(max_length=10)],
    name: Annotated[str, Form(max_length=100)],
    number: Annotated[str, Form(max_length=40)],
) -> Response:
    try:
        identity.complete_identity(session, actor, kind, name, number)
    except DomainError as exc:
        finish_failed(session, exc)
        ctx = {**_identity_ctx(request, session, actor), "name": name}
        return _refusal(request, "opendata/identity_status.html", ctx, exc)
    return RedirectResponse("/open/identity?msg=checked", status_code=303)


# --- OpenID Connect -----------------------------------------------------------------------------


def _client(request: Request) -> oidc.OidcClient:
    """One Authlib client per app (the discovery document and JWKS are cached on it)."""
    state = request.app.state
    client: oidc.OidcClient | None = getattr(state, "opendata_oidc_client", None)
    if client is None:
        client = oidc.client_for(get_settings(request), getattr(state, "oidc_transport", None))
        state.opendata_oidc_client = client
    return client


def _require_oidc(request: Request) -> None:
    if not oidc.enabled(get_settings(request)):
        raise NotFound()


def _oidc_error(request: Request, exc: oidc.OidcRefused) -> Response:
    """A zh-CN page saying which check failed (not the sign-in redirect a 401 would be)."""
    response = render(
        request,
        "opendata/identity_oidc_error.html",
        {"title": "统一身份认证登录失败", "error": exc.message, "error_code": exc.code},
        status_code=exc.status,
    )
    response.delete_cookie(oidc.STATE_COOKIE, path="/open/oidc")
    return response


@router.get("/open/oidc/login")
def oidc_login(
    request: Request, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    _require_oidc(request)
    settings = get_settings(request)
    redirect_uri = str(request.url_for("oidc_callback"))
    try:
        rv = oidc.begin(_client(request), settings, redirect_uri)
    except oidc.OidcRefused as exc:
        return _oidc_error(request, exc)
    saved = {
        "state": rv["state"],
        "nonce": rv.get("nonce"),
        "code_verifier": rv.get("code_verifier"),
        "redirect_uri": redirect_uri,
        "next": safe_next(next),
    }
    response = RedirectResponse(rv["url"], status_code=302)
    response.set_cookie(
        oidc.STATE_COOKIE,
        oidc.pack_state(settings.secret_key, saved),
        max_age=oidc.STATE_TTL,
        httponly=True,
        samesite="lax",  # the IdP's redirect back is a top-level GET: Lax sends it
        secure=settings.secure_cookies,
        path="/open/oidc",
    )
    return response


@router.get("/open/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, session: DbSession) -> Response:
    _require_oidc(request)
    settings = get_settings(request)
    saved = oidc.unpack_state(settings.secret_key, request.cookies.get(oidc.STATE_COOKIE))
    params = {k: request.query_params.get(k, "") for k in ("state", "code", "error")}
    try:
        claims = oidc.finish(_client(request), settings, saved, params)
        signed = oidc.sign_in_with_claims(
            session,
            settings.oidc_issuer,
            claims,
            hours=settings.session_hours,
            ip=_address(request),
            user_agent=request.headers.get("user-agent"),
            previous_secret=request.cookies.get(SESSION_COOKIE),
        )
    except oidc.OidcRefused as exc:
        session.rollback()  # nothing of a refused sign-in is kept
        return _oidc_error(request, exc)
    target = safe_next(saved.get("next") if saved else None)
    redirect = RedirectResponse(target, status_code=303)
    set_session_cookie(redirect, settings, signed.secret)
    redirect.delete_cookie(oidc.STATE_COOKIE, path="/open/oidc")
    return redirect
