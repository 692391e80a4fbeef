"""Per-frame counts, progress and the summary of a video run: what the page and the CLI show.

Counts are kept in compact arrays (15 bytes a frame: an hour at 30 fps is under 2 MB), not a
list of objects, so memory stays flat however long the video is.

Three labels are counted apart: ``mask``, ``no_mask`` and ``incorrect`` (a mask below the
nose, from a 3-class model; always 0 with a binary one), so ``mask + no_mask + incorrect ==
faces`` in every frame. Each frame reads back as a :class:`~maskpatrol.pipeline.Counts`,
whose rule for "not properly masked" the warnings use (``frames_not_masked``).
Before the third class ``no_mask`` held every face not labelled mask; with a binary model
it still does, and the CSV's new ``incorrect`` column comes last so existing readers keep
working.
"""

from __future__ import annotations

import csv
import io
from array import array
from dataclasses import dataclass, field
from typing import IO, Iterator, Optional, Sequence

from ..pipeline import Counts, Face
from ..tracking.people import PersonRecord

#: No time-left estimate before this many frames and seconds.
ETA_MIN_FRAMES = 10
ETA_MIN_SECONDS = 1.0


@dataclass(frozen=True)
class Progress:
    """Where a run stands, for a progress bar with an ETA."""

    frames_done: int
    frames_total: Optional[int]  # None when the file does not say
    elapsed_s: float

    @property
    def fraction(self) -> Optional[float]:
        if not self.frames_total:
            return None
        return min(1.0, self.frames_done / self.frames_total)

    @property
    def fps(self) -> float:
        return self.frames_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> Optional[float]:
        """Seconds left at the speed so far; None without a total or before the speed means
        anything (the first frames pay for warming up: an early guess said 4 min for 20 s)."""
        if not self.frames_total or self.frames_done < ETA_MIN_FRAMES or self.elapsed_s < ETA_MIN_SECONDS:
            return None
        return max(0.0, (self.frames_total - self.frames_done) / self.fps)

    def describe(self) -> str:
        """'Frame 120 of 900 · 45 fps · about 17 s left' (the page and the CLI share it)."""
        total = f" of {self.frames_total}" if self.frames_total else ""
        text = f"Frame {self.frames_done}{total} · {self.fps:.0f} fps"
        eta = self.eta_s
        if eta is not None:
            text += f" · about {format_seconds(eta)} left"
        elif self.frames_total and self.frames_done < self.frames_total:
            text += " · estimating the time left"
        return text


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s"


class FrameCounts:
    """Faces, unmasked faces and masks below the nose per frame, in compact arrays (not a
    list of objects), so memory stays flat however long the video is."""

    CSV_HEADER = ("frame", "time_s", "faces", "mask", "no_mask", "analyzed", "incorrect")

    def __init__(self) -> None:
        self.time_s = array("d")
        self.faces = array("H")
        self.no_mask = array("H")
        self.incorrect = array("H")
        self.analyzed = array("b")

    def append(self, time_s: float, faces: Sequence[Face], analyzed: bool) -> None:
        counts = Counts.of(faces)
        self.time_s.append(time_s)
        self.faces.append(min(counts.total, 65535))
        self.no_mask.append(min(counts.no_mask, 65535))
        self.incorrect.append(min(counts.incorrect, 65535))
        self.analyzed.append(1 if analyzed else 0)

    def __len__(self) -> int:
        return len(self.faces)

    def __iter__(self) -> Iterator[Counts]:
        """Each frame's counts, in order."""
        for n, bad, below in zip(self.faces, self.no_mask, self.incorrect):
            yield Counts(mask=n - bad - below, no_mask=bad, incorrect=below)

    def rows(self) -> Iterator[tuple[int, float, int, int, int, int, int]]:
        """(frame, time_s, faces, mask, no_mask, analyzed, incorrect) per frame, frame
        numbers from 0 (the order of ``CSV_HEADER``)."""
        for i, (t, c, analyzed) in enumerate(zip(self.time_s, self, self.analyzed)):
            yield i, round(t, 3), c.total, c.mask, c.no_mask, analyzed, c.incorrect

    def write_csv(self, out: IO[str]) -> None:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.CSV_HEADER)
        writer.writerows(self.rows())

    def csv_text(self) -> str:
        buf = io.StringIO()
        self.write_csv(buf)
        return buf.getvalue()

    def per_second(self) -> list[tuple[int, int, int, int]]:
        """(second, most faces in one frame, most unmasked faces in one frame, most masks
        below the nose in one frame) for each whole second of the video. The maximum, not
        the mean: one unmasked person seen for a few frames should show on the timeline,
        not be averaged away."""
        out: dict[int, list[int]] = {}
        for t, n, bad, below in zip(self.time_s, self.faces, self.no_mask, self.incorrect):
            sec = max(0, int(t))
            cur = out.setdefault(sec, [0, 0, 0])
            cur[0], cur[1], cur[2] = max(cur[0], n), max(cur[1], bad), max(cur[2], below)
        return [(s, v[0], v[1], v[2]) for s, v in sorted(out.items())]


