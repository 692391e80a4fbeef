"""A fake-camera clip for the webcam end-to-end test, built at test time from face photos.

Chromium's ``--use-file-for-fake-video-capture`` plays a YUV4MPEG2 (``.y4m``) file as
if it were a webcam. We compose masked and unmasked face photos from the training-data
folder onto a plain background and write the frames ourselves (numpy only), so no image
is ever committed. Faces are chosen only when the pipeline itself, on the composed frame
and on a degraded copy of it (as after a lossy video codec), finds exactly the faces we
placed with the labels we expect: the test then compares the app's live counts with what
the clip truly shows, not with what the model happens to think.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

WIDTH, HEIGHT, FPS = 640, 480, 25
Y4M_HEADER = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode()

#: Where the faces sit (top-left x, y) and how wide they are drawn, in a 640x480 frame.
SLOTS = ((70, 120), (370, 120))
FACE_SIDE = 200
#: Faces drift this many pixels left and right over the clip, like a person standing still.
DRIFT_PX = 6

MASK_DIRS = ("kaggle12k/test/with_mask", "maskedfacenet/correct_mask")
NO_MASK_DIRS = ("kaggle12k/test/without_mask",)


@dataclass(frozen=True)
class Scene:
    """The clip's content: which photos sit in which slot, and what the pipeline sees."""

    photos: tuple[Path, ...]
    labels: tuple[str, ...]  # "mask" / "no_mask", one per slot, left to right

    @property
    def masked(self) -> int:
        return sum(label == "mask" for label in self.labels)

    @property
    def no_mask(self) -> int:
        return sum(label == "no_mask" for label in self.labels)


def background(width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A soft 'wall and floor' backdrop: smooth, so it adds no face-like texture."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    wall = np.stack([150 + 40 * x + 0 * y, 165 + 20 * y + 0 * x, 185 - 30 * x + 0 * y], axis=-1)
    floor_rows = y[:, 0] > 0.82
    wall[floor_rows] = (120, 100, 80)
    return np.clip(wall, 0, 255).astype(np.uint8)


def load_face(path: Path, side: int = FACE_SIDE) -> np.ndarray:
    """A face photo as an RGB square of ``side`` pixels (centre square, then resized)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read {path}")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    s = min(h, w)
    y0 = (h - s) // 4 if h > w else 0
    x0 = (w - s) // 2
    square = rgb[y0:y0 + s, x0:x0 + s]
    return cv2.resize(square, (side, side), interpolation=cv2.INTER_AREA if s > side else cv2.INTER_CUBIC)


def compose(faces: Sequence[np.ndarray], offset_x: int = 0) -> np.ndarray:
    """One frame: the faces pasted into :data:`SLOTS`, shifted by ``offset_x`` pixels."""
    frame = background()
    for face, (x, y) in zip(faces, SLOTS):
        x += offset_x
        frame[y:y + face.shape[0], x:x + face.shape[1]] = face
    return frame


def degrade(rgb: np.ndarray) -> np.ndarray:
    """Roughly what a video codec at a low bitrate leaves: softer and blockier."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 35])
    assert ok
    return cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def frame_offsets(n_frames: int) -> list[int]:
    return [int(round(DRIFT_PX * math.sin(2 * math.pi * i / n_frames))) for i in range(n_frames)]


def scene_is_clean(patrol, faces: Sequence[np.ndarray], labels: Sequence[str]) -> bool:
    """True when the pipeline finds exactly one face per slot, with the expected label,
    in frames at both ends of the drift, clean and degraded."""
    for offset in (-DRIFT_PX, 0, DRIFT_PX):
        frame = compose(faces, offset)
        for image in (frame, degrade(frame)):
            found = patrol.analyze(image)
            if len(found) != len(labels):
                return False
            for face, label, (sx, sy) in zip(found, labels, SLOTS):  # found is sorted left to right
                x, y, w, h = face.box
                cx, cy = x + w / 2, y + h / 2
                if not (sx + offset < cx < sx + offset + FACE_SIDE and sy < cy < sy + FACE_SIDE):
                    return False
                if face.label != label or not clearly(face, patrol.card):
                    return False
    return True


def clearly(face, card) -> bool:
    """The face's probabilities stay well clear of the thresholds: a face the model is unsure
    of would make the test depend on codec noise. The margin is relative, since a threshold
    can sit anywhere in (0, 1)."""
    t_no, t_inc = card.threshold, card.incorrect_threshold
    if face.label == "no_mask":
        return face.p_no_mask >= t_no + 0.5 * (1 - t_no)
    clear_of_incorrect = t_inc is None or face.p_incorrect <= 0.5 * t_inc
    return face.p_no_mask <= 0.5 * t_no and clear_of_incorrect


def _candidates(data_dir: Path, dirs: Iterable[str], rng: random.Random) -> list[Path]:
    paths: list[Path] = []
    for d in dirs:
        folder = data_dir / "faces" / d
        if folder.is_dir():
            paths.extend(sorted(folder.glob("*.jpg")))
    rng.shuffle(paths)
    return paths


def pick_scene(data_dir: Path, patrol, labels: Sequence[str] = ("mask", "no_mask"),
               seed: int = 5, max_tries: int = 400) -> Scene:
    """The first photos (in a seeded order) that make a clean scene with ``labels``."""
    rng = random.Random(seed)
    pools = {"mask": _candidates(data_dir, MASK_DIRS, rng), "no_mask": _candidates(data_dir, NO_MASK_DIRS, rng)}
    # Check each photo alone first (cheap), then the pair together.
    good: dict[str, list[tuple[Path, np.ndarray]]] = {"mask": [], "no_mask": []}
    need = {label: labels.count(label) for label in set(labels)}
    tries = 0
    for label in need:
        for path in pools[label]:
            if len(good[label]) >= need[label] + 3 or tries >= max_tries:
                break
            tries += 1
            try:
                face = load_face(path)
            except ValueError:
                continue
            if scene_is_clean(patrol, [face], [label]):
                good[label].append((path, face))
    for attempt in range(4):
        chosen: list[tuple[Path, np.ndarray]] = []
        used = {label: attempt for label in good}
        for label in labels:
            idx = used[label] % max(1, len(good[label]))
            if not good[label]:
                break
            chosen.append(good[label][idx])
            used[label] += 1
        if len(chosen) == len(labels) and scene_is_clean(patrol, [f for _, f in chosen], labels):
            return Scene(tuple(p for p, _ in chosen), tuple(labels))
    raise RuntimeError(f"no clean {labels} scene found in {data_dir} after {tries} photos")


def rgb_to_yuv420(rgb: np.ndarray) -> bytes:
    """Full-range BT.601 (JFIF) Y, U, V planes, chroma averaged over 2x2 blocks (C420jpeg)."""
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128.0
    h, w = y.shape

    def sub(c: np.ndarray) -> np.ndarray:
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    planes = [np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, sub(u), sub(v))]
    return b"".join(p.tobytes() for p in planes)


