"""The classifier benchmark: one command, JSON with a same-run baseline beside every time."""

from __future__ import annotations

import json
import subprocess
import sys

from support.paths import ROOT


def test_json_run_times_each_batch_beside_haar_and_a_second_model():
    models = str(ROOT / "models")
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_classifier.py"), "--compare", models,
           "--rounds", "3", "--json"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert set(report["models"]) == {"shipped", "compare"}
    assert report["models"]["shipped"]["bytes"] == (ROOT / "models" / "mask_classifier.tflite").stat().st_size
    timings = report["timings"]
    assert timings["haar 640x480"]["ratio_to_haar"] == 1.0
    for label in ("shipped", "compare"):
        for n in (1, 3, 8):
            row = timings[f"{label} batch {n}"]
            assert 0 < row["median_ms"] <= row["p95_ms"]
            assert abs(row["ms_per_face"] * n - row["median_ms"]) < 0.01 * n + 1e-3
            assert row["ratio_to_haar"] > 0
