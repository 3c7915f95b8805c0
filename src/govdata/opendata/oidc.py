"""Sign-in through the city's unified identity platform (OpenID Connect; Art. 33 ¶3).

The protocol is Authlib's: discovery, the authorization request with ``state``, ``nonce`` and
PKCE (S256), the code exchange, and the id_token's signature (the provider's JWKS) and claims
(``iss``, ``aud``, ``exp``, ``nonce`` …) validated by ``parse_id_token``. This module keeps the
flow's state between the two legs (a signed, short-lived, HttpOnly cookie) and turns a
validated id_token into the platform's normal sign-in session.

On first sign-in the (issuer, subject) pair is linked (``IdentityLink``) to the public account
holding the identity the provider asserts as verified, or to a new public account. The claims
read besides ``sub`` and ``name`` (a product decision, to agree with the platform's operator):
``id_number`` with ``id_number_verified: true`` (a citizen's 公民身份号码) or ``uscc`` with
``uscc_verified: true`` (a company's 统一社会信用代码); when present, the account's identity
is checked (``identity_digest``). Off (routes 404) while ``Settings.oidc_issuer`` is unset.
"""

from __future__ import annotations

import base64
import json
import time
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from joserfc import errors as jose

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package and warns when it falls back to httpx (installed).
    warnings.simplefilter("ignore")
    from authlib.integrations.base_client import (  # type: ignore[import-untyped]
        FrameworkIntegration,
        OAuthError,
    )
    from authlib.integrations.base_client.sync_app import (  # type: ignore[import-untyped]
        BaseApp,
        OAuth2Mixin,
    )
    from authlib.integrations.base_client.sync_openid import (  # type: ignore[import-untyped]
        OpenIDMixin,
    )
    from authlib.integrations.httpx_client import OAuth2Client  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor, Role
from govdata.core.crypto import (
    constant_time_equals,
    hash_password,
    new_token,
    sign,
    subject_digest,
    token_digest,
)
from govdata.core.db import utcnow
from govdata.core.errors import NotAuthenticated
from govdata.core.ids import is_valid_id_number, is_valid_uscc, normalize_id_number, normalize_uscc
from govdata.core.settings import Settings
from govdata.opendata.models import IdentityLink
from govdata.org.auth import SignedIn, sign_out
from govdata.org.models import Person, PersonKind, RoleAssignment, WebSession

STATE_COOKIE = "govdata_oidc"
STATE_TTL = 600  # seconds from the login redirect to the callback
SCOPE = "openid profile"


def enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id)


class OidcRefused(NotAuthenticated):
    """A sign-in the platform does not accept; the code says which check failed."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(code, message, status=status)


def refused(code: str) -> OidcRefused:
    # The provider unreachable is not the user's failure to authenticate: 503.
    return OidcRefused(
        f"opendata.oidc_{code}", MESSAGES[code], status=503 if code == "unavailable" else 401
    )


MESSAGES = {
    "state_invalid": "登录请求已过期或来源不可信（state 校验失败），请重新发起统一身份认证登录。",
    "nonce_invalid": (
        "统一身份认证平台返回的身份令牌与本次登录请求不符（nonce 校验失败），请重新登录。"
    ),
    "token_invalid": "统一身份认证平台返回的身份令牌签名无效，已拒绝登录。",
    "token_expired": "统一身份认证平台返回的身份令牌已过期，请重新登录。",
    "issuer_invalid": "身份令牌不是由本平台配置的统一身份认证平台签发的，已拒绝登录。",
    "audience_invalid": "身份令牌不是签发给本平台的，已拒绝登录。",
    "claims_invalid": "统一身份认证平台返回的身份令牌内容不完整或无效，已拒绝登录。",
    "denied": "统一身份认证平台未完成认证（已取消或被拒绝）。",
    "unavailable": "暂时无法连接统一身份认证平台，请稍后再试或使用账户密码登录。",
    "account_inactive": "与该统一身份认证账户关联的平台账户已停用，请联系平台管理员。",
}


# --- Authlib's client ---------------------------------------------------------------------------


class _Framework(FrameworkIntegration):  # type: ignore[misc]
    def update_token(self, token: Any, refresh_token: Any = None, access_token: Any = None) -> None:
        return None  # tokens are not kept: the platform's own session follows


class OidcClient(OAuth2Mixin, OpenIDMixin, BaseApp):  # type: ignore[misc]
    """Authlib's synchronous OAuth 2 / OpenID Connect app over httpx (pages run in threads)."""

    client_cls = OAuth2Client


