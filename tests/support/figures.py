"""Speed and memory figures measured by tests: written to ``tests/artifacts/``, printed, never
compared with the clock.

A test asserts what a user would notice: the stream plays and is analysed, the counts are
right, memory does not keep growing. How fast the machine of the moment made it is a figure,
not a verdict: a shared 2-core CI machine with another job running takes twice as long and is
not broken. So every report carries, beside each absolute figure, a baseline measured in the
same run on the same machine, and the ratio of the two, which is what compares across runs.

Memory is different: a leak is a real failure. :func:`steady_growth` tells a leak (memory
rising across the whole run) from the saw-tooth of buffers and sessions being freed, with a
margin taken from the spread measured in the same run instead of a fixed number tuned to one
machine's speed.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from support.paths import ARTIFACTS


def write_report(name: str, figures: dict[str, Any], capsys: Any = None) -> Path:
    """Write ``tests/artifacts/<name>.json`` and print it, also under pytest's capture when
    ``capsys`` is given (figures belong in the CI log of a passing run too)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    line = f"\n[figures] {name} -> {path.relative_to(ARTIFACTS.parent.parent)}: {json.dumps(figures)}"
    if capsys is None:
        print(line, flush=True)
    else:
        with capsys.disabled():
            print(line, flush=True)
    return path


def median_ms(work: Callable[[], Any], repeats: int = 7) -> float:
    """Median wall time of ``work()`` in milliseconds, after one untimed warm-up call: the
    baseline that absolute timings of the same run are divided by."""
    work()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        work()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def ratio(value: float | None, baseline: float | None) -> float | None:
    """``value / baseline`` rounded for a report, or None when either is missing or zero."""
    if not value or not baseline:
        return None
    return round(value / baseline, 2)


@dataclass(frozen=True)
class Growth:
    """How a series of memory readings moved over a run, and whether that is a leak."""

    #: Least-squares slope over the whole series, times its length: the rise a steady trend explains.
    trend_rise: float
    #: Standard deviation of the readings around that trend: the noise of this run.
    spread: float
    #: The margin a rise must exceed to count: ``max(floor, spread_factor * spread)``.
    margin: float
    #: Medians of consecutive windows of the series (first to last).
    window_medians: tuple[float, ...]
    #: Every window above the one before (by more than half its share of the margin):
    #: growth that lasts the whole run, not one step.
    rising_throughout: bool
    #: Both: a trend rise beyond the margin, rising in every window.
    leak: bool

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def steady_growth(values: Sequence[float], windows: int, floor: float, spread_factor: float = 3.0) -> Growth:
    """Judge a series of readings (RSS after each batch or each start/stop cycle).

    A leak grows with use, so it raises the least-squares trend *and* every window's median
    over the previous one. A one-off step (a cache or an arena filling later than usual on a
    fast or a slow run) raises the trend but not every window; the saw-tooth of freed sessions
    raises neither beyond its own spread. ``floor`` is the smallest rise that would matter to
    a user (on a 512 MB dyno, tens of MB), so a quiet run's tiny spread cannot turn a few MB
    of allocator noise into a failure.
    """
    n = len(values)
    if n < max(3, windows):
        raise ValueError(f"need at least {max(3, windows)} readings, got {n}")
    xs = range(n)
    mean_x, mean_y = (n - 1) / 2, statistics.fmean(values)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values)) / sxx
    residuals = [y - (mean_y + slope * (x - mean_x)) for x, y in zip(xs, values)]
    spread = statistics.pstdev(residuals)
    bounds = [round(i * n / windows) for i in range(windows + 1)]
    medians = tuple(statistics.median(values[a:b]) for a, b in zip(bounds, bounds[1:]))
    rise = slope * (n - 1)
    margin = max(floor, spread_factor * spread)
    # A leak just beyond the margin lifts each window by about margin / windows; two flat
    # windows differ by a MB or two of noise. So a window counts as higher only by more than
    # half its share of the margin, and flat windows before one late step (seen in CI on
    # 2026-12-01: medians 388.8, 390.5, 423.4 MB) are not growth that lasts the run.
    step = margin / (2 * windows)
    rising = all(later - earlier > step for earlier, later in zip(medians, medians[1:]))
    return Growth(rise, spread, margin, medians, rising, rising and rise > margin)
