"""Cryptographic primitives: SM3 digests, password hashing (argon2id), random tokens.

SM3 (GB/T 32905) is the national hash standard; we use OpenSSL's through ``hashlib`` when the
interpreter's OpenSSL has it, else the one in ``cryptography`` (which bundles OpenSSL 3).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


def _make_sm3() -> Callable[[bytes], bytes]:
    if "sm3" in hashlib.algorithms_available:
        try:
            hashlib.new("sm3", b"")

            def _hashlib_sm3(data: bytes) -> bytes:
                return hashlib.new("sm3", data).digest()

            return _hashlib_sm3
        except ValueError:  # pragma: no cover - listed but disabled by the OpenSSL policy
            pass
    from cryptography.hazmat.primitives import hashes  # pragma: no cover

    def _cryptography_sm3(data: bytes) -> bytes:  # pragma: no cover
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize()

    return _cryptography_sm3  # pragma: no cover


sm3: Callable[[bytes], bytes] = _make_sm3()


def sm3_hex(data: bytes) -> str:
    return sm3(data).hex()


# argon2id with the library's RFC 9106 "low memory" profile: 64 MiB would make sign-in the
# slowest thing on a 2-core machine under a burst of logins.
_hasher = PasswordHasher(time_cost=3, memory_cost=19_456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def dummy_password_hash() -> str:
    """A fixed hash to verify against when a user name is unknown, so that the time a failed
    sign-in takes does not tell whether the account exists.

    Computed at the first unknown name rather than at import: an argon2 hash costs ~40 ms,
    which every CLI command and app start paid (BENCHMARKS.md A.6).
    """
    return _hasher.hash("govdata-dummy-password")


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """Digest under which a bearer secret (session id, API token) is stored: never the secret."""
    return sm3_hex(token.encode("utf-8"))


def sign(key: str, message: str) -> str:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