def client_for(settings: Settings, transport: httpx.BaseTransport | None = None) -> OidcClient:
    issuer = settings.oidc_issuer.rstrip("/")
    kwargs: dict[str, Any] = {"scope": SCOPE, "code_challenge_method": "S256", "timeout": 10}
    if transport is not None:
        kwargs["transport"] = transport
    return OidcClient(
        _Framework("oidc"),
        name="oidc",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret or None,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs=kwargs,
    )


def _metadata(client: OidcClient, settings: Settings) -> dict[str, Any]:
    try:
        metadata: dict[str, Any] = client.load_server_metadata()
    except (httpx.HTTPError, ValueError) as exc:
        raise refused("unavailable") from exc
    # OpenID Connect Discovery §4.3: the document's issuer is the one configured.
    if metadata.get("issuer", "").rstrip("/") != settings.oidc_issuer.rstrip("/"):
        raise refused("issuer_invalid")
    return metadata


# --- the flow's state cookie ----------------------------------------------------------------------


def pack_state(secret_key: str, data: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps({**data, "exp": time.time() + STATE_TTL}).encode())
    text = body.decode("ascii")
    return f"{text}.{sign(secret_key, 'oidc:' + text)}"


def unpack_state(secret_key: str, value: str | None) -> dict[str, Any] | None:
    if not value or "." not in value:
        return None
    text, _, mac = value.rpartition(".")
    if not constant_time_equals(mac, sign(secret_key, "oidc:" + text)):
        return None
    try:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(text.encode("ascii")))
    except ValueError:
        return None
    return data if float(data.get("exp", 0)) > time.time() else None


def begin(client: OidcClient, settings: Settings, redirect_uri: str) -> dict[str, Any]:
    """The authorization URL and what the callback needs (state, nonce, PKCE verifier)."""
    _metadata(client, settings)
    rv: dict[str, Any] = client.create_authorization_url(redirect_uri)
    return rv


def finish(
    client: OidcClient,
    settings: Settings,
    saved: dict[str, Any] | None,
    params: dict[str, str],
) -> dict[str, Any]:
    """The validated id_token's claims, or a refusal with a stable code."""
    if params.get("error"):
        raise refused("denied")
    state = params.get("state") or ""
    if saved is None or not state or not constant_time_equals(state, str(saved.get("state"))):
        raise refused("state_invalid")
    metadata = _metadata(client, settings)
    try:
        token = client.fetch_access_token(
            redirect_uri=saved["redirect_uri"],
            code=params.get("code") or "",
            code_verifier=saved.get("code_verifier"),
        )
    except (httpx.HTTPError, OAuthError, ValueError) as exc:
        raise refused("unavailable") from exc
    if "id_token" not in token:
        raise refused("claims_invalid")
    try:
        userinfo = client.parse_id_token(
            token,
            nonce=saved.get("nonce"),
            # Stated, not left to defaults: the configured issuer, and this platform as the
            # audience (Authlib's default checks only the issuer).
            claims_options={
                "iss": {"essential": True, "values": [metadata["issuer"]]},
                "aud": {"essential": True, "value": settings.oidc_client_id},
            },
        )
    except jose.BadSignatureError as exc:
        raise refused("token_invalid") from exc
    except jose.ExpiredTokenError as exc:
        raise refused("token_expired") from exc
    except jose.ClaimError as exc:
        which = {"nonce": "nonce_invalid", "iss": "issuer_invalid", "aud": "audience_invalid"}.get(
            exc.claim, "claims_invalid"
        )
        raise refused(which) from exc
    except (jose.JoseError, ValueError, KeyError) as exc:
        raise refused("token_invalid") from exc
    claims = dict(userinfo)
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise refused("claims_invalid")
    return claims


