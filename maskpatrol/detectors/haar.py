"""OpenCV Haar-cascade face detection on a downscaled grayscale copy."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..paths import CASCADE_PATH
from ..pool import Pool
from . import Box, DetectorSettings

#: The cascade's own window is 24x24; faces near that size are found unreliably, so a
#: face of ``min_face_px`` is never shrunk below this many pixels by the downscale.
MIN_WINDOW_AFTER_DOWNSCALE = 32


def detection_scale(width: int, height: int, min_face_px: int) -> float:
    """How far the frame may be shrunk before detection without losing faces of
    ``min_face_px``: the cost of Haar grows with pixels, so this is the main speed knob."""
    return min(1.0, MIN_WINDOW_AFTER_DOWNSCALE / max(1, min_face_px))


class HaarDetector:
    name = "haar"

    def __init__(self, cascade_path: str | Path = CASCADE_PATH) -> None:
        path = Path(cascade_path)
        if not path.is_file():
            raise FileNotFoundError(f"Haar cascade not found at {path}")
        self.cascade_path = path

        def load() -> cv2.CascadeClassifier:
            cascade = cv2.CascadeClassifier(str(path))
            if cascade.empty():
                raise RuntimeError(f"OpenCV could not load the Haar cascade {path}")
            return cascade

        self._pool: Pool[cv2.CascadeClassifier] = Pool(load)

    def detect(self, rgb: np.ndarray, settings: DetectorSettings = DetectorSettings()) -> list[Box]:
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError("expected an RGB image of shape (H, W, 3)")
        height, width = rgb.shape[:2]
        scale = detection_scale(width, height, settings.min_face_px)
        if scale < 1.0:
            small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                               interpolation=cv2.INTER_AREA)
        else:
            small = rgb
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        min_side = max(1, int(round(settings.min_face_px * scale)))
        with self._pool.borrow() as cascade:
            found = cascade.detectMultiScale(
                gray,
                scaleFactor=settings.scale_factor,
                minNeighbors=settings.min_neighbors,
                minSize=(min_side, min_side),
            )
        boxes: list[Box] = []
        inv = 1.0 / scale
        for x, y, w, h in np.asarray(found, dtype=np.int64).reshape(-1, 4):
            bx, by = int(round(x * inv)), int(round(y * inv))
            bw, bh = int(round(w * inv)), int(round(h * inv))
            bw, bh = min(bw, width - bx), min(bh, height - by)
            boxes.append((bx, by, bw, bh))
        # Left-to-right keeps tables, JSON and "face 1, face 2" labels stable.
        boxes.sort(key=lambda b: (b[0], b[1]))
        return boxes
