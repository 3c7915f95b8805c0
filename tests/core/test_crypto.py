"""Password hashing: the dummy hash that keeps an unknown user name as slow as a wrong password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from govdata.core.crypto import dummy_password_hash, verify_password

SRC = Path(__file__).resolve().parents[2] / "src"


def test_importing_crypto_hashes_no_password() -> None:
    # An argon2 hash costs ~40 ms; computed at import, every CLI command and app start paid it.
    code = (
        "import argon2\n"
        "def refuse(*args, **kwargs):\n"
        "    raise SystemExit('a password was hashed at import')\n"
        "argon2.PasswordHasher.hash = refuse\n"
        "import govdata.core.crypto, govdata.org.auth\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr or done.stdout


def test_the_dummy_hash_is_computed_once_and_matches_no_password() -> None:
    first = dummy_password_hash()
    assert first.startswith("$argon2id$")
    assert dummy_password_hash() is first
    assert not verify_password(first, "Passw0rd2026")
