"""A tiny OpenID Connect provider for the tests: discovery, JWKS, authorize and token.

It stands in for the city's unified identity platform. The platform's Authlib client reaches
it in-process through an ``httpx.MockTransport`` (``transport``); the test plays the browser:
it follows the platform's redirect to ``authorize`` (``authorize(url, claims)`` answers with
the redirect back to the platform's callback). id_tokens are RS256, signed with joserfc.

Knobs for the refusal tests: ``nonce`` (sign another nonce), ``issuer_claim`` (another
``iss``), ``audience`` (another ``aud``), ``lifetime`` (negative: an expired token), ``forger`` (sign with a key the JWKS does
not hold, under the published key's id), ``down`` (503 for everything).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

ISSUER = "https://idp.example.test"
CLIENT_ID = "govdata-open"
CLIENT_SECRET = "provider-test-secret"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str
    claims: dict[str, Any]


@dataclass
class Provider:
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    codes: dict[str, Grant] = field(default_factory=dict)
    nonce: str | None = None
    issuer_claim: str | None = None
    audience: str | None = None
    lifetime: int = 300
    forger: RSAKey | None = None
    token_requests: int = 0
    down: bool = False

    # --- the browser's leg ------------------------------------------------------------------

    def authorize(self, url: str, claims: dict[str, Any]) -> str:
        """The user signs in at the provider: the redirect back (path and query)."""
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/authorize"
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert q["response_type"] == "code" and "openid" in q["scope"].split()
        assert q["code_challenge_method"] == "S256"  # PKCE
        code = secrets.token_urlsafe(16)
        self.codes[code] = Grant(
            q["client_id"], q["redirect_uri"], q.get("nonce"), q["code_challenge"], claims
        )
        back = urlsplit(q["redirect_uri"])
        return f"{back.path}?{urlencode({'code': code, 'state': q['state']})}"

    # --- the back channel (httpx transport) -------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if self.down:
            return httpx.Response(503, text="maintenance")
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self.discovery())
        if path == "/jwks":
            return httpx.Response(200, json=KeySet([self.key]).as_dict(private=False))
        if path == "/token" and request.method == "POST":
            return self.token(request)
        return httpx.Response(404, json={"error": "not_found"})

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def token(self, request: httpx.Request) -> httpx.Response:
        self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        basic = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if basic != f"Basic {expected}":
            return httpx.Response(401, json={"error": "invalid_client"})
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant.redirect_uri:
            return httpx.Response(400, json={"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "pkce"})
        now = int(time.time())
        claims = {
            "iss": self.issuer_claim or ISSUER,
            "aud": self.audience or grant.client_id,
            "iat": now,
            "exp": now + self.lifetime,
            "nonce": self.nonce if self.nonce is not None else grant.nonce,
            **grant.claims,
        }
        signer = self.forger or self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, signer)
        body = {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }
        return httpx.Response(200, json=body, headers={"Cache-Control": "no-store"})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)
