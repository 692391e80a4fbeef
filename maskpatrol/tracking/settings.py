"""What decides how faces become people: one immutable value, carried in
``pipeline.Settings.people`` like every other setting. A leaf: it imports nothing of ours."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeopleSettings:
    #: Frames a person is seen in before they are judged. A person lost before that is
    #: taken for a stray detection and not counted; at the end of a video everyone still
    #: in view is judged with the frames there are.
    decide_after_frames: int = 3
    #: Seconds a person out of sight (hidden by someone passing, or missed by the
    #: detector) keeps their number; a face found near where they were heading within
    #: this time is the same person.
    keep_lost_s: float = 1.5
    #: Overlap (intersection over union) between where a person was heading and a face,
    #: above which the face is theirs without further question.
    min_iou: float = 0.2
    #: A person's label comes from the mean log-odds of their largest faces: the
    #: sharpest views, as people grow while they approach. How many are kept.
    evidence_faces: int = 8
    #: Log-odds by which the evidence must clear a threshold before a decided label is
    #: changed: a verdict does not flicker with each frame.
    revise_margin: float = 1.0
