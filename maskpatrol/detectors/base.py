"""What every detector shares: the box it returns, the settings it is called with, the
protocol it fits and how small a face it searches for. The detectors import these from here,
and :mod:`maskpatrol.detectors` re-exports them for everyone else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

#: (x, y, w, h) in pixels of the image that was passed in.
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class DetectorSettings:
    """How eagerly to look for faces. Immutable: it travels with each call, so one user's
    slider never changes the shared detector another user is running."""

    #: Step between the scales searched; smaller finds more faces and is slower.
    scale_factor: float = 1.1
    #: Neighbouring hits needed to accept a face; lower finds more faces and more false ones.
    min_neighbors: int = 5
    #: Smallest face, in pixels of the original image, that must still be found.
    min_face_px: int = 40
    #: Which detector runs (a key of :data:`maskpatrol.detectors.DETECTOR_NAMES`). Part of the
    #: per-call value, so one user picking another detector never changes what another user runs.
    name: str = "yunet"
    #: YuNet and BlazeFace: the lowest confidence (0..1) still accepted as a face; ``None``
    #: means the model's measured default (see :func:`maskpatrol.detectors.default_min_score`).
    #: Haar has no such score and ignores it (its strictness is ``min_neighbors``).
    min_score: float | None = None
    #: YuNet: scale each tile of a pass from its own part of the picture, instead of the
    #: whole picture first, so no whole scaled copy is held (26 MB for a 10 MP picture);
    #: boxes move by up to half a scaled pixel. The server sets it for photos it has already
    #: shrunk to fit its memory (:mod:`maskpatrol.analysis`).
    scale_tiles: bool = False


#: Faces are searched down to this fraction of ``min_face_px``, by every detector: the box
#: a detector draws for a face of side S varies by about one pyramid step, and without this
#: slack Haar lost about a third of the 40 px faces in the benchmark frames. One value for
#: all detectors keeps the same faces for one "Smallest face" setting, whichever runs.
MIN_SIZE_SLACK = 0.85


def smallest_searched_face(min_face_px: int) -> float:
    """The smallest face side, in original pixels, a detector is asked to keep."""
    return max(1.0, min_face_px * MIN_SIZE_SLACK)


class Detector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray, settings: DetectorSettings) -> list[Box]:
        """Boxes of the faces in an RGB uint8 image, in its own pixel coordinates."""
        ...
