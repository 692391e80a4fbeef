"""Face detectors: anything with ``detect(rgb, settings) -> list[Box]`` fits the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

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
    #: Which detector runs (a key of :data:`DETECTOR_NAMES`). Part of the per-call value,
    #: so one user picking another detector never changes what another user runs.
    name: str = "yunet"
    #: YuNet and BlazeFace: the lowest confidence (0..1) still accepted as a face; ``None``
    #: means the model's measured default (see :func:`default_min_score`). Haar has no such
    #: score and ignores it (its strictness is ``min_neighbors``).
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


def _yunet() -> Detector:
    from .yunet import YuNetDetector

    return YuNetDetector()


def _haar() -> Detector:
    from .haar import HaarDetector

    return HaarDetector()


def _blazeface() -> Detector:
    from .blazeface import SHORT_RANGE, BlazeFaceDetector

    return BlazeFaceDetector(SHORT_RANGE, name="blazeface")


def _blazeface_full() -> Detector:
    from .blazeface import FULL_RANGE, BlazeFaceDetector

    return BlazeFaceDetector(FULL_RANGE, name="blazeface-full")


#: CLI name -> factory, the default first. Factories import lazily so that a process only
#: pays for the detectors it actually uses. "yunet" (the default) finds masked and small
#: faces; "haar" is the classic OpenCV cascade of the original design; "blazeface" is
#: MediaPipe's short-range model (faces filling a good part of the picture); "blazeface-full"
#: its full-range model (192x192 input).
_FACTORIES: dict[str, Callable[[], Detector]] = {
    "yunet": _yunet,
    "haar": _haar,
    "blazeface": _blazeface,
    "blazeface-full": _blazeface_full,
}

#: One line per detector for pickers and ``--help``: what it is good at.
DETECTOR_LABELS: dict[str, str] = {
    "yunet": "YuNet (recommended: masked and small faces)",
    "haar": "Haar cascade (classic; misses most masked faces)",
    "blazeface": "BlazeFace short range (near faces, masks)",
    "blazeface-full": "BlazeFace full range (groups, small faces)",
}

DETECTOR_NAMES: tuple[str, ...] = tuple(_FACTORIES)
#: The detector used when nobody picks one: pages, CLI, API and benchmarks.
DEFAULT_DETECTOR: str = DetectorSettings.name


def default_min_score(name: str) -> float | None:
    """The confidence a detector uses when the user has not set one (``None``: Haar has none)."""
    if name == "yunet":
        from .yunet import DEFAULT_MIN_SCORE

        return DEFAULT_MIN_SCORE
    if name.startswith("blazeface"):
        from .blazeface import spec_for

        return spec_for(name).min_score
    return None


def make_detector(name: str = DEFAULT_DETECTOR) -> Detector:
    """Build a detector by its CLI name."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; available: {', '.join(DETECTOR_NAMES)}") from None
    return factory()
