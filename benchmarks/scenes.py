"""The generated scenes the benchmarks share, how detections are scored on them, and the two
figures every report carries (percentiles, the load average).

Frames are generated, never stored: real faces from the data folder are pasted onto smooth
synthetic backgrounds, so every face's true box is known. Only faces the Haar cascade finds
*at full resolution and alone* are used, so "found / placed" measures what downscaling and
crowding cost, not the cascade's general weakness on e.g. masked profiles. Used by
``bench_pipeline`` (its frame types), ``bench_api`` (its photos), ``bench_video`` (its clip)
and ``bench_peers`` (its frames).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from maskpatrol.detectors import DetectorSettings
from maskpatrol.images import load_image
from maskpatrol.paths import CASCADE_PATH

Box = tuple[int, int, int, int]

#: Face folders tried, in this order, alternating between them: masked and unmasked faces.
FACE_FOLDERS = ("faces/kaggle12k/test/without_mask", "faces/kaggle12k/test/with_mask")
#: Face sizes (detector box side, pixels of the frame) cycled through when placing faces.
FACE_SIZES = (40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120)
#: A placed face counts as found when a detected box overlaps it by this IoU.
MATCH_IOU = 0.3


@dataclass(frozen=True)
class FaceSample:
    """A face photo plus where, inside it, the cascade sees the face (at full resolution)."""

    name: str
    rgb: np.ndarray
    box: Box


@dataclass
class Frame:
    rgb: np.ndarray
    truth: list[Box]


@dataclass(frozen=True)
class FrameType:
    key: str
    width: int
    height: int
    n_faces: int
    variants: int
    repeats: int


# --------------------------------------------------------------------------- frames


def reference_detect(cascade: cv2.CascadeClassifier, rgb: np.ndarray,
                     settings: DetectorSettings = DetectorSettings(), min_side: int = 24) -> list[Box]:
    """The plain cascade on the full-resolution frame: no downscale, no tricks. Used to pick
    detectable faces (``min_side`` 24, the cascade's window) and as the yardstick the
    pipeline's downscaled detection is compared with (``min_side`` = ``min_face_px``)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    found = cascade.detectMultiScale(gray, scaleFactor=settings.scale_factor,
                                     minNeighbors=settings.min_neighbors, minSize=(min_side, min_side))
    return [tuple(int(v) for v in b) for b in np.asarray(found).reshape(-1, 4)]


