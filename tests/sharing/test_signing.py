"""Signed documents (Art. 28): canonical form, sign and verify, tampering, rotation, the KEK.

Documents, licences and contracts obtained through the sharing system have the force of paper
originals (Art. 28): what is delivered carries its provider's SM2 signature, which anyone can
check against the published keys, and which no change of a byte survives.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from govdata.core.audit import AuditEvent
from govdata.core.crypto import sm2_sign
from govdata.core.errors import DomainError
from govdata.sharing import keys, signing
from govdata.sharing.models import DocumentClass, SigningKey
from tests.sharing.helpers import build_share_city
from tests.world import World

KEK = "test-signing-kek-0f3c9a"

LICENCE: dict[str, Any] = {
    "证照名称": "食品经营许可证",
    "证照编号": "JY15001030012345",
    "持证主体": "重庆市渝中区示例餐饮有限公司",
    "统一社会信用代码": "91500103MA5U123456",
    "有效期至": date(2029, 6, 30),
    "经营项目": ["热食类食品制售", "冷食类食品制售"],
    "注册资本（万元）": Decimal("50.5"),
    "从业人数": 12,
    "已年检": True,
    "备注": None,
}


@pytest.fixture(autouse=True)
def kek(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.KEK_ENV, KEK)


def _sign(session: Session, world: World, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return signing.sign_delivery(
        session,
        department_id=world.police,
        payload=payload if payload is not None else LICENCE,
        source_code="base.licence",
        grant_id=7,
    )


def _police_key(session: Session, world: World) -> SigningKey:
    return keys.create(session, world.actor(session, "head"), world.police)


def _over_the_wire(envelope: dict[str, Any]) -> bytes:
    # As a department system receives it: FastAPI's JSON, not the canonical form.
    return json.dumps(envelope, ensure_ascii=False, indent=1).encode("utf-8")


def _check(session: Session, raw: bytes) -> signing.Verification | None:
    """None: not even JSON (a tampered file that no longer parses is refused as well)."""
    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return signing.verify(envelope, signing.known_keys(session))


# --- the canonical form (RFC 8785) -----------------------------------------------------------


def test_canonical_form_is_rfc_8785() -> None:
    # RFC 8785 §3.2.2's example: sorted members, ECMAScript numbers, minimal escapes.
    source = (
        '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],'
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        '"literals":[null,true,false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert signing.canonical(json.loads(source)) == expected.encode("utf-8")


def test_canonical_sorts_by_utf16_and_prints_numbers_as_ecmascript() -> None:
    # U+1F600 is D83D DE00 in UTF-16: before U+FB33, though after it by code point.
    value = {"\ufb33": 1, "\U0001f600": 2, "b": 1.0, "a": [1e21, 1e-7, 0.000001, -0.0, 100]}
    assert signing.canonical(value).decode() == (
        '{"a":[1e+21,1e-7,0.000001,0,100],"b":1,"\U0001f600":2,"\ufb33":1}'
    )


def test_plain_form_is_what_is_signed_and_delivered() -> None:
    doc = signing.plain(LICENCE)
    assert doc["有效期至"] == "2029-06-30" and doc["注册资本（万元）"] == 50.5
    assert json.loads(json.dumps(doc, ensure_ascii=False)) == doc


def test_values_without_an_exact_json_form_are_refused() -> None:
    for bad in ({"x": float("nan")}, {"x": float("inf")}, {"x": {1, 2}}, {1: "x"}):
        with pytest.raises(DomainError) as exc:
            signing.plain(bad)
        assert exc.value.code == "sharing.not_signable"


# --- sign and verify ---------------------------------------------------------------------------


def test_round_trip(session: Session, world: World) -> None:
    # Art. 28: the envelope verifies after travelling as ordinary JSON, naming its signer.
    key = _police_key(session, world)
    envelope = _sign(session, world)
    sig = envelope["signature"]
    assert set(sig) == {"alg", "key_id", "signed_at", "digest", "source", "grant_id", "value"}
    assert sig["alg"] == "SM2-with-SM3" and sig["key_id"] == key.key_id
    assert sig["source"] == "base.licence" and sig["grant_id"] == 7
    assert len(sig["value"]) == 128 and len(sig["digest"]) == 64
    assert envelope["document"]["证照编号"] == "JY15001030012345"
    result = _check(session, _over_the_wire(envelope))
    assert result is not None and result.valid and result.code == "valid"
    assert result.department_name == "市公安局" and result.key_id == key.key_id
    assert result.signed_at == datetime.fromisoformat(sig["signed_at"])
    assert result.grant_id == 7


def test_tampering_any_byte_of_the_document_invalidates(session: Session, world: World) -> None:
    _police_key(session, world)
    envelope = _sign(session, world, {"证照编号": "JY1500", "持证主体": "示例公司", "人数": 12})
    raw = _over_the_wire(envelope)
    body = json.dumps(envelope["document"], ensure_ascii=False, indent=1).encode("utf-8")
    start = raw.index(body.replace(b"\n", b"\n "))  # the document, as nested in the file
    end = start + len(body.replace(b"\n", b"\n "))
    assert _check(session, raw).valid  # type: ignore[union-attr]
    significant = 0
    for i in range(start, end):
        if raw[i : i + 1] in b" \n":  # layout, not content: the canonical form ignores it
            continue
        significant += 1
        tampered = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]
        result = _check(session, tampered)
        assert result is None or not result.valid, f"byte {i} changed, still valid"
    assert significant > 40


def test_tampering_the_signature_block_invalidates(session: Session, world: World) -> None:
    _police_key(session, world)
    envelope = _sign(session, world)

    def changed(field: str, value: Any) -> str:
        env = json.loads(json.dumps(envelope))
        env["signature"][field] = value
        return signing.verify(env, signing.known_keys(session)).code

    later = datetime.fromisoformat(envelope["signature"]["signed_at"]) + timedelta(days=1)
    assert changed("signed_at", later.isoformat()) == "bad_signature"  # time is signed
    assert changed("grant_id", 8) == "bad_signature"
    assert changed("source", "base.person") == "bad_signature"
    value = envelope["signature"]["value"]
    assert changed("value", value[:-1] + ("0" if value[-1] != "0" else "1")) == "bad_signature"
    assert changed("digest", "0" * 64) == "digest_mismatch"
    env = json.loads(json.dumps(envelope))
    env["signature"]["key_id"] = "f" * 32
    assert signing.verify(env, signing.known_keys(session)).code == "unknown_key"
    assert signing.verify(envelope, {}).code == "unknown_key"
    deep: Any = 1
    for _ in range(5000):  # deeper than the interpreter's recursion limit
        deep = [deep]
    assert signing.verify({"document": deep, "signature": envelope["signature"]}, {}).code == (
        "malformed"
    )
    with pytest.raises(DomainError) as exc:
        signing.plain({"x": deep})
    assert exc.value.code == "sharing.not_signable"
    for bad in (None, [], {"document": {}}, {"document": {}, "signature": {"alg": "RSA"}}):
        assert signing.verify(bad, signing.known_keys(session)).code == "malformed"


def test_a_department_without_a_key_delivers_nothing_signed(session: Session, world: World) -> None:
    with pytest.raises(DomainError) as exc:
        _sign(session, world)
    assert exc.value.code == "sharing.no_signing_key" and exc.value.status == 503


# --- rotation ----------------------------------------------------------------------------------


def test_rotation_keeps_old_signatures_valid_and_signs_with_the_new_key(
    session: Session, world: World
) -> None:
    head = world.actor(session, "head")
    old = _police_key(session, world)
    before = _sign(session, world)
    new = keys.rotate(session, head, world.police)
    after = _sign(session, world)
    assert new.key_id != old.key_id
    assert before["signature"]["key_id"] == old.key_id
    assert after["signature"]["key_id"] == new.key_id
    assert keys.current_key(session, world.police).key_id == new.key_id  # type: ignore[union-attr]
    published = {k.key_id: k for k in keys.published(session)}
    assert published[old.key_id].retired_at is not None and published[new.key_id].current
    known = signing.known_keys(session)
    assert signing.verify(before, known).valid
    assert signing.verify(after, known).valid
    # The retired key signs no more: a signature dated after its retirement is refused even
    # when made with its private half (a leaked, retired key).
    forged = {"document": before["document"], "signature": dict(before["signature"])}
    forged["signature"]["signed_at"] = datetime.now(UTC).isoformat(timespec="microseconds")
    forged["signature"].pop("value")
    forged["signature"]["value"] = sm2_sign(
        keys.private_key(old), old.public_key, signing.statement(forged["signature"])
    )
    result = signing.verify(forged, known)
    assert not result.valid and result.code == "key_not_in_force"


def test_making_and_rotating_keys_is_for_the_head_or_the_city_bureau(
    session: Session, world: World
) -> None:
    for username in ("officer", "yz_admin", "officer2", "auditor", "citizen"):
        with pytest.raises(DomainError) as exc:
            keys.create(session, world.actor(session, username), world.police)
        assert exc.value.code == "sharing.signing_forbidden", username
    with pytest.raises(DomainError) as exc:
        keys.create(session, world.actor(session, "head"), world.market)  # not its department
    assert exc.value.code == "sharing.signing_forbidden"
    assert session.scalar(select(SigningKey.id)) is None
    keys.create(session, world.actor(session, "city"), world.market)
    with pytest.raises(DomainError) as exc:
        keys.create(session, world.actor(session, "city"), world.market)
    assert exc.value.code == "sharing.signing_key_exists"
    keys.rotate(session, world.actor(session, "city"), world.market)
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "sharing_signing_key")
    ).all()
    assert sorted(actions) == ["sharing.signing_key.create", "sharing.signing_key.rotate"]


# --- the private key at rest -------------------------------------------------------------------


def test_the_private_key_is_never_stored_in_clear(session: Session, world: World) -> None:
    key = _police_key(session, world)
    keys.rotate(session, world.actor(session, "head"), world.police)
    private = keys.private_key(key)
    assert len(private) == 64
    forms = {private, private.upper(), private.lstrip("0")}
    rows = session.execute(text("SELECT * FROM sharing_signing_keys")).all()
    assert len(rows) == 2
    for row in rows:
        stored = " ".join(str(v) for v in row)
        assert not any(f in stored for f in forms)
        assert any(str(v).startswith("sm4-gcm:v1:") for v in row)
    events = session.execute(text("SELECT * FROM audit_events")).all()
    assert events and not any(f in str(e) for e in events for f in forms)


def test_a_wrong_kek_refuses_to_sign(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _police_key(session, world)
    monkeypatch.setenv(keys.KEK_ENV, "another-kek")
    with pytest.raises(DomainError) as exc:
        _sign(session, world)
    assert exc.value.code == "sharing.signing_key_unavailable" and exc.value.status == 503
    assert "密钥加密密钥" in exc.value.message


def test_a_missing_kek_refuses_to_sign_and_is_not_made_up(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _police_key(session, world)
    monkeypatch.delenv(keys.KEK_ENV)
    monkeypatch.setattr(keys, "_kek_path", lambda: tmp_path / "signing_kek")
    with pytest.raises(DomainError) as exc:
        _sign(session, world)
    assert exc.value.code == "sharing.signing_key_unavailable"
    assert not (tmp_path / "signing_kek").exists()
    # Making a key makes the file KEK (mode 0600) and signs under it.
    keys.create(session, world.actor(session, "city"), world.market)
    assert (tmp_path / "signing_kek").stat().st_mode & 0o777 == 0o600
    envelope = signing.sign_delivery(
        session, department_id=world.market, payload={"a": 1}, source_code="x", grant_id=None
    )
    assert signing.verify(envelope, signing.known_keys(session)).valid


def test_a_sealed_key_moved_to_another_row_does_not_open(session: Session, world: World) -> None:
    police = _police_key(session, world)
    market = keys.create(session, world.actor(session, "city"), world.market)
    session.execute(
        update(SigningKey)
        .where(SigningKey.id == market.id)
        .values(private_key_sealed=police.private_key_sealed)
    )
    session.expire_all()
    with pytest.raises(DomainError) as exc:
        signing.sign_delivery(
            session, department_id=world.market, payload={"a": 1}, source_code="x", grant_id=1
        )
    assert exc.value.code == "sharing.signing_key_unavailable"
    # Nor does a row whose public key was replaced: its key id no longer matches it.
    session.execute(
        update(SigningKey).where(SigningKey.id == police.id).values(public_key=market.public_key)
    )
    session.expire_all()
    with pytest.raises(DomainError) as exc:
        _sign(session, world)
    assert exc.value.code == "sharing.signing_key_unavailable"


# --- which sources are documents, licences or contracts ----------------------------------------


def test_document_classes(session: Session, world: World) -> None:
    # Art. 28: the e-licence base database is 证照类 by nature; others are designated.
    sc = build_share_city(session, world)
    code = sc.person_source.code  # provided by 市公安局
    assert signing.document_class(session, "base.licence") is DocumentClass.LICENCE
    assert signing.document_class(session, code) is None
    with pytest.raises(DomainError) as exc:
        signing.designate(
            session,
            world.actor(session, "officer2"),  # another department's officer
            source_code=code,
            document_class=DocumentClass.DOCUMENT,
        )
    assert exc.value.code == "sharing.document_class_forbidden"
    head = world.actor(session, "head")
    signing.designate(session, head, source_code=code, document_class=DocumentClass.DOCUMENT)
    assert signing.document_class(session, code) is DocumentClass.DOCUMENT
    signing.designate(session, head, source_code=code, document_class=DocumentClass.CONTRACT)
    assert signing.document_class(session, code) is DocumentClass.CONTRACT
    signing.designate(session, head, source_code=code, document_class=None)
    assert signing.document_class(session, code) is None
    summaries = session.scalars(
        select(AuditEvent.summary)
        .where(AuditEvent.action == "sharing.document_class.set")
        .order_by(AuditEvent.id)
    ).all()
    labels = ["文书类", "合同类", "一般数据"]
    assert len(summaries) == 3
    assert all(s.endswith(f"为{label}（第二十八条）") for s, label in zip(summaries, labels))
    # The data access API's one call: plain data unsigned, a document signed.
    keys.create(session, head, world.police)
    values = {"姓名": "张三"}
    kw: dict[str, Any] = {"department_id": world.police, "payload": values, "grant_id": 1}
    assert signing.sign_if_document(session, source_code=code, **kw) is None
    signing.designate(session, head, source_code=code, document_class=DocumentClass.LICENCE)
    envelope = signing.sign_if_document(session, source_code=code, **kw)
    assert envelope is not None and envelope["document"] == values
    assert signing.verify(envelope, signing.known_keys(session)).valid
    with pytest.raises(DomainError) as exc:
        signing.designate(session, head, source_code="no.such", document_class=None)
    assert exc.value.code == "sharing.source_not_found"
