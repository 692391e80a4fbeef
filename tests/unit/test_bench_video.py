"""The video benchmark runs with one command and reports comparable figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support.paths import ROOT

pytestmark = pytest.mark.data


def test_short_json_run(data_dir):
    cmd = [sys.executable, "-m", "benchmarks.bench_video", "--data", str(data_dir),
           "--seconds", "2", "--fps", "15", "--every", "1", "2", "--json"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    clip = report["clip"]
    assert (clip["frames"], clip["width"], clip["height"], clip["faces_per_frame"]) == (30, 640, 480, 3)
    one, two = report["runs"]
    for run in (one, two):
        assert run["frames"] == 30 == run["output"]["frames"]
        assert run["output"]["codec"] == "h264" and run["output"]["pix_fmt"] == "yuv420p"
        assert run["output"]["size"] == [640, 480]
        assert 0 < run["processing_s"] < run["wall_s"] and run["x_real_time"] > 0
        assert 0 < run["processing_cpu_s"] < run["cpu_s"]
        assert 50 < run["peak_rss_mb"] < 400 and run["cpu_s"] > 0 and run["x_real_time_cpu_bound"] > 0
        assert run["mean_faces_found"] >= 2.5  # the placed faces are found
    assert (one["analyzed_frames"], two["analyzed_frames"]) == (30, 15)
    assert len(one["load_before"]) == 3
