"""A throwaway PostgreSQL cluster for the test suite (DESIGN: "Services and how they start").

Started from the installed server binaries with ``initdb`` and ``pg_ctl`` on a free port, its
socket in a temp dir, ``fsync=off``; as user ``nobody`` via ``runuser`` when run as root (the
server refuses to run as root). Removed when the suite ends.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar


def pg_bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql: "
            "install Debian's postgresql package (.ci/run does), or set GOVDATA_TEST_DATABASE_URL"
        )
    return Path(candidates[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """``settings``: more ``-c name=value`` server settings; ``tcp``: also listen on
    127.0.0.1 (Citus' nodes reach each other over the loopback)."""

    def __init__(self, settings: dict[str, str] | None = None, *, tcp: bool = False) -> None:
        self.bin = pg_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="govdata-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.settings = settings or {}
        self.tcp = tcp

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "nobody", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root)

    def start(self) -> PgCluster:
        self.sock.mkdir()
        if self.as_root:
            shutil.chown(self.root, "nobody")
            shutil.chown(self.sock, "nobody")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        listen = "127.0.0.1" if self.tcp else ""
        options = (
            f"-p {self.port} -k {self.sock} -c listen_addresses='{listen}' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        options += "".join(f" -c {k}={v}" for k, v in self.settings.items())
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.sock}&port={self.port}"

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# --- a Citus cluster on one machine (issue 15; decision 0022) ---------------------------------


def citus_installed() -> bool:
    """Whether the server binaries' PostgreSQL has Citus (``citus.so`` in its lib dir)."""
    try:
        lib = pg_bin_dir().parent / "lib"
    except RuntimeError:
        return False
    return (lib / "citus.so").exists()


class CitusCluster:
    """A coordinator and two workers, each a ``PgCluster`` with Citus preloaded, on free ports
    of the loopback. Citus keeps its node list per database, so each database the suite makes
    is formed into a cluster of its own (``create_database``)."""

    # Four shards a table instead of 32: the suite creates hundreds of small tables.
    SETTINGS: ClassVar[dict[str, str]] = {
        "shared_preload_libraries": "citus",
        "citus.shard_count": "4",
        "max_prepared_transactions": "100",
        "citus.log_remote_commands": "off",
    }

    def __init__(self, workers: int = 2, *, shards: int = 4) -> None:
        settings = self.SETTINGS | {"citus.shard_count": str(shards)}
        self.coordinator = PgCluster(settings, tcp=True)
        self.workers = [PgCluster(settings, tcp=True) for _ in range(workers)]

    @property
    def nodes(self) -> list[PgCluster]:
        return [self.coordinator, *self.workers]

    def start(self) -> CitusCluster:
        started: list[PgCluster] = []
        try:
            for node in self.nodes:
                node.start()
                started.append(node)
        except BaseException:
            for node in started:
                node.stop()
            raise
        return self

    def url(self, database: str = "postgres") -> str:
        return self.coordinator.url(database)

    def create_database(self, name: str, *, citus: bool = True) -> str:
        """A fresh database on every node, the extension in each and the workers added on
        the coordinator; with ``citus=False`` a plain PostgreSQL database on the coordinator
        (the single-node side of a comparison). Returns the coordinator's URL of it."""
        from sqlalchemy import create_engine, text

        for node in self.nodes if citus else [self.coordinator]:
            admin = create_engine(node.url(), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            if not citus:
                continue
            eng = create_engine(node.url(name), isolation_level="AUTOCOMMIT")
            with eng.connect() as conn:
                conn.execute(text("CREATE EXTENSION citus"))
                if node is self.coordinator:
                    conn.execute(
                        text("SELECT citus_set_coordinator_host('127.0.0.1', :p)"),
                        {"p": node.port},
                    )
            eng.dispose()
        if citus:
            eng = create_engine(self.coordinator.url(name), isolation_level="AUTOCOMMIT")
            with eng.connect() as conn:
                for worker in self.workers:
                    conn.execute(text("SELECT citus_add_node('127.0.0.1', :p)"), {"p": worker.port})
            eng.dispose()
        return self.coordinator.url(name)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