def background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth, colourful, face-free background: gradients plus blurred blobs.

    Smooth on purpose: sharp random texture makes the cascade fire on noise, which would
    measure the background rather than the pipeline."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((height, width, 3), np.float32)
    for c in range(3):
        slope, base = rng.uniform(-60, 60, 2), rng.uniform(70, 190)
        out[..., c] = base + slope[0] * xx / width + slope[1] * yy / height
    small = rng.normal(0, 25, (max(2, height // 40), max(2, width // 40), 3)).astype(np.float32)
    out += cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0, 255).astype(np.uint8)


def _pad_and_detect(cascade: cv2.CascadeClassifier, face: np.ndarray, rng: np.random.Generator) -> list[Box]:
    h, w = face.shape[:2]
    canvas = background(w * 2 + 40, h * 2 + 40, rng)
    canvas[h // 2 + 20:h // 2 + 20 + h, w // 2 + 20:w // 2 + 20 + w] = face
    return [(x - w // 2 - 20, y - h // 2 - 20, bw, bh)
            for x, y, bw, bh in reference_detect(cascade, canvas)]


def scaled_face(sample: FaceSample, side: int) -> tuple[np.ndarray, Box]:
    """The face photo resized so that its face box is ``side`` pixels wide."""
    f = side / sample.box[2]
    h, w = sample.rgb.shape[:2]
    nw, nh = max(1, round(w * f)), max(1, round(h * f))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    img = cv2.resize(sample.rgb, (nw, nh), interpolation=interp)
    x, y, bw, bh = sample.box
    return img, (round(x * f), round(y * f), round(bw * f), round(bh * f))


def select_faces(data_dir: Path, count: int, max_tries: int = 400) -> list[FaceSample]:
    """The first ``count`` face photos (sorted names, folders alternating) in which the
    full-resolution cascade finds exactly one face, both at native size and shrunk so the
    face is 40 px: deterministic, and every placed face is one Haar can find."""
    cascade = cv2.CascadeClassifier(str(CASCADE_PATH))
    lists = []
    for folder in FACE_FOLDERS:
        path = data_dir / folder
        if not path.is_dir():
            raise SystemExit(f"face folder {path} not found: pass --data pointing at the folder with faces/")
        lists.append(sorted(p for p in path.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")))
    chosen: list[FaceSample] = []
    rng = np.random.default_rng(1234)
    tries = 0
    for i in range(max(len(x) for x in lists)):
        for files in lists:
            if len(chosen) >= count or tries >= max_tries or i >= len(files):
                continue
            tries += 1
            rgb = load_image(files[i])
            # Enlarge small crops so the native-size check works at more than one scale.
            if max(rgb.shape[:2]) < 160:
                f = 160 / max(rgb.shape[:2])
                rgb = cv2.resize(rgb, (round(rgb.shape[1] * f), round(rgb.shape[0] * f)),
                                 interpolation=cv2.INTER_LINEAR)
            boxes = _pad_and_detect(cascade, rgb, rng)
            if len(boxes) != 1:
                continue
            sample = FaceSample(f"{files[i].parent.name}/{files[i].name}", rgb, boxes[0])
            small, _ = scaled_face(sample, FACE_SIZES[0])
            if len(_pad_and_detect(cascade, small, rng)) != 1:
                continue
            chosen.append(sample)
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} Haar-detectable faces found in {data_dir} (wanted {count})")
    return chosen


def compose(width: int, height: int, faces: Sequence[FaceSample], sizes: Sequence[int],
            rng: np.random.Generator, scale: float = 1.0) -> Frame:
    """Paste faces at non-overlapping random places; returns the frame and the true boxes.

    ``scale`` multiplies face sizes (a 12 MP photo taken from the same distance has
    proportionally larger faces)."""
    frame = background(width, height, rng)
    taken: list[tuple[int, int, int, int]] = []
    truth: list[Box] = []
    for sample, side in zip(faces, sizes):
        img, (bx, by, bw, bh) = scaled_face(sample, round(side * scale))
        h, w = img.shape[:2]
        for _ in range(200):
            x0 = int(rng.integers(0, max(1, width - w)))
            y0 = int(rng.integers(0, max(1, height - h)))
            rect = (x0 - 4, y0 - 4, x0 + w + 4, y0 + h + 4)
            if all(rect[2] <= t[0] or rect[0] >= t[2] or rect[3] <= t[1] or rect[1] >= t[3] for t in taken):
                break
        else:
            raise RuntimeError(f"no room for {len(faces)} faces in a {width}x{height} frame")
        taken.append(rect)
        frame[y0:y0 + h, x0:x0 + w] = img[:min(h, height - y0), :min(w, width - x0)]
        truth.append((x0 + bx, y0 + by, bw, bh))
    return Frame(frame, truth)


def build_frames(ft: FrameType, faces: Sequence[FaceSample], seed: int) -> list[Frame]:
    """``ft.variants`` frames of ``ft``'s size and face count, faces and sizes taken in turn;
    12 MP frames get faces three times as large (120-360 px), as a photo from the same
    distance would."""
    rng = np.random.default_rng(seed + ft.width * 7 + ft.n_faces)
    frames = []
    scale = 3.0 if ft.width >= 4000 else 1.0
    for v in range(ft.variants):
        start = (v * 5 + ft.n_faces) % len(faces)
        picked = [faces[(start + k) % len(faces)] for k in range(ft.n_faces)]
        sizes = [FACE_SIZES[(v * 3 + k * 4) % len(FACE_SIZES)] for k in range(ft.n_faces)]
        frames.append(compose(ft.width, ft.height, picked, sizes, rng, scale))
    return frames


# --------------------------------------------------------------------------- scoring


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def assign(truth: Sequence[Box], boxes: Sequence[Box]) -> list[int | None]:
    """For each true face, the index of the detection matched to it (greedy, best IoU first
    per face, IoU >= MATCH_IOU), or None."""
    free = list(range(len(boxes)))
    out: list[int | None] = []
    for t in truth:
        best = max(free, key=lambda j: iou(t, boxes[j]), default=None)
        if best is not None and iou(t, boxes[best]) >= MATCH_IOU:
            free.remove(best)
            out.append(best)
        else:
            out.append(None)
    return out


def match(truth: Sequence[Box], found: Sequence[Box]) -> tuple[int, int]:
    """(true faces found, detections matching no true face), as :func:`assign` pairs them."""
    hits = sum(m is not None for m in assign(truth, found))
    return hits, len(found) - hits


# --------------------------------------------------------------------------- report figures


def pct(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``; NaN when there are none."""
    return float(np.percentile(np.asarray(values, np.float64), q)) if len(values) else float("nan")


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other processes change every timing)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []
