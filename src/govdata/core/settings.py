"""Runtime settings, read once from the environment (``GOVDATA_*``)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_VAR_DIR = Path("var")


def _secret_key(var_dir: Path, name: str = "secret_key") -> str:
    """A platform key: from the environment (``GOVDATA_<NAME>``), else persisted under ``var/``.

    ``secret_key`` signs CSRF tokens: persisting it keeps sign-in sessions valid across restarts
    of the embedded default. ``subject_digest_key`` keys the digests of subject keys in access
    records (``core.crypto.subject_digest``): changing it orphans "who used my data".
    """
    env = os.environ.get(f"GOVDATA_{name.upper()}")
    if env:
        return env
    path = var_dir / name
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
    # Uploaded xlsx, checked before calamine reads them (core/xlsx_limits.py; Art. 39): the
    # bytes they expand to (loads; catalog imports), a zip entry's compression ratio, the zip's
    # entries, a sheet's rows and its grid (rows × columns, calamine holds it all in memory).
    xlsx_max_expanded_bytes: int = 200 * 1024 * 1024
    catalog_xlsx_max_expanded_bytes: int = 100 * 1024 * 1024
    xlsx_max_ratio: int = 100
    xlsx_max_entries: int = 1000
    xlsx_max_rows: int = 1_048_576
    xlsx_max_cells: int = 20_000_000
    # Sign-in throttle (Art. 39): failed sign-ins per address / per username typed within the
    # window before further attempts are refused with 429; 0 turns one off (docs/operations.md).
    sign_in_window_seconds: int = 900
    sign_in_failures_per_address: int = 20
    sign_in_failures_per_username: int = 10
    # Rate limits (Art. 39, decision 0011), in the ``limits`` notation ("600/minute"); an empty
    # value turns one off. Per address: every request; per person / token: every request once
    # signed in; personal reads and rows: reads of personal data, per person or token.
    rate_limit_enabled: bool = True
    rate_limit_per_address: str = "1200/minute"
    rate_limit_per_person: str = "300/minute"
    rate_limit_per_token: str = "1200/minute"  # noqa: S105 - a rate, not a secret
    rate_limit_personal_reads: str = "60/minute"
    rate_limit_personal_rows: str = "2000/minute"
    # The audit chain's signed checkpoints (decision 0010): the directory they are appended to,
    # outside the database, and the SM2 key file that signs them (never in the database). None:
    # under var_dir, the key made there on first use (the embedded default).
    audit_checkpoint_dir: Path | None = None
    audit_signing_key_file: Path | None = None
    audit_seal_interval: float = 0.5  # seconds between the sealer's runs (events sealed <= 2 s)
    # The key of subject-key digests in access records (Art. 40); see ``_secret_key``.
    subject_digest_key: str = "govdata-subject-digest"
    # The data access API's hot path on PostgreSQL (decision 0014): lookups and verification
    # over an async connection pool of this size; off (0) serves them by the ordinary path.
    sharing_hot_path_pool: int = 0
    # Open data (Ch. 5, issue 14). The city's unified identity platform (OpenID Connect, Art. 33
    # ¶3): off while the issuer is unset. Anonymous calls of the open-data APIs, per address,
    # and a developer key's default daily quota (product decisions).
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    opendata_anonymous_rate: str = "60/minute"
    opendata_key_daily_quota: int = 10_000


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
        **_xlsx_limits(),
        sign_in_window_seconds=int(os.environ.get("GOVDATA_SIGN_IN_WINDOW_SECONDS", "900")),
        sign_in_failures_per_address=int(
            os.environ.get("GOVDATA_SIGN_IN_FAILURES_PER_ADDRESS", "20")
        ),
        sign_in_failures_per_username=int(
            os.environ.get("GOVDATA_SIGN_IN_FAILURES_PER_USERNAME", "10")
        ),
        rate_limit_enabled=os.environ.get("GOVDATA_RATE_LIMIT", "1") == "1",
        rate_limit_per_address=os.environ.get("GOVDATA_RATE_LIMIT_PER_ADDRESS", "1200/minute"),
        rate_limit_per_person=os.environ.get("GOVDATA_RATE_LIMIT_PER_PERSON", "300/minute"),
        rate_limit_per_token=os.environ.get("GOVDATA_RATE_LIMIT_PER_TOKEN", "1200/minute"),
        rate_limit_personal_reads=os.environ.get("GOVDATA_RATE_LIMIT_PERSONAL_READS", "60/minute"),
        rate_limit_personal_rows=os.environ.get("GOVDATA_RATE_LIMIT_PERSONAL_ROWS", "2000/minute"),
        audit_checkpoint_dir=_optional_path("GOVDATA_AUDIT_CHECKPOINT_DIR"),
        audit_signing_key_file=_optional_path("GOVDATA_AUDIT_SIGNING_KEY_FILE"),
        audit_seal_interval=float(os.environ.get("GOVDATA_AUDIT_SEAL_INTERVAL", "0.5")),
        subject_digest_key=_secret_key(var_dir, "subject_digest_key"),
        sharing_hot_path_pool=int(os.environ.get("GOVDATA_SHARING_HOT_PATH_POOL", "16")),
        oidc_issuer=os.environ.get("GOVDATA_OIDC_ISSUER", ""),
        oidc_client_id=os.environ.get("GOVDATA_OIDC_CLIENT_ID", ""),
        oidc_client_secret=os.environ.get("GOVDATA_OIDC_CLIENT_SECRET", ""),
        opendata_anonymous_rate=os.environ.get("GOVDATA_OPENDATA_ANONYMOUS_RATE", "60/minute"),
        opendata_key_daily_quota=int(os.environ.get("GOVDATA_OPENDATA_KEY_DAILY_QUOTA", "10000")),
    )


def _xlsx_limits() -> dict[str, int]:
    names = (
        "xlsx_max_expanded_bytes",
        "catalog_xlsx_max_expanded_bytes",
        "xlsx_max_ratio",
        "xlsx_max_entries",
        "xlsx_max_rows",
        "xlsx_max_cells",
    )
    return {
        name: int(os.environ[f"GOVDATA_{name.upper()}"])
        for name in names
        if os.environ.get(f"GOVDATA_{name.upper()}")
    }


def _optional_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None
