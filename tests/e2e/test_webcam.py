"""The live webcam page, end to end in real headless Chromium over real WebRTC.

A clip of a masked and an unmasked face (built now from the training-data photos) plays
as Chromium's fake camera; the app and the browser run in their own network namespace
(loopback only, see ``support/webcam_runner.py``). We assert what a user would see: the video
comes back annotated, the panel counts the faces the clip shows (with the page's default
detector, as a visitor finds it; that Haar picked in the sidebar reaches the stream and counts
its faces is shown without a browser, in tests/app/test_webcam_page_app.py and
tests/unit/test_live_webrtc.py), an unmasked face raises the alert, frames keep being
analysed (a floor of 2 per second that only a broken stream misses), a sidebar change
reaches the running stream, and starting/stopping/closing leaves no threads behind and
memory not growing.

How fast it ran is a figure, not a verdict: frames per second, server CPU per frame and
connect times go to ``tests/artifacts/webcam_<detector>.json`` with the same frame
analysed in this process as the baseline (see ``tests/support/figures.py``).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from dataclasses import replace

import pytest

from support.figures import median_ms, ratio, steady_growth, write_report
from support.netns import run_isolated_runner
from support.paths import ROOT
from maskpatrol.detectors import DETECTOR_LABELS, DetectorSettings
from support.webcam_clip import build_clip, compose, load_face, pick_scene

pytestmark = [pytest.mark.browser, pytest.mark.data]

RUNNER = "support.webcam_runner"
TESTS = ROOT / "tests"
CYCLES = 5
RUN_TIMEOUT_S = 600
#: Frames analysed per second below which the stream is broken, not slow: with Haar the page
#: measured 20-25 on a quiet 2-core machine, 11-13 with other jobs on both cores and 4 with a
#: load average of 11 on those 2 cores; a stalled stream reads 0.
MIN_FPS = 2.0
#: RSS rise over the start/stop cycles that would matter on a 512 MB dyno (4 MB per stream);
#: the margin grows with the spread of this run's readings when that is larger
#: (tests/support/figures.py). Measured after each stop: 304-317 MB, up and down by up to 10 MB.
LEAK_FLOOR_MB = 20.0
#: Threads: one more after every stop is a leak; a pool growing by one or two once is not.
THREAD_LEAK_FLOOR = 2


class _WithDetector:
    """The pipeline seen through one detector, for ``pick_scene``: the clip must be clean
    (exactly the faces placed, with the right labels) for the detector the browser runs."""

    def __init__(self, patrol, name: str, min_face_px: int | None = None) -> None:
        from maskpatrol.pipeline import Settings

        self._patrol = patrol
        self.card = patrol.card
        detector = DetectorSettings(name=name)
        if min_face_px is not None:  # the stream's own value, read from the page's sidebar
            detector = replace(detector, min_face_px=min_face_px)
        self._settings = Settings(detector)

    def analyze(self, rgb, settings=None, timings=None):
        return self._patrol.analyze(rgb, self._settings, timings=timings)


def detector_runs() -> list[tuple[str, str | None]]:
    """(detector, sidebar option to click, or None to leave the page's default): the default
    as a visitor finds it. One run, about 100 s: a second with Haar picked by hand showed
    nothing a lower layer does not (see the module docstring); the runner's
    ``--detector-label`` still picks one for a run by hand."""
    return [(DetectorSettings().name, None)]


RUNS = detector_runs()


def _run_id(run: tuple[str, str | None]) -> str:
    return f"{run[0]}-{'picked' if run[1] else 'default'}"


@pytest.fixture(scope="module", params=RUNS, ids=[_run_id(r) for r in RUNS])
def webcam_run(request, data_dir, patrol, chromium_path, network_namespace, artifacts, tmp_path_factory):
    """Build the clip, run the whole browser session once per detector run, return
    (scene, result, screenshot, detector name)."""
    detector, pick = request.param
    work = tmp_path_factory.mktemp(f"webcam_{detector}")
    scene = pick_scene(data_dir, _WithDetector(patrol, detector))
    clip = work / "clip.y4m"
    build_clip(clip, scene)
    screenshot = artifacts / ("webcam_live.png" if pick is None else f"webcam_live_{detector}.png")
    screenshot.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", RUNNER, "--clip", str(clip), "--chromium", chromium_path,
           "--screenshot", str(screenshot), "--logdir", str(work / "logs"),
           "--cycles", str(CYCLES)]  # the page's own default settings, apart from the detector
    if pick:
        cmd += ["--detector-label", pick]
    env = {**os.environ, "MASKPATROL_DATA_DIR": str(data_dir), "PYTHONPATH": f"{TESTS}{os.pathsep}{ROOT}"}
    result, stderr = run_isolated_runner(cmd, env, RUN_TIMEOUT_S, "WEBCAM_RESULT")
    print("webcam e2e result:", json.dumps(result, indent=1))
    assert result["ok"], f"{result.get('error')}\n{stderr[-12000:]}\nlogs of both ends: {work / 'logs'}"
    # The clip was chosen for this detector: the stream must have run with it.
    assert result["detector"] == DETECTOR_LABELS[detector], (detector, result.get("detector"))
    result["logdir"] = str(work / "logs")
    return scene, result, screenshot, detector


def _rss_growth(result: dict):
    """The RSS after each stop, judged for steady growth: one window per cycle, so a leak
    must raise every cycle above the one before and the whole run beyond the margin."""
    return steady_growth(result["rss_mb"], windows=CYCLES, floor=LEAK_FLOOR_MB)


def _thread_growth(result: dict):
    """The thread count after each stop, judged like RSS: executor pools start threads on
    demand and keep them (measured 19, 19, 20, 20, 20), a leaked stream adds one each time."""
    return steady_growth(result["threads"], windows=CYCLES, floor=THREAD_LEAK_FLOOR)


def _baseline_ms(patrol, scene, detector: str, min_face_px: int) -> float:
    """One clip frame analysed in this process with the stream's detector settings, now:
    what the server's figures are divided by (a busy machine slows both alike)."""
    frame = compose([load_face(p) for p in scene.photos])
    pipeline = _WithDetector(patrol, detector, min_face_px)
    return median_ms(lambda: pipeline.analyze(frame))


def test_live_counts_match_the_clip(webcam_run):
    scene, result, _, _ = webcam_run
    samples = result["samples"]
    assert len(samples) >= 5
    assert all(s["Faces"] >= 1 for s in samples)
    # Every reading in the steady window shows exactly what the clip shows.
    assert [(s["Masked"], s["No mask"]) for s in samples] == [(scene.masked, scene.no_mask)] * len(samples)
    assert all(s["Faces"] == scene.masked + scene.no_mask for s in samples)


def test_unmasked_face_raises_the_alert(webcam_run):
    scene, result, _, _ = webcam_run
    assert scene.no_mask >= 1
    assert any("without a mask" in text for text in result["alert_text"]), result["alert_text"]


def test_returned_video_is_annotated(webcam_run):
    """The video the browser plays is the server's output, with a green (mask) and a red
    (no mask) box drawn on it; the screenshot is saved for a human look."""
    _, result, screenshot, _ = webcam_run
    px = result["box_pixels"]
    assert (px["width"], px["height"]) == (640, 480)
    assert px["green"] > 500 and px["red"] > 500, px
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000


def test_frames_keep_being_analysed_and_the_figures_are_reported(webcam_run, patrol, capsys):
    """A floor only a broken stream misses (frames stuck, the callback failing, the video
    not coming back), not a speed target: a busy machine halves the rate and is not broken.
    The measured rates go to the report, each beside this process's own time per frame."""
    scene, result, _, detector = webcam_run
    fps = [s["FPS"] for s in result["samples"]]
    baseline = _baseline_ms(patrol, scene, detector, int(result["min_face"]))
    growth = _rss_growth(result)
    stats = result.get("webrtc_stats") or {}
    figures = {
        "detector": detector, "picked_in_sidebar": detector != DetectorSettings().name,
        "min_face_px": result["min_face"],
        "panel_fps_median": statistics.median(fps), "panel_fps": fps,
        "processed_fps_window": result.get("processed_fps_window"),
        "server_cpu_ms_per_frame": result.get("cpu_ms_per_frame"),
        "server_cpu_percent": result.get("server_cpu_percent"),
        "analysis_ms_mean": result.get("analysis_ms_mean"),
        "baseline_in_process_analysis_ms": round(baseline, 1),
        "ratio_server_cpu_ms_to_baseline": ratio(result.get("cpu_ms_per_frame"), baseline),
        "ratio_analysis_ms_to_baseline": ratio(result.get("analysis_ms_mean"), baseline),
        "ratio_fps_to_baseline_fps": ratio(result.get("processed_fps_window"), 1000.0 / baseline),
        "browser_sent_fps": stats.get("sent_fps"), "browser_quality_limitation": stats.get("quality_limitation"),
        "start_s": result.get("start_s"), "retries": result.get("retries"),
        "rss_after_each_stop_mb": result["rss_mb"], "rss_readings_mb": result.get("rss_readings_mb"),
        "rss_growth": growth.as_dict(), "threads_after_each_stop": result["threads"],
        "thread_growth": _thread_growth(result).as_dict(),
        "threads_settle_s": result.get("threads_settle_s"), "close_cleanup_s": result.get("close_cleanup_s"),
        "logs": result["logdir"],
    }
    write_report(f"webcam_{detector}", figures, capsys)
    assert statistics.median(fps) >= MIN_FPS, figures
    assert (result.get("frames_window") or 0) > 0, figures  # the server's own count moved too


def test_sidebar_change_applies_to_the_running_stream(webcam_run):
    _, result, _, _ = webcam_run
    live = result["live_settings"]
    assert live["red_right_before"] is False and live["red_right_after"] is True
    # Same stream: the frame counter kept counting and the video never stopped.
    assert live["frames_after"] > live["frames_before"] and live["still_playing"]


def test_start_stop_and_closing_the_tab_leave_nothing_growing(webcam_run):
    _, result, _, _ = webcam_run
    rss, threads = result["rss_mb"], result["threads"]
    assert len(rss) == CYCLES
    # Every start plays; one in the whole run may need a second press (see the runner and
    # docs/testing.md, "The webcam end to end"): a bounded, logged retry, never a loop.
    assert len(result["retries"]) <= 1, result["retries"]
    # A leak raises memory after every stop and by more than this run's noise allows.
    growth = _rss_growth(result)
    assert not growth.leak, (rss, growth.as_dict())
    # Counted once the count held still (the runner waits up to 30 s for a slow shutdown).
    assert not _thread_growth(result).leak, (threads, _thread_growth(result).as_dict())
    # A closed tab's stream is stopped by the server once ICE consent fails (~30 s): its
    # ~8 threads end (one more than after the last stop may be a pool thread kept for reuse).
    assert result["threads_after_close"] <= threads[-1] + 1 < result["threads_playing_before_close"], result