def write_y4m(path: Path, frames: Iterable[np.ndarray]) -> int:
    """Write RGB frames of 640x480 as a YUV4MPEG2 file at 25 fps; returns the frame count."""
    n = 0
    with open(path, "wb") as out:
        out.write(Y4M_HEADER)
        for frame in frames:
            if frame.shape != (HEIGHT, WIDTH, 3):
                raise ValueError(f"frame of shape {frame.shape}, expected {(HEIGHT, WIDTH, 3)}")
            out.write(b"FRAME\n")
            out.write(rgb_to_yuv420(frame))
            n += 1
    return n


def read_y4m(path: Path) -> list[np.ndarray]:
    """Decode our own .y4m back to RGB (for checking the writer, not a general reader)."""
    data = Path(path).read_bytes()
    header, _, rest = data.partition(b"\n")
    fields = dict((tok[:1].decode(), tok[1:].decode()) for tok in header.split()[1:])
    w, h = int(fields["W"]), int(fields["H"])
    size = w * h * 3 // 2
    frames = []
    pos = 0
    while pos < len(rest):
        assert rest[pos:pos + 6] == b"FRAME\n"
        pos += 6
        buf = np.frombuffer(rest[pos:pos + size], np.uint8)
        pos += size
        y = buf[:w * h].reshape(h, w).astype(np.float32)
        u = buf[w * h:w * h + w * h // 4].reshape(h // 2, w // 2).repeat(2, 0).repeat(2, 1).astype(np.float32) - 128
        v = buf[w * h + w * h // 4:].reshape(h // 2, w // 2).repeat(2, 0).repeat(2, 1).astype(np.float32) - 128
        rgb = np.stack([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u], axis=-1)
        frames.append(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))
    return frames


def build_clip(path: Path, scene: Scene, seconds: float = 4.0) -> int:
    """Write the scene as a ``seconds`` long clip with a slow drift; returns frames written."""
    faces = [load_face(p) for p in scene.photos]
    offsets = frame_offsets(int(round(seconds * FPS)))
    return write_y4m(path, (compose(faces, o) for o in offsets))
