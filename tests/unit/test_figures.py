"""The leak judge the soak and webcam memory tests rely on (``tests/support/figures.py``): it must
fail a run whose memory keeps growing and pass one that only saw-tooths or steps once."""

from __future__ import annotations

import json

import numpy as np
import pytest

from support import figures
from support.figures import ratio, steady_growth


def test_steady_growth_across_the_run_is_a_leak():
    # 0.15 MB per photo (3.75 MB a batch of 25) over 13 readings, with +-4 MB of saw-tooth.
    rss = [370 + 3.75 * i + (4 if i % 2 else -4) for i in range(13)]
    growth = steady_growth(rss, windows=3, floor=20)
    assert growth.rising_throughout and growth.trend_rise > 40 and growth.leak


def test_saw_tooth_without_a_trend_is_not_a_leak():
    # The soak's real pattern after warm-up: departed sessions freed every few batches.
    rss = [366, 380, 388, 371, 375, 386, 369, 382, 387, 372, 377, 385, 370]
    assert not steady_growth(rss, windows=3, floor=20).leak


def test_a_plateau_reached_after_warm_up_is_a_step_not_a_leak():
    # A fast run fills its caches later: +30 MB in the first post-warm-up batches, then flat.
    rss = [350, 362, 374, 380, 381, 379, 382, 380, 381, 378, 382, 381, 380]
    growth = steady_growth(rss, windows=3, floor=20)
    assert not growth.rising_throughout and not growth.leak


def test_noise_that_happens_to_rise_is_judged_against_the_floor():
    # Five webcam cycles, each a little higher by chance: 2 MB in all is no leak.
    assert not steady_growth([303.5, 304.0, 304.6, 305.1, 305.5], windows=5, floor=15).leak
    # The same shape at 8 MB a cycle is one.
    assert steady_growth([303.5, 311.5, 319.5, 327.5, 335.5], windows=5, floor=15).leak


def test_flat_windows_then_one_late_step_is_not_a_leak():
    # A CI soak run (2026-12-01) after warm-up: flat for two thirds, then the allocator kept
    # ~35 MB more, and gave it back once (386.8) before the end.
    rss = [390.1, 367.4, 387.5, 392.7, 371.3, 390.5, 395.2, 385.9, 419.3, 424.3, 386.8, 423.7, 423.0]
    growth = steady_growth(rss, windows=3, floor=20)
    assert growth.trend_rise > growth.margin and not growth.rising_throughout and not growth.leak
    # The same noise on a steady climb of the same total is a leak.
    climb = [r - 30 + 4.5 * i for i, r in enumerate([390.1, 367.4, 387.5, 392.7, 371.3, 390.5, 395.2, 385.9,
                                                      389.3, 394.3, 386.8, 393.7, 393.0])]
    assert steady_growth(climb, windows=3, floor=20).leak


def test_the_margin_widens_with_this_runs_spread():
    rng = np.random.default_rng(0)
    noisy = list(370 + 2.0 * np.arange(13) + rng.normal(0, 15, 13))
    growth = steady_growth(noisy, windows=3, floor=20)
    assert growth.margin == pytest.approx(3 * growth.spread) and growth.margin > 20


def test_too_few_readings_are_refused():
    with pytest.raises(ValueError):
        steady_growth([1.0, 2.0], windows=2, floor=1)


def test_reports_are_written_as_json_and_ratios_skip_missing_baselines(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "ARTIFACTS", tmp_path / "tests" / "artifacts")
    path = figures.write_report("demo", {"fps": 12.5, "baseline_ms": 20.0})
    assert json.loads(path.read_text()) == {"fps": 12.5, "baseline_ms": 20.0}
    assert ratio(30.0, 20.0) == 1.5 and ratio(30.0, None) is None and ratio(None, 2.0) is None
