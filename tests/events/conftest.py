"""Fixtures of the event-log tests: a database URL per backend (SQLite in a temporary file;
PostgreSQL in a throwaway cluster of its own on a free loopback port).

The cluster machinery below belongs in ``tests/support/postgres.py`` once that folder is
open to this work; it sits here so these tests need no edit elsewhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from support.required import required, skip_or_fail

PG_BIN = Path(os.environ.get("MASKPATROL_PG_BIN", "/usr/lib/postgresql/15/bin"))
#: Older CI switches, honoured until ``support.required`` is the only one.
LEGACY_SWITCHES = ("MASKPATROL_REQUIRE_DATA", "MASKPATROL_REQUIRE_BROWSER")


def _missing(reason: str) -> None:
    """Skip locally, fail in CI (the project's switch, or one of the older ones)."""
    if not required() and any(os.environ.get(v, "") not in ("", "0") for v in LEGACY_SWITCHES):
        pytest.fail(f"{reason} ({'/'.join(LEGACY_SWITCHES)} is set: nothing may be skipped)")
    skip_or_fail(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only, with trust
    authentication for its one superuser. As root it runs as the ``postgres`` user."""

    USER = "maskpatrol"

    def __init__(self) -> None:
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="maskpatrol-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}{done.stdout}\n{log}")

    def init(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.USER, "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.root}'\nfsync = off\n")

    def start(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.USER} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop()
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster():
    """A running throwaway cluster; skipped (failed in CI) without PostgreSQL 15 or psycopg."""
    if not (PG_BIN / "initdb").exists():
        _missing(f"PostgreSQL is not installed ({PG_BIN}/initdb missing): apt-get install -y postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing('psycopg is not installed: pip install "psycopg[binary]"')
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _missing("running as root without runuser: cannot start PostgreSQL as the postgres user")
    cluster = PgCluster()
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        cluster.destroy()
        raise
    yield cluster
    cluster.destroy()


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    """A fresh database in the throwaway cluster."""
    return postgres_cluster.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """The same claims on both backends: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.sqlite3'}"
    return request.getfixturevalue("postgres_url")

