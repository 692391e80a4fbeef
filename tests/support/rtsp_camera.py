"""A real RTSP camera for tests: ``support/rtsp_server.py`` (GStreamer's RTSP server, run with
Debian's Python, which holds the GObject bindings) in its own process, and why it cannot run
here when it cannot. Used by ``tests/sources`` and ``tests/watch``."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional

import pytest

from support.paths import ROOT

SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SCRIPT = ROOT / "tests" / "support" / "rtsp_server.py"
APT = ("gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base "
       "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad python3-gi")
#: GStreamer elements the RTSP server's launch line needs.
ELEMENTS = ("filesrc", "qtdemux", "h264parse", "rtph264pay")

def gstreamer_missing() -> Optional[str]:
    """Why GStreamer's RTSP server cannot run here, or None."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} (Debian's Python, which holds the GObject bindings) is missing"
    probe = ("import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
             "from gi.repository import Gst, GstRtspServer; Gst.init(None);"
             f"missing = [e for e in {ELEMENTS!r} if Gst.ElementFactory.find(e) is None];"
             "print(' '.join(missing))")
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"GStreamer probe failed: {exc}"
    if done.returncode != 0:
        return (f"GStreamer's RTSP server is not installed (apt-get install -y {APT}): "
                f"{done.stderr.strip()[-200:]}")
    if done.stdout.strip():
        return f"GStreamer elements missing: {done.stdout.strip()} (apt-get install -y {APT})"
    return None


class RtspServer:
    """``support/rtsp_server.py`` in its own process; :meth:`kill` is a crash (SIGKILL)."""

    def __init__(self, clip: Path, port: int, path: str = "door", user: Optional[str] = None,
                 password: Optional[str] = None) -> None:
        self.clip, self.port, self.path = clip, port, path
        self.auth = ["--user", user, "--password", password or ""] if user else []
        self.proc: Optional[subprocess.Popen] = None

    def url(self, credentials: str = "") -> str:
        return f"rtsp://{credentials}127.0.0.1:{self.port}/{self.path}"

    def start(self, timeout_s: float = 15.0) -> float:
        """Start it and wait for READY; returns time.monotonic() when it listens."""
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SCRIPT), "--file", str(self.clip), "--port", str(self.port),
             "--path", self.path, *self.auth],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        if not line or line[0].strip() != "READY":
            self.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            pytest.fail(f"the RTSP server did not start on port {self.port}: {err[-500:]}")
        return time.monotonic()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


