"""What the live panel shows: the last second of frame results, summarised recall first,
a minute of history for the chart, and the people judged since Start. Page side only: never touched by the callback thread."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Sequence

from ..pipeline import Counts
from .channel import FrameResult
from .fps import Clock


@dataclass(frozen=True)
class Snapshot:
    """What the live panel shows for the last second."""

    counts: Counts
    fps: float
    analysis_ms: float
    frames: int  # results summarised in this snapshot
    error: str | None = None


def _people(n: int) -> str:
    return f"{n} {'person' if n == 1 else 'people'}"


def alert_text(snap: Snapshot) -> str:
    """The panel's alert, "" when there is none. Without a "mask below the nose" in view
    the wording is what it was before the third class: "1 person without a mask in view".
    With one it says that such a mask does not count as properly masked."""
    counts = snap.counts
    if not counts.alert:
        return ""
    if not counts.incorrect:
        return f"{_people(counts.no_mask)} without a mask in view"
    below = "with a mask below the nose"
    if not counts.no_mask:
        return f"Not properly masked: {_people(counts.incorrect)} {below}"
    return f"Not properly masked: {_people(counts.no_mask)} without a mask, {counts.incorrect} {below}"


@dataclass(frozen=True)
class HistoryPoint:
    time: float
    counts: Counts


#: Share of the last second's frames (and at least two frames, when there are two) in which
#: a face, or a face not properly masked (no mask, or a mask below the nose), must be seen
#: for the panel to count it. Missing an unmasked person is the costly error, and a detector
#: that finds a face only now and then (Haar on a turned head) would lose it to the majority
#: reading; one stray frame (a blink) does not count.
ALERT_SHARE = 0.2


def _seen_in(values: Sequence[int], need: int) -> int:
    """The largest k such that at least ``need`` of ``values`` are >= k (0 if none)."""
    ranked = sorted(values, reverse=True)
    return ranked[need - 1] if 0 < need <= len(ranked) else 0


def summarize_window(results: Sequence[FrameResult], now: float, window_s: float = 1.0,
                     stale_s: float = 2.0) -> Snapshot | None:
    """What the last ``window_s`` showed, recall first: as many faces, and as many faces not
    properly masked, as at least :data:`ALERT_SHARE` of its frames (two at least) showed, and
    never fewer than the commonest reading; masked = faces - not properly masked. Of those
    not properly masked, as many are "no mask" as that rule finds unmasked (the worse label
    first, as ``label_for``), the rest "mask below nose". One frame where the detector or the
    classifier blinks does not move the panel. Also the latest FPS and the mean analysis
    time. ``None`` when no frame arrived in the last ``stale_s``."""
    fresh = sorted((r for r in results if r.frame and r.time >= now - stale_s), key=lambda r: r.time)
    if not fresh:
        return None
    recent = [r for r in fresh if r.time >= fresh[-1].time - window_s]
    error = next((r.error for r in reversed(recent) if r.error is not None), None)
    ok = [r for r in recent if r.error is None]
    if not ok:
        return Snapshot(Counts(), recent[-1].fps, 0.0, 0, error)
    readings = Counter(r.counts for r in ok)
    last_seen = {r.counts: r.time for r in ok}
    mode = max(readings, key=lambda k: (readings[k], last_seen[k]))  # ties: the more recent reading
    need = min(len(ok), max(2, round(ALERT_SHARE * len(ok))))
    not_masked = max(mode.not_masked, _seen_in([r.counts.not_masked for r in ok], need))
    no_mask = min(not_masked, max(mode.no_mask, _seen_in([r.counts.no_mask for r in ok], need)))
    faces = max(mode.total, _seen_in([r.counts.total for r in ok], need), not_masked)
    mean_ms = sum(r.analysis_ms for r in ok) / len(ok)
    return Snapshot(Counts(mask=faces - not_masked, no_mask=no_mask, incorrect=not_masked - no_mask),
                    ok[-1].fps, mean_ms, len(ok), error)


class LivePanel:
    """Page-side memory of the stream: the last seconds of results and a minute of
    one-per-update history for the chart. Not shared with the callback thread."""

    def __init__(self, window_s: float = 1.0, history_s: float = 60.0, clock: Clock = time.monotonic) -> None:
        self.window_s = window_s
        self.history_s = history_s
        self.clock = clock
        self._recent: deque[FrameResult] = deque(maxlen=512)
        self.history: deque[HistoryPoint] = deque(maxlen=int(history_s * 4) + 8)
        self.last: Snapshot | None = None
        #: People judged since Start, by label, and how many alerts they raised.
        self.people = Counts()
        self.alerts = 0

    def update(self, results: Sequence[FrameResult], now: float | None = None) -> Snapshot | None:
        """Fold newly drained results in; returns the current snapshot (or ``None``)."""
        now = self.clock() if now is None else now
        self._recent.extend(results)
        self.take_people(results)
        while self._recent and self._recent[0].time < now - max(self.window_s, 2.0):
            self._recent.popleft()
        snap = summarize_window(list(self._recent), now, self.window_s)
        if snap is not None and snap.frames:
            self.history.append(HistoryPoint(now, snap.counts))
        while self.history and self.history[0].time < now - self.history_s:
            self.history.popleft()
        self.last = snap
        return snap

    def take_people(self, results: Sequence[FrameResult]) -> None:
        """Fold in the people the results carry (the latest counts, and every alert)."""
        for r in results:
            self.alerts += r.alerts
            if r.people is not None:
                self.people = r.people

    def chart_data(self, now: float | None = None) -> dict[str, list[float]]:
        """Columns for a chart: seconds relative to now, the faces, and the three labels'
        counts (masked + mask below nose + no mask = faces)."""
        now = self.clock() if now is None else now
        points = list(self.history)
        return {
            "seconds": [round(p.time - now, 1) for p in points],
            "Faces": [p.counts.total for p in points],
            "Masked": [p.counts.mask for p in points],
            "Mask below nose": [p.counts.incorrect for p in points],
            "No mask": [p.counts.no_mask for p in points],
        }

    def reset(self) -> None:
        self._recent.clear()
        self.history.clear()
        self.last = None
        self.people = Counts()
        self.alerts = 0
