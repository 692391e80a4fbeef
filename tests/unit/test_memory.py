"""Freed picture buffers go back to the system: the allocator settings take on glibc, and
they (or a trim) really shrink a process that allocated and freed tens of megabytes.

The effect is measured in fresh subprocesses, since the allocator's settings and its heap
are per process and pytest's own would blur the figures. The untuned control shows the
problem the module solves, and it reproduces on this machine (glibc 2.36, measured: about
80 MB kept of 80 MB freed), so the tests assert it instead of assuming it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from maskpatrol import memory
from support.paths import ROOT

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the allocator settings are glibc's")

#: 40 buffers of 2 MB: a picture's worth of work, each buffer below glibc's raised mmap
#: threshold, so without tuning they live on the heap.
BUFFERS, BUFFER_MB = 40, 2
ALLOCATED_MB = BUFFERS * BUFFER_MB

#: Run in a fresh interpreter; prints RSS (MB) at start, at peak, after the frees, and after
#: an optional trim. A 16 MB block allocated and freed first raises glibc's dynamic mmap
#: threshold, as a server's first large picture does. A small bytearray kept after each
#: buffer pins the heap's top, so the freed buffers are holes glibc cannot shrink the heap
#: past (as the long-lived objects a server makes between buffers do).
PROGRAM = """
import json, os, sys
import numpy as np
from maskpatrol import memory

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

tune, trim, buffers, buffer_mb = sys.argv[1] == "1", sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4])
tuned = memory.tune_allocator() if tune else None
big = np.ones(16 * 2**20, dtype=np.uint8)
del big
start = rss_mb()
arrays, pins = [], []
for _ in range(buffers):
    arrays.append(np.ones(buffer_mb * 2**20, dtype=np.uint8))
    pins.append(bytearray(4096))
peak = rss_mb()
del arrays
freed = rss_mb()
if trim:
    memory.release_freed()
trimmed = rss_mb()
print(json.dumps({"tuned": tuned, "start": start, "peak": peak, "freed": freed, "trimmed": trimmed}))
"""


def _run(*, tune: bool, trim: bool) -> dict:
    """RSS figures of one fresh process; glibc's MALLOC_* variables are dropped so the
    control runs with the allocator's defaults whatever the caller's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and not k.startswith("GLIBC_TUNABLES")}
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(int(tune)), str(int(trim)), str(BUFFERS), str(BUFFER_MB)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"tune={tune} trim={trim}: " + ", ".join(f"{k} {v:.1f} MB" for k, v in figures.items() if k != "tuned"))
    # The buffers were really there: otherwise "given back" below would prove nothing.
    assert figures["peak"] - figures["start"] > 0.9 * ALLOCATED_MB, figures
    return figures


@glibc_only
def test_release_freed_finds_glibc_malloc_trim():
    # release_freed does its work through this handle; None would make it a silent no-op.
    assert memory._glibc() is not None
    memory.release_freed()


def test_elsewhere_than_glibc_both_do_nothing(monkeypatch):
    monkeypatch.setattr(memory, "_glibc", lambda: None)
    assert memory.tune_allocator() is False
    assert memory.release_freed() is None


@glibc_only
def test_an_untuned_process_keeps_the_freed_buffers():
    # The control: the problem is real here, so the tuned test below measures a fix.
    figures = _run(tune=False, trim=False)
    assert figures["freed"] - figures["start"] > 0.75 * ALLOCATED_MB, figures


@glibc_only
def test_a_tuned_process_gives_freed_buffers_back_at_once():
    tuned, control = _run(tune=True, trim=False), _run(tune=False, trim=False)
    # tune_allocator says the settings took (in the subprocess: they would outlive a test here).
    assert tuned["tuned"] is True
    assert tuned["freed"] - tuned["start"] < 0.1 * ALLOCATED_MB, tuned
    assert control["freed"] - tuned["freed"] > 0.75 * ALLOCATED_MB, (tuned, control)


@glibc_only
def test_release_freed_gives_back_what_an_untuned_process_kept():
    figures = _run(tune=False, trim=True)
    assert figures["freed"] - figures["start"] > 0.75 * ALLOCATED_MB, figures  # kept until the trim
    assert figures["trimmed"] - figures["start"] < 0.1 * ALLOCATED_MB, figures
