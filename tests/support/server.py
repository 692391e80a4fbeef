"""One real ``streamlit run app.py`` on loopback, configured as on Heroku.

The server is configured the way a dyno is: ``setup.sh`` writes its config.toml into a
temporary $HOME (as it does into the dyno's $HOME), Streamlit reads it from there, and
``MALLOC_ARENA_MAX=2`` comes from the Procfile. Only the address is overridden, to
127.0.0.1 (setup.sh binds 0.0.0.0 for Heroku's router). So load and soak figures are
those of the deployed configuration, and a change to setup.sh is measured here too.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from support.net import free_port, wait_healthy
from support.paths import ROOT

BOOT_TIMEOUT_S = 120
SETUP_SH = ROOT / "setup.sh"


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log: Path


@contextlib.contextmanager
def streamlit_server(log_dir: Path, extra_flags: Sequence[str] = (),
                     extra_env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """Start the app, wait for its health check, and always stop it (terminate, then kill).
    ``extra_env`` lets a test watch e.g. the server's TMPDIR."""
    port = free_port()
    log_path = log_dir / "server.log"
    home = log_dir / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, **(extra_env or {}), "HOME": str(home), "PORT": str(port), "MALLOC_ARENA_MAX": "2"}
    subprocess.run(["sh", str(SETUP_SH)], cwd=ROOT, env=env, check=True, capture_output=True, timeout=30)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", *extra_flags],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"

        def alive() -> None:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_path}")

        try:
            wait_healthy(url, BOOT_TIMEOUT_S, alive, interval=0.5, what=f"streamlit (log: {log_path})")
            yield Server(url, proc.pid, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def server_errors(log: Path) -> list[str]:
    """Tracebacks and errors the server logged (none is expected)."""
    text = log.read_text(errors="replace")
    return [line for line in text.splitlines() if "Traceback" in line or "Error" in line or "Exception" in line]
