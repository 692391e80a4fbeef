"""Test pictures made by code, never copied: PNG bytes, and a mask drawn on a face."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def paint_mask(rgb: np.ndarray, box, alpha: float = 1.0) -> np.ndarray:
    """A light-blue surgical-mask shape over nose and mouth of the face in ``box`` (a
    detector box), blended with ``alpha``: a masked face we may publish and commit."""
    import cv2

    x, y, w, h = box
    pts = np.array([[x + w // 10, y + int(.55 * h)], [x + int(.9 * w), y + int(.55 * h)],
                    [x + int(.95 * w), y + int(1.05 * h)], [x + w // 2, y + int(1.2 * h)],
                    [x + w // 20, y + int(1.05 * h)]], np.int32)
    painted = rgb.copy()
    cv2.fillPoly(painted, [pts], (170, 200, 230))
    return cv2.addWeighted(painted, alpha, rgb, 1 - alpha, 0)


def png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()
