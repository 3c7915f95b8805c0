"""Cryptographic primitives: SM3 digests, SM2 signatures, password hashing (argon2id), tokens.

SM3 (GB/T 32905) is the national hash standard; we use OpenSSL's through ``hashlib`` when the
interpreter's OpenSSL has it, else the one in ``cryptography`` (which bundles OpenSSL 3).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


def _make_sm3() -> Callable[[bytes], bytes]:
    if "sm3" in hashlib.algorithms_available:
        try:
            # Copying a prototype skips OpenSSL 3's algorithm fetch that every hashlib.new does:
            # 1.4 instead of 2.1 µs a hash, a third of verify's own CPU over a long chain.
            prototype = hashlib.new("sm3", b"")

            def _hashlib_sm3(data: bytes) -> bytes:
                h = prototype.copy()
                h.update(data)
                return h.digest()

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


def _make_hmac_sm3() -> Callable[[bytes, bytes], str]:
    if "sm3" in hashlib.algorithms_available:
        try:
            hmac.new(b"k", b"", "sm3")

            def _hashlib(key: bytes, data: bytes) -> str:
                return hmac.new(key, data, "sm3").hexdigest()

            return _hashlib
        except ValueError:  # pragma: no cover
            pass
    from cryptography.hazmat.primitives import hashes  # pragma: no cover
    from cryptography.hazmat.primitives import hmac as chmac  # pragma: no cover

    def _cryptography(key: bytes, data: bytes) -> str:  # pragma: no cover
        h = chmac.HMAC(key, hashes.SM3())
        h.update(data)
        return h.finalize().hex()

    return _cryptography  # pragma: no cover


hmac_sm3: Callable[[bytes, bytes], str] = _make_hmac_sm3()


def canonical_subject_key(value: str) -> str:
    """A subject key as digested and compared: trimmed, letters upper-case (the ID number's
    check character ``x`` and USCC letters are written either way)."""
    return value.strip().upper()


def subject_digest(value: str, key: str | None = None) -> str:
    """The keyed SM3 digest (HMAC-SM3) of a subject key (ID number, USCC, feature code, licence
    number) under the platform's subject key (``Settings.subject_digest_key``): what access
    records keep and "who used my data" matches on (Art. 40). Keyed, so that the ID numbers of a
    whole city cannot be recovered from the records by hashing every possible number."""
    if key is None:
        from govdata.core.settings import get_settings

        key = get_settings().subject_digest_key
    return hmac_sm3(key.encode("utf-8"), canonical_subject_key(value).encode("utf-8"))


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


# --- SM2 signatures with SM3 (GB/T 32918.2; DESIGN: gmssl) ------------------------------------
# gmssl is pure Python (sign ≈ 6 ms, verify ≈ 14 ms here), fine for a checkpoint a second.
# Three of its habits are worked around: it draws the signing nonce from ``random`` (predictable:
# a known nonce reveals the private key), so we pass one from ``secrets``; its constructor strips
# any leading "0"/"4" characters of a public key that starts with "04", so we set the key after
# construction; and its verify accepts r, s outside [1, n-1], which the standard refuses.

_SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
_HEX = frozenset("0123456789abcdef")


def _sm2(private_key: str, public_key: str) -> Any:
    from gmssl import sm2

    signer = sm2.CryptSM2(private_key=private_key, public_key="")
    signer.public_key = public_key
    return signer


def sm2_public_key(private_key: str) -> str:
    """The public key (128 hex digits, x‖y) of a private key (64 hex digits)."""
    from gmssl.sm2 import default_ecc_table

    return str(_sm2(private_key, "")._kg(int(private_key, 16), default_ecc_table["g"]))


def sm2_generate_key() -> tuple[str, str]:
    """A new key pair: (private key, public key) in hex."""
    while True:
        d = secrets.randbelow(_SM2_N - 1)  # the standard wants 1 <= d <= n - 2
        if d >= 1:
            private = f"{d:064x}"
            return private, sm2_public_key(private)


def sm2_sign(private_key: str, public_key: str, message: bytes) -> str:
    """SM2 signature with SM3 and the standard's default user id: r‖s, 128 hex digits."""
    signer = _sm2(private_key, public_key)
    while True:
        k = secrets.randbelow(_SM2_N - 1) + 1
        signature = signer.sign_with_sm3(message, f"{k:064x}")
        if signature is not None:  # r = 0, r + k = n or s = 0: the standard draws k again
            return str(signature)


def sm2_verify(public_key: str, message: bytes, signature: str) -> bool:
    if len(signature) != 128 or not set(signature) <= _HEX:
        return False
    if len(public_key) != 128 or not set(public_key) <= _HEX:
        return False
    r, s = int(signature[:64], 16), int(signature[64:], 16)
    if not (0 < r < _SM2_N and 0 < s < _SM2_N):
        return False
    try:
        return bool(_sm2("", public_key).verify_with_sm3(signature, message))
    except (ValueError, TypeError, ZeroDivisionError):  # a point not on the curve, and so on
        return False
