"""Face detectors: anything with ``detect(rgb, settings) -> list[Box]`` fits the pipeline."""

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


class Detector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray, settings: DetectorSettings) -> list[Box]:
        """Boxes of the faces in an RGB uint8 image, in its own pixel coordinates."""
        ...


def make_detector(name: str = "haar") -> Detector:
    """Build a detector by its CLI name."""
    if name == "haar":
        from .haar import HaarDetector

        return HaarDetector()
    raise ValueError(f"unknown detector {name!r}; available: haar")


DETECTOR_NAMES = ("haar",)
