"""Which face in this frame is which face of the last ones: a small SORT-style tracker.

Each track keeps the last box of its face and the speed of the box's centre in pixels per
second. A new frame's faces are matched to where each track is heading by overlap
(intersection over union), greedily, best pair first; a face that overlaps none but lies
within one face width of where a track is heading, at a similar size, is matched next
(a fast walker, or someone coming out from behind another). A track seen once has no heading
yet: it reaches as far as a walker gets in the time since (``WALK_FW_PER_S``), so at a few
frames a second a new face is still found in the next frame. Unmatched faces start tracks;
a track unseen for longer than ``keep_lost_s`` ends, and a track last seen moving out across
the frame's edge ends sooner (``EDGE_KEEP_S``): someone who walked out on the left is not the
next person walking in there.

A face the classifier reads clearly as the other class than a track (masked against unmasked,
each by ``CLASS_VETO`` log-odds or more from the threshold, the track over at least
``CLASS_VETO_FRAMES`` frames) is never that track's: where two people cross, the one passing in
front does not take over the number, and the evidence, of the one behind.

A stream whose frame size changes (WebRTC lowers the resolution when the sender's CPU or the
network cannot keep up) keeps its tracks: they are rescaled with the frame.

A stream that stalls (a live path on a loaded machine analyses no frame for a second, then
carries on) leaves a blind spell: the part of a gap between frames beyond ``BLIND_GAP_S``.
Nobody looked then, so it is not time out of sight: it neither counts towards ``keep_lost_s``
nor stops a track's heading being projected (the person kept walking). At most ``keep_lost_s``
of blind time is forgiven, so after a long stall (a page in the background) tracks still end.

Time is in seconds, not frames, so a path that skips frames to keep up (the live pages)
tracks the same way as one that sees them all. The browser mode runs the same algorithm
(``maskpatrol/web/src/people.js``); tests hold the two to the same numbers, so every
arithmetic step here has a twin there, in the same order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from ..detectors.base import Box
from .settings import PeopleSettings

#: Weight of the newest measurement in a track's speed: smooths a detector's jitter.
VELOCITY_GAIN = 0.5
#: Frames closer than this (seconds) give no speed: a live stream sometimes delivers two
#: frames a millisecond apart, and 10 px over 1 ms would be 10,000 px/s.
MIN_SPEED_DT_S = 0.02
#: A face matched by distance must be within this factor of the track's size.
MAX_SIZE_RATIO = 1.6
#: Log-odds from the threshold beyond which a face and a track are read as different people.
CLASS_VETO = 3.0
#: Frames a track must have before its class can veto a match.
CLASS_VETO_FRAMES = 3
#: Seconds a track last seen moving out across the frame's edge is kept: it most likely left.
EDGE_KEEP_S = 0.3
#: Pixels from the border within which a box touches the edge.
EDGE_PX = 2
#: A lost track's heading is projected at most this far (seconds of frames without its face):
#: after that it waits where it was heading.
MAX_PREDICT_S = 0.5
#: Frames further apart than this (seconds): the time beyond it is blind (see the module's
#: docstring). Slower than any live path runs unless it stalls, so a steady stream has none.
BLIND_GAP_S = 0.5
#: Face widths a second a face is taken to move across the frame: how far a track whose
#: heading is not known yet reaches (``Track.reach``). Its reach passes one face width only
#: after 0.25 s without the face, so at 10 frames a second or more a track's next frame is
#: matched as before. Why 4: docs/people.md.
WALK_FW_PER_S = 4.0


@dataclass
class Track:
    id: int
    x: float
    y: float
    w: float
    h: float
    t: float
    vx: float = 0.0
    vy: float = 0.0
    hits: int = 1
    #: Sum of the class log-odds of the track's faces (see ``Tracker.update``'s ``classes``).
    class_sum: float = 0.0
    #: Blind time (seconds) since the track was last seen.
    blind: float = 0.0

    def unseen(self, t: float) -> float:
        """Seconds of frames without the face since it was last seen (blind time left out)."""
        return t - self.t - self.blind

    def predicted(self, t: float) -> tuple[float, float, float, float]:
        """The box where the face is heading at time ``t``: projected over the blind time
        and at most ``MAX_PREDICT_S`` of the rest."""
        dt = self.projected_s(t)
        return self.x + self.vx * dt, self.y + self.vy * dt, self.w, self.h

    def projected_s(self, t: float) -> float:
        """Seconds over which the heading is projected at time ``t``."""
        return min(max(self.unseen(t), 0.0), MAX_PREDICT_S) + self.blind

    def reach(self, t: float) -> float:
        """Face widths from where the track is heading within which a face may be its: one
        once its heading is known; before (one face so far) as far as a walker gets in the
        time the heading would be projected over, and at least one."""
        if self.hits > 1:
            return 1.0
        return max(1.0, WALK_FW_PER_S * self.projected_s(t))


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def match_score(predicted: Sequence[float], box: Sequence[float], min_iou: float, reach: float = 1.0) -> float:
    """How well ``box`` fits a track heading to ``predicted``: the overlap when it is at
    least ``min_iou``; below ``min_iou`` by nearness for a face within ``reach`` face widths
    at a similar size; 0 for no match."""
    overlap = iou(predicted, box)
    if overlap >= min_iou:
        return overlap
    size = max(predicted[2], box[2])
    ratio = box[2] / predicted[2]
    if ratio > MAX_SIZE_RATIO or ratio < 1.0 / MAX_SIZE_RATIO:
        return 0.0
    dx = (box[0] + box[2] / 2) - (predicted[0] + predicted[2] / 2)
    dy = (box[1] + box[3] / 2) - (predicted[1] + predicted[3] / 2)
    distance = math.sqrt(dx * dx + dy * dy) / size
    if distance >= reach:
        return 0.0
    return min_iou * (1.0 - distance / reach) * 0.99


def other_class(track: Track, face_class: float) -> bool:
    """The face reads clearly as the other class than the track has so far."""
    if track.hits < CLASS_VETO_FRAMES:
        return False
    mean = track.class_sum / track.hits
    return (mean >= CLASS_VETO and face_class <= -CLASS_VETO) or (mean <= -CLASS_VETO and face_class >= CLASS_VETO)


def leaving(track: Track, frame_size: tuple[int, int]) -> bool:
    """The track's last box touches a border of the frame and it was moving out across it
    (someone walking in at that border is not leaving)."""
    width, height = frame_size
    return ((track.x <= EDGE_PX and track.vx < 0) or (track.y <= EDGE_PX and track.vy < 0)
            or (track.x + track.w >= width - EDGE_PX and track.vx > 0)
            or (track.y + track.h >= height - EDGE_PX and track.vy > 0))


class Tracker:
    """Track numbers for the faces of successive frames (one tracker per video or stream)."""

    def __init__(self, settings: PeopleSettings = PeopleSettings()) -> None:
        self.settings = settings
        self.tracks: list[Track] = []
        self._next_id = 1
        self._frame_size: tuple[int, int] | None = None
        self._last_t: float | None = None

    def update(self, boxes: Sequence[Box], t: float, frame_size: tuple[int, int] | None = None,
               classes: Sequence[float] | None = None) -> tuple[list[int], list[int]]:
        """Match the faces ``boxes`` seen at time ``t`` (seconds, increasing) in a frame of
        ``frame_size`` (width, height). ``classes``: each face's log-odds of p(no mask) minus
        those of the threshold (above 0: unmasked), for the class veto; None: no veto.
        Returns the track number of each box, and the numbers of the tracks that ended
        before this frame was matched."""
        classes = [0.0] * len(boxes) if classes is None else classes
        if frame_size is not None:
            self._rescale(frame_size)
        s = self.settings
        if self._last_t is not None and t - self._last_t > BLIND_GAP_S:
            blind = t - self._last_t - BLIND_GAP_S
            for tr in self.tracks:
                tr.blind = min(tr.blind + blind, s.keep_lost_s)
        self._last_t = t
        gone = [tr for tr in self.tracks if self._expired(tr, t, frame_size)]
        if gone:
            self.tracks = [tr for tr in self.tracks if tr not in gone]
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self.tracks):
            predicted, reach = track.predicted(t), track.reach(t)
            for bi, box in enumerate(boxes):
                score = match_score(predicted, box, s.min_iou, reach)
                if score > 0.0 and not other_class(track, classes[bi]):
                    pairs.append((score, ti, bi))
        # Best pair first; ties by the older track, then the earlier box (the twin sorts alike).
        pairs.sort(key=lambda p: (-p[0], self.tracks[p[1]].id, p[2]))
        ids = [0] * len(boxes)
        used_tracks: set[int] = set()
        for _, ti, bi in pairs:
            if ti in used_tracks or ids[bi]:
                continue
            used_tracks.add(ti)
            self._move(self.tracks[ti], boxes[bi], t)
            self.tracks[ti].class_sum += classes[bi]
            ids[bi] = self.tracks[ti].id
        for bi, box in enumerate(boxes):
            if not ids[bi]:
                x, y, w, h = (float(v) for v in box)
                self.tracks.append(Track(self._next_id, x, y, w, h, t, class_sum=classes[bi]))
                ids[bi] = self._next_id
                self._next_id += 1
        return ids, [tr.id for tr in gone]

    def active(self) -> list[int]:
        """Numbers of the tracks not yet ended."""
        return [tr.id for tr in self.tracks]

    def _rescale(self, frame_size: tuple[int, int]) -> None:
        """Tracks follow a change of the frame's size (same picture, other resolution)."""
        before, self._frame_size = self._frame_size, frame_size
        if before is None or before == frame_size:
            return
        sx, sy = frame_size[0] / before[0], frame_size[1] / before[1]
        for tr in self.tracks:
            tr.x, tr.y, tr.w, tr.h = tr.x * sx, tr.y * sy, tr.w * sx, tr.h * sy
            tr.vx, tr.vy = tr.vx * sx, tr.vy * sy

    def _expired(self, track: Track, t: float, frame_size: tuple[int, int] | None) -> bool:
        """Unseen for too long to be the same person any more (checked before matching)."""
        unseen = track.unseen(t)
        if unseen > self.settings.keep_lost_s:
            return True
        return frame_size is not None and unseen > EDGE_KEEP_S and leaving(track, frame_size)

    @staticmethod
    def _move(track: Track, box: Box, t: float) -> None:
        x, y, w, h = (float(v) for v in box)
        dt = t - track.t
        if dt >= MIN_SPEED_DT_S:
            vx = ((x + w / 2) - (track.x + track.w / 2)) / dt
            vy = ((y + h / 2) - (track.y + track.h / 2)) / dt
            if track.hits == 1:
                track.vx, track.vy = vx, vy
            else:
                track.vx += VELOCITY_GAIN * (vx - track.vx)
                track.vy += VELOCITY_GAIN * (vy - track.vy)
        track.x, track.y, track.w, track.h, track.t = x, y, w, h, t
        track.blind = 0.0
        track.hits += 1
