"""The browser's once-a-second report -> :class:`maskpatrol.live.FrameResult` items.

The page's JavaScript sends ``{"frames": [[age_ms, faces, masked, no_mask, incorrect,
analysis_ms], ...], "error": str | None}``: one row per analysed frame since the last
report, ``age_ms`` being how long before sending the frame was done (so the browser's clock
never has to agree with ours), ``incorrect`` the faces with a mask below the nose (0 with a
binary model). It comes from the visitor's browser, so it is checked, not trusted: a
malformed report is dropped, and a report can never hold more rows than a fast camera
makes in a few seconds. Rows of the 5 values sent before the third class are dropped too:
the bundle in ``static/live/`` and this module ship together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..live import FpsMeter, FrameResult
from ..pipeline import Counts

#: Rows accepted per report: 4 s of a 60 fps camera (reports come every second).
MAX_ROWS = 240
#: A face count above this is not a webcam reading.
MAX_FACES = 100
#: Longest error text kept from the browser.
MAX_ERROR_CHARS = 300


#: Values per row: age_ms, faces, masked, no_mask, incorrect, analysis_ms.
ROW_LENGTH = 6


def _row(row: Any) -> tuple[float, Counts, float] | None:
    if not isinstance(row, (list, tuple)) or len(row) != ROW_LENGTH:
        return None
    try:
        age_ms, faces, masked, no_mask, incorrect = float(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4])
        ms = float(row[5])
    except (TypeError, ValueError):
        return None
    if not (0 <= age_ms <= 60_000 and 0 <= ms <= 60_000):
        return None
    counts = Counts(mask=masked, no_mask=no_mask, incorrect=incorrect)
    if not (0 <= faces <= MAX_FACES and min(masked, no_mask, incorrect) >= 0 and counts.total == faces):
        return None
    return age_ms, counts, ms


@dataclass
class BrowserFeed:
    """Per-session bookkeeping for the browser mode: the FPS meter (the browser's own
    analysis rate, measured from its frame times with the server mode's
    :class:`FpsMeter`) and the stream's frame count and mean analysis time."""

    meter: FpsMeter = field(default_factory=FpsMeter)
    frames: int = 0
    analysis_ms_total: float = 0.0

    def reset(self) -> None:
        self.meter.reset()
        self.frames = 0
        self.analysis_ms_total = 0.0

    def results(self, report: Any, now: float) -> list[FrameResult]:
        """The report's frames as results stamped on our clock (``now`` = when it arrived)."""
        if not isinstance(report, dict) or not isinstance(report.get("frames"), list):
            return []
        rows = [r for r in map(_row, report["frames"][:MAX_ROWS]) if r is not None]
        error = report.get("error")
        error = str(error)[:MAX_ERROR_CHARS] if error else None
        out: list[FrameResult] = []
        for age_ms, counts, ms in sorted(rows, key=lambda r: -r[0]):  # oldest first
            when = now - age_ms / 1000.0
            fps = self.meter.tick(when)
            self.frames += 1
            self.analysis_ms_total += ms
            out.append(FrameResult(when, counts, ms, fps))
        if error:
            out.append(FrameResult(now, Counts(), 0.0, self.meter.fps(now), error=error))
        return out

    def stats(self) -> tuple[int, float]:
        """(frames analysed in this stream, mean analysis milliseconds), as LiveProcessor.stats."""
        return self.frames, (self.analysis_ms_total / self.frames if self.frames else 0.0)
