"""The people-tracking benchmark runs with one command and reports each figure beside its
yardstick: tracking beside the pipeline, this tree's serving beside the baseline's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support.paths import ROOT

pytestmark = pytest.mark.data


def test_quick_run_reports_tracking_serving_and_memory_with_ratios(data_dir, tmp_path):
    out = tmp_path / "people.json"
    cmd = [sys.executable, "-m", "benchmarks.bench_people", "--data", str(data_dir), "--quick",
           "--baseline", "HEAD", "--out", str(out)]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(out.read_text())
    scene = report["scene"]
    assert (scene["width"], scene["height"], scene["faces_per_frame"]) == (640, 480, 4)

    tracking = report["tracking"]
    for key in ("pipeline_analyze_ms", "people_update_ms", "people_update_and_counts_ms",
                "long_stream_people_update_and_counts_ms", "tracker_update_ms", "callback_draw_only_ms"):
        assert 0 < tracking[key]["median"] <= tracking[key]["p95"]
    assert tracking["tracking_adds_to_callback_ms"]["median"] <= tracking["tracking_adds_to_callback_ms"]["p95"]
    for key in ("people_update", "people_update_and_counts", "long_stream_people_update_and_counts", "tracker_update",
                "tracking_adds_to_callback"):
        ratio = tracking[f"ratio_{key}_to_pipeline"]
        assert ratio == pytest.approx(tracking[f"{key}_ms"]["median"] / tracking["pipeline_analyze_ms"]["median"],
                                      rel=0.01, abs=1e-5)
    assert tracking["faces_per_frame_mean"] > 0 and tracking["tracks_started"] >= 1
    assert isinstance(tracking["within_budget"], bool)

    now, off, base = report["arms"]
    assert base.startswith("baseline ")
    serving = report["serving"]
    assert (serving[now]["tracking"], serving[off]["tracking"]) == (True, False)
    for label in (now, off, base):
        assert serving[label]["fps"] > 0 and serving[label]["rss_after_mb"] > 0
    for key, other in (("this_to_baseline", base), ("tracking_on_to_off", off)):
        comparison = report["comparison"][key]
        assert (comparison["of"], comparison["to"]) == (now, other)
        assert comparison["fps_ratio"] == pytest.approx(serving[now]["fps"] / serving[other]["fps"], rel=0.01)
        assert comparison["rss_after_diff_mb"] == pytest.approx(
            serving[now]["rss_after_mb"] - serving[other]["rss_after_mb"], abs=0.02)
        assert {"fps_within_5pct", "fps_ratio_paired_median", "cpu_ms_per_frame_ratio", "memory_within_20mb",
                "rss_after_ratio", "peak_rss_diff_mb"} <= set(comparison)

    imports = report["import"]
    assert imports["third_party_modules_added"] == []  # numpy and the standard library only
    assert imports["import_ms_median"] >= 0
    assert len(report["load_average"]["start"]) == 3
