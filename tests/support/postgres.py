"""A throwaway PostgreSQL cluster for tests, from Debian's packages: its own folder, a free
loopback port, trust authentication for one superuser. The fixtures that start it are in
``tests/conftest.py`` (``postgres_cluster``, ``postgres_url``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from support.net import free_port
from support.required import required, skip_or_fail

PG_BIN = Path(os.environ.get("MASKPATROL_PG_BIN", "/usr/lib/postgresql/15/bin"))
#: Older CI switches, honoured until ``support.required`` is the only one.
LEGACY_SWITCHES = ("MASKPATROL_REQUIRE_DATA", "MASKPATROL_REQUIRE_BROWSER")


def missing(reason: str) -> None:
    """Skip locally, fail in CI (the project's switch, or one of the older ones)."""
    if not required() and any(os.environ.get(v, "") not in ("", "0") for v in LEGACY_SWITCHES):
        pytest.fail(f"{reason} ({'/'.join(LEGACY_SWITCHES)} is set: nothing may be skipped)")
    skip_or_fail(reason)


class PgCluster:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only, with trust
    authentication for its one superuser. As root it runs as the ``postgres`` user."""

    USER = "maskpatrol"

    def __init__(self) -> None:
        self.port = free_port()
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