def timeline(counts: FrameCounts) -> dict[str, list[int]]:
    """The chart's columns per second (see ``per_second``), stacked so each bar is as tall
    as the most faces seen: "No mask" (most unmasked faces), then "Mask below nose" (most
    such masks, cut to the room left when their maxima came from different frames: no mask
    goes first, as missing it costs most), then "Mask" for the rest."""
    rows = counts.per_second()
    below = [min(r[3], r[1] - r[2]) for r in rows]
    return {"Second": [r[0] for r in rows], "Faces": [r[1] for r in rows], "No mask": [r[2] for r in rows],
            "Mask below nose": below, "Mask": [r[1] - r[2] - b for r, b in zip(rows, below)]}


def _frames(n: int) -> str:
    return f"{n} frame{'s' if n != 1 else ''}"


@dataclass
class VideoResult:
    """What a finished run produced (the video itself is at ``path`` or in bytes)."""

    width: int
    height: int
    fps: float
    frames: int
    analyzed_frames: int
    every: int
    elapsed_s: float
    counts: FrameCounts
    #: CPU time of the whole process (all threads) during the run: unlike ``elapsed_s``,
    #: hardly affected by other processes, so it tells what the work costs.
    cpu_s: float = 0.0
    #: What happened to the sound: "none", "copied (aac)", "re-encoded to AAC (from ...)",
    #: or "dropped (why)" (see :class:`~maskpatrol.audio_track.AudioTrack`).
    audio: str = "none"
    #: Everyone seen, judged once each (``tracking.people``), by number.
    people: list[PersonRecord] = field(default_factory=list)

    @property
    def people_counts(self) -> Counts:
        return Counts.of_labels(p.label for p in self.people)

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.fps else 0.0

    @property
    def speed(self) -> float:
        """Times real time: 2.0 means a minute of video took 30 s."""
        return self.duration_s / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def max_faces(self) -> int:
        return max(self.counts.faces, default=0)

    @property
    def frames_with_no_mask(self) -> int:
        return sum(1 for n in self.counts.no_mask if n)

    @property
    def frames_with_incorrect(self) -> int:
        """Frames with a mask below the nose (always 0 with a binary model)."""
        return sum(1 for n in self.counts.incorrect if n)

    @property
    def frames_not_masked(self) -> int:
        """Frames with someone not properly masked: no mask, or a mask below the nose."""
        return sum(1 for c in self.counts if c.alert)

    def not_masked_text(self) -> str | None:
        """The page's warning, or None when everyone seen was properly masked: the people
        (each judged once), then for how long such a face is in view. A binary model's
        wording names no mask below the nose."""
        if not self.frames_not_masked and not self.people_counts.alert:
            return None
        people = self.people_counts
        text = f"{people.not_masked_text}, of {people.total} seen. " if people.alert else ""
        if not self.frames_not_masked:
            return text.strip()
        if not self.frames_with_incorrect:
            return text + f"Someone without a mask is visible for about {self._seconds(self.frames_with_no_mask)} of the video."
        return text + (f"Someone not properly masked is visible for about {self._seconds(self.frames_not_masked)} of the "
                       f"video: without a mask for about {self._seconds(self.frames_with_no_mask)}, with the mask below "
                       f"the nose for about {self._seconds(self.frames_with_incorrect)}.")

    def _seconds(self, frames: int) -> str:
        return f"{frames / self.fps if self.fps else 0.0:.1f} s"

    def summary(self) -> str:
        """One line a person reads: size, frames, who was seen, speed."""
        sampled = ("" if self.every == 1 else
                   f", {self.analyzed_frames} analysed (1 in {self.every}; the others reuse its boxes)")
        below = (f"; a mask below the nose in {_frames(self.frames_with_incorrect)}"
                 if self.frames_with_incorrect else "")
        seen = (f"{self.people_counts.people_summary}; "
                f"up to {self.max_faces} face{'s' if self.max_faces != 1 else ''} per frame; "
                f"someone without a mask in {_frames(self.frames_with_no_mask)}{below}"
                ) if self.max_faces else "no faces found, 0 people"
        return (f"{self.frames} frames, {self.width}x{self.height} at {self.fps:.3g} fps "
                f"({format_seconds(self.duration_s)}){sampled}: {seen}. "
                f"Processed in {format_seconds(self.elapsed_s)} ({self.speed:.1f}x real time)."
                + ("" if self.audio == "none" else f" Sound: {self.audio}."))
