"""The watch benchmark runs with one command and reports comparable figures: ``video`` and
``watch`` on the same generated clip, the watcher's frames read, analysed and dropped."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support.paths import ROOT

pytestmark = pytest.mark.data


def test_a_short_run_reports_both_arms_on_the_same_clip(data_dir, tmp_path):
    cmd = [sys.executable, "-m", "benchmarks.bench_watch", "--data", str(data_dir), "--seconds", "3",
           "--rounds", "1", "--json", "--out", str(tmp_path / "watch.json")]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert json.loads((tmp_path / "watch.json").read_text()) == report
    [run] = report["rounds"]
    assert run["video"]["analysed_frames"] == 75 and run["video"]["people"]["no_mask"] == 2
    watch = run["watch"]
    assert watch["frames_analysed"] + watch["frames_dropped"] <= watch["frames_read"] <= 75
    assert watch["events_in_db"] == 2 and len(watch["load_before"]) == 3
