"""What the neural detectors share: one face as a detector frames it, and the mapping of
its box onto the box Haar draws for the same face.

Why the mapping: :func:`maskpatrol.preprocess.square_crop` and the classifier were built
around Haar boxes, so every detector's boxes are moved and scaled onto Haar's framing
(measured per model with ``benchmarks/bench_detectors.py --calibrate``); the classifier
then sees the same region whichever detector ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Box


@dataclass(frozen=True)
class Detection:
    """One face as a detector frames it, in pixels of the image passed in."""

    score: float
    #: xmin, ymin, xmax, ymax (floats, may extend past the image).
    box: tuple[float, float, float, float]
    #: (x, y) for each of the model's keypoints, in its own order.
    keypoints: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class BoxTransform:
    """Maps a detector's box onto the box Haar draws for the same face.

    ``scale`` multiplies the longer side; ``dx``/``dy`` move the centre by fractions of the
    detector box's width/height. The result is square, like Haar's boxes."""

    scale: float
    dx: float
    dy: float

    def apply(self, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
        w, h = x1 - x0, y1 - y0
        side = np.maximum(w, h) * self.scale
        cx = (x0 + x1) / 2 + self.dx * w
        cy = (y0 + y1) / 2 + self.dy * h
        return np.stack([cx - side / 2, cy - side / 2, side, side], axis=-1)

    def to_boxes(self, xyxy: np.ndarray, shape: tuple[int, ...], min_side: float) -> list[Box]:
        """Detector boxes (N, 4: x0, y0, x1, y1) -> Haar-like integer boxes inside an image
        of ``shape`` (H, W, ...), dropping faces narrower than ``min_side``, sorted left to
        right (stable tables, JSON and "face 1, face 2" labels)."""
        if not len(xyxy):
            return []
        height, width = shape[:2]
        xywh = self.apply(xyxy[:, 0], xyxy[:, 1], xyxy[:, 2], xyxy[:, 3])
        boxes: list[Box] = []
        for x, y, w, _ in xywh:
            if w < min_side:
                continue
            # Clip to the image like Haar's boxes (which never leave it); square_crop
            # re-expands and edge-replicates as needed. One rounded side for both axes
            # keeps the box square (as Haar's are).
            left, top, side = int(round(x)), int(round(y)), int(round(w))
            x0, y0 = max(0, left), max(0, top)
            x1, y1 = min(width, left + side), min(height, top + side)
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            boxes.append((x0, y0, x1 - x0, y1 - y0))
        boxes.sort(key=lambda b: (b[0], b[1]))
        return boxes


#: Identity, for callers that want a detector's own framing (benchmarks, tests).
IDENTITY = BoxTransform(1.0, 0.0, 0.0)
