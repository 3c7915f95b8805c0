"""The audit log page and API with sealed and pending events, and the checkpoint downloads
auditors keep (Art. 49; decision 0010)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from govdata.core.audit_checkpoints import (
    CHECKPOINTS_FILE,
    HASHES_FILE,
    audit_config,
    load_checkpoints,
    parse_public_key,
)
from govdata.core.audit_seal import seal
from govdata.core.settings import Settings
from tests.core.test_audit import append


def test_pending_events_are_listed_as_pending_then_sealed(session: Session, sign_in) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("auditor")
    seal(session)
    append(session, 1)
    latest = c.get("/api/v1/audit/events").json()["items"][0]
    assert (latest["action"], latest["seq"], latest["hash"]) == ("test.event", None, None)
    page = c.get("/audit?action=test.event").text
    assert "待封存" in page
    v = c.get("/api/v1/audit/verify").json()
    assert v["ok"] is True and v["pending"] == 1
    seal(session)
    latest = c.get("/api/v1/audit/events?action=test.event").json()["items"][0]
    assert latest["seq"] is not None and len(latest["hash"]) == 64
    assert "待封存" not in c.get("/audit?action=test.event").text


def test_auditor_downloads_checkpoints_and_public_key(
    session: Session, settings: Settings, app, sign_in, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # A var/ of this test's own: its checkpoints cover a chain that is rolled back at the end.
    app.state.settings = replace(settings, var_dir=tmp_path / "var")
    config = audit_config(tmp_path / "var", None, None)
    append(session, 2)
    assert seal(session, config).checkpoint is not None
    c = sign_in("auditor")
    page = c.get("/audit").text
    assert 'href="/api/v1/audit/checkpoints"' in page and 'href="/api/v1/audit/public-key"' in page
    cps = c.get("/api/v1/audit/checkpoints")
    hashes = c.get("/api/v1/audit/checkpoints/hashes")
    pem = c.get("/api/v1/audit/public-key")
    assert (cps.status_code, hashes.status_code, pem.status_code) == (200, 200, 200)
    assert "BEGIN PUBLIC KEY" in pem.text
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / CHECKPOINTS_FILE).write_bytes(cps.content)
    (kept / HASHES_FILE).write_bytes(hashes.content)
    loaded = load_checkpoints(kept, [parse_public_key(pem.text)])
    assert loaded.problem is None and loaded.reference is not None
    v = c.get("/api/v1/audit/verify").json()
    assert v["ok"] is True and v["checkpoints"] >= 1 and v["covered"] == v["checked"]


def test_officer_cannot_download_checkpoints(sign_in) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    for url in (
        "/api/v1/audit/checkpoints",
        "/api/v1/audit/checkpoints/hashes",
        "/api/v1/audit/public-key",
    ):
        r = c.get(url)
        assert r.status_code == 403, url
        assert r.json()["error"]["code"] == "audit.forbidden"
