"""What each test costs: wall time and CPU time, written to ``tests/artifacts/test_cost.json``.

pytest's ``--durations`` lists wall time only. A test that waits on a clip playing in real
time and a test that keeps both cores busy look alike there, yet only the second slows the
suite down on a machine that something else keeps busy. So for every test (set-up, call and
tear-down together) this plugin records:

- ``wall_s``: seconds on the clock;
- ``cpu_s``: CPU seconds of pytest and every process it waited for, from ``getrusage``;
- ``machine_cpu_s``: CPU seconds the whole machine spent, from ``/proc/stat``. It also counts
  the servers, browsers and databases a test starts and does not wait for, and anything else
  the machine ran meanwhile: it is the test's true cost only on an otherwise idle machine,
  which ``load_at_start`` helps to judge.

The report lists totals, the costliest tests and the cost per test file. With pytest-xdist's
workers each worker writes its tests to ``tests/artifacts/test_cost.d/``, and the controller
merges them; a test's ``machine_cpu_s`` then also holds what the other worker ran meanwhile.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
from collections import defaultdict
from pathlib import Path

import pytest

from support.paths import ARTIFACTS, module_of

_STAT = Path("/proc/stat")
_PARTS = ARTIFACTS / "test_cost.d"


def _machine_busy_s() -> float | None:
    """Busy CPU seconds of the whole machine since boot (all cores), or None off Linux."""
    try:
        fields = _STAT.read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu_s(children: bool = True) -> float:
    """CPU seconds of this process, and of the children it waited for unless told not to."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN) if children else None
    return own.ru_utime + own.ru_stime + (kids.ru_utime + kids.ru_stime if kids else 0.0)


class _Cost:
    def __init__(self, worker: str | None) -> None:
        self.worker = worker
        self.tests: dict[str, dict[str, float]] = {}
        self.start = (time.perf_counter(), _own_cpu_s(), _machine_busy_s())
        self.own_start = _own_cpu_s(children=False)
        self.load_at_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        t0, c0, m0 = time.perf_counter(), _own_cpu_s(), _machine_busy_s()
        yield
        m1 = _machine_busy_s()
        self.tests[item.nodeid] = {
            "wall_s": round(time.perf_counter() - t0, 2),
            "cpu_s": round(_own_cpu_s() - c0, 2),
            "machine_cpu_s": round(m1 - m0, 2) if m0 is not None and m1 is not None else None,
        }

    def pytest_sessionfinish(self, session):
        t0, c0, m0 = self.start
        if self.worker is not None:
            _PARTS.mkdir(parents=True, exist_ok=True)
            (_PARTS / f"{self.worker}.json").write_text(json.dumps({"cpu_s": _own_cpu_s() - c0, "tests": self.tests}))
            return
        m1 = _machine_busy_s()
        parts = sorted(_PARTS.glob("*.json")) if _PARTS.is_dir() else []
        # With workers, the controller's children are the workers, counted by their own parts.
        cpu_s = (_own_cpu_s(children=False) - self.own_start) if parts else _own_cpu_s() - c0
        for part in parts:
            got = json.loads(part.read_text())
            self.tests.update(got["tests"])
            cpu_s += got["cpu_s"]
        if not self.tests:
            return
        by_file: dict[str, dict[str, float]] = defaultdict(lambda: {"tests": 0, "wall_s": 0.0, "cpu_s": 0.0,
                                                                     "machine_cpu_s": 0.0})
        for nodeid, cost in self.tests.items():
            entry = by_file[module_of(nodeid)]
            entry["tests"] += 1
            for key in ("wall_s", "cpu_s", "machine_cpu_s"):
                entry[key] = round(entry[key] + (cost[key] or 0.0), 2)
        report = {
            "tests": len(self.tests),
            "wall_s": round(time.perf_counter() - t0, 1),
            "cpu_s": round(cpu_s, 1),
            "machine_cpu_s": round(m1 - m0, 1) if m0 is not None and m1 is not None else None,
            "cores": os.cpu_count(),
            "workers": len(parts) or 1,
            "load_at_start": self.load_at_start,
            "costliest": dict(sorted(self.tests.items(), key=lambda kv: -(kv[1]["machine_cpu_s"] or kv[1]["cpu_s"]))[:40]),
            "by_file": dict(sorted(by_file.items(), key=lambda kv: -kv[1]["wall_s"])),
        }
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "test_cost.json").write_text(json.dumps(report, indent=2) + "\n")


def pytest_configure(config):
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker is None and _PARTS.is_dir():
        shutil.rmtree(_PARTS)  # the controller starts clean; its workers write after this
    config.pluginmanager.register(_Cost(worker), "maskpatrol-test-cost")
