"""A clip of people walking past a camera, whose truth is known: who is where in each frame.

Fourteen real faces from the data folder (kaggle12k's test split, masked and unmasked) cross
a 640x480 frame at 25 fps, at different times and speeds, from either side, growing as they
approach. In three crossings one person passes in front of another (the larger, closer one
is drawn over the other). Each face is chosen only when the pipeline labels it clearly, alone,
at the smallest and largest size it is drawn at, clean and after lossy compression; so a test
judges the tracking and the per-person judgement, not what the classifier thinks of a
doubtful photo. Nothing is committed as an image: frames are drawn when a test runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

from .webcam_clip import FPS, HEIGHT, WIDTH, background, clearly, degrade, load_face

MASK_DIR = "kaggle12k/test/with_mask"
NO_MASK_DIR = "kaggle12k/test/without_mask"
#: Faces are loaded at this size and resized per frame.
SOURCE_SIDE = 176


@dataclass(frozen=True)
class Walk:
    """One person's path: from ``t0`` for ``seconds``, across the frame (``rightward`` or
    not), the face's top at ``y`` and its side growing from ``side0`` to ``side1``."""

    label: str
    t0: float
    seconds: float
    rightward: bool
    y: int
    side0: int
    side1: int

    def box(self, t: float) -> tuple[int, int, int, int] | None:
        """(x, y, side, side) of the face at ``t``, or None when it is not in the frame."""
        u = (t - self.t0) / self.seconds
        if u < 0 or u > 1:
            return None
        side = int(round(self.side0 + (self.side1 - self.side0) * u))
        start, end = -side, WIDTH
        x = start + (end - start) * u if self.rightward else end - (end - start) * u
        x = int(round(x))
        if x + side <= 0 or x >= WIDTH:
            return None
        return x, self.y - (side - self.side0) // 2, side, side


#: The story: eight masked and six unmasked people; 3 and 4, 7 and 8, 11 and 12 cross,
#: the second of each pair in front.
WALKS: tuple[Walk, ...] = (
    Walk("mask", 0.5, 4.0, True, 110, 80, 120),
    Walk("no_mask", 1.5, 5.0, False, 220, 90, 140),
    Walk("mask", 3.0, 3.0, True, 140, 96, 124),
    Walk("no_mask", 3.0, 3.0, False, 150, 110, 150),
    Walk("mask", 6.0, 5.5, False, 90, 72, 100),
    Walk("mask", 7.0, 3.5, True, 230, 110, 150),
    Walk("no_mask", 8.5, 4.5, True, 130, 80, 116),
    Walk("mask", 9.5, 4.0, False, 140, 100, 140),
    Walk("mask", 12.0, 4.0, True, 100, 90, 120),
    Walk("no_mask", 13.0, 3.0, False, 240, 120, 160),
    Walk("mask", 14.5, 5.0, False, 130, 80, 110),
    Walk("no_mask", 15.0, 4.0, True, 140, 96, 136),
    Walk("mask", 17.0, 3.0, True, 210, 100, 150),
    Walk("no_mask", 18.0, 4.0, False, 120, 80, 120),
)
SECONDS = 22.5


@dataclass(frozen=True)
class PeopleClip:
    photos: tuple[Path, ...]
    faces: tuple[np.ndarray, ...]  # RGB squares of SOURCE_SIDE, one per walk
    walks: tuple[Walk, ...] = WALKS
    seconds: float = SECONDS
    fps: int = FPS

    @property
    def n_frames(self) -> int:
        return int(round(self.seconds * self.fps))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(w.label for w in self.walks)

    def truth(self, index: int) -> list[tuple[int, tuple[int, int, int, int]]]:
        """(person index from 0, box) of every face in frame ``index``."""
        t = index / self.fps
        return [(i, box) for i, w in enumerate(self.walks) if (box := w.box(t)) is not None]

    def frame(self, index: int) -> np.ndarray:
        rgb = background()
        # Smaller (farther) faces first, so a closer face is drawn over a farther one.
        for i, (x, y, side, _) in sorted(self.truth(index), key=lambda item: item[1][2]):
            face = cv2.resize(self.faces[i], (side, side), interpolation=cv2.INTER_AREA)
            x0, x1 = max(0, x), min(WIDTH, x + side)
            y0, y1 = max(0, y), min(HEIGHT, y + side)
            rgb[y0:y1, x0:x1] = face[y0 - y:y1 - y, x0 - x:x1 - x]
        return rgb

    def frames(self) -> Iterator[np.ndarray]:
        for i in range(self.n_frames):
            yield self.frame(i)


def _is_clear(patrol, face: np.ndarray, label: str, sides: Sequence[int]) -> bool:
    """The pipeline finds exactly this face, alone mid-frame, with ``label`` and well clear of
    the thresholds, at each size in ``sides``, clean and degraded."""
    for side in sides:
        rgb = background()
        x, y = (WIDTH - side) // 2, (HEIGHT - side) // 2
        rgb[y:y + side, x:x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
        for image in (rgb, degrade(rgb)):
            found = patrol.analyze(image)
            if len(found) != 1 or found[0].label != label or not clearly(found[0], patrol.card):
                return False
    return True


def pick_people(data_dir: Path, patrol, seed: int = 11, max_tries: int = 600) -> PeopleClip:
    """The first photos (in a seeded order) that the pipeline labels clearly at every size
    they are drawn at, one per walk, none twice."""
    rng = random.Random(seed)
    pools = {}
    for label, folder in (("mask", MASK_DIR), ("no_mask", NO_MASK_DIR)):
        paths = sorted((data_dir / "faces" / folder).glob("*.jpg"))
        rng.shuffle(paths)
        pools[label] = iter(paths)
    photos, faces, tries = [], [], 0
    for walk in WALKS:
        while True:
            path = next(pools[walk.label], None)
            if path is None or tries >= max_tries:
                raise RuntimeError(f"not enough clearly labelled {walk.label} faces in {data_dir} "
                                   f"after {tries} photos")
            tries += 1
            try:
                face = load_face(path, SOURCE_SIDE)
            except ValueError:
                continue
            if _is_clear(patrol, face, walk.label, (min(walk.side0, walk.side1), max(walk.side0, walk.side1))):
                photos.append(path)
                faces.append(face)
                break
    return PeopleClip(tuple(photos), tuple(faces))
