"""The password rule (Art. 39 访问认证; ASVS 4 §2.1, GB/T 22239 level 3): length in code points,
any characters, a common/leaked list, not the username; applied wherever a password is set."""

from __future__ import annotations

import gzip

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govdata.core.errors import InvalidInput
from govdata.org import passwords
from govdata.org.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from govdata.org.passwords import MIN_LENGTH, check_password
from tests.world import PASSWORD, World


def _code(password: str, username: str | None = "someone") -> str | None:
    try:
        check_password(password, username=username)
    except InvalidInput as exc:
        return exc.code
    return None


@pytest.mark.parametrize(
    "password",
    [
        "嘉陵江长江朝天门解放碑",  # 11 Chinese characters: 11 code points, though 33 UTF-8 bytes
        "Tr0ub4dor&3",  # the old "complex" style, 11 characters
        "abcdefghijk",
    ],
)
def test_fewer_than_twelve_code_points_is_too_short(password: str) -> None:
    assert len(password) == MIN_LENGTH - 1
    with pytest.raises(InvalidInput) as info:
        check_password(password, username="someone")
    assert info.value.code == "org.password_too_short"
    assert info.value.message.startswith("密码至少需要12个字符（当前11个）")
    assert info.value.detail == {"min_length": 12, "length": 11}


@pytest.mark.parametrize(
    "password",
    [
        "嘉陵江长江朝天门解放碑洪",  # 12 Chinese characters
        "correct horse battery staple",  # spaces, lowercase only: no composition rule
        "  spaces at both ends  ",
        "x" * 3 + "yz" * 62,  # 127 characters
        "🐼 熊猫 panda 🎋 竹子 bamboo",  # any Unicode
        "a" * 100 + "bcd" + "e" * 153,  # 256: the longest accepted
    ],
)
def test_long_passwords_of_any_characters_are_accepted(password: str) -> None:
    assert _code(password) is None


def test_more_than_256_characters_is_too_long() -> None:
    assert _code("abc" * 86) == "org.password_too_long"  # 258


@pytest.mark.parametrize(
    "password",
    [
        "1234567890123",  # in the list as it is
        "QWERTYUIOP123",  # in the list, another case
        "password12345678",  # "password" + digits
        "Passw0rd2026!",  # "passw0rd" + a year and a symbol
        "iloveyou2026 ",  # "iloveyou" + a year and a space
        "aaaaaaaaaaaaaaaa",  # one repeated character
        "abababababababab",  # two
    ],
)
def test_common_leaked_or_repetitive_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_password(password, username="someone")
    assert info.value.code == "org.password_common"
    assert "过于常见" in info.value.message


@pytest.mark.parametrize("password", ["my name is officer!", "OFFICER-2026-spring", "officer12345"])
def test_a_password_containing_the_username_is_refused(password: str) -> None:
    assert _code(password, username="officer") == "org.password_contains_username"


def test_the_list_is_read_once_and_only_when_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    real_open = gzip.open

    def counting_open(*args: object, **kw: object) -> object:
        opened.append(args[0])
        return real_open(*args, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(passwords.gzip, "open", counting_open)
    passwords.common_passwords.cache_clear()
    assert _code("short") == "org.password_too_short"  # refused by length: no list needed
    assert opened == []
    for candidate in ("a fine long passphrase", "another long passphrase", "password123456"):
        _code(candidate)
    assert opened == [passwords.COMMON_PASSWORDS]
    assert len(passwords.common_passwords()) > 19_000


def test_the_demo_and_test_passwords_comply(world: World) -> None:
    for account in DEMO_ACCOUNTS:
        check_password(DEMO_PASSWORD, username=account.username)
    for username in world.people:
        check_password(PASSWORD, username=username)


def test_a_password_is_kept_as_typed_spaces_included(
    sign_in, client: TestClient, session: Session, world: World
) -> None:
    # The JSON schemas trim other strings; a password with spaces at its ends must not be
    # trimmed on one path and kept on another.
    spaced = "  Jialing at dusk  "
    admin = sign_in("city")
    r = admin.post(
        "/api/v1/org/people",
        json={
            "username": "spaced.pw",
            "name": "空格",
            "password": spaced,
            "department_id": world.police,
        },
    )
    assert r.status_code == 201, r.text
    trimmed = client.post(
        "/api/v1/auth/session", json={"username": "spaced.pw", "password": spaced.strip()}
    )
    assert trimmed.status_code == 401
    exact = client.post("/api/v1/auth/session", json={"username": "spaced.pw", "password": spaced})
    assert exact.status_code == 200, exact.text


def test_admin_reset_over_the_api_applies_the_rule(sign_in, world: World) -> None:
    admin = sign_in("city")
    r = admin.post(
        f"/api/v1/org/people/{world.people['officer']}/password",
        json={"password": "qwertyuiop123"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "org.password_common"
