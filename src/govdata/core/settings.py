"""Runtime settings, read once from the environment (``GOVDATA_*``)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_VAR_DIR = Path("var")


def _secret_key(var_dir: Path) -> str:
    """The key that signs CSRF tokens: from the environment, else persisted under ``var/``.

    Persisting it keeps sign-in sessions valid across restarts of the embedded default.
    """
    env = os.environ.get("GOVDATA_SECRET_KEY")
    if env:
        return env
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    var_dir: Path
    # Cookies marked Secure only behind HTTPS; the embedded default serves plain HTTP on loopback.
    secure_cookies: bool = False
    session_hours: int = 8
    max_body_bytes: int = 10 * 1024 * 1024
    # Data files uploaded or pushed into pools (Art. 17): spooled to disk, not held in memory.
    max_upload_bytes: int = 4 * 1024 * 1024 * 1024
    log_json: bool = True
    regions_csv: Path = field(default_factory=lambda: Path("../shared/data/chongqing-regions.csv"))
    # Background jobs: "procrastinate" (a queue in PostgreSQL, run by `govdata worker` or the
    # worker thread `govdata serve` starts) or "inline" (in the web process; SQLite's default).
    jobs: str = "inline"
    # The audit chain's signed checkpoints (decision 0010): the directory they are appended to,
    # outside the database, and the SM2 key file that signs them (never in the database). None:
    # under var_dir, the key made there on first use (the embedded default).
    audit_checkpoint_dir: Path | None = None
    audit_signing_key_file: Path | None = None
    audit_seal_interval: float = 0.5  # seconds between the sealer's runs (events sealed <= 2 s)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    var_dir = Path(os.environ.get("GOVDATA_VAR_DIR", str(DEFAULT_VAR_DIR)))
    url = os.environ.get("GOVDATA_DATABASE_URL") or f"sqlite:///{var_dir / 'govdata.db'}"
    default_jobs = "inline" if url.startswith("sqlite") else "procrastinate"
    return Settings(
        database_url=url,
        secret_key=_secret_key(var_dir),
        var_dir=var_dir,
        secure_cookies=os.environ.get("GOVDATA_SECURE_COOKIES", "0") == "1",
        session_hours=int(os.environ.get("GOVDATA_SESSION_HOURS", "8")),
        max_body_bytes=int(os.environ.get("GOVDATA_MAX_BODY_BYTES", str(10 * 1024 * 1024))),
        log_json=os.environ.get("GOVDATA_LOG_JSON", "1") == "1",
        max_upload_bytes=int(
            os.environ.get("GOVDATA_MAX_UPLOAD_BYTES", str(4 * 1024 * 1024 * 1024))
        ),
        regions_csv=Path(
            os.environ.get("GOVDATA_REGIONS_CSV", "../shared/data/chongqing-regions.csv")
        ),
        jobs=os.environ.get("GOVDATA_JOBS", default_jobs),
        audit_checkpoint_dir=_optional_path("GOVDATA_AUDIT_CHECKPOINT_DIR"),
        audit_signing_key_file=_optional_path("GOVDATA_AUDIT_SIGNING_KEY_FILE"),
        audit_seal_interval=float(os.environ.get("GOVDATA_AUDIT_SEAL_INTERVAL", "0.5")),
    )


def _optional_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None
