"""The password rule (Art. 39 访问认证; OWASP ASVS 4 §2.1, GB/T 22239-2019 level 3 身份鉴别).

Length is what makes a password strong, so the rule is: at least ``MIN_LENGTH`` characters
(code points, so 12 Chinese characters count as 12), up to ``MAX_LENGTH``, any Unicode and
spaces allowed and kept as typed (never trimmed or truncated), and not one of the common or
leaked passwords Django ships (``data/common-passwords.txt.gz``; nor one of them followed by
digits and symbols), not made of one or two repeated characters, and not containing the
username. No composition rules beyond that
(ASVS 2.1.9): "Passw0rd!" style rules make passwords weaker, not stronger.

Every place a password is set calls ``check_password`` before anything is stored.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

from govdata.core.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 256  # ASVS 2.1.2 asks for at least 64 (128 allowed); the forms accept 256
MIN_DISTINCT = 3  # "aaaaaaaaaaaa", "abababababab": repetition, not length (NIST 800-63B)

COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"

POLICY_TEXT = f"至少{MIN_LENGTH}个字符，可使用空格、汉字等任意字符；不能是常见密码，不能包含用户名"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The list, lowercased, loaded once at the first password set (not at import: every CLI
    command and app start would pay for it)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as fh:
        return frozenset(word for line in fh if (word := line.strip()))


# Digits and symbols people append to a common word to pass a length rule ("password2026!").
_SUFFIX = "0123456789!@#$%^&*()-_=+.,;:?~ "


def is_common(password: str) -> bool:
    """In the list as typed (case-insensitively, as Django compares), or once the digits and
    symbols at its end are taken off ("qwertyuiop123456", "Passw0rd2026")."""
    lowered = password.lower().strip()
    words = common_passwords()
    return lowered in words or lowered.rstrip(_SUFFIX) in words


def check_password(password: str, *, username: str | None) -> None:
    """Refuse a password that breaks the rule, with a stable code and a zh-CN message."""
    length = len(password)  # code points
    if length < MIN_LENGTH:
        raise InvalidInput(
            "org.password_too_short",
            f"密码至少需要{MIN_LENGTH}个字符（当前{length}个）；可以使用空格和汉字，"
            "建议用一句好记的短语。",
            detail={"min_length": MIN_LENGTH, "length": length},
        )
    if length > MAX_LENGTH:
        raise InvalidInput(
            "org.password_too_long",
            f"密码最多{MAX_LENGTH}个字符。",
            detail={"max_length": MAX_LENGTH, "length": length},
        )
    folded = password.casefold()
    if username and username.strip().casefold() in folded:
        raise InvalidInput("org.password_contains_username", "密码不能包含用户名。")
    if len(set(folded)) < MIN_DISTINCT or is_common(password):
        raise InvalidInput(
            "org.password_common",
            "该密码过于常见或已在公开泄露的密码中出现，容易被猜中，请换一个。",
        )
