"""The API benchmark runs with one command and reports comparable JSON (figures, not verdicts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support.paths import ROOT


def test_a_short_api_benchmark_run_reports_every_level_against_the_cli(data_dir, tmp_path):
    out_file = tmp_path / "bench_api.json"
    cmd = [sys.executable, "-m", "benchmarks.bench_api", "--data", str(data_dir), "--json",
           "--clients", "1,2", "--workers", "1", "--requests", "6", "--photos", "3", "--warmup", "1",
           "--cli-images", "3", "--cli-runs", "1", "--baseline-repeats", "1", "--out", str(out_file)]
    # As docs/testing.md says to run it: from the root, with tests/ on the path for support.
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "tests")})
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert json.loads(out_file.read_text()) == report
    [server] = report["servers"]
    assert server["workers"] == 1 and [lv["clients"] for lv in server["levels"]] == [1, 2]
    for level in server["levels"]:
        # Every request answered, each answer the CLI's record for that photo.
        assert (level["ok"], level["busy_503"], level["other"]) == (6, 0, 0)
        assert level["matches_cli"] is True
        # Each absolute figure has its same-run baseline and the ratio beside it.
        assert level["cli_image_ms"] > 0 and level["throughput_rps"] > 0
        assert level["throughput_vs_cli"] == pytest.approx(level["throughput_rps"] * level["cli_image_ms"] / 1000,
                                                           abs=0.02)  # from the unrounded figures
        assert level["latency_ms"]["p50"] <= level["latency_ms"]["p90"] <= level["latency_ms"]["max"]
    assert report["photos"]["size"] == "640x480"
    # The CLI as a process, for information: a difference of two runs, None when noise won.
    process_ms = report["baseline"]["cli_process_per_image_ms"]
    assert process_ms is None or process_ms > 0
