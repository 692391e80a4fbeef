"""Drawing the synthetic samples' masks, and loading faces into memory with them drawn.

Which unmasked faces get a drawn mask, and in which split, is ``data.synthetic_samples``.
The same face may appear in training three ways (bare, mask below the nose, mask worn
properly): that contrast is what teaches the network to look at where the mask sits.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from ..preprocess import center_square
from . import data
from .synth import Landmarks, paint_mask

#: Side at which masks are drawn (then shrunk to the preload size): the outline's
#: anti-aliasing needs more pixels than the 96 px kept in memory.
DRAW_SIZE = 192
#: Lowest YuNet score whose landmarks are trusted to place a mask.
MIN_LANDMARK_SCORE = 0.6


class Painter:
    """Finds each face's landmarks once (YuNet) and draws masks on it, seeded per sample."""

    _shared: dict[int, "Painter"] = {}

    @classmethod
    def shared(cls, seed: int) -> "Painter":
        """One painter per seed in this process, so landmarks are found once per face."""
        if seed not in cls._shared:
            cls._shared[seed] = cls(seed)
        return cls._shared[seed]

    def __init__(self, seed: int) -> None:
        from ..detectors import DetectorSettings
        from ..detectors.yunet import YuNetDetector

        self.seed = seed
        self._detector = YuNetDetector()
        self._settings = DetectorSettings(name="yunet", min_face_px=24, min_score=MIN_LANDMARK_SCORE)
        self._landmarks: dict[Path, Landmarks | None] = {}
        self._lock = threading.Lock()
        self._fabric: dict[str, list[Path]] = {}

    def use_real_fabric(self, donors: dict[str, list[Path]]) -> None:
        """Draw masks in real fabric: for a face of split S, cut from one of ``donors[S]``
        (photos of masks worn properly, of the same split, so no photo crosses a split)."""
        self._fabric = {split: sorted(paths) for split, paths in donors.items() if paths}

    def face(self, path: Path) -> np.ndarray:
        rgb = data.read_rgb(path)
        return cv2.resize(center_square(rgb), (DRAW_SIZE, DRAW_SIZE),
                          interpolation=cv2.INTER_AREA if rgb.shape[0] > DRAW_SIZE else cv2.INTER_LINEAR)

    def landmarks(self, path: Path, face: np.ndarray | None = None) -> Landmarks | None:
        """The largest face's five points, or None when no face is found confidently."""
        with self._lock:
            if path in self._landmarks:
                return self._landmarks[path]
        face = self.face(path) if face is None else face
        found = self._detector.detections(face, self._settings)
        best = max(found, key=lambda d: d.box[2] - d.box[0], default=None)
        lm = Landmarks.from_points(best.keypoints) if best is not None else None
        with self._lock:
            self._landmarks[path] = lm
        return lm

    def draw(self, sample: data.Sample) -> np.ndarray:
        """The sample's face wearing its mask, DRAW_SIZE square (the "face image" of the model card)."""
        face = self.face(sample.path)
        lm = self.landmarks(sample.path, face)
        if lm is None:
            raise ValueError(f"no face landmarks in {sample.path}; filter with drawable() first")
        rng = np.random.default_rng([self.seed, data.seed_int(f"{sample.style}:{sample.source}:{sample.path.name}")])
        painted, _ = paint_mask(face, lm, sample.style, rng, self._fabric_for(sample, rng))  # type: ignore[arg-type]
        return painted

    def _fabric_for(self, sample: data.Sample, rng: np.random.Generator) -> tuple[np.ndarray, Landmarks] | None:
        """A donor photo of the sample's split and its landmarks; a few tries, since the
        detector does not place every masked face; None without donors."""
        donors = self._fabric.get(sample.split, [])
        for _ in range(4 if donors else 0):
            path = donors[int(rng.integers(len(donors)))]
            face = self.face(path)
            donor_lm = self.landmarks(path, face)
            if donor_lm is not None:
                return face, donor_lm
        return None

    def square(self, sample: data.Sample, size: int) -> np.ndarray:
        return cv2.resize(self.draw(sample), (size, size), interpolation=cv2.INTER_AREA)

    def drawable(self, samples: list[data.Sample]) -> list[data.Sample]:
        """``samples`` without the synthetic ones whose face cannot be placed."""
        todo = sorted({s.path for s in samples if s.style})
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(self.landmarks, todo))
        return [s for s in samples if not s.style or self._landmarks[s.path] is not None]


def load_arrays(samples: list[data.Sample], size: int = data.PRELOAD_SIZE, workers: int = 4,
                seed: int = 1234) -> tuple[np.ndarray, np.ndarray]:
    """Images as a uint8 (N, size, size, 3) array and labels as int (N,). Synthetic samples
    are drawn here (the same picture for the same seed); call ``Painter.drawable`` first
    to drop those whose face the detector cannot place."""
    out = np.empty((len(samples), size, size, 3), np.uint8)
    if any(s.style for s in samples):
        painter = Painter.shared(seed)

    def one(i: int) -> None:
        s = samples[i]
        out[i] = painter.square(s, size) if s.style else data.load_square(s.path, size)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(len(samples))))
    return out, np.array([s.label for s in samples], dtype=np.int64)
