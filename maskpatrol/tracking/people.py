"""One judgement per person from all their frames, people counts, and one alert per person.

Faces are followed by :class:`~maskpatrol.tracking.tracker.Tracker`. A person is judged
once they have been seen in ``decide_after_frames`` frames: their label is the model
card's rule (:func:`~maskpatrol.pipeline.label_for`) applied to the mean log-odds of their
largest faces, so one blurred or half-turned frame does not decide it. After that the
label changes only when the evidence clears the other side's threshold by
``revise_margin`` log-odds. A person found not properly masked raises one alert, however
many frames they stay in view.

People are numbered when they are judged (1, 2, 3, ...), so the numbers on the boxes
are the count: a stray detection lost before it was judged takes no number.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import IO, Iterator, Optional, Sequence

from ..pipeline import INCORRECT, MASK, NO_MASK, Counts, Face, MaskPatrol, Settings, label_for
from .settings import PeopleSettings
from .tracker import Tracker

#: Probabilities are clipped to this distance from 0 and 1 before taking log-odds, so one
#: frame at 1.0 cannot outvote all the others.
P_CLIP = 1e-4


def logit(p: float) -> float:
    p = min(max(p, P_CLIP), 1.0 - P_CLIP)
    return math.log(p / (1.0 - p))


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@dataclass
class Person:
    """What is known of one tracked face so far."""

    track: int
    first_seen_s: float
    last_seen_s: float
    frames: int = 0
    sum_p_no_mask: float = 0.0
    sum_p_incorrect: float = 0.0
    #: (area, logit p(no mask), logit p(incorrect)) of the largest faces, largest first; the
    #: area as a share of the frame's where the frame's size is known (a stream may change
    #: resolution).
    evidence: list[tuple[float, float, float]] = field(default_factory=list)
    #: 1, 2, 3, ... in the order people are judged; 0 before.
    number: int = 0
    label: Optional[str] = None
    alerted: bool = False
    #: The largest face seen: (area, time in s, face), for thumbnails and the end message.
    best: Optional[tuple[float, float, Face]] = None

    def add(self, face: Face, t: float, keep: int, frame_area: float = 1.0) -> None:
        self.frames += 1
        self.last_seen_s = t
        self.sum_p_no_mask += face.p_no_mask
        self.sum_p_incorrect += face.p_incorrect
        area = float(face.box[2]) * float(face.box[3]) / frame_area
        self.evidence.append((area, logit(face.p_no_mask), logit(face.p_incorrect)))
        # Stable: among equal areas the earlier face stays ahead.
        self.evidence.sort(key=lambda e: -e[0])
        del self.evidence[keep:]
        if self.best is None or area > self.best[0]:
            self.best = (area, t, face)

    def judged_logits(self) -> tuple[float, float]:
        """Mean log-odds of p(no mask) and p(incorrect) over the kept (largest) faces."""
        # Added in order, one by one, as the browser's twin adds them (sum() may compensate).
        no_mask = incorrect = 0.0
        for _, lno, linc in self.evidence:
            no_mask += lno
            incorrect += linc
        n = len(self.evidence)
        return no_mask / n, incorrect / n

    @property
    def decided(self) -> bool:
        return self.label is not None

    @property
    def not_masked(self) -> bool:
        return self.label in (NO_MASK, INCORRECT)


@dataclass(frozen=True)
class PersonRecord:
    """One row of the people CSV and of the JSON outputs."""

    number: int
    first_seen_s: float
    last_seen_s: float
    frames: int
    label: str
    #: Means over all the person's frames, as the CSV reports them.
    p_no_mask: float
    p_incorrect: float

    CSV_HEADER = ("person", "first_seen_s", "last_seen_s", "frames", "label", "mean_p_no_mask",
                  "mean_p_incorrect")

    def row(self) -> tuple:
        return (self.number, round(self.first_seen_s, 3), round(self.last_seen_s, 3), self.frames, self.label,
                round(self.p_no_mask, 6), round(self.p_incorrect, 6))


@dataclass(frozen=True)
class PeopleUpdate:
    """What one frame changed: its faces as drawn (person number, person's label once
    judged) and the people found not properly masked in it for the first time."""

    faces: list[Face]
    alerts: list[PersonRecord]
    #: The tracker's number for each face (also before the person is judged).
    tracks: list[int]


class People:
    """Everyone seen in one video or stream, judged person by person."""

    def __init__(self, threshold: float, incorrect_threshold: float | None = None,
                 settings: PeopleSettings = PeopleSettings(), keep_left: int | None = None) -> None:
        """``keep_left``: how many of the people who left to keep (the latest); None keeps
        all, as a video or a webcam session needs for its people CSV. A watcher that runs
        for months keeps a few: its people are in the event log, and the counts stay whole."""
        self.threshold = threshold
        self.incorrect_threshold = incorrect_threshold
        self.settings = settings
        self.tracker = Tracker(settings)
        self._open: dict[int, Person] = {}
        self._done: deque[Person] = deque(maxlen=keep_left)
        self._done_labels: Counter[str] = Counter()
        self._numbered = 0

    @classmethod
    def for_patrol(cls, patrol: MaskPatrol, settings: Settings = Settings(), keep_left: int | None = None) -> "People":
        """People judged by ``patrol``'s thresholds (or the ones ``settings`` names)."""
        return cls(patrol.threshold(settings), patrol.incorrect_threshold(settings), settings.people, keep_left)

    def update(self, faces: Sequence[Face], t: float, frame_size: tuple[int, int] | None = None) -> PeopleUpdate:
        """Add one analysed frame's faces, seen at ``t`` seconds in a frame of ``frame_size``
        (width, height; lets the tracker see who walked out)."""
        t_no = logit(self.threshold)
        ids, ended = self.tracker.update([f.box for f in faces], t, frame_size,
                                         [logit(f.p_no_mask) - t_no for f in faces])
        alerts: list[PersonRecord] = []
        shown: list[Face] = []
        for face, track in zip(faces, ids):
            person = self._open.get(track)
            if person is None:
                person = self._open[track] = Person(track, t, t)
            person.add(face, t, self.settings.evidence_faces,
                       1.0 if frame_size is None else float(frame_size[0]) * float(frame_size[1]))
            if self._judge(person, final=False) and person.not_masked and not person.alerted:
                person.alerted = True
                alerts.append(self.record(person))
            shown.append(self.shown(face, person))
        for track in ended:
            person = self._open.pop(track)
            if person.decided:
                self._left(person)
        return PeopleUpdate(shown, alerts, ids)

    def finish(self) -> list[PersonRecord]:
        """The end of the video or stream: everyone still in view is judged with the frames
        there are (one frame is enough). Returns the alerts this raises."""
        alerts = []
        for person in sorted(self._open.values(), key=lambda p: (p.first_seen_s, p.track)):
            self._judge(person, final=True)
            if person.not_masked and not person.alerted:
                person.alerted = True
                alerts.append(self.record(person))
            self._left(person)
        self._open.clear()
        return alerts

    def _left(self, person: Person) -> None:
        self._done.append(person)
        self._done_labels[person.label] += 1

    def people(self) -> list[Person]:
        """Everyone judged so far, by number (people still in view included; of those who
        left, the latest ``keep_left``)."""
        judged = [*self._done, *(p for p in self._open.values() if p.decided)]
        return sorted(judged, key=lambda p: p.number)

    def records(self) -> list[PersonRecord]:
        return [self.record(p) for p in self.people()]

    @property
    def counts(self) -> Counts:
        """People per label (their judged label), everyone since the start."""
        in_view = [p.label for p in self._open.values() if p.decided]
        return Counts.of_labels([*self._done_labels.elements(), *in_view])

    def shown(self, face: Face, person: Person) -> Face:
        """``face`` as drawn: the frame's own label until the person is judged, then the
        person's number, label and judged probabilities."""
        if not person.decided:
            return face
        lno, linc = person.judged_logits()
        return replace(face, label=person.label, p_no_mask=sigmoid(lno), p_incorrect=sigmoid(linc),
                       person=person.number)

    @staticmethod
    def record(person: Person) -> PersonRecord:
        n = max(1, person.frames)
        return PersonRecord(person.number, person.first_seen_s, person.last_seen_s, person.frames,
                            person.label or MASK, person.sum_p_no_mask / n, person.sum_p_incorrect / n)

    def _judge(self, person: Person, final: bool) -> bool:
        """Decide or revise ``person``'s label; True once they have one."""
        if not person.decided and person.frames < self.settings.decide_after_frames and not final:
            return False
        lno, linc = person.judged_logits()
        label = label_for(sigmoid(lno), self.threshold, sigmoid(linc), self.incorrect_threshold)
        if not person.decided:
            self._numbered += 1
            person.number, person.label = self._numbered, label
        elif label != person.label and self._clearance(label, lno, linc) >= self.settings.revise_margin:
            person.label = label
        return True

    def _clearance(self, label: str, lno: float, linc: float) -> float:
        """How far (log-odds) the evidence lies inside ``label``'s side of the thresholds."""
        t_no = logit(self.threshold)
        t_inc = None if self.incorrect_threshold is None else logit(self.incorrect_threshold)
        if label == NO_MASK:
            return lno - t_no
        if label == INCORRECT:
            return min(t_no - lno, linc - t_inc)
        return t_no - lno if t_inc is None else min(t_no - lno, t_inc - linc)


def write_people_csv(records: Sequence[PersonRecord], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PersonRecord.CSV_HEADER)
    writer.writerows(r.row() for r in records)


def people_csv_text(records: Sequence[PersonRecord]) -> str:
    buf = io.StringIO()
    write_people_csv(records, buf)
    return buf.getvalue()


def iter_people(records: Sequence[PersonRecord]) -> Iterator[dict]:
    """Records as JSON objects, in CSV column order."""
    for r in records:
        yield dict(zip(PersonRecord.CSV_HEADER, r.row()))
