"""Signed documents (Art. 28): what a department obtains of a document, licence or contract
through the sharing system carries its provider's SM2 signature, so that it has the force of
the paper original and anyone can check it, online (``/verify``) or offline (``govdata verify``).

**Which sources.** The e-licence base database ``base.licence`` is 证照类 by its nature; any
other source is one when its provider's head or the city bureau designates it (``designate``,
table ``sharing_document_sources``: the catalog has no field for the legal kind of a resource).

**The envelope.** ``sign_delivery`` returns::

    {"document": <what was delivered>,
     "signature": {"alg": "SM2-with-SM3", "key_id", "signed_at", "digest", "source",
                   "grant_id", "value"}}

- ``digest``: SM3 (hex) of the document's canonical form.
- The *signed statement* is the canonical form of the ``signature`` object without ``value``:
  so the time, the key, the source and the grant are signed together with the digest.
- ``value``: the SM2 signature (GB/T 32918.2, SM3, the standard's default user id
  ``1234567812345678``) of the statement, ``r‖s`` in 128 hex digits.
- ``signed_at``: UTC, ISO 8601 with microseconds (``2026-12-05T10:00:00.123456+00:00``).

**Canonical form** (RFC 8785, JSON Canonicalization Scheme): objects' members sorted by their
names' UTF-16 code units, no whitespace, strings as JSON with only the required escapes
(``"``, ``\\``, control characters; ``\\n`` etc. where JSON has a short form, else ``\\u00xx``),
everything else as itself, numbers as ECMAScript prints them (``1.0`` → ``1``, ``1e21`` →
``1e+21``), UTF-8 bytes. One departure, stated: integers are printed exactly at any size (RFC
8785 would print a double's approximation beyond 2^53; the platform's integers are counts and
ids, far below). NaN and infinities are refused, as JSON has none. The document is first made
plain JSON (dates and times as ISO 8601 text, decimals as numbers), and the envelope carries
that plain form, so what is signed is exactly what is delivered.

Verification (``verify``) needs only the envelope and the published keys (``keys.published``,
``GET /api/v1/sharing/keys``): it checks the digest, the key, the signature, and that the key
was in force at ``signed_at`` (made before, not retired by then).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.crypto import sm2_sign, sm2_verify, sm3_hex
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput
from govdata.sharing import errors, keys, policy
from govdata.sharing.models import DocumentClass, DocumentSource
from govdata.sharing.sources import get_source

ALG = "SM2-with-SM3"
SM2_USER_ID = "1234567812345678"  # GB/T 32918's default, what gmssl's sign_with_sm3 uses
LICENCE_BASE = "base.licence"

# --- canonical form (RFC 8785) ----------------------------------------------------------------


def plain(value: Any, where: str = "文书") -> Any:
    """``value`` as plain JSON (dict, list, str, int, float, bool, None); NotSignable if a
    value has no exact JSON form."""
    try:
        return _plain(value, where)
    except RecursionError as exc:
        raise errors.NotSignable(f"{where}嵌套层次过深") from exc


def _plain(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise errors.NotSignable(f"{where}含有非有限数值")
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise errors.NotSignable(f"{where}的字段名必须是文本")
            out[k] = _plain(v, where)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise errors.NotSignable(f"{where}含有非有限数值")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, UUID):
        return str(value)
    raise errors.NotSignable(f"{where}含有无法表示为 JSON 的值（{type(value).__name__}）")


def _number(x: float) -> str:
    """A double as ECMAScript's Number.prototype.toString prints it (RFC 8785 §3.2.2.3)."""
    if x == 0:
        return "0"
    if x < 0:
        return "-" + _number(-x)
    # repr gives the shortest digits that round-trip, as ECMAScript does.
    _, digit_tuple, exponent = Decimal(repr(x)).as_tuple()
    assert isinstance(exponent, int)
    all_digits = "".join(map(str, digit_tuple))
    n = len(all_digits) + exponent  # x = 0.<all_digits> × 10^n
    digits = all_digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{head}e{'+' if e >= 0 else '-'}{abs(e)}"


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise errors.NotSignable("文书含有非有限数值")
        out.append(_number(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, list):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _write(v, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, k in enumerate(sorted(value, key=lambda s: s.encode("utf-16-be"))):
            if i:
                out.append(",")
            out.append(json.dumps(k, ensure_ascii=False))
            out.append(":")
            _write(value[k], out)
        out.append("}")
    else:
        raise errors.NotSignable(f"文书含有无法表示为 JSON 的值（{type(value).__name__}）")


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical form of plain JSON ``value``, as UTF-8 bytes."""
    out: list[str] = []
    try:
        _write(value, out)
    except RecursionError as exc:  # nested deeper than any document is
        raise errors.NotSignable("文书嵌套层次过深") from exc
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate
        raise errors.NotSignable("文书含有无效的 Unicode 字符") from exc


def statement(signature: Mapping[str, Any]) -> bytes:
    """What the SM2 signature covers: the signature object without its value, canonical."""
    return canonical({k: v for k, v in signature.items() if k != "value"})


# --- which sources are documents, licences or contracts (Art. 28) -----------------------------


def document_class(session: Session, source_code: str) -> DocumentClass | None:
    """The Art. 28 kind of a source, or None if what it delivers is plain data."""
    if source_code == LICENCE_BASE:
        return DocumentClass.LICENCE
    found = session.get(DocumentSource, source_code)
    return DocumentClass(found.document_class) if found is not None else None


def designate(
    session: Session, actor: Actor, *, source_code: str, document_class: DocumentClass | None
) -> DocumentClass | None:
    """Designate a source as 文书类/证照类/合同类 (Art. 28), or clear it (``None``): its
    provider's head or the city bureau; audited. ``base.licence`` is 证照类 by nature."""
    if source_code == LICENCE_BASE:
        raise InvalidInput(
            "sharing.licence_by_nature", "电子证照基础数据库本身即为证照类，无需认定。"
        )
    source = get_source(session, source_code)
    if source is None:
        raise errors.SourceNotFound()
    if not policy.can_designate_document(actor, source.provider_department_id):
        raise errors.DocumentClassForbidden()
    row = session.get(DocumentSource, source_code)
    before = row.document_class if row is not None else None
    after = document_class.value if document_class is not None else None
    if before == after:
        return document_class
    if row is not None and document_class is None:
        session.delete(row)
    elif row is None and document_class is not None:
        session.add(
            DocumentSource(
                source_code=source_code,
                document_class=document_class.value,
                provider_department_id=source.provider_department_id,
                designated_by=actor.person_id,
                designated_at=utcnow(),
            )
        )
    elif row is not None and document_class is not None:
        row.document_class = document_class.value
        row.designated_by = actor.person_id
        row.designated_at = utcnow()
    label = document_class.label if document_class is not None else "一般数据"
    audit.record(
        session,
        actor,
        "sharing.document_class.set",
        object_type="sharing_source",
        object_id=source_code,
        summary=f"认定共享资源「{source.name}」为{label}（第二十八条）",
        change={"before": before, "after": after},
        department_id=source.provider_department_id,
    )
    return document_class


@dataclass(frozen=True)
class DesignatedSource:
    source_code: str
    document_class: DocumentClass
    provider_department_id: int
    designated_at: datetime | None


def designated(session: Session) -> list[DesignatedSource]:
    """Every designated source (public knowledge: which deliveries come signed)."""
    rows = session.scalars(select(DocumentSource).order_by(DocumentSource.source_code))
    return [
        DesignatedSource(
            r.source_code,
            DocumentClass(r.document_class),
            r.provider_department_id,
            r.designated_at,
        )
        for r in rows
    ]


# --- signing ------------------------------------------------------------------------------------


def sign_delivery(
    session: Session,
    *,
    department_id: int,
    payload: Mapping[str, Any],
    source_code: str,
    grant_id: int | None,
) -> dict[str, Any]:
    """Sign what a department obtained of a document, licence or contract (Art. 28) with the
    providing department's current key. A pure function of its inputs, the key table and the
    clock: no write, no permission check (the data access API has made them; the caller
    records the access). Refuses without a current key (``NoSigningKey``) or when the key does
    not open (``SigningKeyUnavailable``): never delivers a document unsigned as if signed."""
    document = plain(payload)
    key = keys.current_key(session, department_id)
    if key is None:
        raise errors.NoSigningKey()
    if keys.key_id_of(key.public_key) != key.key_id:  # the row's halves were mixed up
        raise errors.SigningKeyUnavailable()
    private = keys.private_key(key)
    signature: dict[str, Any] = {
        "alg": ALG,
        "key_id": key.key_id,
        "signed_at": utcnow().isoformat(timespec="microseconds"),
        "digest": sm3_hex(canonical(document)),
        "source": source_code,
        "grant_id": grant_id,
    }
    signature["value"] = sm2_sign(private, key.public_key, statement(signature))
    return {"document": document, "signature": signature}


def sign_if_document(
    session: Session,
    *,
    department_id: int,
    payload: Mapping[str, Any],
    source_code: str,
    grant_id: int | None,
) -> dict[str, Any] | None:
    """The envelope when ``source_code`` is a document, licence or contract (Art. 28), else
    None (plain data goes unsigned): the one call the data access API's lookup makes."""
    if document_class(session, source_code) is None:
        return None
    return sign_delivery(
        session,
        department_id=department_id,
        payload=payload,
        source_code=source_code,
        grant_id=grant_id,
    )


# --- verifying ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyInfo:
    """A published key, as ``GET /api/v1/sharing/keys`` gives it."""

    key_id: str
    public_key: str
    department_name: str
    department_code: str
    created_at: datetime
    retired_at: datetime | None


@dataclass(frozen=True)
class Verification:
    valid: bool
    code: str  # valid, malformed, digest_mismatch, unknown_key, bad_signature, key_not_in_force
    message: str  # zh-CN
    key_id: str | None = None
    department_name: str | None = None
    department_code: str | None = None
    signed_at: datetime | None = None
    source: str | None = None
    grant_id: int | None = None


MESSAGES = {
    "valid": "签名有效：文书自签名以来未被改动，由下列部门的签名密钥签署。",
    "malformed": (
        "文件不是有效的签名文书（应为含 document 与 signature 的 JSON，算法为 SM2-with-SM3）。"
    ),
    "digest_mismatch": "摘要不符：文书内容与签名中的 SM3 摘要不一致，文书在签名后被改动过。",
    "unknown_key": "未知密钥：签名所用的密钥不在公布的签名密钥中。",
    "bad_signature": "签名无效：SM2 签名与所签内容（摘要、时间、密钥）不符。",
    "key_not_in_force": "密钥不在有效期内：签名时间早于该密钥生成或晚于其停用。",
}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def verify(envelope: object, known: Mapping[str, KeyInfo]) -> Verification:
    """Check a signed envelope against published keys; never raises on bad input."""

    def fail(code: str, **kw: Any) -> Verification:
        return Verification(False, code, MESSAGES[code], **kw)

    if not isinstance(envelope, dict) or set(envelope) != {"document", "signature"}:
        return fail("malformed")
    sig = envelope["signature"]
    if not isinstance(sig, dict) or sig.get("alg") != ALG:
        return fail("malformed")
    key_id, value, digest = sig.get("key_id"), sig.get("value"), sig.get("digest")
    signed_at = _parse_time(sig.get("signed_at"))
    grant_id = sig.get("grant_id")
    source = sig.get("source")
    if not (
        isinstance(key_id, str)
        and isinstance(value, str)
        and isinstance(digest, str)
        and signed_at is not None
        and (grant_id is None or (isinstance(grant_id, int) and not isinstance(grant_id, bool)))
        and (source is None or isinstance(source, str))
    ):
        return fail("malformed")
    try:
        body = canonical(envelope["document"])
        signed = statement(sig)
    except errors.NotSignable:
        return fail("malformed")
    facts: dict[str, Any] = {
        "key_id": key_id,
        "signed_at": signed_at,
        "source": source,
        "grant_id": grant_id,
    }
    if sm3_hex(body) != digest.lower():
        return fail("digest_mismatch", **facts)
    key = known.get(key_id)
    if key is None:
        return fail("unknown_key", **facts)
    facts |= {"department_name": key.department_name, "department_code": key.department_code}
    if not sm2_verify(key.public_key, signed, value.lower()):
        return fail("bad_signature", **facts)
    if signed_at < _aware(key.created_at) or (
        key.retired_at is not None and signed_at >= _aware(key.retired_at)
    ):
        return fail("key_not_in_force", **facts)
    return Verification(True, "valid", MESSAGES["valid"], **facts)


def known_keys(session: Session) -> dict[str, KeyInfo]:
    """The platform's published keys, for ``verify``."""
    return {
        k.key_id: KeyInfo(
            k.key_id, k.public_key, k.department_name, k.department_code, k.created_at, k.retired_at
        )
        for k in keys.published(session)
    }


def keys_from_json(data: object) -> dict[str, KeyInfo]:
    """Keys from what ``GET /api/v1/sharing/keys`` returned (``{"keys": [...]}`` or the list);
    ValueError if it is not that."""
    items = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("not a key list")
    found: dict[str, KeyInfo] = {}
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("not a key")
        created = _parse_time(item.get("created_at"))
        retired_text = item.get("retired_at")
        retired = _parse_time(retired_text) if retired_text is not None else None
        key_id, public = item.get("key_id"), item.get("public_key")
        if (
            not isinstance(key_id, str)
            or not isinstance(public, str)
            or created is None
            or (retired_text is not None and retired is None)
        ):
            raise ValueError("not a key")
        department = item.get("department")
        dept = department if isinstance(department, dict) else {}
        found[key_id] = KeyInfo(
            key_id,
            public,
            str(dept.get("name", "")),
            str(dept.get("code", "")),
            created,
            retired,
        )
    return found


__all__ = [
    "ALG",
    "SM2_USER_ID",
    "KeyInfo",
    "Verification",
    "canonical",
    "designate",
    "document_class",
    "keys_from_json",
    "known_keys",
    "sign_delivery",
    "sign_if_document",
    "statement",
    "verify",
]
