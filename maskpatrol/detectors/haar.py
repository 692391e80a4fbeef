"""OpenCV Haar-cascade face detection on a downscaled grayscale copy.

Speed: Haar's cost grows with the pixels scanned and the number of scales searched, so
the frame is converted to grayscale first (one channel to shrink instead of three) and
shrunk as far as the smallest wanted face allows, into buffers reused between calls.
Quality: the boxes the cascade draws for a face of side S vary by about one pyramid step,
so the search goes a little below ``min_face_px`` (:data:`~maskpatrol.detectors.MIN_SIZE_SLACK`); without that
slack about a third of the 40 px faces in the benchmark frames were lost.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..paths import CASCADE_PATH
from ..pool import Pool
from ..runtime import configure_opencv_threads
from .base import Box, DetectorSettings, smallest_searched_face

#: The side, in pixels of the downscaled frame, that the smallest searched face is shrunk
#: to: the cascade's own 24x24 window. OpenCV scans windows up to twice the cascade size
#: with a 2 px step and larger ones with a 1 px step (4x the windows), so shrinking as far
#: as possible keeps more face sizes in the cheap range. On the benchmark's composited
#: frames this found as many faces as shrinking to 32 px (measured: 164 vs 165 of 180).
MIN_WINDOW_AFTER_DOWNSCALE = 24

configure_opencv_threads()


def detection_scale(width: int, height: int, min_face_px: int) -> float:
    """How far the frame may be shrunk before detection without losing faces of
    ``min_face_px``: the cost of Haar grows with pixels, so this is the main speed knob."""
    return min(1.0, MIN_WINDOW_AFTER_DOWNSCALE / smallest_searched_face(min_face_px))


class _Scanner:
    """A cascade plus its grayscale buffers, owned by one thread at a time.

    Video frames keep their size, so after the first frame no image buffer is allocated."""

    def __init__(self, path: Path) -> None:
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise RuntimeError(f"OpenCV could not load the Haar cascade {path}")
        self.gray = np.empty((0, 0), np.uint8)
        self.small = np.empty((0, 0), np.uint8)

    def grayscale(self, rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """``rgb`` as grayscale of ``size`` (w, h), in reused buffers."""
        height, width = rgb.shape[:2]
        if self.gray.shape != (height, width):
            self.gray = np.empty((height, width), np.uint8)
        cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY, dst=self.gray)
        if size == (width, height):
            return self.gray
        if self.small.shape != (size[1], size[0]):
            self.small = np.empty((size[1], size[0]), np.uint8)
        cv2.resize(self.gray, size, dst=self.small, interpolation=cv2.INTER_AREA)
        return self.small


class HaarDetector:
    name = "haar"

    def __init__(self, cascade_path: str | Path = CASCADE_PATH) -> None:
        path = Path(cascade_path)
        if not path.is_file():
            raise FileNotFoundError(f"Haar cascade not found at {path}")
        self.cascade_path = path
        self._pool: Pool[_Scanner] = Pool(lambda: _Scanner(path))

    def detect(self, rgb: np.ndarray, settings: DetectorSettings = DetectorSettings()) -> list[Box]:
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError("expected an RGB image of shape (H, W, 3)")
        height, width = rgb.shape[:2]
        scale = detection_scale(width, height, settings.min_face_px)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # The exact per-axis ratios, so boxes map back without drift at the far edge.
        sx, sy = width / size[0], height / size[1]
        min_side = max(1, int(round(smallest_searched_face(settings.min_face_px) / max(sx, sy))))
        with self._pool.borrow() as scanner:
            gray = scanner.grayscale(rgb, size)
            found = scanner.cascade.detectMultiScale(
                gray,
                scaleFactor=settings.scale_factor,
                minNeighbors=settings.min_neighbors,
                minSize=(min_side, min_side),
            )
        boxes: list[Box] = []
        for x, y, w, h in np.asarray(found, dtype=np.int64).reshape(-1, 4):
            bx, by = int(round(x * sx)), int(round(y * sy))
            bw, bh = int(round(w * sx)), int(round(h * sy))
            bw, bh = min(bw, width - bx), min(bh, height - by)
            boxes.append((bx, by, bw, bh))
        # Left-to-right keeps tables, JSON and "face 1, face 2" labels stable.
        boxes.sort(key=lambda b: (b[0], b[1]))
        return boxes
