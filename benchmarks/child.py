"""A command run in a child process and measured by the kernel: its wall time, its own CPU
time and peak memory (``wait4``, that child alone), and the load around it."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from benchmarks.scenes import load_average

ROOT = Path(__file__).resolve().parents[1]


def run_measured(cmd: Sequence[str], timeout_s: float, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd`` from the project's root. Returns its ``stdout``, ``wall_s``, ``cpu_s``,
    ``peak_rss_mb`` and the load average before and after; raises RuntimeError when it exits
    with an error or runs past ``timeout_s`` (it is killed)."""
    load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=None if env is None else dict(env), stdout=stdout, stderr=stderr)
        deadline = time.monotonic() + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise RuntimeError(f"{' '.join(cmd)} took more than {timeout_s:g} s")
            time.sleep(0.05)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read().decode(), stderr.read().decode()
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {code}\n{err[-3000:]}\n{out[-2000:]}")
    return {"stdout": out, "wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "load_before": load_before, "load_after": load_average()}
