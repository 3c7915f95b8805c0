"""Signed checkpoints of the audit chain, kept outside the database (Art. 39; decision 0010).

As in transparency logs (Trillian, Sigstore's Rekor), whoever can write the database must not be
able to rewrite the audit chain unnoticed. After each seal the sealer appends to a directory the
database cannot reach:

- ``hashes.bin``: the hash of every sealed event, 32 bytes at offset ``(seq - 1) * 32``;
- ``checkpoints.jsonl``: one line per seal: the chain's ``size`` and ``head`` hash, the SM3 of
  the batch of hashes it added (``batch``), the SM3 of the previous line (``prev``), the time,
  the signing key's id and an SM2 signature with SM3 (GB/T 32918) over all of these.

The signing key is a file the database never holds; auditors hold its public key. Because each
line carries the SM3 of the one before, a valid signature on the last line vouches for every
earlier line, so verifying a year of checkpoints costs one SM2 verification, not one per line
(gmssl's pure-Python verify takes ~14 ms). The signature is standard: ``openssl pkeyutl
-verify -rawin -digest sm3 -pkeyopt distid:1234567812345678`` accepts it (docs/operations.md).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog

from govdata.core.crypto import sm2_generate_key, sm2_public_key, sm2_sign, sm2_verify, sm3, sm3_hex

log = structlog.get_logger(__name__)

CHECKPOINTS_FILE = "checkpoints.jsonl"
HASHES_FILE = "hashes.bin"
_LOCK_FILE = ".lock"
ORIGIN = "govdata/audit"
_HEADER = "govdata-audit-checkpoint/v1"
_ZERO = "0" * 64
_HASH = 32  # bytes of one SM3 hash in hashes.bin


class CheckpointLogError(Exception):
    """The outside log cannot take a checkpoint (damaged, or ahead of the chain)."""


# --- keys ---------------------------------------------------------------------------------------

# DER prefix of an SM2 SubjectPublicKeyInfo: id-ecPublicKey with the curve sm2p256v1, then the
# uncompressed point. PEM of this is what OpenSSL (and auditors' tools) read.
_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


@dataclass(frozen=True)
class SigningKey:
    private: str = field(repr=False)  # 64 hex digits; never logged, never in the database
    public: str

    @property
    def key_id(self) -> str:
        return key_id(self.public)


def key_id(public: str) -> str:
    return sm3_hex(bytes.fromhex(public))[:16]


def public_key_pem(public: str) -> str:
    der = _SPKI_PREFIX + b"\x04" + bytes.fromhex(public)
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n"


def parse_public_key(content: str) -> str:
    """A public key from PEM (as ``public_key_pem`` writes it) or 128 hex digits."""
    content = content.strip()
    if content.startswith("-----BEGIN PUBLIC KEY-----"):
        lines = [ln for ln in content.splitlines() if ln and not ln.startswith("-----")]
        der = base64.b64decode("".join(lines))
        if not der.startswith(_SPKI_PREFIX + b"\x04") or len(der) != len(_SPKI_PREFIX) + 65:
            raise ValueError("不是 SM2 公钥")
        return der[len(_SPKI_PREFIX) + 1 :].hex()
    hexed = content.lower().removeprefix("04") if len(content) == 130 else content.lower()
    if len(hexed) != 128 or any(c not in "0123456789abcdef" for c in hexed):
        raise ValueError("不是 SM2 公钥")
    return hexed


def write_signing_key(path: Path) -> SigningKey:
    """Make a new key at ``path`` (mode 0600, never overwriting) and its public key beside it."""
    private, public = sm2_generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(f"# govdata audit checkpoint signing key (SM2, hex); keep secret\n{private}\n")
    public_key_path(path).write_text(public_key_pem(public), encoding="ascii")
    return SigningKey(private, public)


def public_key_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".pub.pem")


def read_signing_key(path: Path) -> SigningKey:
    lines = [ln.strip() for ln in path.read_text(encoding="ascii").splitlines()]
    private = next((ln for ln in lines if ln and not ln.startswith("#")), "").lower()
    if len(private) != 64 or any(c not in "0123456789abcdef" for c in private):
        raise ValueError(f"{path} 不是 SM2 私钥文件")
    return SigningKey(private, sm2_public_key(private))


# --- checkpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    start: int  # the chain's size at the previous checkpoint
    size: int
    head: str  # hash of event ``size``
    batch: str  # SM3 of the hashes of events start+1..size, 32 bytes each
    prev: str  # SM3 of the previous line of the log (zeros for the first)
    time: str
    key: str  # key id: the first 16 hex digits of the SM3 of the public key
    sig: str = ""

    def message(self) -> bytes:
        """What the signature covers: every field but the signature, one per line."""
        fields = (_HEADER, self.origin, self.start, self.size, self.head, self.batch, self.prev)
        return "".join(f"{v}\n" for v in (*fields, self.time, self.key)).encode("utf-8")

    def line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))


def _parse(line: str) -> Checkpoint:
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    cp = Checkpoint(**data)
    ints = (cp.start, cp.size)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints):
        raise ValueError("bad size")
    if not all(isinstance(v, str) for v in (cp.origin, cp.head, cp.batch, cp.prev, cp.time)):
        raise ValueError("bad field")
    if not (isinstance(cp.key, str) and isinstance(cp.sig, str)):
        raise ValueError("bad field")
    return cp


class CheckpointLog:
    """The append-only directory. Appends happen under an exclusive file lock (``locked``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.checkpoints = directory / CHECKPOINTS_FILE
        self.hashes = directory / HASHES_FILE

    @contextmanager
    def locked(self) -> Iterator[bool | None]:
        """Try to take the log's lock: True if taken (released at exit), False if another
        sealer holds it (on this machine, or over a shared file system), None if the directory
        cannot be used (logged: the chain is still sealed, without a checkpoint)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            log.error("audit.checkpoint_dir_unusable", path=str(self.directory), error=str(exc))
            yield None
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def last_line(self) -> str | None:
        if not self.checkpoints.exists():
            return None
        with self.checkpoints.open("rb") as f:
            end = f.seek(0, os.SEEK_END)
            chunk = 4096
            while True:
                f.seek(max(0, end - chunk))
                tail = f.read()
                lines = [ln for ln in tail.split(b"\n") if ln.strip()]
                # A whole last line: the chunk reached the file's start or holds a newline
                # before it.
                if not lines or chunk >= end or b"\n" in tail.rstrip(b"\n"):
                    return lines[-1].decode("utf-8") if lines else None
                chunk *= 4

    def last(self) -> Checkpoint | None:
        line = self.last_line()
        return _parse(line) if line is not None else None

    def covered(self) -> int:
        last = self.last()
        return last.size if last is not None else 0

    def extend(self, key: SigningKey, start: int, hashes: list[str]) -> Checkpoint:
        """Append the hashes of events start+1.. and a signed checkpoint over them.

        Hashes first, then the line, each flushed to disk: a crash between the two leaves
        hashes no line covers, which the next call cuts back before writing.
        """
        last_line = self.last_line()
        last = _parse(last_line) if last_line is not None else None
        covered = last.size if last is not None else 0
        if start != covered:
            raise CheckpointLogError(f"检查点日志覆盖到 {covered}，而本次从 {start} 起")
        self.directory.mkdir(parents=True, exist_ok=True)
        raw = b"".join(bytes.fromhex(h) for h in hashes)
        fd = os.open(self.hashes, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            length = os.fstat(fd).st_size
            if length < covered * _HASH:
                raise CheckpointLogError(f"{self.hashes} 短于检查点所覆盖的 {covered} 个事件")
            if length > covered * _HASH:  # left by an interrupted append: no checkpoint covers it
                os.ftruncate(fd, covered * _HASH)
            os.lseek(fd, 0, os.SEEK_END)
            os.write(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)
        unsigned = Checkpoint(
            origin=ORIGIN,
            start=start,
            size=start + len(hashes),
            head=hashes[-1],
            batch=sm3_hex(raw),
            prev=sm3_hex(last_line.encode("utf-8")) if last_line is not None else _ZERO,
            time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            key=key.key_id,
        )
        cp = Checkpoint(**{**asdict(unsigned), "sig": sm2_sign(key.private, key.public,
                                                                unsigned.message())})  # fmt: skip
        fd = os.open(self.checkpoints, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (cp.line() + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return cp


# --- reading them back for verify ---------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """What the chain must agree with, from outside the database."""

    heads: dict[int, tuple[int, str]]  # size -> (start, head hash), every checkpoint
    size: int  # the size at the last checkpoint
    checkpoints: int
    hashes_path: Path | None = None  # the per-event hashes, checked against the checkpoints
    hashes_size: int = 0  # how many of them are vouched for
    notes: tuple[str, ...] = ()  # what verify should tell without failing


@dataclass(frozen=True)
class LoadedCheckpoints:
    reference: Reference | None
    problem: str | None = None  # a checkpoint refused: verify fails with this


def load_checkpoints(
    path: Path, public_keys: list[str], *, all_signatures: bool = False
) -> LoadedCheckpoints:
    """Read and authenticate a checkpoint log (a directory, or a ``checkpoints.jsonl``).

    Every line must link to the one before (``prev``, ``start``); the last line's signature,
    and with ``all_signatures`` every line's, must verify under one of ``public_keys``.
    """
    file = path / CHECKPOINTS_FILE if path.is_dir() else path
    hashes = file.with_name(HASHES_FILE)
    if not file.exists():
        return LoadedCheckpoints(None, f"找不到检查点文件 {file}")
    keys = {key_id(k): k for k in public_keys}
    content = file.read_text(encoding="utf-8")
    # A line still being appended (no newline yet) is not there yet.
    complete = content if content.endswith("\n") else content[: content.rfind("\n") + 1]
    lines = [ln for ln in complete.splitlines() if ln.strip()]
    if not lines:
        return LoadedCheckpoints(None, f"检查点文件 {file} 是空的")
    parsed: list[Checkpoint] = []
    prev_line: str | None = None
    for n, line in enumerate(lines, start=1):
        try:
            cp = _parse(line)
        except (ValueError, TypeError):
            return LoadedCheckpoints(None, f"检查点文件第 {n} 行格式无效")
        expected_prev = sm3_hex(prev_line.encode("utf-8")) if prev_line is not None else _ZERO
        start = parsed[-1].size if parsed else 0
        if cp.prev != expected_prev or cp.start != start or cp.size <= cp.start:
            return LoadedCheckpoints(
                None, f"第 {n} 个检查点与前一个检查点衔接不上（检查点被删改、伪造或顺序被打乱）"
            )
        if cp.key not in keys:
            return LoadedCheckpoints(None, f"第 {n} 个检查点的签名密钥（{cp.key}）不在所给公钥中")
        if (all_signatures or n == len(lines)) and not sm2_verify(
            keys[cp.key], cp.message(), cp.sig
        ):
            return LoadedCheckpoints(None, f"第 {n} 个检查点的签名无效（检查点被伪造或篡改）")
        parsed.append(cp)
        prev_line = line
    heads = {cp.size: (cp.start, cp.head) for cp in parsed}
    vouched, notes = _vouched_hashes(hashes, parsed)
    return LoadedCheckpoints(
        Reference(
            heads=heads,
            size=parsed[-1].size,
            checkpoints=len(parsed),
            hashes_path=hashes if vouched else None,
            hashes_size=vouched,
            notes=notes,
        )
    )


def _vouched_hashes(path: Path, checkpoints: list[Checkpoint]) -> tuple[int, tuple[str, ...]]:
    """How many of the per-event hashes the signed checkpoints vouch for (a prefix)."""
    if not path.exists():
        return 0, ("未提供逐事件哈希记录（hashes.bin）：发现不符时只能指出所在的检查点区间。",)
    data = path.read_bytes()
    for cp in checkpoints:
        batch = data[cp.start * _HASH : cp.size * _HASH]
        if len(batch) != (cp.size - cp.start) * _HASH or sm3(batch).hex() != cp.batch:
            return cp.start, (
                f"逐事件哈希记录自序号 {cp.start + 1} 起与签名的检查点不符，已不采用其后部分。",
            )
    return checkpoints[-1].size, ()


# --- where they go and which key signs them -----------------------------------------------------


@dataclass(frozen=True)
class AuditConfig:
    checkpoint_dir: Path
    key: SigningKey | None  # None: seal the chain, but write no checkpoint (logged)
    public_key_file: Path | None = None


def default_key_path(var_dir: Path) -> Path:
    return var_dir / "audit_signing_key"


def default_checkpoint_dir(var_dir: Path) -> Path:
    return var_dir / "audit-checkpoints"


def audit_config(
    var_dir: Path, checkpoint_dir: Path | None, key_file: Path | None, *, create: bool = True
) -> AuditConfig:
    """The checkpoint directory and signing key the settings name.

    A key file the operator named must exist (a key kept on a separate volume is not silently
    replaced by a fresh one under var/); the default one under var/ is made on first use.
    """
    directory = checkpoint_dir or default_checkpoint_dir(var_dir)
    path = key_file or default_key_path(var_dir)
    if path.exists():
        return AuditConfig(directory, read_signing_key(path), public_key_path(path))
    if key_file is None and create:
        key = write_signing_key(path)
        log.info("audit.signing_key_created", path=str(path), key_id=key.key_id)
        return AuditConfig(directory, key, public_key_path(path))
    log.warning("audit.no_signing_key", path=str(path))
    return AuditConfig(directory, None, None)