# --- from claims to the platform's session -----------------------------------------------


@dataclass(frozen=True)
class Asserted:
    role: Role
    digest: str | None


def asserted_identity(claims: dict[str, Any]) -> Asserted:
    """The identity the provider vouches for (verified claims only, valid check character)."""
    if claims.get("uscc_verified") is True and isinstance(claims.get("uscc"), str):
        code = normalize_uscc(claims["uscc"])
        if is_valid_uscc(code):
            return Asserted(Role.COMPANY, subject_digest(code))
    if claims.get("id_number_verified") is True and isinstance(claims.get("id_number"), str):
        number = normalize_id_number(claims["id_number"])
        if is_valid_id_number(number):
            return Asserted(Role.CITIZEN, subject_digest(number))
    return Asserted(Role.COMPANY if "uscc" in claims else Role.CITIZEN, None)


def _new_account(session: Session, claims: dict[str, Any], asserted: Asserted) -> Person:
    name = " ".join(str(claims.get("name") or "").split())[:64] or "统一身份认证用户"
    person = Person(
        username=f"uid_{new_token(9).lower().replace('-', '0').replace('_', '0')}",
        name=name,
        kind=PersonKind.PUBLIC,
        # No password: this account signs in through the identity platform only.
        password_hash=hash_password(new_token(32)),
        identity_digest=asserted.digest,
    )
    session.add(person)
    session.flush()
    session.add(RoleAssignment(person_id=person.id, role=asserted.role.value))
    return person


def sign_in_with_claims(
    session: Session,
    issuer: str,
    claims: dict[str, Any],
    *,
    hours: int = 8,
    ip: str | None = None,
    user_agent: str | None = None,
    previous_secret: str | None = None,
) -> SignedIn:
    """Art. 33 ¶3: the linked (or matching, or new) public account signs in."""
    now = utcnow()
    subject = str(claims["sub"])[:200]
    asserted = asserted_identity(claims)
    link = session.scalar(
        select(IdentityLink).where(IdentityLink.issuer == issuer, IdentityLink.subject == subject)
    )
    holder = (
        session.scalar(select(Person).where(Person.identity_digest == asserted.digest))
        if asserted.digest
        else None
    )
    created = False
    if link is not None:
        person = session.get(Person, link.person_id)
        assert person is not None
        if asserted.digest and person.identity_digest is None and holder is None:
            person.identity_digest = asserted.digest
    else:
        if holder is not None and holder.kind == PersonKind.PUBLIC:
            person = holder
        else:
            # A staff account holding the identity keeps it: the new account stays unchecked.
            own = asserted if holder is None else Asserted(asserted.role, None)
            person, created = _new_account(session, claims, own), True
        link = IdentityLink(person_id=person.id, issuer=issuer[:200], subject=subject)
        session.add(link)
    if not person.active:
        raise refused("account_inactive")
    link.last_sign_in_at = now
    person.last_login_at = now
    if previous_secret:
        sign_out(session, previous_secret)  # no session fixation
    secret = new_token()
    ws = WebSession(
        id=token_digest(secret),
        person_id=person.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=hours),
        ip=ip,
        user_agent=(user_agent or "")[:200] or None,
    )
    session.add(ws)
    actor = Actor(person_id=person.id, name=person.name, address=ip)
    if created:
        audit.record(
            session,
            actor,
            "opendata.identity.oidc_account",
            object_type="person",
            object_id=person.id,
            summary=f"经统一身份认证平台首次登录，建立公众账户 {person.username}",
            change={"issuer": issuer, "identity": "checked" if person.identity_digest else None},
        )
    audit.record(
        session,
        actor,
        "auth.sign_in",
        object_type="person",
        object_id=person.id,
        summary=f"账户 {person.username} 经统一身份认证平台登录",
        change={"ip": ip, "method": "oidc", "issuer": issuer},
    )
    session.flush()
    return SignedIn(person=person, secret=secret, web_session=ws)


__all__ = [
    "STATE_COOKIE",
    "OidcClient",
    "OidcRefused",
    "begin",
    "client_for",
    "enabled",
    "finish",
    "pack_state",
    "sign_in_with_claims",
    "unpack_state",
]
