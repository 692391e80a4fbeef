"""One real ``streamlit run app.py``, configured as on Heroku.

The server is configured the way a dyno is: ``setup.sh`` writes its config.toml into a
temporary $HOME (as it does into the dyno's $HOME), Streamlit reads it from there, and
``MALLOC_ARENA_MAX=2`` comes from the Procfile. Only the address is overridden, to
127.0.0.1 (setup.sh binds 0.0.0.0 for Heroku's router). So load and soak figures are
those of the deployed configuration, and a change to setup.sh is measured here too.

``isolated=True`` keeps setup.sh's address too, every interface as on a dyno, inside a
network namespace of its own (:mod:`support.netns`, root only), so that a test can see what
a server reachable from other machines does without this machine's network reaching it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from support import netns
from support.net import free_port, wait_healthy
from support.paths import ROOT

BOOT_TIMEOUT_S = 120
SETUP_SH = ROOT / "setup.sh"


def _here(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log: Path
    #: ``call(fn, *args, **kwargs)`` runs ``fn`` where ``url`` can be reached: in this
    #: thread, or for an isolated server on a thread inside its network namespace.
    call: Callable[..., Any] = _here


@contextlib.contextmanager
def streamlit_server(log_dir: Path, extra_flags: Sequence[str] = (),
                     extra_env: Mapping[str, str] | None = None, isolated: bool = False) -> Iterator[Server]:
    """Start the app, wait for its health check, and always stop it (terminate, then kill).
    ``extra_env`` lets a test watch e.g. the server's TMPDIR; ``isolated`` serves on every
    interface of a private network namespace (see the module's docstring)."""
    port = free_port()
    log_path = log_dir / "server.log"
    home = log_dir / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, **(extra_env or {}), "HOME": str(home), "PORT": str(port), "MALLOC_ARENA_MAX": "2"}
    subprocess.run(["sh", str(SETUP_SH)], cwd=ROOT, env=env, check=True, capture_output=True, timeout=30)
    run = [sys.executable, "-m", "streamlit", "run", "app.py"]
    if isolated:
        command, host = netns.isolated([*run, *extra_flags]), netns.ADDRESS
    else:
        command, host = [*run, "--server.address", "127.0.0.1", *extra_flags], "127.0.0.1"
    with log_path.open("w") as log, contextlib.ExitStack() as stack:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://{host}:{port}"

        def alive() -> None:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_path}")

        try:
            call = stack.enter_context(netns.joined(proc.pid)) if isolated else _here
            call(wait_healthy, url, BOOT_TIMEOUT_S, alive, interval=0.5, what=f"streamlit (log: {log_path})")
            yield Server(url, proc.pid, log_path, call)
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
