"""Sign-in through the city's unified identity platform (OpenID Connect; Art. 33 ¶3), against
the local provider of ``tests/opendata/oidc_provider.py``: Authlib validates state, nonce,
PKCE, the id_token's signature and claims; each refusal has a stable code and a zh-CN page."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from govdata.app import create_app
from govdata.core.audit import AuditEvent
from govdata.core.crypto import subject_digest
from govdata.core.ids import make_id_number
from govdata.core.settings import Settings
from govdata.opendata.models import IdentityLink
from govdata.org.models import Person, WebSession
from govdata.web.deps import SESSION_COOKIE
from tests.opendata.oidc_provider import CLIENT_ID, CLIENT_SECRET, ISSUER, Provider
from tests.world import World

NUMBER = make_id_number("500103", date(1988, 8, 8), 7)


@pytest.fixture
def provider() -> Provider:
    return Provider()


@pytest.fixture
def oidc_app(
    settings: Settings,
    engine: Engine,
    test_sessionmaker: sessionmaker[Session],
    provider: Provider,
) -> FastAPI:
    configured = dataclasses.replace(
        settings, oidc_issuer=ISSUER, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET
    )
    application = create_app(configured, engine)
    application.state.sessionmaker = test_sessionmaker
    application.state.oidc_transport = provider.transport
    return application


@pytest.fixture
def browser(oidc_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(oidc_app, raise_server_exceptions=False) as c:
        yield c


def _login(browser: TestClient, provider: Provider, claims: dict[str, object]) -> str:
    r = browser.get("/open/oidc/login?next=/open/identity", follow_redirects=False)
    assert r.status_code == 302
    return provider.authorize(r.headers["location"], claims)


def _refused(r: object, code: str, status: int = 401) -> None:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert f'data-code="opendata.oidc_{code}"' in r.text  # type: ignore[attr-defined]
    assert SESSION_COOKIE not in r.cookies  # type: ignore[attr-defined]


def test_first_sign_in_creates_a_checked_public_account_and_a_session(
    browser: TestClient, provider: Provider, session: Session
) -> None:  # Art. 33 ¶3
    back = _login(
        browser,
        provider,
        {"sub": "u-1", "name": "钱多多", "id_number": NUMBER, "id_number_verified": True},
    )
    r = browser.get(back, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/open/identity"
    assert browser.cookies.get(SESSION_COOKIE)
    link = session.scalars(select(IdentityLink).where(IdentityLink.subject == "u-1")).one()
    person = session.get(Person, link.person_id)
    assert person is not None and person.kind == "public" and person.name == "钱多多"
    assert person.identity_digest == subject_digest(NUMBER)
    assert NUMBER not in (person.username, person.name)
    page = browser.get("/open/identity")
    assert 'data-testid="identity-checked"' in page.text
    actions = set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(person.id)))
    )
    assert {"opendata.identity.oidc_account", "auth.sign_in"} <= actions
    # The second sign-in reuses the link: no second account.
    back = _login(browser, provider, {"sub": "u-1", "name": "钱多多"})
    assert browser.get(back, follow_redirects=False).status_code == 303
    assert session.scalar(select(func.count()).select_from(IdentityLink)) == 1
    assert (
        session.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.person_id == person.id)
        )
        == 1
    )  # the earlier session ended (rotation)


def test_a_verified_identity_links_to_the_matching_public_account(
    browser: TestClient, provider: Provider, session: Session, world: World
) -> None:
    citizen = session.get(Person, world.people["citizen"])
    assert citizen is not None
    citizen.identity_digest = subject_digest(NUMBER)
    session.commit()
    back = _login(
        browser, provider, {"sub": "u-2", "id_number": NUMBER, "id_number_verified": True}
    )
    assert browser.get(back, follow_redirects=False).status_code == 303
    link = session.scalars(select(IdentityLink).where(IdentityLink.subject == "u-2")).one()
    assert link.person_id == world.people["citizen"]


def test_an_unverified_number_claim_does_not_check_the_identity(
    browser: TestClient, provider: Provider, session: Session
) -> None:
    back = _login(browser, provider, {"sub": "u-3", "id_number": NUMBER})
    assert browser.get(back, follow_redirects=False).status_code == 303
    link = session.scalars(select(IdentityLink).where(IdentityLink.subject == "u-3")).one()
    person = session.get(Person, link.person_id)
    assert person is not None and person.identity_digest is None


def test_bad_state_is_refused(browser: TestClient, provider: Provider, session: Session) -> None:
    back = _login(browser, provider, {"sub": "u-4"})
    forged = back.replace("state=", "state=x")
    _refused(browser.get(forged, follow_redirects=False), "state_invalid")
    assert provider.token_requests == 0  # refused before the code is exchanged
    # A callback in another browser (no state cookie) is refused too.
    with TestClient(browser.app, raise_server_exceptions=False) as other:
        _refused(other.get(back, follow_redirects=False), "state_invalid")
    assert session.scalar(select(func.count()).select_from(IdentityLink)) == 0


def test_wrong_nonce_is_refused(browser: TestClient, provider: Provider, session: Session) -> None:
    provider.nonce = "not-the-nonce"
    back = _login(browser, provider, {"sub": "u-5"})
    _refused(browser.get(back, follow_redirects=False), "nonce_invalid")
    assert session.scalar(select(func.count()).select_from(IdentityLink)) == 0


def test_bad_signature_is_refused(browser: TestClient, provider: Provider) -> None:
    provider.forger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    back = _login(browser, provider, {"sub": "u-6"})
    r = browser.get(back, follow_redirects=False)
    _refused(r, "token_invalid")
    assert "签名无效" in r.text


def test_expired_token_is_refused(browser: TestClient, provider: Provider) -> None:
    provider.lifetime = -3600  # beyond Authlib's leeway
    back = _login(browser, provider, {"sub": "u-7"})
    _refused(browser.get(back, follow_redirects=False), "token_expired")


def test_unknown_issuer_is_refused(browser: TestClient, provider: Provider) -> None:
    provider.issuer_claim = "https://elsewhere.example.test"
    back = _login(browser, provider, {"sub": "u-8"})
    _refused(browser.get(back, follow_redirects=False), "issuer_invalid")


def test_a_token_for_another_client_is_refused(browser: TestClient, provider: Provider) -> None:
    provider.audience = "another-relying-party"
    back = _login(browser, provider, {"sub": "u-9", "azp": CLIENT_ID})
    _refused(browser.get(back, follow_redirects=False), "audience_invalid")


def test_a_denied_authorization_is_refused(browser: TestClient, provider: Provider) -> None:
    r = browser.get("/open/oidc/login", follow_redirects=False)
    assert r.status_code == 302
    _refused(browser.get("/open/oidc/callback?error=access_denied&state=x"), "denied")


def test_an_unreachable_provider_is_said_so(browser: TestClient, provider: Provider) -> None:
    provider.down = True
    r = browser.get("/open/oidc/login", follow_redirects=False)
    _refused(r, "unavailable", 503)
    assert "暂时无法连接" in r.text


def test_off_when_not_configured(client: TestClient) -> None:
    assert client.get("/open/oidc/login", follow_redirects=False).status_code == 404
    assert client.get("/open/oidc/callback?code=x&state=y").status_code == 404
    assert "oidc-login" not in client.get("/open/register").text
    # The shared sign-in page offers registration, not a platform that is not there.
    page = client.get("/login?next=/open/applications").text
    assert 'href="/open/register?next=/open/applications"' in page
    assert "/open/oidc/login" not in page


def test_the_button_shows_when_configured(browser: TestClient) -> None:
    assert 'data-testid="oidc-login"' in browser.get("/open/register").text
    # Art. 33 ¶3: staff and the public share /login; it leads to the city's identity platform.
    page = browser.get("/login?next=/open/applications").text
    assert 'href="/open/oidc/login?next=/open/applications"' in page


def test_the_platform_link_on_the_sign_in_page_completes_a_sign_in(
    browser: TestClient, provider: Provider, session: Session
) -> None:
    page = browser.get("/login?next=/open/applications").text
    link = re.search(r'href="(/open/oidc/login\?next=[^"]+)"', page)
    assert link is not None
    r = browser.get(html.unescape(link.group(1)), follow_redirects=False)
    assert r.status_code in (302, 303, 307) and r.headers["location"].startswith(ISSUER)
