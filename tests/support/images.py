"""Test pictures made by code, never copied: PNG bytes, and a mask drawn on a face."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


#: Where the drawn mask's top edge sits, as a share of the detector box's height: over the
#: nose bridge when worn properly, under the nose tip when pulled down. (Until the third
#: class, the top sat at 0.55: on the astronaut that is the nose tip, which a model that
#: tells a mask below the nose rightly reads as worn too low.)
MASK_TOP = {"properly": 0.42, "below_nose": 0.68}


def paint_mask(rgb: np.ndarray, box, alpha: float = 1.0, worn: str = "properly") -> np.ndarray:
    """A light-blue surgical-mask shape over the lower face in ``box`` (a detector box),
    blended with ``alpha``, worn ``properly`` (nose and mouth covered) or ``below_nose``:
    a masked face we may publish and commit."""
    import cv2

    x, y, w, h = box
    top = MASK_TOP[worn]
    pts = np.array([[x + w // 10, y + int(top * h)], [x + int(.9 * w), y + int(top * h)],
                    [x + int(.95 * w), y + int(1.05 * h)], [x + w // 2, y + int(1.2 * h)],
                    [x + w // 20, y + int(1.05 * h)]], np.int32)
    painted = rgb.copy()
    cv2.fillPoly(painted, [pts], (170, 200, 230))
    return cv2.addWeighted(painted, alpha, rgb, 1 - alpha, 0)


def png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()
