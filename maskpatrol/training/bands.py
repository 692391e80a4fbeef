"""Where the nose and the mouth fall in the 64x64 face crop the classifier sees, from data.

The wear network (``wear.py``) answers "is the nose covered" from one band of rows of the
crop and "is the mouth covered" from another. The bands come from YuNet's five landmarks on
real training faces, mapped into the crop the app makes in both of its ways: a detector box
through ``preprocess.square_crop`` (the Photos page, video, webcam), and a face photo through
``preprocess.center_square`` (``classify`` on face images, and every training image).

``python -m maskpatrol.training.bands --data DIR`` prints the landmark rows' percentiles in
both modes and the bands that cover the 2nd to 98th percentile of each, with a margin.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..preprocess import CROP_SCALE, CROP_SHIFT_DOWN, INPUT_SIZE, center_square
from . import data

#: Rows (top, bottom: end excluded) of the 64x64 crop each branch of the wear network sees,
#: found by ``main`` on 550 training faces (300 a class drawn, those YuNet found; docs/model.md,
#: "The wear network"). Nose tip rows, 10th-90th percentile: 30.5-43.7 (face image), 29.5-36.1
#: (detector box); mouth corners 39.7-52.3 and 39.3-43.3. The nose band runs from the eyes to a
#: few rows below the tip (nostrils) and stops short of where most mask edges sit; the mouth
#: band covers the mouth corners with 5 rows of margin to the bottom. Full width: turned faces
#: move the nose sideways.
NOSE_ROWS = (18, 44)
MOUTH_ROWS = (34, 62)


def _landmarks_in_crop(detector, rgb: np.ndarray) -> dict[str, tuple[float, float, float]] | None:
    """The largest face's eye, nose and mouth rows (y of eyes' mean, nose tip, mouth corners'
    mean) in 64-px crop coordinates: "face_image" (centre square) and "detector_box"
    (``square_crop`` of the detector's Haar-framed box); None when no face is found."""
    from ..detectors import DetectorSettings

    square = center_square(rgb)
    dets = detector.detections(rgb, DetectorSettings(name="yunet"))
    boxes = detector.detect(rgb, DetectorSettings(name="yunet"))
    if not dets or not boxes:
        return None
    det = max(dets, key=lambda d: d.box[2] - d.box[0])
    box = max(boxes, key=lambda b: b[2] * b[3])
    kp = np.array(det.keypoints)
    eyes_y, nose_y, mouth_y = kp[0:2, 1].mean(), kp[2, 1], kp[3:5, 1].mean()
    out = {}
    # Centre square: the offset center_square cut, then the scale to 64.
    h, w = rgb.shape[:2]
    y0 = (h - w) // 4 if h > w else 0
    side = square.shape[0]
    out["face_image"] = tuple((y - y0) * INPUT_SIZE / side for y in (eyes_y, nose_y, mouth_y))
    x, y, bw, bh = box
    crop_side = max(1, int(round(max(bw, bh) * CROP_SCALE)))
    top = int(round(y + bh / 2.0 + CROP_SHIFT_DOWN * bh - crop_side / 2.0))
    out["detector_box"] = tuple((v - top) * INPUT_SIZE / crop_side for v in (eyes_y, nose_y, mouth_y))
    return out


def measure(data_dir: Path, per_class: int = 300, seed: int = 0) -> dict:
    """Landmark rows of ``per_class`` training faces of each class, in both crop modes."""
    samples = data.select(data.discover(data_dir), "train", data.SOURCES)
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {"face_image": [], "detector_box": []}
    for label in (data.MASK, data.NO_MASK):
        group = [s for s in samples if s.label == label]
        for i in rng.permutation(len(group))[:per_class]:
            found = _landmarks_in_crop(_detector(), data.read_rgb(group[i].path))
            if found:
                for mode, v in found.items():
                    rows[mode].append(v)
    out = {}
    for mode, v in rows.items():
        a = np.array(v)
        out[mode] = {"faces": len(a), **{name: {f"p{q}": round(float(np.percentile(a[:, k], q)), 1) for q in (2, 10, 50, 90, 98)}
                                         for k, name in enumerate(("eyes", "nose", "mouth"))}}
    return out


_DET = None


def _detector():
    global _DET
    if _DET is None:
        from ..detectors.yunet import YuNetDetector

        _DET = YuNetDetector()
    return _DET


def main(argv: list[str] | None = None) -> int:
    from ..paths import data_dir_from_env

    ap = argparse.ArgumentParser(prog="python -m maskpatrol.training.bands", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=data_dir_from_env())
    ap.add_argument("--per-class", type=int, default=300)
    args = ap.parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    print(json.dumps(measure(args.data, args.per_class), indent=1))
    print(f"bands in use: nose rows {NOSE_ROWS}, mouth rows {MOUTH_ROWS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
