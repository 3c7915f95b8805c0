"""SM4-GCM sealing (GB/T 32907 block cipher, GCM mode): secrets kept at rest under a key-encryption
key, such as the sharing system's SM2 private keys (Art. 28, 38).

``cryptography`` (50.x, bundling OpenSSL 3) offers SM4 in GCM mode, so no encrypt-then-MAC
construction of our own is needed: GCM authenticates the ciphertext and the associated data, and
a wrong key or a changed byte fails the tag check (``SealBroken``).

A sealed value is text: ``sm4-gcm:v1:<nonce, 12 bytes>:<ciphertext‖tag, 16-byte tag>``, both in
URL-safe base64. The nonce is random (``secrets``) for every seal; a key-encryption key seals
few values (one per signing key), far from GCM's 2^32 random-nonce limit.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from govdata.core.crypto import sm3

PREFIX = "sm4-gcm:v1:"
_NONCE_BYTES = 12
_TAG_BYTES = 16


class SealBroken(Exception):
    """The sealed value does not open: wrong key, changed bytes or another value's context."""


def derive_key(secret: str, label: str) -> bytes:
    """A 128-bit SM4 key from a platform secret (any length of text), separated by ``label``."""
    return sm3(label.encode("utf-8") + b"\x00" + secret.encode("utf-8"))[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def seal(key: bytes, plaintext: bytes, context: bytes) -> str:
    """Encrypt and authenticate ``plaintext``; ``context`` (associated data, not stored) binds
    the sealed value to its place, so it cannot be moved to another row and opened there."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(context)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return f"{PREFIX}{_b64(nonce)}:{_b64(body + encryptor.tag)}"


def open_sealed(key: bytes, sealed: str, context: bytes) -> bytes:
    """The plaintext of ``seal``'s output; ``SealBroken`` unless key, bytes and context match."""
    if not sealed.startswith(PREFIX):
        raise SealBroken("unknown format")
    try:
        nonce_text, body_text = sealed[len(PREFIX) :].split(":")
        nonce = base64.urlsafe_b64decode(nonce_text)
        body = base64.urlsafe_b64decode(body_text)
    except ValueError as exc:
        raise SealBroken("malformed") from exc
    if len(nonce) != _NONCE_BYTES or len(body) < _TAG_BYTES:
        raise SealBroken("malformed")
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, body[-_TAG_BYTES:])).decryptor()
    decryptor.authenticate_additional_data(context)
    try:
        return decryptor.update(body[:-_TAG_BYTES]) + decryptor.finalize()
    except InvalidTag as exc:
        raise SealBroken("tag mismatch") from exc
