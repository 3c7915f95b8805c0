"""CSRF tokens: HMAC(secret key, the browser's cookie secret), compared in constant time.

Plumbing, bound to no domain (decision 0003): pages put the token in a form field, JSON clients
send it as the ``X-CSRF-Token`` header, and ``web.deps`` checks it on unsafe requests made with
the session cookie. Before sign-in an anonymous cookie plays the session's part (login CSRF).
"""

from __future__ import annotations

from govdata.core.crypto import constant_time_equals, sign


def csrf_token(secret_key: str, browser_secret: str) -> str:
    """The token a form must carry: bound to the browser's session (or anonymous) cookie."""
    return sign(secret_key, "csrf:" + browser_secret)[:40]


def csrf_valid(secret_key: str, browser_secret: str | None, token: str | None) -> bool:
    if not browser_secret or not token:
        return False
    return constant_time_equals(csrf_token(secret_key, browser_secret), token)
