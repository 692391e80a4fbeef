"""The one definition of how a face becomes classifier input, used by training and serving.

Training and serving both call these functions, so the ``.tflite`` model at serving time
sees exactly what the ``.keras`` model saw while it learned. Only numpy and OpenCV here.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

#: Side of the square the classifier sees.
INPUT_SIZE = 64
#: A Haar box runs from the eyebrows to the lips; the mask's lower edge and the chin lie
#: below it. The serving crop is this many times the box side, centred a little lower.
CROP_SCALE = 1.3
CROP_SHIFT_DOWN = 0.08
#: Pixel scaling: uint8 0..255 -> float32 -1..1.
PIXEL_SCALE = 1.0 / 127.5
PIXEL_OFFSET = -1.0


def square_crop(rgb: np.ndarray, box: Sequence[int], scale: float = CROP_SCALE,
                shift_down: float = CROP_SHIFT_DOWN) -> np.ndarray:
    """Square crop around a detector box; parts outside the image are edge-replicated.

    Replication rather than black padding: a face at the frame's edge should not get a
    black band the training data never had.
    """
    x, y, w, h = (int(v) for v in box)
    side = max(1, int(round(max(w, h) * scale)))
    cx = x + w / 2.0
    cy = y + h / 2.0 + shift_down * h
    x0 = int(round(cx - side / 2.0))
    y0 = int(round(cy - side / 2.0))
    x1, y1 = x0 + side, y0 + side
    H, W = rgb.shape[:2]
    if x0 >= 0 and y0 >= 0 and x1 <= W and y1 <= H:
        return rgb[y0:y1, x0:x1]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if cx1 <= cx0 or cy1 <= cy0:
        raise ValueError(f"box {tuple(box)} lies outside the {W}x{H} image")
    inner = rgb[cy0:cy1, cx0:cx1]
    return cv2.copyMakeBorder(inner, cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1, cv2.BORDER_REPLICATE)


def center_square(rgb: np.ndarray) -> np.ndarray:
    """The square part of a face photo that holds the face.

    Dataset images and face crops handed to ``classify`` are not always square: wide
    ones keep their centre, tall ones (face above shoulders) keep a square a quarter of
    the way down the spare height, where the face sits.
    """
    h, w = rgb.shape[:2]
    if h == w:
        return rgb
    if w > h:
        x0 = (w - h) // 2
        return rgb[:, x0:x0 + h]
    y0 = (h - w) // 4
    return rgb[y0:y0 + w, :]


def resize_face(face_rgb: np.ndarray, size: int = INPUT_SIZE, out: np.ndarray | None = None) -> np.ndarray:
    """Resize a face crop to the square input size (area filter down, linear up)."""
    h, w = face_rgb.shape[:2]
    interp = cv2.INTER_AREA if (h > size or w > size) else cv2.INTER_LINEAR
    if out is not None:
        cv2.resize(face_rgb, (size, size), dst=out, interpolation=interp)
        return out
    return cv2.resize(face_rgb, (size, size), interpolation=interp)


def scale_pixels(batch_uint8: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """uint8 (N, S, S, 3) -> float32 in [-1, 1], optionally into a preallocated buffer."""
    if out is None:
        out = np.empty(batch_uint8.shape, dtype=np.float32)
    np.multiply(batch_uint8, np.float32(PIXEL_SCALE), out=out, casting="unsafe")
    out += np.float32(PIXEL_OFFSET)
    return out


def to_model_input(faces_rgb: Sequence[np.ndarray], size: int = INPUT_SIZE) -> np.ndarray:
    """A batch of face crops of any sizes -> the float32 tensor the model expects."""
    batch = np.empty((len(faces_rgb), size, size, 3), dtype=np.uint8)
    for i, face in enumerate(faces_rgb):
        resize_face(face, size, out=batch[i])
    return scale_pixels(batch)
