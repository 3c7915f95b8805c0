"""CSRF tokens (decision 0003): HMAC of the browser's cookie secret, plumbing of ``web``."""

from __future__ import annotations

import pytest

from govdata.web.csrf import csrf_token, csrf_valid

KEY = "test-secret-key"


def test_csrf_token_round_trip() -> None:
    token = csrf_token(KEY, "browser-secret")
    assert csrf_valid(KEY, "browser-secret", token)


@pytest.mark.parametrize(
    ("key", "browser", "token_of"),
    [
        (KEY, "other-browser", "browser-secret"),
        ("other-key", "browser-secret", "browser-secret"),
        (KEY, None, "browser-secret"),
        (KEY, "browser-secret", None),
    ],
)
def test_csrf_token_mismatch_is_invalid(
    key: str, browser: str | None, token_of: str | None
) -> None:
    token = csrf_token(KEY, token_of) if token_of else None
    assert not csrf_valid(key, browser, token)
