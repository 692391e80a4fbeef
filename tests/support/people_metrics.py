"""How well people were followed through a :class:`~support.people_clip.PeopleClip`, in the
terms of multi-object tracking (py-motmetrics): IDF1, identity switches, fragmentations,
and which tracks each true person was given."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Sequence

import numpy as np

#: A found face belongs to a true one when its centre is within this fraction of the true
#: face's side from the true centre (the drawn square holds more than the face).
MATCH_RADIUS = 0.5


def centre_distances(truth: Sequence[tuple[int, int, int, int]], found: Sequence[Sequence[float]]) -> np.ndarray:
    """Truth x found matrix of centre distances in units of the true side; NaN beyond
    :data:`MATCH_RADIUS` (no match)."""
    out = np.full((len(truth), len(found)), np.nan)
    for i, (x, y, s, _) in enumerate(truth):
        for j, (fx, fy, fw, fh) in enumerate(found):
            d = np.hypot(fx + fw / 2 - (x + s / 2), fy + fh / 2 - (y + s / 2)) / s
            if d <= MATCH_RADIUS:
                out[i, j] = d
    return out


class TrackingScore:
    """Feed frames (truth and found with track numbers), then read :meth:`figures`."""

    def __init__(self) -> None:
        import motmetrics as mm

        self._mm = mm
        self.acc = mm.MOTAccumulator(auto_id=True)
        self.tracks_of: dict[int, Counter] = defaultdict(Counter)

    def add(self, truth: Sequence[tuple[int, tuple[int, int, int, int]]], found_boxes: Sequence[Sequence[float]],
            found_tracks: Sequence[int]) -> None:
        dist = centre_distances([b for _, b in truth], found_boxes)
        self.acc.update([p for p, _ in truth], list(found_tracks), dist)
        for (person, _), row in zip(truth, dist):
            j = int(np.nanargmin(row)) if np.isfinite(row).any() else None
            if j is not None:
                self.tracks_of[person][found_tracks[j]] += 1

    def figures(self) -> dict:
        mh = self._mm.metrics.create()
        names = ["idf1", "mota", "num_switches", "num_fragmentations", "num_false_positives", "num_misses",
                 "num_objects", "mostly_tracked"]
        summary = mh.compute(self.acc, metrics=names, name="clip")
        row = summary.loc["clip"]
        out = {k: (round(float(row[k]), 4) if k in ("idf1", "mota") else int(row[k])) for k in names}
        out["tracks_per_person"] = {str(p): dict(c) for p, c in sorted(self.tracks_of.items())}
        return out
