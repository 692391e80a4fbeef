"""One real ``streamlit run app.py`` on loopback, configured as on Heroku, and Chromium to visit it.

The server is configured the way a dyno is: ``setup.sh`` writes its config.toml into a
temporary $HOME (as it does into the dyno's $HOME), Streamlit reads it from there, and
``MALLOC_ARENA_MAX=2`` comes from the Procfile. Only the address is overridden, to
127.0.0.1 (setup.sh binds 0.0.0.0 for Heroku's router). So load and soak figures are
those of the deployed configuration, and a change to setup.sh is measured here too.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from conftest import ROOT

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BOOT_TIMEOUT_S = 120
SETUP_SH = ROOT / "setup.sh"


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        try:
            deadline = time.monotonic() + BOOT_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_path}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit not healthy within {BOOT_TIMEOUT_S}s; see {log_path}")
                time.sleep(0.5)
            yield Server(url, proc.pid, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


#: True once the Photos page shows n photos' results and nothing is left from an earlier
#: run: no stale element, no spinner.
PHOTOS_SETTLED_JS = """n => document.querySelectorAll('[data-testid="stImage"]').length === n
    && !document.querySelector('[data-stale="true"]')
    && !document.querySelector('[data-testid="stSpinner"]')"""


def deployed_config(log_dir: Path) -> str:
    """The config.toml setup.sh wrote for the server started in ``log_dir``."""
    return (log_dir / "home" / ".streamlit" / "config.toml").read_text()


def server_errors(log: Path) -> list[str]:
    """Tracebacks and errors the server logged (none is expected)."""
    text = log.read_text(errors="replace")
    return [line for line in text.splitlines() if "Traceback" in line or "Error" in line or "Exception" in line]


async def open_photos_page(page, url: str, timeout_ms: int = 90_000) -> None:
    """Home page first, then the sidebar link, as most visitors do (direct addresses, a
    fresh server's first visit included, are tested in tests/e2e/test_navigation.py)."""
    await page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    await page.get_by_test_id("stSidebarNav").get_by_text("Photos", exact=True).click(timeout=timeout_ms)
    await page.get_by_test_id("stFileUploaderDropzoneInput").wait_for(state="attached", timeout=timeout_ms)


def download_csv(page, button: str, timeout_ms: int = 60_000) -> tuple[str, list[dict[str, str]]]:
    """Click a page's CSV download button, as a visitor does: (suggested file name, rows)."""
    with page.expect_download(timeout=timeout_ms) as dl:
        page.get_by_role("button", name=button).click()
    download = dl.value
    return download.suggested_filename, list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
