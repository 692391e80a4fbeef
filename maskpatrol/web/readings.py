"""The browser's once-a-second report -> :class:`maskpatrol.live.FrameResult` items.

The page's JavaScript sends ``{"frames": [[age_ms, faces, masked, no_mask, incorrect,
analysis_ms], ...], "error": str | None}``: one row per analysed frame since the last
report, ``age_ms`` being how long before sending the frame was done (so the browser's clock
never has to agree with ours), ``incorrect`` the faces with a mask below the nose (0 with a
binary model). It comes from the visitor's browser, so it is checked, not trusted: a
malformed report is dropped, and a report can never hold more rows than a fast camera
makes in a few seconds. Rows of the 5 values sent before the third class are dropped too:
the bundle in ``static/live/`` and this module ship together.

A report also carries the people the browser follows (``maskpatrol/web/src/people.js``):
``"people": {"counts": [total, mask, no_mask, incorrect], "alerts": n, "records": [[number,
first_seen_s, last_seen_s, frames, label, mean_p_no_mask, mean_p_incorrect], ...]}``, the
counts since Start, the alerts raised since the last report, and the records of the people
seen since the last report (times in seconds since Start). Checked as the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..live import FpsMeter, FrameResult
from ..pipeline import LABELS, Counts
from ..tracking.people import PersonRecord

#: Rows accepted per report: 4 s of a 60 fps camera (reports come every second).
MAX_ROWS = 240
#: A face count above this is not a webcam reading.
MAX_FACES = 100
#: Longest error text kept from the browser.
MAX_ERROR_CHARS = 300


#: Values per row: age_ms, faces, masked, no_mask, incorrect, analysis_ms.
ROW_LENGTH = 6
#: People records accepted per report, and people per stream kept for the CSV.
MAX_PEOPLE_ROWS = 200
MAX_PEOPLE = 10_000
#: A stream longer than a day is not a webcam reading.
MAX_SECONDS = 86_400.0


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


def _counts(value: Any) -> Counts | None:
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        return None
    try:
        total, mask, no_mask, incorrect = (int(v) for v in value)
    except (TypeError, ValueError):
        return None
    counts = Counts(mask=mask, no_mask=no_mask, incorrect=incorrect)
    if min(mask, no_mask, incorrect) < 0 or counts.total != total or total > MAX_PEOPLE:
        return None
    return counts


def _person(row: Any) -> PersonRecord | None:
    if not isinstance(row, (list, tuple)) or len(row) != len(PersonRecord.CSV_HEADER):
        return None
    try:
        record = PersonRecord(int(row[0]), float(row[1]), float(row[2]), int(row[3]), str(row[4]),
                              float(row[5]), float(row[6]))
    except (TypeError, ValueError):
        return None
    ok = (1 <= record.number <= MAX_PEOPLE and 0 <= record.first_seen_s <= record.last_seen_s <= MAX_SECONDS
          and record.frames >= 1 and record.label in LABELS
          and 0 <= record.p_no_mask <= 1 and 0 <= record.p_incorrect <= 1)
    return record if ok else None


@dataclass
class BrowserFeed:
    """Per-session bookkeeping for the browser mode: the FPS meter (the browser's own
    analysis rate, measured from its frame times with the server mode's
    :class:`FpsMeter`) and the stream's frame count and mean analysis time."""

    meter: FpsMeter = field(default_factory=FpsMeter)
    frames: int = 0
    analysis_ms_total: float = 0.0
    #: The stream's people, by number, as the browser last reported them.
    people: dict[int, PersonRecord] = field(default_factory=dict)

    def reset(self) -> None:
        self.meter.reset()
        self.frames = 0
        self.analysis_ms_total = 0.0
        self.people.clear()

    def people_records(self) -> list[PersonRecord]:
        return [self.people[n] for n in sorted(self.people)]

    def _take_people(self, report: Any) -> tuple[Counts | None, int]:
        """Keep the report's people records; returns its people counts and alerts."""
        people = report.get("people")
        if not isinstance(people, dict):
            return None, 0
        records = people.get("records")
        for record in map(_person, records[:MAX_PEOPLE_ROWS] if isinstance(records, list) else []):
            if record is not None and (record.number in self.people or len(self.people) < MAX_PEOPLE):
                self.people[record.number] = record
        alerts = people.get("alerts")
        alerts = alerts if isinstance(alerts, int) and 0 <= alerts <= MAX_PEOPLE_ROWS else 0
        return _counts(people.get("counts")), alerts

    def results(self, report: Any, now: float) -> list[FrameResult]:
        """The report's frames as results stamped on our clock (``now`` = when it arrived)."""
        if not isinstance(report, dict) or not isinstance(report.get("frames"), list):
            return []
        people, alerts = self._take_people(report)
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
        if out:  # the people as of the report ride on its newest result
            out[-1] = replace(out[-1], people=people, alerts=alerts)
        elif people is not None:  # a report with people only (the one sent at Stop)
            out.append(FrameResult(now, Counts(), 0.0, self.meter.fps(now), people=people, alerts=alerts, frame=False))
        return out

    def stats(self) -> tuple[int, float]:
        """(frames analysed in this stream, mean analysis milliseconds), as LiveProcessor.stats."""
        return self.frames, (self.analysis_ms_total / self.frames if self.frames else 0.0)
